/**
 * Open WebUI as an app kind: its unit and environment under mocks and in the render, its invalid
 * configs, and its calls out of the container against the rendered gateway on real nginx, a Qdrant
 * stand-in and a SearxNG stand-in, made by a stand-in that reads the rendered environment exactly
 * as Open WebUI's source does (openWebuiStandIn.py says where each call comes from).
 */
import { execFile } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiKeyConfig } from "../../components/config/schema";
import { renderStack } from "../../render/render";
import { resolve } from "../../render/runtime";
import { startBackend, startGateway, UPSTREAM_KEY, type Gateway } from "../gateway/lab";
import { clone, problemsOf, runEstate, stackObject } from "../helpers";

const home = stackObject("home");
const singapore = stackObject("singapore");
const run = promisify(execFile);

/** A unit's `--env NAME=value` lines, and an env file's NAME=value lines. */
function unitEnv(unit: string): Record<string, string> {
  return Object.fromEntries([...unit.matchAll(/--env ([A-Z0-9_]+)=(\S*)/g)].map((m) => [m[1], m[2]]));
}
function envFile(text: string): Record<string, string> {
  return Object.fromEntries(text.split("\n").filter((l) => /^[A-Z0-9_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

async function chatFiles(config: Record<string, unknown>, host: string) {
  const { result } = await runEstate(config);
  const step = (host === "edge" ? result.edge.host : result.servers[host].host).steps.find((s) => s.name === "app-chat")!;
  const files = (await resolve(step.files)).value;
  const file = (p: string) => files.find((f) => f.path === p);
  return { result, files, unit: unitEnv(file("/etc/systemd/system/infernus-chat.service")!.content), secrets: envFile(file("/etc/infernus/apps/chat.env")!.content), file };
}

describe("Open WebUI under mocks", () => {
  it("calls the gateway with its own key for chats and embeddings, keeps vectors in the estate's Qdrant with its key, and lets the stack file decide its settings", async () => {
    const { result, unit, secrets } = await chatFiles(home, "gpu1");
    const key = (await resolve(result.apiKeys.chat)).value;
    expect(unit).toMatchObject({
      HOST: "10.66.0.135",
      PORT: "3080",
      ENABLE_PERSISTENT_CONFIG: "false",
      WEBUI_AUTH: "true",
      ENABLE_SIGNUP: "false",
      ENABLE_OLLAMA_API: "false",
      OFFLINE_MODE: "true",
      OPENAI_API_BASE_URL: "https://10.66.0.1/v1",
      DEFAULT_MODELS: "gpt-oss-120b",
      TASK_MODEL_EXTERNAL: "gpt-oss-120b",
      VECTOR_DB: "qdrant",
      QDRANT_URI: "http://10.66.0.135:6333",
      RAG_EMBEDDING_ENGINE: "openai",
      RAG_OPENAI_API_BASE_URL: "https://10.66.0.1/v1",
      RAG_EMBEDDING_MODEL: "qwen3-embedding-8b",
      ENABLE_MEMORIES: "true",
      ENABLE_WEB_SEARCH: "true",
      WEB_SEARCH_ENGINE: "searxng",
      SEARXNG_QUERY_URL: "http://127.0.0.1:8888/search?q=<query>",
    });
    expect(Object.keys(secrets).sort()).toEqual(["OPENAI_API_KEY", "QDRANT_API_KEY", "RAG_OPENAI_API_KEY", "WEBUI_SECRET_KEY"]);
    expect(secrets.OPENAI_API_KEY).toBe(key);
    expect(secrets.RAG_OPENAI_API_KEY).toBe(key);
    expect(secrets.QDRANT_API_KEY).toBe((await resolve(result.apps.memory.apiKey!)).value);
    expect(secrets.WEBUI_SECRET_KEY).toMatch(/^[A-Za-z0-9]{48}$/);
    // No secret in the unit.
    for (const value of Object.values(secrets)) expect(Object.values(unit)).not.toContain(value);
  });

  it("keeps its secrets secret: the step's stdin, the env file and the snippet", async () => {
    const { resources, result } = await runEstate(home);
    expect(resources.find((r) => r.name === "gpu1-app-chat")!.secretInputs).toContain("stdin");
    const { file } = await chatFiles(home, "gpu1");
    expect(file("/etc/infernus/apps/chat.env")!.mode).toBe("0600");
    expect(file("/etc/infernus/apps/chat.probe.json")!.mode).toBe("0600");
    expect((await resolve(result.apps.chat.snippet)).value).toBe("OPEN_WEBUI_URL=http://10.66.0.135:3080\n# open it from a WireGuard client; the first account made there is the admin, and no one can sign up after it\n");
  });

  it("trusts the private CA through one bundle of the host's roots and the CA for each of its Python clients, or with a domain pins the public name instead", async () => {
    const { unit, file } = await chatFiles(home, "gpu1");
    for (const name of ["AIOHTTP_CLIENT_SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"]) expect(unit[name], name).toBe("/etc/infernus/apps/ca-bundle.crt");
    expect(file("/etc/infernus/apps/gateway-ca.crt")).toBeDefined();
    const named = clone(singapore);
    Object.assign(named.edge, { domain: "llm.example.net", acmeEmail: "kirill@example.net" });
    const pinned = await chatFiles(named, "gpu1");
    expect(pinned.unit.OPENAI_API_BASE_URL).toBe("https://llm.example.net/v1");
    expect(pinned.unit.SSL_CERT_FILE).toBeUndefined();
    expect(pinned.file("/etc/systemd/system/infernus-chat.service")!.content).toContain("--add-host llm.example.net:192.168.1.50");
  });

  it("keeps its data on the state dataset where its host has pools (snapshots, the backup pool, offsite)", async () => {
    for (const stack of ["home", "singapore"]) {
      const { files } = await renderStack(stack);
      const unit = String(files.get("hosts/gpu1/etc/systemd/system/infernus-chat.service"));
      expect(unit, stack).toMatch(/RequiresMountsFor=\/srv\/state\/chat\n/);
      expect(unit, stack).toContain("--volume /srv/state/chat:/app/backend/data");
    }
  });

  it("searches with the SearxNG of the Perplexica on its host, installed before it, or with one of its own on loopback", async () => {
    const { result } = await runEstate(singapore);
    const gpu1 = result.servers.gpu1.host.steps.map((s) => s.name);
    expect(gpu1.indexOf("app-search")).toBeLessThan(gpu1.indexOf("app-chat"));
    const beside = await chatFiles(singapore, "gpu1");
    expect(beside.file("/etc/systemd/system/infernus-chat.service")!.content).toContain("Requires=infernus-search-searxng.service");
    expect(beside.file("/etc/systemd/system/infernus-chat-searxng.service")).toBeUndefined();
    const alone = await chatFiles(home, "gpu1");
    expect(alone.file("/etc/systemd/system/infernus-chat.service")!.content).toContain("Requires=infernus-chat-searxng.service");
    expect(alone.file("/etc/systemd/system/infernus-chat-searxng.service")!.content).toContain("--env GRANIAN_HOST=127.0.0.1");
    expect(alone.file("/etc/infernus/apps/chat.searxng.env")!.mode).toBe("0600");
    expect(alone.unit.SEARXNG_QUERY_URL).toBe("http://127.0.0.1:8888/search?q=<query>");
    // A second Open WebUI there searches with the first one's.
    const two = clone(home);
    two.apiKeys.push({ name: "family" });
    two.apps.push({ name: "family", kind: "open-webui", host: "gpu1", port: 3081, chatModel: "gpt-oss-120b", embeddingModel: "qwen3-embedding-8b" });
    const second = await runEstate(two);
    const familyFiles = (await resolve(second.result.servers.gpu1.host.steps.find((s) => s.name === "app-family")!.files)).value;
    expect(familyFiles.find((f) => f.path === "/etc/systemd/system/infernus-family.service")!.content).toContain("Requires=infernus-chat-searxng.service");
    expect(familyFiles.find((f) => f.path === "/etc/systemd/system/infernus-family-searxng.service")).toBeUndefined();
    const off = clone(home);
    off.apps.find((a: { name: string }) => a.name === "chat").webSearch = false;
    const without = await chatFiles(off, "gpu1");
    expect(without.unit.ENABLE_WEB_SEARCH).toBe("false");
    expect(without.file("/etc/systemd/system/infernus-chat-searxng.service")).toBeUndefined();
  });

  it("reranks what it finds with a reranker the servers serve, through the gateway's /v1/rerank", async () => {
    const config = clone(singapore);
    config.servers[0].models.push("qwen3-reranker-0.6b");
    config.apps.find((a: { name: string }) => a.name === "chat").rerankModel = "qwen3-reranker-0.6b";
    const { unit, secrets, result } = await chatFiles(config, "gpu1");
    expect(unit).toMatchObject({ ENABLE_RAG_HYBRID_SEARCH: "true", RAG_RERANKING_ENGINE: "external", RAG_RERANKING_MODEL: "qwen3-reranker-0.6b", RAG_EXTERNAL_RERANKER_URL: "https://192.168.1.50/v1/rerank" });
    expect(secrets.RAG_EXTERNAL_RERANKER_API_KEY).toBe((await resolve(result.apiKeys.chat)).value);
  });
});

describe("invalid Open WebUI configs", () => {
  const chatAt = (c: Record<string, any>) => c.apps.findIndex((a: { name: string }) => a.name === "chat");
  const messages = (edit: (c: Record<string, any>) => void) => {
    const config = clone(home);
    edit(config);
    return problemsOf(config).map((p) => `${p.path}: ${p.message}`);
  };
  it.each<[string, (c: Record<string, any>) => void, RegExp]>([
    ["no Qdrant in the estate", (c) => (c.apps = c.apps.filter((a: { kind: string }) => a.kind !== "qdrant")), /^apps\[\d\]\.vectorStore: Open WebUI keeps its documents and memories in Qdrant, and the estate runs none: add \{ name: memory, kind: qdrant/],
    ["two Qdrants and none named", (c) => c.apps.push({ name: "memory2", kind: "qdrant", host: "gpu1", port: 6334 }), /^apps\[2\]\.vectorStore: the estate runs 2 Qdrant apps \(memory, memory2\): name the one Open WebUI uses$/],
    ["a vector store that is no Qdrant", (c) => (c.apps[chatAt(c)].vectorStore = "search"), /^apps\[2\]\.vectorStore: no Qdrant app has that name; the Qdrant apps: memory$/],
    ["a reranker that is a chat model", (c) => (c.apps[chatAt(c)].rerankModel = "gpt-oss-120b"), /^apps\[2\]\.rerankModel: a chat model; no server serves a rerank model yet/],
    ["an embedding model no server serves", (c) => (c.apps[chatAt(c)].embeddingModel = "bge-m3"), /^apps\[2\]\.embeddingModel: no server serves it; the embedding models served: qwen3-embedding-8b/],
    ["its API key missing", (c) => (c.apiKeys = c.apiKeys.filter((k: { name: string }) => k.name !== "chat")), /^apps\[2\]\.name: the app calls the gateway with the API key chat: add \{ name: chat \} to infernus:apiKeys$/],
  ])("refuses %s", (_what, edit, message) => {
    expect(messages(edit).some((m) => message.test(m)), messages(edit).join("\n")).toBe(true);
  });

  it("takes a named vector store, web search off, and a host beside Perplexica", () => {
    expect(messages((c) => Object.assign(c.apps[chatAt(c)], { webSearch: false, vectorStore: "memory", port: 3081 }))).toEqual([]);
    expect(messages((c) => Object.assign(c.apps[chatAt(c)], { host: "edge" }))).toEqual([]);
  });
});

describe("Open WebUI's calls against the rendered gateway on real nginx, a Qdrant stand-in and a SearxNG stand-in", () => {
  const qdrantSeen: { method: string; path: string; key?: string; body: any }[] = [];
  const searxSeen: string[] = [];
  let backend: Awaited<ReturnType<typeof startBackend>>;
  let gateway: Gateway;
  let servers: http.Server[] = [];
  let env: Record<string, string> = {};
  const dir = mkdtempSync(path.join(tmpdir(), "infernus-open-webui-"));
  const listen = async (handler: http.RequestListener) => {
    const server = http.createServer(handler);
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    servers.push(server);
    return (server.address() as AddressInfo).port;
  };

  beforeAll(async () => {
    const { files } = await renderStack("home");
    const gpu1 = (p: string) => String(files.get(`hosts/gpu1${p}`));
    const unit = unitEnv(gpu1("/etc/systemd/system/infernus-chat.service"));
    const secrets = envFile(gpu1("/etc/infernus/apps/chat.env"));
    backend = await startBackend({ chunks: 1, cadenceMs: 1, models: ["gpt-oss-120b", "qwen3-embedding-8b"] });
    const apiKeys: ApiKeyConfig[] = [{ name: "chat", requestsPerMinute: 300, burst: 50, rotation: 0 }];
    gateway = startGateway({ gateway: { port: 18463, upstreamPort: 0, maxRequestMiB: 1, generationTimeoutSeconds: 60, maxStreams: 64 }, apiKeys, keys: { chat: secrets.OPENAI_API_KEY }, upstreams: [`127.0.0.1:${backend.port}`] });
    // Qdrant's REST answers (its OpenAPI): a collection that does not exist yet, then every write taken.
    const qdrantPort = await listen((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        qdrantSeen.push({ method: req.method ?? "", path: req.url ?? "", key: req.headers["api-key"] as string | undefined, body: body ? JSON.parse(body) : undefined });
        const result = req.url === "/" ? { title: "qdrant - vector search engine", version: "1.19.0" } : req.url?.endsWith("/exists") ? { result: { exists: false }, status: "ok" } : { result: true, status: "ok" };
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result));
      });
    });
    const searxPort = await listen((req, res) => {
      searxSeen.push(req.url ?? "");
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ query: "infernus", results: [{ url: "https://example.org/", title: "infernus", content: "…" }] }));
    });
    // The bundle as the install step makes it (app.sh, podman and systemd stubbed): the host's roots and the gateway's CA.
    const root = path.join(dir, "root");
    mkdirSync(path.join(root, "etc/ssl/certs"), { recursive: true });
    mkdirSync(path.join(root, "etc/infernus/apps"), { recursive: true });
    copyFileSync("/etc/ssl/certs/ca-certificates.crt", path.join(root, "etc/ssl/certs/ca-certificates.crt"));
    writeFileSync(path.join(root, "etc/infernus/apps/gateway-ca.crt"), readFileSync(gateway.paths.certificate));
    const stubs = path.join(dir, "bin");
    mkdirSync(stubs);
    for (const [name, body] of Object.entries({ podman: "exit 0", systemctl: "exit 0", curl: "exit 0", "dpkg-query": 'echo "install ok installed"' })) {
      writeFileSync(path.join(stubs, name), `#!/bin/sh\n${body}\n`);
      chmodSync(path.join(stubs, name), 0o755);
    }
    const step = String(files.get([...files.keys()].find((f) => /^steps\/gpu1\/\d+-app-chat\.sh$/.test(f))!));
    const param = (name: string) => step.match(new RegExp(`^export ${name}='([^']*)'$`, "m"))![1];
    await run("bash", [path.join(__dirname, "../../assets/apps/app.sh")], {
      timeout: 30_000,
      env: { ...process.env, PATH: `${stubs}:${process.env.PATH}`, INFERNUS_ROOT: root, UNITS: param("UNITS"), IMAGES: param("IMAGES"), DATA_DIR: param("DATA_DIR"), DATA_UID: "0", HEALTH: param("HEALTH"), CA_BUNDLE: param("CA_BUNDLE"), GATEWAY_CA: param("GATEWAY_CA") },
    });
    // The rendered environment, but for where the lab's ends listen: the gateway's certificate names localhost.
    const moved = (value: string) =>
      value
        .replace("https://10.66.0.1/", `https://localhost:${gateway.port}/`)
        .replace("http://10.66.0.135:6333", `http://127.0.0.1:${qdrantPort}`)
        .replace("http://127.0.0.1:8888", `http://127.0.0.1:${searxPort}`)
        .replace("/etc/infernus/apps/ca-bundle.crt", path.join(root, "etc/infernus/apps/ca-bundle.crt"));
    env = Object.fromEntries(Object.entries({ ...unit, ...secrets }).map(([k, v]) => [k, moved(v)]));
  }, 60_000);
  afterAll(async () => {
    gateway?.stop();
    await backend?.stop();
    for (const s of servers) s.close();
    servers = [];
  });

  const standIn = () => run("python3", [path.join(__dirname, "openWebuiStandIn.py")], { timeout: 30_000, env: { PATH: process.env.PATH, ...env } });

  it("lists the models and chats through the gateway with its own key, embeds a memory through the embedding model's route, stores it in Qdrant with Qdrant's key, and searches SearxNG", async () => {
    const { stdout } = await standIn();
    expect(JSON.parse(stdout)).toEqual({ models: ["gpt-oss-120b", "qwen3-embedding-8b"], chat: "ok", dimensions: 2, search: 1 });
    // The gateway knew the key as chat's, and passed its own key on.
    expect(backend.seen.map((s) => [s.path, s.client, s.model])).toEqual([
      ["/v1/models", "chat", undefined],
      ["/v1/chat/completions", "chat", "gpt-oss-120b"],
      ["/v1/embeddings", "chat", "qwen3-embedding-8b"],
    ]);
    for (const s of backend.seen) expect(s.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(qdrantSeen.every((s) => s.key === env.QDRANT_API_KEY)).toBe(true);
    expect(qdrantSeen.map((s) => `${s.method} ${s.path}`)).toEqual([
      "GET /",
      "GET /collections/chat_memories/exists",
      "PUT /collections/chat_memories",
      "PUT /collections/chat_memories/index?wait=true",
      "PUT /collections/chat_memories/index?wait=true",
      "PUT /collections/chat_memories/index?wait=true",
      "PUT /collections/chat_memories/points?wait=true",
    ]);
    expect(qdrantSeen[2].body.vectors).toMatchObject({ size: 2, distance: "Cosine" });
    expect(qdrantSeen.at(-1)!.body.points[0].payload.tenant_id).toBe("user-memory-1");
    expect(searxSeen).toEqual(["/search?q=infernus&format=json&pageno=1"]);
  });

  it("trusts the gateway only through the bundle: with the host's roots alone its TLS call fails", async () => {
    const saved = env.AIOHTTP_CLIENT_SSL_CERT_FILE;
    env.AIOHTTP_CLIENT_SSL_CERT_FILE = "/etc/ssl/certs/ca-certificates.crt";
    try {
      await expect(standIn()).rejects.toThrow(/CERTIFICATE_VERIFY_FAILED/);
    } finally {
      env.AIOHTTP_CLIENT_SSL_CERT_FILE = saved;
    }
  });
});
