/** The alert rules, checked and unit-tested by promtool (real tool); Alertmanager's config by amtool. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { dump } from "js-yaml";
import { describe, expect, it } from "vitest";
import { thresholdsSchema } from "../../components/config/schema";
import { alertRules, renderAlertmanagerConfig, renderPrometheusConfig, renderRules, type ScrapedServer } from "../../components/monitoring/files";
import { tool } from "../helpers";

const thresholds = thresholdsSchema.parse({});
const servers: ScrapedServer[] = [
  { name: "edge", target: "127.0.0.1:9100", serves: false },
  { name: "gpu1", target: "10.66.0.135:9100", serves: true, models: ["gpt-oss-120b", "qwen3-embedding-8b"] },
];

function write(dir: string, name: string, content: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
}

interface Case {
  readonly name: string;
  readonly series: Record<string, string>;
  readonly at: string;
  readonly alert: string;
  readonly fires: Record<string, string>[];
  /** The summary each firing alert carries, templates expanded. */
  readonly summary?: string;
}

const actionOf = (alert: string) => alertRules(thresholds, servers).find((r) => r.alert === alert)!.action;

/** One promtool rule test: input series, and which alerts (with which labels) fire at a time. */
function ruleTest(c: Case) {
  return {
    name: c.name,
    interval: "1m",
    input_series: Object.entries(c.series).map(([series, values]) => ({ series, values })),
    alert_rule_test: [
      { eval_time: c.at, alertname: c.alert, exp_alerts: c.fires.map((labels) => ({ exp_labels: labels, exp_annotations: { summary: c.summary, action: actionOf(c.alert).replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, name: string) => labels[name]) } })) },
    ],
  };
}

