/** Monitoring under mocks: what is scraped, what is secret, what the edge exposes. */
import * as pulumi from "@pulumi/pulumi";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { resolve } from "../../render/runtime";
import { runEstate, stackObject } from "../helpers";

const monitored = { ...stackObject("singapore"), monitoring: { telegramChatId: "-1001234567890" }, telegramBotToken: "123456:stand-in-bot-token" };

async function edgeFile(config: Record<string, unknown>, step: string, file: string) {
  const { result } = await runEstate(config);
  const files = (await resolve(result.edge.host.steps.find((s) => s.name === step)!.files)).value;
  return files.find((f) => f.path === file)!;
}

describe("monitoring under mocks", () => {
  it("scrapes the edge and every server through the tunnel, and probes the public gateway", async () => {
    const prometheus = load((await edgeFile(monitored, "monitoring", "/etc/prometheus/prometheus.yml")).content) as { scrape_configs: { job_name: string; static_configs: { targets: string[]; labels?: { server: string } }[] }[] };
    const node = prometheus.scrape_configs.find((j) => j.job_name === "node")!;
    expect(node.static_configs).toEqual([
      { targets: ["127.0.0.1:9100"], labels: { server: "edge" } },
      { targets: ["10.66.0.135:9100"], labels: { server: "gpu1" } },
    ]);
    expect(prometheus.scrape_configs.find((j) => j.job_name === "gateway")!.static_configs[0].targets[0]).toMatch(/^https:\/\/203\.0\.113\.\d+\/healthz$/);
  });

  it("keeps the bot token secret, in a 0640 file only", async () => {
    const { result, resources } = await runEstate(monitored);
    expect(resources.find((r) => r.name === "edge-monitoring")!.secretInputs).toContain("stdin");
    const file = await edgeFile(monitored, "monitoring", "/etc/prometheus/alertmanager.yml");
    expect(file.mode).toBe("0640");
    expect(file.content).toContain("bot_token: 123456:stand-in-bot-token");
    for (const step of result.hosts.flatMap((h) => h.steps).filter((s) => s.name !== "monitoring")) {
      expect((await resolve(step.stdin)).value).not.toContain("stand-in-bot-token");
    }
    expect(await pulumi.isSecret(result.edge.host.steps.find((s) => s.name === "monitoring")!.stdin)).toBe(true);
  });

  it("asks for the bot token when alerts go to a Telegram chat", async () => {
    const { telegramBotToken: _, ...withoutToken } = monitored;
    await expect(runEstate(withoutToken)).rejects.toThrow(/pulumi config set --secret infernus:telegramBotToken/);
  });

  it("runs without Telegram, as the example stacks do: no token asked for, alerts kept in Alertmanager", async () => {
    const alone = stackObject("singapore");
    expect(alone.monitoring).toBeDefined();
    expect(alone.monitoring.telegramChatId).toBeUndefined();
    const config = load((await edgeFile(alone, "monitoring", "/etc/prometheus/alertmanager.yml")).content) as { route: { receiver: string }; receivers: object[] };
    expect(config.route.receiver).toBe("nowhere");
    expect(config.receivers).toEqual([{ name: "nowhere" }]);
  });

  it("opens Prometheus and Alertmanager to the tunnel on the edge, never in the cloud firewall", async () => {
    const { resources } = await runEstate(monitored);
    const firewall = resources.find((r) => r.type === "digitalocean:index/firewall:Firewall")!.inputs as { inboundRules: { portRange?: string }[] };
    expect(firewall.inboundRules.map((r) => r.portRange)).not.toContain("9090");
    const rules = (await edgeFile(monitored, "firewall", "/etc/infernus/firewall.next.nft")).content;
    expect(rules).toContain('ip saddr { 10.66.0.0/24 } tcp dport 9090 accept comment "Prometheus, over the tunnel"');
  });

  it("runs node_exporter on each server's tunnel address, open to the edge alone, monitoring or not (the self-check reads it)", async () => {
    const { result: unmonitored } = await runEstate(stackObject("singapore"), "singapore");
    const exporters = (result: typeof unmonitored) => result.servers.gpu1.host.steps.find((s) => s.name === "exporters")!;
    expect(exporters(unmonitored)).toBeDefined();
    const { result } = await runEstate(monitored);
    const files = (await resolve(exporters(result).files)).value;
    expect(files.find((f) => f.path === "/etc/default/prometheus-node-exporter")!.content).toContain("--web.listen-address=10.66.0.135:9100");
    expect(files.find((f) => f.path === "/etc/infernus/metrics.conf")!.content).toContain("GPU=1\nUPS='apc'\nDATASETS='tank/rag tank/state tank/home'\nMODELS_LIST='/etc/infernus/models.list'");
    const firewall = (await resolve(result.servers.gpu1.host.steps.find((s) => s.name === "firewall")!.files)).value[0].content;
    expect(firewall).toContain('ip saddr { 10.66.0.1 } tcp dport 9100 accept comment "metrics, for the self-check and Prometheus on the edge"');
  });

  it("exports the URLs (tunnel only) and every alert with its threshold", async () => {
    const { result } = await runEstate(monitored);
    expect(result.monitoring!.prometheusUrl).toBe("http://10.66.0.1:9090");
    expect(result.monitoring!.alertmanagerUrl).toBe("http://10.66.0.1:9093");
    expect(result.monitoring!.alerts.find((a) => a.alert === "GpuHot")!.expr).toBe("infernus_gpu_temperature_celsius > 85");
  });
});

describe("model alerts", () => {
  it("give every declared model an alert of its own", async () => {
    const { result } = await runEstate(monitored);
    const models = result.monitoring!.alerts.filter((a) => a.alert === "ModelUnavailable").map((a) => /model="([^"]+)"/.exec(a.expr)![1]);
    expect(models).toEqual(["gpt-oss-120b", "qwen3-coder-30b", "qwen3-embedding-8b"]);
  });
});
