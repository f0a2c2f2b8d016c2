/**
 * Every dashboard query against a real Prometheus (Grafana itself cannot be installed here: its
 * APT repository is out of reach). Prometheus, with the rendered config, scrapes two real
 * node_exporters: the edge's on this machine, gpu1's on a sysfs and procfs laid out as an AMD
 * board's with an NVMe drive, a ZFS pool and a WireGuard interface. Each reads the textfiles the
 * real infernus-metrics writes from stand-ins: nvidia-smi, upsc, zfs and wg as in metrics.bats,
 * vLLM's /metrics (test/serving/vllmMetrics.ts), the audit log in the gateway's format, and a
 * blackbox exporter probes an HTTPS /healthz. Grafana's variables are put in as Grafana would.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { thresholdsSchema } from "../../components/config/schema";
import { AUDIT_FIELDS } from "../../components/gateway/nginx";
import { dashboards, queries } from "../../components/monitoring/dashboards";
import { renderBlackbox, renderPrometheusConfig, renderRules } from "../../components/monitoring/files";
import { VllmMetrics } from "../serving/vllmMetrics";

const PORT = { prometheus: 19290, edge: 19201, gpu1: 19202, blackbox: 19215, vllm: 19280, healthz: 19243, lan: 19244 } as const;
const METRICS = path.join(__dirname, "..", "..", "assets", "monitoring", "metrics.sh");
/** The lab scrapes every second: Grafana's $__rate_interval is at least four scrapes. */
const GRAFANA_VARIABLES: Record<string, string> = { __rate_interval: "15s", __range: "2m", server: ".*", model: ".*", client: ".*" };

function interpolate(expr: string): string {
  return expr.replace(/\$(\w+)/g, (whole, name: string) => GRAFANA_VARIABLES[name] ?? whole);
}

function write(file: string, content: string, mode = 0o644): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  chmodSync(file, mode);
}

/** gpu1's /sys and /proc as node_exporter reads them: k10temp and an NVMe drive's sensor, a pool's state, wg0's counters. */
function board(root: string, wgBytes: number): void {
  const hwmon = (device: string, name: string, celsius: number, n: number) => {
    const dir = path.join(root, "sys", "devices", device, "hwmon", `hwmon${n}`);
    write(path.join(dir, "name"), `${name}\n`);
    write(path.join(dir, "temp1_input"), `${celsius * 1000}\n`);
    symlinkSync(path.relative(dir, path.join(root, "sys", "devices", device)), path.join(dir, "device"));
    mkdirSync(path.join(root, "sys", "class", "hwmon"), { recursive: true });
    symlinkSync(path.relative(path.join(root, "sys", "class", "hwmon"), dir), path.join(root, "sys", "class", "hwmon", `hwmon${n}`));
  };
  hwmon("pci0000:00/0000:00:18.3", "k10temp", 61, 1);
  hwmon("pci0000:00/0000:00:01.1/0000:01:00.0/nvme/nvme0", "nvme", 48, 2);
  write(path.join(root, "proc", "spl", "kstat", "zfs", "tank", "state"), "ONLINE\n");
  netDev(root, wgBytes);
}

function netDev(root: string, bytes: number): void {
  write(
    path.join(root, "proc", "net", "dev"),
    "Inter-|   Receive                                                |  Transmit\n" +
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n" +
      `   wg0: ${bytes} ${bytes / 1000} 0 0 0 0 0 0 ${bytes * 2} ${bytes / 500} 0 0 0 0 0 0\n`,
  );
}

