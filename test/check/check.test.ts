/**
 * infernus-check against the rendered gateway on real nginx (loopback), a stand-in model server
 * and stand-in exporters whose metrics each case sets: all ok, a stopped backend, a model without
 * weights, an old handshake, a server that hangs. Each run's time is measured: probes are bounded.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderCheckConf, renderCheckHeader, CHECK_KEY_NAME, type CheckView } from "../../components/check/files";
import { startBackend, startGateway, type Gateway } from "../gateway/lab";

const KEY = "sk-infernus-check000000000000000000000000000000";
/** Served names: a chat model, an embedder, a reranker and a LoRA adapter on the chat model. */
const MODELS = ["gpt-oss-120b", "qwen3-embedding-8b", "qwen3-reranker-0.6b", "notes-sql"];
const script = path.join(__dirname, "../../assets/check/check.sh");

/** An exporter stand-in: serves whatever `metrics` holds at the time of the request. */
async function startExporter() {
  const state = { metrics: "" };
  const server = http.createServer((_req, res) => res.end(state.metrics));
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return { state, port: (server.address() as AddressInfo).port, stop: () => new Promise<void>((done) => server.close(() => done())) };
}

/** A server that accepts connections and never answers: a host that hangs. */
async function startSilent() {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => void sockets.push(socket));
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return { port: (server.address() as AddressInfo).port, stop: () => new Promise<void>((done) => (sockets.forEach((s) => s.destroy()), server.close(() => done()))) };
}

interface Gpu1 {
  readonly weights?: Record<string, { complete: number; bytes: number }>;
  readonly running?: Record<string, number>;
  readonly pool?: "online" | "degraded";
  readonly upsStale?: number;
}

function gpu1Metrics(state: Gpu1 = {}): string {
  const pool = state.pool ?? "online";
  return [
    "# TYPE infernus_gpu_info gauge",
    'infernus_gpu_info{gpu="0",name="NVIDIA RTX PRO 6000 Blackwell Workstation Edition",driver="580.95.05"} 1',
    ...["online", "degraded"].map((s) => `node_zfs_zpool_state{state="${s}",zpool="tank"} ${s === pool ? 1 : 0}`),
    `infernus_ups_data_stale{ups="apc"} ${state.upsStale ?? 0}`,
    'infernus_ups_battery_charge_percent{ups="apc"} 100',
    'node_systemd_unit_state{name="infernus-fetch-gpt-oss-120b.service",state="failed",type="oneshot"} 0',
    ...MODELS.flatMap((m) => {
      const w = state.weights?.[m] ?? { complete: 1, bytes: 100 };
      return [
        `infernus_model_weights_complete{model="${m}"} ${w.complete}`,
        `infernus_model_weights_bytes{model="${m}"} ${w.bytes}`,
        `infernus_model_weights_expected_bytes{model="${m}"} 100`,
        `infernus_model_running{model="${m}"} ${state.running?.[m] ?? 1}`,
      ];
    }),
    "",
  ].join("\n");
}

const edgeMetrics = (age: number) => `infernus_wireguard_handshake_age_seconds{peer="gpu1"} ${age}\ninfernus_wireguard_handshake_age_seconds{peer="phone"} 1763800000\n`;

interface Run {
  readonly status: number;
  readonly lines: Record<string, { status: string; detail: string }>;
  readonly output: string;
  readonly ms: number;
}

function runCheck(conf: string, args: string[] = []): Promise<Run> {
  const started = performance.now();
  return new Promise((done) => {
    execFile("bash", [script, ...args], { env: { ...process.env, INFERNUS_CHECK_CONF: conf }, timeout: 60_000 }, (error, stdout, stderr) => {
      const lines = Object.fromEntries(
        stdout
          .split("\n")
          .map((line) => /^(ok|pending|failed)\s+(.+?)\s{2,}(.*)$/.exec(line))
          .filter((m): m is RegExpExecArray => m !== null)
          .map((m) => [m[2].trim(), { status: m[1], detail: m[3] }]),
      );
      done({ status: error ? Number(error.code) : 0, lines, output: stdout + stderr, ms: performance.now() - started });
    });
  });
}

