/**
 * The vector store's rendered config against a stand-in on loopback (Debian does not package
 * Qdrant): the stand-in takes its keys from the rendered env file and applies Qdrant's rules
 * (health paths open, the read-only key reads, the API key writes). The install step's health
 * wait, real Prometheus with the rendered scrape job, and a client with the rendered snippet must
 * send exactly the requests the config says.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { load } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderStack } from "../../render/render";
import { pulumiConfig, secretKeysOf, stackObject } from "../helpers";

const PORT = 16333;
const PROMETHEUS = 19091;
const monitored = { ...stackObject("singapore"), monitoring: { telegramChatId: "-1001234567890" }, telegramBotToken: "123456:stand-in-bot-token" };

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly key: "none" | "api" | "read-only" | "wrong";
}

function envValue(env: string, name: string): string {
  return env.match(new RegExp(`^${name}=(.*)$`, "m"))![1];
}

describe("the vector store's config against a Qdrant stand-in", () => {
  let files: ReadonlyMap<string, string | Buffer>;
  let apiKey: string;
  let readOnlyKey: string;
  const seen: Seen[] = [];
  let standIn: http.Server;
  const processes: ChildProcess[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), "infernus-qdrant-"));
  const file = (p: string) => String(files.get(`hosts/gpu1${p}`));

  beforeAll(async () => {
    files = (await renderStack("singapore", pulumiConfig(monitored), secretKeysOf(monitored))).files;
    const env = file("/etc/infernus/apps/memory.env");
    apiKey = envValue(env, "QDRANT__SERVICE__API_KEY");
    readOnlyKey = envValue(env, "QDRANT__SERVICE__READ_ONLY_API_KEY");
    standIn = http.createServer((req, res) => {
      const given = req.headers["api-key"] ?? req.headers.authorization?.replace(/^Bearer /, "");
      const key: Seen["key"] = given === undefined ? "none" : given === apiKey ? "api" : given === readOnlyKey ? "read-only" : "wrong";
      const url = req.url ?? "";
      seen.push({ method: req.method ?? "", path: url, key });
      const open = ["/healthz", "/livez", "/readyz"].includes(url);
      const reads = req.method === "GET" || req.method === "HEAD";
      if (!open && (key === "none" || key === "wrong")) return void res.writeHead(401).end("Must provide an API key or an Authorization bearer token");
      if (!open && key === "read-only" && !reads) return void res.writeHead(403).end("Forbidden: read-only key");
      if (url === "/metrics") return void res.writeHead(200, { "content-type": "text/plain" }).end("# TYPE collections_total gauge\ncollections_total 1\n");
      res.writeHead(200, { "content-type": "application/json" }).end('{"result":true,"status":"ok","time":0.001}');
    });
    await new Promise<void>((done) => standIn.listen(PORT, "127.0.0.1", done));
  });
  afterAll(() => {
    for (const p of processes) p.kill();
    standIn?.close();
  });

  it("is configured to serve HTTP on gpu1's tunnel address with both keys from its env file", () => {
    const config = load(file("/etc/infernus/apps/memory.yaml")) as { service: { host: string; http_port: number } };
    expect(config.service).toMatchObject({ host: "10.66.0.135", http_port: 6333 });
    expect(apiKey).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(readOnlyKey).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(apiKey).not.toBe(readOnlyKey);
  });

  it("gets one keyless GET /healthz from the install step's wait", async () => {
    // The real app.sh with podman, systemd and apt stubbed; curl is real and reaches the stand-in.
    const stubs = path.join(dir, "bin");
    mkdirSync(stubs, { recursive: true });
    for (const [name, body] of Object.entries({ "dpkg-query": 'echo "install ok installed"', podman: "exit 0", systemctl: "exit 0", "apt-get": "exit 0" })) {
      writeFileSync(path.join(stubs, name), `#!/bin/sh\n${body}\n`);
      chmodSync(path.join(stubs, name), 0o755);
    }
    const step = String(files.get([...files.keys()].find((f) => /^steps\/gpu1\/\d+-app-memory\.sh$/.test(f))!));
    const param = (name: string) => step.match(new RegExp(`^export ${name}='([^']*)'$`, "m"))![1];
    const health = param("HEALTH").replace("10.66.0.135:6333", `127.0.0.1:${PORT}`);
    // Not spawnSync: the stand-in answers from this process's event loop.
    const run = await promisify(execFile)("bash", [path.join(__dirname, "../../assets/apps/app.sh")], {
      encoding: "utf8",
      timeout: 30_000,
      env: { ...process.env, PATH: `${stubs}:${process.env.PATH}`, INFERNUS_ROOT: path.join(dir, "root"), UNITS: param("UNITS"), IMAGES: param("IMAGES"), DATA_DIR: param("DATA_DIR"), DATA_UID: "0", HEALTH: health },
    });
    expect(run.stderr).toBe("");
    expect(run.stdout).toContain(`infernus-memory answers at ${health}`);
    expect(seen).toEqual([{ method: "GET", path: "/healthz", key: "none" }]);
  });

  it("gets GET /metrics with the read-only key from real Prometheus running the rendered scrape job", async () => {
    const edge = (p: string) => String(files.get(`hosts/edge${p}`));
    writeFileSync(path.join(dir, "memory.key"), edge("/etc/prometheus/keys/memory.key"));
    const job = (load(edge("/etc/prometheus/prometheus.yml")) as { scrape_configs: { job_name: string }[] }).scrape_configs.find((j) => j.job_name === "app-memory")!;
    // The rendered job as it is, but for where the stand-in listens and where the key file lies.
    const lab = JSON.parse(JSON.stringify(job).replace("10.66.0.135:6333", `127.0.0.1:${PORT}`).replace("/etc/prometheus/keys/memory.key", path.join(dir, "memory.key")));
    writeFileSync(path.join(dir, "prometheus.yml"), JSON.stringify({ global: { scrape_interval: "1s" }, scrape_configs: [lab] }));
    const before = seen.length;
    const prometheus = spawn("prometheus", [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/tsdb`, `--web.listen-address=127.0.0.1:${PROMETHEUS}`], { stdio: "ignore" });
    processes.push(prometheus);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !seen.slice(before).some((s) => s.path === "/metrics")) await new Promise((r) => setTimeout(r, 250));
    prometheus.kill();
    const scrapes = seen.slice(before);
    expect(scrapes.length).toBeGreaterThan(0);
    console.log(`Prometheus scraped the stand-in's /metrics ${scrapes.length}× within ${((Date.now() - deadline + 60_000) / 1000).toFixed(1)} s of starting, each with the read-only key`);
    for (const s of scrapes) expect(s).toEqual({ method: "GET", path: "/metrics", key: "read-only" });
  }, 90_000);

  it("lets a client with the snippet's key write, and refuses the read-only key and no key", async () => {
    const before = seen.length;
    const put = (headers: Record<string, string>) =>
      fetch(`http://127.0.0.1:${PORT}/collections/memory`, { method: "PUT", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ vectors: { size: 4096, distance: "Cosine" } }) });
    expect((await put({ "api-key": apiKey })).status).toBe(200);
    expect((await put({ "api-key": readOnlyKey })).status).toBe(403);
    expect((await put({})).status).toBe(401);
    expect(seen.slice(before)).toEqual([
      { method: "PUT", path: "/collections/memory", key: "api" },
      { method: "PUT", path: "/collections/memory", key: "read-only" },
      { method: "PUT", path: "/collections/memory", key: "none" },
    ]);
  });
});