describe("dashboards in a lab (real Prometheus, node_exporter and blackbox exporter on loopback; Grafana cannot be installed here)", () => {
  const processes: ChildProcess[] = [];
  const servers: (http.Server | https.Server)[] = [];
  const timers: NodeJS.Timeout[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), "infernus-dashboards-"));
  const query = async (expr: string) => {
    const res = await fetch(`http://127.0.0.1:${PORT.prometheus}/api/v1/query`, { method: "POST", body: new URLSearchParams({ query: expr }) });
    return (await res.json()) as { status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  };
  /** The series of an answer whose value is a finite number. */
  const finite = (answer: Awaited<ReturnType<typeof query>>) => (answer.data?.result ?? []).filter((r) => Number.isFinite(Number(r.value[1])));
  const answered = async (expr: string) => finite(await query(expr));

  beforeAll(async () => {
    // The stand-ins infernus-metrics calls, as metrics.bats has them.
    const bin = path.join(dir, "bin");
    write(path.join(bin, "nvidia-smi"), '#!/bin/sh\necho "71, 388.20, 70000, 0x0000000000000000, 0, 580.95.05, NVIDIA RTX PRO 6000 Blackwell Workstation Edition"\n', 0o755);
    write(path.join(bin, "upsc"), '#!/bin/sh\ncase $2 in ups.status) echo OL ;; battery.charge) echo 100 ;; ups.load) echo 31 ;; esac\n', 0o755);
    write(path.join(bin, "zfs"), `#!/bin/sh\necho ${Math.floor(Date.now() / 1000) - 1800}\n`, 0o755);
    write(path.join(bin, "wg"), '#!/bin/sh\nprintf "KEYGPU1=\\t%s\\n" "$(($(date +%s) - 40))"\n', 0o755);
    write(path.join(dir, "root", "etc", "wireguard", "wg0.conf"), "# gpu1 (server)\n[Peer]\nPublicKey = KEYGPU1=\n");

    const vllm = new VllmMetrics("qwen3-coder-30b");
    vllm.kvCacheUsage = 0.37;
    servers.push(
      http.createServer((req, res) => res.end(req.url === "/is_sleeping" ? '{"is_sleeping": false}' : vllm.text())).listen(PORT.vllm, "127.0.0.1"),
      http.createServer((_req, res) => res.end("ok")).listen(PORT.lan, "127.0.0.1"),
    );
    const models = path.join(dir, "models", "qwen3-coder-30b");
    write(path.join(models, ".infernus-complete"), "");
    write(path.join(models, "model.safetensors"), "x".repeat(4096));
    write(path.join(dir, "models.list"), `qwen3-coder-30b org/coder 8192 ${models} ${PORT.vllm}\n`);

    // The public gateway's /healthz over HTTPS, with a certificate from a CA the probe is given.
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", path.join(dir, "tls.key"), "-out", path.join(dir, "tls.crt")], { stdio: "ignore" });
    servers.push(https.createServer({ key: readFileSync(path.join(dir, "tls.key")), cert: readFileSync(path.join(dir, "tls.crt")) }, (_req, res) => res.end("ok")).listen(PORT.healthz, "127.0.0.1"));

    // Audit lines in the gateway's own field order (AUDIT_FIELDS), as real nginx writes them in test/gateway.
    const audit = path.join(dir, "audit.log");
    const line = (client: string, status: number, model: string, prompt: number | null, completion: number | null) => {
      const values: Record<string, unknown> = { time: new Date().toISOString(), client, method: "POST", path: "/v1/chat/completions", status, model, prompt_tokens: prompt, completion_tokens: completion, request_bytes: 512, response_bytes: 900, request_time: 0.4, upstream_time: "0.4", upstream: "10.66.0.135:8080" };
      appendFileSync(audit, `${JSON.stringify(Object.fromEntries([...AUDIT_FIELDS.matchAll(/"(\w+)":/g)].map(([, f]) => [f, values[f]])))}\n`);
    };
    write(audit, "");
    write(path.join(dir, "edge.conf"), `WG=wg0\nAUDIT_LOG='${audit}'\n`);
    write(path.join(dir, "gpu1.conf"), `GPU=1\nUPS='apc'\nDATASETS='tank/state'\nMODELS_LIST='${path.join(dir, "models.list")}'\nLAN_GATEWAY='http://127.0.0.1:${PORT.lan}/healthz'\n`);
    board(path.join(dir, "gpu1"), 1_000_000);

    // Traffic: every second a request finishes in vLLM and in the audit log (now and then a 429 or a 502), wg0 moves bytes, infernus-metrics runs on both hosts.
    let tick = 0;
    // Asynchronous: infernus-metrics asks this process's own stand-ins.
    const metrics = (host: string) =>
      promisify(execFile)("bash", [METRICS, path.join(dir, host, "textfile")], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, INFERNUS_METRICS_CONF: path.join(dir, `${host}.conf`), INFERNUS_ROOT: path.join(dir, "root") }, timeout: 20_000 });
    let busy = false;
    const traffic = async () => {
      if (busy) return;
      busy = true;
      tick++;
      vllm.finished({ promptTokens: 300 + tick, generationTokens: 40, queueSeconds: 0.02, firstTokenSeconds: 0.15 + (tick % 5) / 50, tokenGapsSeconds: Array(39).fill(0.03) });
      if (tick % 7 === 0) vllm.preempted();
      line("ide", 200, "qwen3-coder-30b", 300 + tick, 40);
      line("n8n", tick % 4 === 0 ? 429 : tick % 5 === 0 ? 502 : 200, tick % 4 === 0 ? "" : "qwen3-coder-30b", tick % 4 === 0 ? null : 120, tick % 4 === 0 ? null : 10);
      netDev(path.join(dir, "gpu1"), 1_000_000 + tick * 25_000);
      await Promise.all([metrics("edge"), metrics("gpu1")]).finally(() => (busy = false));
    };
    await traffic();
    // Bounded: two minutes of ticks at most, stopped in afterAll.
    const ticker = setInterval(() => (tick < 120 ? void traffic().catch(() => undefined) : clearInterval(ticker)), 1000);
    timers.push(ticker);

    const exporter = (port: number, host: string, extra: readonly string[]) =>
      spawn("prometheus-node-exporter", [`--web.listen-address=127.0.0.1:${port}`, `--collector.textfile.directory=${path.join(dir, host, "textfile")}`, ...extra], { stdio: "ignore" });
    processes.push(
      exporter(PORT.edge, "edge", []),
      exporter(PORT.gpu1, "gpu1", ["--collector.disable-defaults", "--collector.textfile", "--collector.hwmon", "--collector.zfs", "--collector.netdev", "--no-collector.netdev.netlink", `--path.sysfs=${path.join(dir, "gpu1", "sys")}`, `--path.procfs=${path.join(dir, "gpu1", "proc")}`]),
    );
    write(path.join(dir, "blackbox.yml"), renderBlackbox(path.join(dir, "tls.crt")));
    processes.push(spawn("prometheus-blackbox-exporter", [`--config.file=${path.join(dir, "blackbox.yml")}`, `--web.listen-address=127.0.0.1:${PORT.blackbox}`], { stdio: "ignore" }));
    const scraped = [
      { name: "edge", target: `127.0.0.1:${PORT.edge}`, serves: false },
      { name: "gpu1", target: `127.0.0.1:${PORT.gpu1}`, serves: true, models: ["qwen3-coder-30b"] },
    ];
    write(path.join(dir, "rules.yml"), renderRules(thresholdsSchema.parse({}), scraped));
    write(
      path.join(dir, "prometheus.yml"),
      renderPrometheusConfig({ servers: scraped, healthUrl: `https://127.0.0.1:${PORT.healthz}/healthz`, listen: `127.0.0.1:${PORT.prometheus}`, scrapeInterval: "1s", blackbox: `127.0.0.1:${PORT.blackbox}`, rulesPath: path.join(dir, "rules.yml") }),
    );
    processes.push(spawn("prometheus", [`--config.file=${path.join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(dir, "tsdb")}`, `--web.listen-address=127.0.0.1:${PORT.prometheus}`], { stdio: "ignore" }));

    // Until every panel's queries answer, or 90 s: the rates need some scrapes of moving counters.
    const all = dashboards().flatMap(queries);
    const deadline = Date.now() + 90_000;
    for (;;) {
      const missing = (await Promise.all(all.map(async (q) => ((await answered(interpolate(q.expr)).catch(() => [])).length > 0 ? undefined : q)))).filter(Boolean);
      if (missing.length === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }, 150_000);

  afterAll(() => {
    for (const t of timers) clearInterval(t);
    for (const p of processes) p.kill();
    for (const s of servers) s.close();
  });

  for (const board of dashboards()) {
    it(`every query of the ${board.title} dashboard is PromQL Prometheus accepts and answers with a number`, async () => {
      const failures: string[] = [];
      for (const q of queries(board)) {
        const answer = await query(interpolate(q.expr));
        if (answer.status !== "success") failures.push(`${q.panel}: ${answer.error}`);
        else if (finite(answer).length === 0) failures.push(`${q.panel}: no data for ${q.expr}`);
      }
      expect(failures).toEqual([]);
    });

    it(`every variable of the ${board.title} dashboard offers values (label_values, as Grafana asks /api/v1/label)`, async () => {
      const variables = (board.json.templating as { list: { name: string; query: { query: string } }[] }).list;
      for (const v of variables) {
        const [, metric, label] = /^label_values\((.+), (\w+)\)$/.exec(v.query.query)!;
        const res = await fetch(`http://127.0.0.1:${PORT.prometheus}/api/v1/label/${label}/values?${new URLSearchParams({ "match[]": metric })}`);
        const values = ((await res.json()) as { data: string[] }).data;
        expect(values.length, `${v.name}: ${v.query.query}`).toBeGreaterThan(0);
      }
    });
  }
});