describe("the alert rules", () => {
  it("pass promtool check rules (real tool)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "infernus-rules-"));
    const check = tool("promtool", ["check", "rules", write(dir, "rules.yml", renderRules(thresholds, servers))]);
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
    expect(check.stdout).toMatch(/SUCCESS: 24 rules found/);
  });

  it("fire as intended in promtool test rules (real tool)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "infernus-rules-"));
    write(dir, "rules.yml", renderRules(thresholds, servers));
    const cases: Case[] = [
      { name: "server down after 3 minutes", series: { 'up{job="node",server="gpu1",instance="10.66.0.135:9100"}': "1 0 0 0 0 0" }, at: "2m", alert: "ServerDown", fires: [] },
      { name: "server down fires", series: { 'up{job="node",server="gpu1",instance="10.66.0.135:9100"}': "1 0 0 0 0 0" }, at: "5m", alert: "ServerDown", fires: [{ severity: "page", job: "node", server: "gpu1", instance: "10.66.0.135:9100" }], summary: "gpu1 is unreachable over the tunnel" },
      { name: "tunnel stale", series: { 'infernus_wireguard_handshake_age_seconds{peer="gpu1",server="edge"}': "60 120 400 460 520" }, at: "4m", alert: "TunnelHandshakeStale", fires: [{ severity: "page", peer: "gpu1", server: "edge" }], summary: "no WireGuard handshake from gpu1 for 8m 40s" },
      { name: "tunnel fresh", series: { 'infernus_wireguard_handshake_age_seconds{peer="gpu1",server="edge"}': "60 100 30 90 20" }, at: "4m", alert: "TunnelHandshakeStale", fires: [] },
      { name: "gpu hot", series: { 'infernus_gpu_temperature_celsius{gpu="0",server="gpu1"}': "80 88 88 88 88 88 88 88" }, at: "7m", alert: "GpuHot", fires: [{ severity: "page", gpu: "0", server: "gpu1" }], summary: "GPU 0 on gpu1 at 88 °C" },
      { name: "gpu warm", series: { 'infernus_gpu_temperature_celsius{gpu="0",server="gpu1"}': "80 84 84 84 84 84 84 84" }, at: "7m", alert: "GpuHot", fires: [] },
      { name: "ups on battery", series: { 'infernus_ups_on_battery{ups="apc",server="gpu1"}': "0 0 1 1" }, at: "2m", alert: "UpsOnBattery", fires: [{ severity: "page", ups: "apc", server: "gpu1" }], summary: "the UPS of gpu1 runs on battery (apc)" },
      { name: "pool degraded", series: { 'node_zfs_zpool_state{state="online",zpool="tank",server="gpu1"}': "1 0 0 0", 'node_zfs_zpool_state{state="degraded",zpool="tank",server="gpu1"}': "0 1 1 1" }, at: "3m", alert: "ZfsPoolNotOnline", fires: [{ severity: "page", state: "online", zpool: "tank", server: "gpu1" }], summary: "ZFS pool tank on gpu1 is not ONLINE" },
      { name: "snapshot too old", series: { 'infernus_zfs_latest_snapshot_timestamp_seconds{dataset="tank/rag",server="gpu1"}': "0+0x200" }, at: "140m", alert: "SnapshotTooOld", fires: [{ severity: "warning", dataset: "tank/rag", server: "gpu1" }], summary: "the newest snapshot of tank/rag on gpu1 is 2h 20m 0s old" },
      {
        name: "gateway errors",
        series: { 'infernus_gateway_requests_total{class="5xx",server="edge"}': "0+10x20", 'infernus_gateway_requests_total{class="2xx",server="edge"}': "0+90x20" },
        at: "15m",
        alert: "GatewayErrors",
        fires: [{ severity: "warning", server: "edge" }],
        summary: "10% of the gateway's answers are server errors",
      },
      {
        name: "model overloaded",
        series: { 'vllm:num_requests_waiting{engine="0",model_name="gpt-oss-120b",server="gpu1"}': "2 12+0x15", 'vllm:num_requests_waiting{engine="0",model_name="qwen3-embedding-8b",server="gpu1"}': "0+0x16" },
        at: "14m",
        alert: "ModelOverloaded",
        fires: [{ severity: "warning", model_name: "gpt-oss-120b", server: "gpu1" }],
        summary: "12 requests wait for gpt-oss-120b on gpu1",
      },
      {
        name: "cpu hot",
        series: {
          'node_hwmon_temp_celsius{chip="pci0000:00_0000:00:18_3",sensor="temp1",instance="10.66.0.135:9100",server="gpu1"}': "80 93+0x8",
          'node_hwmon_chip_names{chip="pci0000:00_0000:00:18_3",chip_name="k10temp",instance="10.66.0.135:9100",server="gpu1"}': "1+0x9",
          // The GPU's own hwmon chip reads as hot, and is not the CPU.
          'node_hwmon_temp_celsius{chip="pci0000:00_0000:01:00_0",sensor="temp1",instance="10.66.0.135:9100",server="gpu1"}': "99+0x9",
          'node_hwmon_chip_names{chip="pci0000:00_0000:01:00_0",chip_name="amdgpu",instance="10.66.0.135:9100",server="gpu1"}': "1+0x9",
        },
        at: "7m",
        alert: "CpuHot",
        fires: [{ severity: "page", server: "gpu1" }],
        summary: "the CPU of gpu1 at 93 °C",
      },
      {
        name: "cpu warm",
        series: {
          'node_hwmon_temp_celsius{chip="platform_coretemp_0",sensor="temp1",instance="10.66.0.135:9100",server="gpu1"}': "85+0x9",
          'node_hwmon_chip_names{chip="platform_coretemp_0",chip_name="coretemp",instance="10.66.0.135:9100",server="gpu1"}': "1+0x9",
        },
        at: "7m",
        alert: "CpuHot",
        fires: [],
      },
      {
        name: "nvme hot",
        series: {
          'node_hwmon_temp_celsius{chip="nvme_nvme0",sensor="temp1",instance="10.66.0.135:9100",server="gpu1"}': "60 74+0x14",
          'node_hwmon_chip_names{chip="nvme_nvme0",chip_name="nvme",instance="10.66.0.135:9100",server="gpu1"}': "1+0x15",
          'node_hwmon_temp_celsius{chip="nvme_nvme1",sensor="temp1",instance="10.66.0.135:9100",server="gpu1"}': "50+0x15",
          'node_hwmon_chip_names{chip="nvme_nvme1",chip_name="nvme",instance="10.66.0.135:9100",server="gpu1"}': "1+0x15",
        },
        at: "13m",
        alert: "NvmeHot",
        fires: [{ severity: "warning", server: "gpu1", chip: "nvme_nvme0" }],
        summary: "an NVMe drive of gpu1 at 74 °C",
      },
      { name: "lan gateway down", series: { 'infernus_lan_gateway_up{url="https://192.168.1.50/healthz",server="gpu1"}': "1 0 0 0 0 0 0" }, at: "6m", alert: "LanGatewayDown", fires: [{ severity: "warning", url: "https://192.168.1.50/healthz", server: "gpu1" }], summary: "the LAN gateway on gpu1 does not answer /healthz: home has no models when the internet is down" },
      { name: "lan gateway blip", series: { 'infernus_lan_gateway_up{url="https://192.168.1.50/healthz",server="gpu1"}': "1 0 0 1 1 1 1" }, at: "6m", alert: "LanGatewayDown", fires: [] },
      {
        name: "app refused by the gateway",
        series: { 'infernus_app_gateway_up{app="search",status="401",missing="",server="edge"}': "0+0x20", 'infernus_app_gateway_probe_timestamp_seconds{app="search",server="edge"}': "0+60x20" },
        at: "16m",
        alert: "AppCannotReachModels",
        // Prometheus drops the empty missing label.
        fires: [{ severity: "warning", app: "search", status: "401", server: "edge" }],
        summary: "the app search on edge cannot reach its models through the gateway",
      },
      {
        name: "app probe stopped",
        series: { 'infernus_app_gateway_up{app="chat",status="200",missing="",server="gpu1"}': "1+0x60", 'infernus_app_gateway_probe_timestamp_seconds{app="chat",server="gpu1"}': "0+0x60" },
        at: "40m",
        alert: "AppCannotReachModels",
        fires: [{ severity: "warning", app: "chat", server: "gpu1" }],
        summary: "the app chat on gpu1 cannot reach its models through the gateway",
      },
      {
        name: "app probed and fine",
        series: { 'infernus_app_gateway_up{app="chat",status="200",missing="",server="gpu1"}': "1+0x60", 'infernus_app_gateway_probe_timestamp_seconds{app="chat",server="gpu1"}': "0+60x60" },
        at: "40m",
        alert: "AppCannotReachModels",
        fires: [],
      },
      { name: "snapshot fresh", series: { 'infernus_zfs_latest_snapshot_timestamp_seconds{dataset="tank/rag",server="gpu1"}': "0+60x200" }, at: "140m", alert: "SnapshotTooOld", fires: [] },
    ];
    const tests = write(dir, "tests.yml", dump({ rule_files: ["rules.yml"], evaluation_interval: "1m", tests: cases.map(ruleTest) }));
    const run = tool("promtool", ["test", "rules", tests]);
    expect(run.stdout + run.stderr).toContain("SUCCESS");
    expect(run.status).toBe(0);
  });

  it("take their thresholds from the stack file", () => {
    const hot = renderRules({ ...thresholds, gpuTemperatureC: 78, handshakeStaleSeconds: 600 }, servers);
    expect(hot).toContain("infernus_gpu_temperature_celsius > 78");
    expect(hot).toContain("infernus_wireguard_handshake_age_seconds > 600");
  });
});

describe("the Prometheus and Alertmanager configs", () => {
  it("pass promtool check config and amtool check-config (real tools)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "infernus-prom-"));
    const rules = write(dir, "rules.yml", renderRules(thresholds, servers));
    const config = write(dir, "prometheus.yml", renderPrometheusConfig({ servers, healthUrl: "https://203.0.113.10/healthz", listen: "10.66.0.1:9090", rulesPath: rules }));
    const prom = tool("promtool", ["check", "config", config]);
    expect(prom.stdout + prom.stderr).toContain("SUCCESS");
    expect(prom.status).toBe(0);
    const am = write(dir, "alertmanager.yml", renderAlertmanagerConfig({ telegram: { chatId: "-1001234567890", botToken: "123456:stand-in-token" } }));
    const check = tool("amtool", ["check-config", am]);
    expect(check.stdout).toContain("SUCCESS");
    expect(check.status).toBe(0);
    // Without Telegram, alerts are kept in Alertmanager and sent nowhere: a config amtool takes too.
    const alone = tool("amtool", ["check-config", write(dir, "alone.yml", renderAlertmanagerConfig({}))]);
    expect(alone.stdout).toContain("SUCCESS");
    expect(alone.status).toBe(0);
  });
});