describe("infernus-check against stand-ins", () => {
  let backend: Awaited<ReturnType<typeof startBackend>>;
  let gateway: Gateway;
  let edge: Awaited<ReturnType<typeof startExporter>>;
  let gpu1: Awaited<ReturnType<typeof startExporter>>;
  let prometheus: Awaited<ReturnType<typeof startExporter>>;
  let silent: Awaited<ReturnType<typeof startSilent>>;
  let view: CheckView;
  const write = (v: CheckView) => {
    const file = path.join(gateway.dir, "check.conf");
    writeFileSync(file, renderCheckConf(v).replace("/etc/infernus/check.header", path.join(gateway.dir, "check.header")));
    return file;
  };

  beforeAll(async () => {
    backend = await startBackend({ chunks: 1, cadenceMs: 10, models: MODELS });
    gateway = startGateway({
      gateway: { port: 18448, upstreamPort: 0, maxRequestMiB: 1, generationTimeoutSeconds: 60, maxStreams: 2000 },
      apiKeys: [{ name: CHECK_KEY_NAME, requestsPerMinute: 600, burst: 50, rotation: 0 }],
      keys: { [CHECK_KEY_NAME]: KEY },
      upstreams: [`127.0.0.1:${backend.port}`],
    });
    writeFileSync(path.join(gateway.dir, "check.header"), renderCheckHeader(KEY), { mode: 0o600 });
    [edge, gpu1, prometheus] = await Promise.all([startExporter(), startExporter(), startExporter()]);
    silent = await startSilent();
    prometheus.state.metrics = 'up{instance="127.0.0.1:9100",job="node",server="edge"} 1 1763800000000\nup{instance="10.66.0.135:9100",job="node",server="gpu1"} 1 1763800000000\n';
    view = {
      gatewayOrigin: `https://localhost:${gateway.port}`,
      connectTo: "127.0.0.1",
      caFile: gateway.paths.certificate,
      edgeMetrics: `http://127.0.0.1:${edge.port}/metrics`,
      handshakeMaxSeconds: 300,
      prometheus: `http://127.0.0.1:${prometheus.port}`,
      timeouts: { probe: 2, answer: 10, load: 10 },
      peers: ["gpu1"],
      servers: [{ name: "gpu1", exporter: `127.0.0.1:${gpu1.port}`, gpus: 1, driverBranch: 580, pools: ["tank"], ups: "apc" }],
      models: [
        { name: "gpt-oss-120b", server: "gpu1", kind: "chat" },
        { name: "qwen3-embedding-8b", server: "gpu1", kind: "embedding" },
        { name: "qwen3-reranker-0.6b", server: "gpu1", kind: "rerank" },
        { name: "notes-sql", server: "gpu1", kind: "chat", base: "gpt-oss-120b" },
      ],
      edge: "edge",
      // The stand-in exporters answer every path: an app on each host.
      apps: [
        { name: "search", host: "edge", healthUrl: `http://127.0.0.1:${edge.port}/` },
        { name: "memory", host: "gpu1", healthUrl: `http://127.0.0.1:${gpu1.port}/healthz` },
      ],
    };
  });
  afterAll(async () => {
    gateway?.stop();
    await Promise.all([backend?.stop(), edge?.stop(), gpu1?.stop(), prometheus?.stop(), silent?.stop()]);
  });

  it("reports all ok for a healthy estate, and asks each model for an answer through the gateway", async () => {
    edge.state.metrics = edgeMetrics(14);
    gpu1.state.metrics = gpu1Metrics();
    const before = backend.seen.length;
    const run = await runCheck(write(view));
    expect(run.output).toMatch(/16 ok, 0 pending, 0 failed/);
    expect(run.status).toBe(0);
    expect(run.lines["tunnel gpu1"]).toEqual({ status: "ok", detail: "handshake 14 s ago" });
    expect(run.lines["gpus gpu1"].detail).toBe("1 × NVIDIA RTX PRO 6000 Blackwell Workstation Edition, driver 580.95.05");
    expect(run.lines["gateway without a key"].detail).toBe("401");
    expect(run.lines["gateway outside the API"].detail).toBe("404");
    expect(run.lines["prometheus targets"].detail).toBe("all 2 up");
    expect(run.lines["app memory"].detail).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/healthz answers in \d+ ms$/);
    const asked = backend.seen.slice(before).filter((r) => r.model).map((r) => `${r.path} ${r.model} ${r.client}`);
    expect(asked).toEqual([
      "/v1/chat/completions gpt-oss-120b infernus-check",
      "/v1/embeddings qwen3-embedding-8b infernus-check",
      "/v1/rerank qwen3-reranker-0.6b infernus-check",
      "/v1/chat/completions notes-sql infernus-check",
    ]);
    console.log(`all ok in ${run.ms.toFixed(0)} ms:\n${run.output}`);
  });

  it("leaves a model that is not loaded alone unless asked to --load it", async () => {
    edge.state.metrics = edgeMetrics(14);
    gpu1.state.metrics = gpu1Metrics({ running: { "gpt-oss-120b": 0 } });
    let before = backend.seen.length;
    const idle = await runCheck(write(view));
    expect(idle.status).toBe(0);
    expect(idle.lines["model gpt-oss-120b"]).toEqual({ status: "ok", detail: "weights complete, not loaded (infernus-check --load asks it too)" });
    expect(backend.seen.slice(before).some((r) => r.model === "gpt-oss-120b")).toBe(false);
    before = backend.seen.length;
    const loaded = await runCheck(write(view), ["--load"]);
    expect(loaded.lines["model gpt-oss-120b"].detail).toMatch(/^answered in \d+ ms, loaded first$/);
    expect(backend.seen.slice(before).some((r) => r.model === "gpt-oss-120b")).toBe(true);
  });

  it("reports a model still downloading as pending with its progress, and exits 2", async () => {
    edge.state.metrics = edgeMetrics(14);
    gpu1.state.metrics = gpu1Metrics({ weights: { "gpt-oss-120b": { complete: 0, bytes: 43 } }, running: { "gpt-oss-120b": 0 } });
    const run = await runCheck(write(view), ["--load"]);
    expect(run.lines["model gpt-oss-120b"]).toEqual({ status: "pending", detail: "downloading: 43% of 0.0 GB (on gpu1: infernus-models)" });
    expect(run.output).toMatch(/15 ok, 1 pending, 0 failed/);
    expect(run.status).toBe(2);
  });

  it("reports an old handshake, a degraded pool and stale UPS data as failed, naming where to look", async () => {
    edge.state.metrics = edgeMetrics(900);
    gpu1.state.metrics = gpu1Metrics({ pool: "degraded", upsStale: 1 });
    const run = await runCheck(write(view));
    expect(run.status).toBe(1);
    expect(run.lines["tunnel gpu1"]).toEqual({ status: "failed", detail: "last handshake 900 s ago (limit 300 s): gpu1 is off or its link is down; on gpu1: systemctl status wg-quick@wg0" });
    expect(run.lines["pool gpu1/tank"]).toEqual({ status: "failed", detail: "DEGRADED: on gpu1: zpool status -x tank" });
    expect(run.lines["ups gpu1/apc"].status).toBe("failed");
  });

  it("reports a stopped backend as failed, quickly", async () => {
    edge.state.metrics = edgeMetrics(14);
    gpu1.state.metrics = gpu1Metrics();
    await backend.stop();
    try {
      const run = await runCheck(write(view));
      expect(run.status).toBe(1);
      expect(run.lines["gateway /healthz"].status).toBe("ok");
      expect(run.lines["gateway /v1/models"].status).toBe("failed");
      expect(run.lines["model gpt-oss-120b"].detail).toMatch(/^HTTP 50[234] after \d+ ms .*journalctl -u infernus-llama-swap$/);
      expect(run.ms).toBeLessThan(10_000);
      console.log(`stopped backend reported in ${run.ms.toFixed(0)} ms: ${run.lines["model gpt-oss-120b"].detail}`);
    } finally {
      backend = await startBackend({ chunks: 1, cadenceMs: 10, models: MODELS, port: backend.port });
    }
  });

  it("takes a model listed under its own server's name (server/model, as another server's llama-swap lists it) as listed, and no other server's", async () => {
    edge.state.metrics = edgeMetrics(14);
    gpu1.state.metrics = gpu1Metrics();
    const listing = async (ids: string[]) => {
      await backend.stop();
      backend = await startBackend({ chunks: 1, cadenceMs: 10, models: ids, port: backend.port });
      return (await runCheck(write(view))).lines["gateway /v1/models"];
    };
    try {
      expect((await listing(["gpu1/gpt-oss-120b", ...MODELS.slice(1)])).status).toBe("ok");
      expect(await listing(["gpu9/gpt-oss-120b", ...MODELS.slice(1)])).toEqual({ status: "failed", detail: "HTTP 200, missing: gpt-oss-120b: journalctl -u infernus-llama-swap on the servers" });
    } finally {
      await backend.stop();
      backend = await startBackend({ chunks: 1, cadenceMs: 10, models: MODELS, port: backend.port });
    }
  });

  it("reports an app that does not answer as failed, naming its unit", async () => {
    edge.state.metrics = edgeMetrics(14);
    gpu1.state.metrics = gpu1Metrics();
    const run = await runCheck(write({ ...view, apps: [{ name: "memory", host: "gpu1", healthUrl: "http://127.0.0.1:9/healthz" }] }));
    expect(run.status).toBe(1);
    expect(run.lines["app memory"].status).toBe("failed");
    expect(run.lines["app memory"].detail).toMatch(/^http:\/\/127\.0\.0\.1:9\/healthz: HTTP 000 .*on gpu1: journalctl -u infernus-memory -n 50$/);
  });

  it("reports each app's way to the models as its host's infernus-app-probe found it: fresh and whole, refused, short of a model, stale, or never probed", async () => {
    const now = Math.floor(Date.now() / 1000);
    const probed = (status: string, missing: string, up: number, at = now - 30) =>
      `infernus_app_gateway_up{app="search",status="${status}",missing="${missing}"} ${up}\ninfernus_app_gateway_probe_timestamp_seconds{app="search"} ${at}\n`;
    gpu1.state.metrics = gpu1Metrics();
    const withProbe = write({ ...view, apps: [{ ...view.apps[0], probeMaxAgeSeconds: 900 }, view.apps[1]] });
    const row = async (metrics: string) => {
      edge.state.metrics = edgeMetrics(14) + metrics;
      return (await runCheck(withProbe)).lines["app search to the models"];
    };
    expect(await row(probed("200", "", 1))).toEqual({ status: "ok", detail: expect.stringMatching(/^lists its models at the gateway with its own key, 3\d s ago$/) });
    expect(await row(probed("401", "", 0))).toEqual({ status: "failed", detail: "the gateway refuses its key (401): pulumi up writes the app's key anew: on edge: sudo infernus-app-probe search" });
    expect(await row(probed("DEPTH_ZERO_SELF_SIGNED_CERT", "", 0))).toEqual({ status: "failed", detail: "its container does not trust the gateway's certificate (DEPTH_ZERO_SELF_SIGNED_CERT): on edge: sudo infernus-app-probe search" });
    expect(await row(probed("200", "qwen3-embedding-8b", 0))).toEqual({ status: "failed", detail: "the gateway lists no qwen3-embedding-8b for its key: journalctl -u infernus-llama-swap on the servers" });
    expect(await row(probed("200", "", 1, now - 4000))).toEqual({ status: "failed", detail: expect.stringMatching(/^the last probe is 400\d s old \(limit 900 s\): on edge: systemctl status infernus-app-probe@search\.timer$/) });
    expect(await row("")).toEqual({ status: "failed", detail: "edge has no finding of infernus-app-probe: on edge: systemctl status infernus-app-probe@search.timer" });
    // An app that calls no models (Qdrant) has no such row.
    expect((await runCheck(withProbe)).lines["app memory to the models"]).toBeUndefined();
  });

  it("reports the LAN gateway as its server's infernus-metrics found it: answering, down, or not reported", async () => {
    edge.state.metrics = edgeMetrics(14);
    const withLan = write({ ...view, lanGateway: { server: "gpu1", healthUrl: "https://192.168.1.50/healthz" } });
    const lanGateway = async (up?: number) => {
      gpu1.state.metrics = gpu1Metrics() + (up === undefined ? "" : `infernus_lan_gateway_up{url="https://192.168.1.50/healthz"} ${up}\n`);
      return (await runCheck(withLan)).lines["lan gateway"];
    };
    expect(await lanGateway(1)).toEqual({ status: "ok", detail: "https://192.168.1.50/healthz answers on gpu1" });
    expect(await lanGateway(0)).toEqual({ status: "failed", detail: "https://192.168.1.50/healthz does not answer on gpu1: on gpu1: systemctl status nginx; journalctl -u nginx" });
    expect(await lanGateway()).toEqual({ status: "failed", detail: "gpu1 reports nothing of it: on gpu1: systemctl status infernus-metrics.timer" });
    expect((await runCheck(write(view))).lines["lan gateway"]).toBeUndefined();
  });

  it("says a server that hangs is unreachable within the probe bound, without asking its models", async () => {
    edge.state.metrics = edgeMetrics(14);
    const before = backend.seen.length;
    const run = await runCheck(write({ ...view, servers: [{ ...view.servers[0], exporter: `127.0.0.1:${silent.port}` }] }));
    expect(run.status).toBe(1);
    expect(run.lines["server gpu1"].detail).toMatch(/^its metrics at 127\.0\.0\.1:\d+ do not answer within 2 s/);
    expect(run.lines["model gpt-oss-120b"]).toEqual({ status: "failed", detail: "gpu1 is unreachable, so is its model" });
    expect(backend.seen.slice(before).some((r) => r.model)).toBe(false);
    expect(run.lines["app memory"]).toEqual({ status: "failed", detail: "not asked: gpu1 does not answer (see server gpu1)" });
    expect(run.lines["app search"].status).toBe("ok");
    // One bounded probe of 2 s for the server, the rest answer at once.
    expect(run.ms).toBeLessThan(8_000);
    console.log(`hung server reported in ${run.ms.toFixed(0)} ms`);
  });
});

describe("infernus-check --usage against a stand-in Prometheus (its HTTP API's instant-query answers)", () => {
  const queries: string[] = [];
  let prometheus: { port: number; stop: () => Promise<void> };
  /** Instant vectors as Prometheus's /api/v1/query returns them: {status, data: {resultType, result: [{metric, value: [time, "string"]}]}}. */
  const vector = (rows: [string, string, number][]) => ({ status: "success", data: { resultType: "vector", result: rows.map(([client, model, v]) => ({ metric: { client, model }, value: [1764700000, String(v)] })) } });
  const answers: [RegExp, ReturnType<typeof vector>][] = [
    [/infernus_usage_requests_total\{code="429"\}/, vector([["n8n", "", 3]])],
    [/infernus_usage_requests_total\{code=~"5\.\."\}/, vector([["ide", "qwen3-coder-30b", 1.02]])],
    [/infernus_usage_requests_total\[1d\]/, vector([["ide", "qwen3-coder-30b", 120.4], ["n8n", "qwen3-embedding-8b", 40], ["n8n", "", 3], ["", "", 2]])],
    [/infernus_usage_prompt_tokens_total/, vector([["ide", "qwen3-coder-30b", 51234.6], ["n8n", "qwen3-embedding-8b", 800]])],
    [/infernus_usage_completion_tokens_total/, vector([["ide", "qwen3-coder-30b", 9876], ["n8n", "qwen3-embedding-8b", 0]])],
  ];
  beforeAll(async () => {
    const server = http.createServer((req, res) => {
      const query = new URL(req.url ?? "/", "http://x").searchParams.get("query") ?? "";
      queries.push(query);
      res.end(JSON.stringify(answers.find(([pattern]) => pattern.test(query))?.[1] ?? vector([])));
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    prometheus = { port: (server.address() as AddressInfo).port, stop: () => new Promise<void>((done) => server.close(() => done())) };
  });
  afterAll(() => prometheus?.stop());

  it("prints the last day per user and model: requests, tokens, 429s and 5xx, rounded", async () => {
    const conf = path.join(mkdtempSync(path.join(tmpdir(), "infernus-usage-")), "check.conf");
    writeFileSync(conf, `prometheus http://127.0.0.1:${prometheus.port}\n`);
    const run = await runCheck(conf, ["--usage"]);
    expect(run.status, run.output).toBe(0);
    const rows = run.output.trim().split("\n").map((l) => l.trim().split(/\s{2,}|\s(?=\d)/).filter(Boolean));
    expect(rows[0].join(" ")).toMatch(/^usage over the last 24 hours/);
    expect(rows.slice(2)).toEqual([
      ["(no key)", "-", "2", "0", "0", "0", "0"],
      ["ide", "qwen3-coder-30b", "120", "51235", "9876", "0", "1"],
      ["n8n", "-", "3", "0", "0", "3", "0"],
      ["n8n", "qwen3-embedding-8b", "40", "800", "0", "0", "0"],
    ]);
    expect(queries).toContain("sum by (client, model) (increase(infernus_usage_prompt_tokens_total[1d]))");
  });

  it("refuses with why when the estate runs no Prometheus", async () => {
    const conf = path.join(mkdtempSync(path.join(tmpdir(), "infernus-usage-")), "check.conf");
    writeFileSync(conf, "timeouts 5 60 900\n");
    const run = await runCheck(conf, ["--usage"]);
    expect(run.status).toBe(64);
    expect(run.output).toContain("set infernus:monitoring in the stack file");
  });
});
