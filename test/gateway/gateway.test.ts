/** The rendered gateway on real nginx (loopback) in front of a stand-in backend. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiKeyConfig } from "../../components/config/schema";
import { tool } from "../helpers";
import { CERTIFICATE_SHARE_PORT } from "../../components/gateway/nginx";
import { MOVED_PORTS, request, startBackend, startGateway, UPSTREAM_KEY, type Gateway, type Reply } from "./lab";

const keys = { ide: "sk-infernus-ide0000000000000000000000000000000000", n8n: "sk-infernus-n8n1111111111111111111111111111111111", tight: "sk-infernus-tight22222222222222222222222222222222" };
const apiKeys: ApiKeyConfig[] = [
  { name: "ide", requestsPerMinute: 600, burst: 50, rotation: 0 },
  { name: "n8n", requestsPerMinute: 600, burst: 50, rotation: 0 },
  { name: "tight", requestsPerMinute: 30, burst: 2, rotation: 0 },
];
const gatewayConfig = { port: 18443, upstreamPort: 0, maxRequestMiB: 1, generationTimeoutSeconds: 3600, maxStreams: 2000 };
const chat = { model: "stand-in", messages: [{ role: "user", content: "hi" }] };

describe("the gateway on real nginx", () => {
  let backend: Awaited<ReturnType<typeof startBackend>>;
  let gateway: Gateway;
  beforeAll(async () => {
    backend = await startBackend({ chunks: 6, cadenceMs: 150 });
    gateway = startGateway({ gateway: gatewayConfig, apiKeys, keys, upstreams: [`127.0.0.1:${backend.port}`] });
  });
  afterAll(async () => {
    gateway?.stop();
    await backend?.stop();
  });

  it("answers /healthz without a key", async () => {
    const reply = await request(gateway.port, "GET", "/healthz");
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ status: "ok" });
  });

  it("refuses a request without a key with 401 and an OpenAI-style error", async () => {
    const reply = await request(gateway.port, "POST", "/v1/chat/completions", { body: chat });
    expect(reply.status).toBe(401);
    expect(reply.headers["www-authenticate"]).toBe("Bearer");
    expect(JSON.parse(reply.body).error).toMatchObject({ type: "invalid_request_error", code: "invalid_api_key" });
  });

  it("refuses an unknown key with 401", async () => {
    const reply = await request(gateway.port, "GET", "/v1/models", { key: "sk-infernus-not-a-key" });
    expect(reply.status).toBe(401);
  });

  it("forwards with each key, telling the backend who asks, with the gateway's own key instead of the user's", async () => {
    for (const user of ["ide", "n8n"] as const) {
      const key = keys[user];
      const reply = await request(gateway.port, "POST", "/v1/chat/completions", { key, body: chat });
      expect(reply.status).toBe(200);
      const seen = backend.seen.at(-1)!;
      expect(seen).toMatchObject({ path: "/v1/chat/completions", client: user, model: "stand-in" });
      expect(seen.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    }
    expect((await request(gateway.port, "GET", "/v1/models", { key: keys.ide })).status).toBe(200);
  });

  it("answers 404 on every path outside the OpenAI API, with or without a key", async () => {
    for (const path of ["/", "/admin", "/metrics", "/sleep", "/v1/sleep", "/unload", "/running", "/v1", "/v1/chat/completions/x/y", "/health"]) {
      const reply = await request(gateway.port, "GET", path, { key: keys.ide });
      expect(reply.status, path).toBe(404);
      expect(JSON.parse(reply.body).error.code).toBe("not_found");
    }
  });

  it("never passes on vLLM's sleep and other dev endpoints, or llama-swap's routes to them", async () => {
    // vLLM's dev routes (entrypoints/serve/dev/*/api_router.py) and llama-swap's /upstream/<model>/<path> (server.go).
    const dev = ["/sleep?level=1", "/wake_up", "/wake_up?tags=weights", "/is_sleeping", "/collective_rpc", "/reset_prefix_cache", "/pause", "/resume"];
    const paths = [...dev, ...dev.map((p) => `/upstream/gpt-oss-120b${p}`), "/v1/../sleep", "/v1/chat/completions/../../sleep", "/api/models/unload", "/logs"];
    for (const method of ["GET", "POST"]) {
      for (const path of paths) expect((await request(gateway.port, method, path, { key: keys.ide, body: method === "POST" ? { method: "reload_weights" } : undefined })).status, `${method} ${path}`).toBe(404);
    }
  });

  it("answers 429 with Retry-After past a key's limit, and other keys go on", async () => {
    const replies = [];
    for (let i = 0; i < 6; i++) replies.push(await request(gateway.port, "GET", "/v1/models", { key: keys.tight }));
    const statuses = replies.map((r) => r.status);
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.slice(3)).toEqual([429, 429, 429]);
    expect(replies[3].headers["retry-after"]).toBe("2");
    expect(JSON.parse(replies[3].body).error.code).toBe("rate_limit_exceeded");
    expect((await request(gateway.port, "GET", "/v1/models", { key: keys.n8n })).status).toBe(200);
  });

  it("passes server-sent events through one by one, not all at the end", async () => {
    const reply = await request(gateway.port, "POST", "/v1/chat/completions", { key: keys.ide, body: { ...chat, stream: true } });
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toBe("text/event-stream");
    // Six tokens and [DONE]: vLLM's usage chunk, which the client did not ask for, stays out.
    expect(reply.body.match(/^data: /gm)).toHaveLength(7);
    // Six events 150 ms apart: they arrive spread over ~900 ms, the first long before the last.
    expect(reply.chunkTimes.length).toBeGreaterThanOrEqual(6);
    console.log(`SSE chunks arrived at ${reply.chunkTimes.map((t) => t.toFixed(0)).join(", ")} ms`);
    expect(reply.chunkTimes.at(-1)! - reply.chunkTimes[0]).toBeGreaterThan(600);
  });

  it("sends HSTS with every answer: 200, 401, 404 and 429 alike", async () => {
    const replies = [
      await request(gateway.port, "GET", "/v1/models", { key: keys.ide }),
      await request(gateway.port, "GET", "/v1/models"),
      await request(gateway.port, "GET", "/metrics", { key: keys.ide }),
    ];
    for (let i = 0; i < 4; i++) replies.push(await request(gateway.port, "GET", "/v1/models", { key: keys.tight }));
    expect(replies.slice(0, 3).map((r) => r.status)).toEqual([200, 401, 404]);
    expect(replies.at(-1)!.status).toBe(429);
    for (const reply of replies) expect(reply.headers["strict-transport-security"], `status ${reply.status}`).toBe("max-age=63072000");
  });

  /** A TLS handshake with openssl s_client (the real tool), offering only what ARGS allow. */
  const handshake = (...args: string[]) => {
    const result = tool("openssl", ["s_client", "-connect", `127.0.0.1:${gateway.port}`, "-servername", "localhost", ...args], "", 15_000);
    const agreed = /^New, (TLSv[\d.]+), Cipher is (\S+)$/m.exec(result.stdout);
    return { ok: result.status === 0 && agreed !== null, protocol: agreed?.[1], cipher: agreed?.[2], out: result.stdout + result.stderr };
  };

  it("speaks TLS 1.2 and 1.3 with AEAD suites only, as Mozilla's intermediate profile (openssl s_client, the real tool)", () => {
    expect(handshake("-tls1_3")).toMatchObject({ ok: true, protocol: "TLSv1.3" });
    for (const aead of ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"]) {
      expect(handshake("-tls1_2", "-cipher", aead), aead).toMatchObject({ ok: true, protocol: "TLSv1.2", cipher: aead });
    }
    // The client offers the old protocols and CBC suites (security level 0): the server says no.
    for (const old of ["-tls1", "-tls1_1"]) {
      const refused = handshake(old, "-cipher", "ALL:@SECLEVEL=0");
      expect(refused.ok, old).toBe(false);
      // The server's alert, not the client declining to offer it.
      expect(refused.out, old).toMatch(/alert protocol version/);
    }
    for (const cbc of ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-ECDSA-AES128-SHA256"]) {
      const refused = handshake("-tls1_2", "-cipher", `${cbc}:@SECLEVEL=0`);
      expect(refused.ok, cbc).toBe(false);
      expect(refused.out, cbc).toMatch(/alert handshake failure/);
    }
  });

  it("writes an audit line per request with the user, never the key", async () => {
    await request(gateway.port, "GET", "/v1/models", { key: keys.n8n });
    const lines = readFileSync(gateway.paths.auditLog, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const last = lines.at(-1);
    expect(last).toMatchObject({ client: "n8n", method: "GET", path: "/v1/models", status: 200 });
    expect(Object.keys(last)).toEqual(["time", "client", "method", "path", "status", "model", "prompt_tokens", "completion_tokens", "request_bytes", "response_bytes", "request_time", "upstream_time", "upstream"]);
    const log = readFileSync(gateway.paths.auditLog, "utf8");
    for (const key of Object.values(keys)) expect(log).not.toContain(key);
  });
});

describe("token usage in the audit log, read by njs on real nginx from vLLM-shaped answers", () => {
  let backend: Awaited<ReturnType<typeof startBackend>>;
  let gateway: Gateway;
  beforeAll(async () => {
    backend = await startBackend({ chunks: 5, cadenceMs: 5 });
    gateway = startGateway({ gateway: gatewayConfig, apiKeys, keys, upstreams: [`127.0.0.1:${backend.port}`] });
  });
  afterAll(async () => {
    gateway?.stop();
    await backend?.stop();
  });

  const auditLines = () => readFileSync(gateway.paths.auditLog, "utf8").split("\n").filter(Boolean);

  /** The audit line of the last request, and what the stand-in reported for it. */
  async function audited(path: string, body: unknown, key: string | null = keys.ide) {
    const before = auditLines().length;
    const reply = await request(gateway.port, "POST", path, { key: key ?? undefined, body });
    // nginx writes the line once the request is done, which may be just after the client has the last byte.
    for (let tries = 0; tries < 100 && auditLines().length === before; tries++) await new Promise((done) => setTimeout(done, 10));
    const line = JSON.parse(auditLines().at(-1)!);
    return { reply, line, reported: backend.seen.at(-1)?.usage };
  }

  it("logs the model and the exact prompt and completion tokens of a chat completion", async () => {
    const { reply, line, reported } = await audited("/v1/chat/completions", { ...chat, model: "qwen3-coder-30b", max_tokens: 7 });
    expect(reply.status).toBe(200);
    expect(reported?.completion_tokens).toBe(7);
    expect(line).toMatchObject({ client: "ide", path: "/v1/chat/completions", status: 200, model: "qwen3-coder-30b", prompt_tokens: reported?.prompt_tokens, completion_tokens: 7 });
  });

  const events = (reply: Reply) => reply.body.split("\n\n").filter(Boolean);

  it("logs a stream's tokens although its client did not ask for usage, and keeps vLLM's usage chunk from that client", async () => {
    const { reply, line, reported } = await audited("/v1/chat/completions", { ...chat, model: "gpt-oss-120b", stream: true, max_tokens: 4 });
    expect(events(reply)).toEqual([...[0, 1, 2, 3].map((i) => expect.stringContaining(`"content":"t${i}"`)), "data: [DONE]"]);
    expect(reply.body).not.toContain('"usage"');
    expect(line).toMatchObject({ model: "gpt-oss-120b", prompt_tokens: reported?.prompt_tokens, completion_tokens: 4 });
  });

  it("gives a stream's usage chunk to a client that asked for it (stream_options.include_usage)", async () => {
    const { reply, line, reported } = await audited("/v1/chat/completions", { ...chat, model: "gpt-oss-120b", stream: true, max_tokens: 2, stream_options: { include_usage: true } });
    const usageChunk = JSON.parse(events(reply).at(-2)!.slice("data: ".length));
    expect(usageChunk).toMatchObject({ choices: [], usage: reported });
    expect(line).toMatchObject({ prompt_tokens: reported?.prompt_tokens, completion_tokens: 2 });
  });

  it("keeps the usage chunk out for a long prompt too (its body is past nginx's default 16 KiB buffer)", async () => {
    const long = { model: "qwen3-coder-30b", messages: [{ role: "user", content: "x".repeat(200_000) }], stream: true, max_tokens: 3 };
    const { reply, line, reported } = await audited("/v1/chat/completions", long);
    expect(events(reply)).toHaveLength(3 + 1);
    expect(line).toMatchObject({ prompt_tokens: reported?.prompt_tokens, completion_tokens: 3 });
    expect(reported!.prompt_tokens).toBeGreaterThan(50_000);
  });

  it("logs a legacy completion's tokens", async () => {
    const { line, reported } = await audited("/v1/completions", { model: "qwen3-coder-30b", prompt: "def f(", max_tokens: 3 });
    expect(line).toMatchObject({ path: "/v1/completions", model: "qwen3-coder-30b", prompt_tokens: reported?.prompt_tokens, completion_tokens: 3 });
  });

  it("logs an embedding's prompt tokens, with no completion tokens", async () => {
    const { line, reported } = await audited("/v1/embeddings", { model: "qwen3-embedding-8b", input: ["a note", "another"] });
    expect(line).toMatchObject({ path: "/v1/embeddings", model: "qwen3-embedding-8b", prompt_tokens: reported?.prompt_tokens, completion_tokens: 0 });
  });

  it("logs a rerank's tokens from the usage before its results, not from a document that looks like usage", async () => {
    const documents = ['{"usage":{"prompt_tokens":999,"completion_tokens":999}}', "plain text"];
    const { reply, line, reported } = await audited("/v1/rerank", { model: "qwen3-reranker-8b", query: "q", documents });
    expect(reply.status).toBe(200);
    expect(line).toMatchObject({ path: "/v1/rerank", model: "qwen3-reranker-8b", prompt_tokens: reported?.prompt_tokens, completion_tokens: null });
  });

  it("logs a Responses API answer's input and output tokens, streamed and not", async () => {
    for (const stream of [false, true]) {
      const { reply, line, reported } = await audited("/v1/responses", { model: "gpt-oss-20b", input: "hello", stream, max_output_tokens: 6 });
      expect(reply.status, `stream ${stream}`).toBe(200);
      expect(line, `stream ${stream}`).toMatchObject({ path: "/v1/responses", model: "gpt-oss-20b", prompt_tokens: reported?.prompt_tokens, completion_tokens: reported?.completion_tokens });
    }
  });

  it("logs a request without a key with no model and no tokens", async () => {
    const { reply, line } = await audited("/v1/chat/completions", { ...chat, model: "qwen3-coder-30b" }, null);
    expect(reply.status).toBe(401);
    expect(line).toMatchObject({ client: "", status: 401, model: "", prompt_tokens: null, completion_tokens: null });
  });

  it("gives infernus-metrics the tokens per user and model that this log holds (the real log read by the real script)", async () => {
    await audited("/v1/chat/completions", { ...chat, model: "qwen3-coder-30b", max_tokens: 2 }, keys.n8n);
    const lines = auditLines().map((l) => JSON.parse(l) as { client: string; model: string; status: number; prompt_tokens: number | null; completion_tokens: number | null });
    const dir = mkdtempSync(path.join(tmpdir(), "infernus-metrics-"));
    writeFileSync(path.join(dir, "metrics.conf"), `AUDIT_LOG='${gateway.paths.auditLog}'\n`);
    const run = spawnSync("bash", ["assets/monitoring/metrics.sh", path.join(dir, "out")], { encoding: "utf8", timeout: 30_000, env: { ...process.env, INFERNUS_METRICS_CONF: path.join(dir, "metrics.conf") } });
    expect(run.status, run.stderr).toBe(0);
    const prom = readFileSync(path.join(dir, "out", "gateway.prom"), "utf8");
    for (const [client, model] of [["ide", "qwen3-coder-30b"], ["n8n", "qwen3-coder-30b"], ["ide", "gpt-oss-20b"]]) {
      const mine = lines.filter((l) => l.client === client && l.model === model);
      const prompt = mine.reduce((sum, l) => sum + (l.prompt_tokens ?? 0), 0);
      const completion = mine.reduce((sum, l) => sum + (l.completion_tokens ?? 0), 0);
      expect(prompt, `${client} ${model}`).toBeGreaterThan(0);
      expect(prom).toContain(`infernus_usage_prompt_tokens_total{client="${client}",model="${model}"} ${prompt}\n`);
      expect(prom).toContain(`infernus_usage_completion_tokens_total{client="${client}",model="${model}"} ${completion}\n`);
    }
    expect(prom).toContain(`infernus_usage_requests_total{client="",model="",code="401"} ${lines.filter((l) => l.status === 401).length}\n`);
  });

  it("never logs the prompt", async () => {
    const secret = "the-prompt-text-that-must-stay-private";
    await audited("/v1/chat/completions", { model: "qwen3-coder-30b", messages: [{ role: "user", content: secret }], stream: true });
    expect(readFileSync(gateway.paths.auditLog, "utf8")).not.toContain(secret);
  });
});

describe("the gateway with its model server down", () => {
  it("answers 503 within a second, and serves again when the server is back", async () => {
    const backend = await startBackend({ chunks: 1, cadenceMs: 10 });
    const port = backend.port;
    await backend.stop();
    const gateway = startGateway({ gateway: { ...gatewayConfig, port: 18444 }, apiKeys, keys, upstreams: [`127.0.0.1:${port}`] });
    try {
      const reply = await request(gateway.port, "POST", "/v1/chat/completions", { key: keys.ide, body: chat });
      console.log(`refused-connection backend: ${reply.status} after ${reply.ms.toFixed(0)} ms`);
      expect(reply.status).toBe(503);
      expect(reply.ms).toBeLessThan(1000);
      expect(reply.headers["retry-after"]).toBe("5");
      expect(reply.headers["strict-transport-security"]).toBe("max-age=63072000");
      expect(JSON.parse(reply.body).error.code).toBe("backend_unavailable");
      const back = await startBackend({ chunks: 1, cadenceMs: 10, port });
      try {
        expect((await request(gateway.port, "POST", "/v1/chat/completions", { key: keys.ide, body: chat })).status).toBe(200);
      } finally {
        await back.stop();
      }
    } finally {
      gateway.stop();
    }
  });

  it("fails over to the next server when the first is down", async () => {
    const dead = await startBackend({ chunks: 1, cadenceMs: 10 });
    await dead.stop();
    const live = await startBackend({ chunks: 1, cadenceMs: 10 });
    const gateway = startGateway({ gateway: { ...gatewayConfig, port: 18445 }, apiKeys, keys, upstreams: [`127.0.0.1:${dead.port}`, `127.0.0.1:${live.port}`] });
    try {
      for (let i = 0; i < 4; i++) expect((await request(gateway.port, "POST", "/v1/chat/completions", { key: keys.ide, body: chat })).status).toBe(200);
      expect(live.seen).toHaveLength(4);
    } finally {
      gateway.stop();
      await live.stop();
    }
  });
});

describe("the gateway when its model server's packets vanish (a power cut at home)", () => {
  // A namespace that drops every packet, as a dead server behind the tunnel does.
  const ns = `infernus-blackhole-${process.pid}`;
  const ip = (...args: string[]) => {
    const result = tool("ip", args);
    if (result.status !== 0) throw new Error(`ip ${args.join(" ")}: ${result.stderr}`);
  };
  beforeAll(() => {
    ip("netns", "add", ns);
    ip("link", "add", `bh${process.pid % 100000}`, "type", "veth", "peer", "name", "bh0", "netns", ns);
    ip("addr", "add", "10.251.0.1/30", "dev", `bh${process.pid % 100000}`);
    ip("link", "set", `bh${process.pid % 100000}`, "up");
    ip("-n", ns, "addr", "add", "10.251.0.2/30", "dev", "bh0");
    ip("-n", ns, "link", "set", "bh0", "up");
    const drop = tool("ip", ["netns", "exec", ns, "nft", "add table inet bh; add chain inet bh in { type filter hook input priority 0; policy drop; }"]);
    if (drop.status !== 0) throw new Error(drop.stderr);
  });
  afterAll(() => {
    tool("ip", ["link", "del", `bh${process.pid % 100000}`]);
    tool("ip", ["netns", "del", ns]);
  });

  it("answers 503 within a second", async () => {
    const gateway = startGateway({ gateway: { ...gatewayConfig, port: 18446 }, apiKeys, keys, upstreams: ["10.251.0.2:8080"] });
    try {
      const reply = await request(gateway.port, "POST", "/v1/chat/completions", { key: keys.ide, body: chat });
      console.log(`dropped-packet backend: ${reply.status} after ${reply.ms.toFixed(0)} ms`);
      expect(reply.status).toBe(503);
      expect(reply.ms).toBeLessThan(1000);
    } finally {
      gateway.stop();
    }
  });
});

describe("the edge's certificate share for the LAN gateway, on real nginx", () => {
  let gateway: Gateway;
  const bundle = "-----BEGIN CERTIFICATE-----\nchain\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n";
  beforeAll(() => {
    // 127.0.0.1 stands for the LAN gateway's tunnel address; 127.0.0.2 for any other peer.
    gateway = startGateway({ gateway: gatewayConfig, apiKeys, keys, upstreams: ["127.0.0.1:9"], acme: { domain: "llm.example.net", shareCertificateWith: "127.0.0.1" } });
    writeFileSync(gateway.paths.certificateBundle, bundle);
  });
  afterAll(() => gateway?.stop());
  const fetch = (from: string, path = "/infernus/lan-certificate") =>
    tool("curl", ["-sk", "--interface", from, "--resolve", `llm.example.net:${MOVED_PORTS[CERTIFICATE_SHARE_PORT]}:127.0.0.1`, "-w", "\n%{http_code}", `https://llm.example.net:${MOVED_PORTS[CERTIFICATE_SHARE_PORT]}${path}`]).stdout;

  it("gives the certificate and its key to the LAN gateway's address", () => {
    expect(fetch("127.0.0.1")).toBe(`${bundle}\n200`);
  });

  it("refuses every other address (403), and serves nothing else (404)", () => {
    expect(fetch("127.0.0.2").endsWith("\n403")).toBe(true);
    expect(fetch("127.0.0.2")).not.toContain("PRIVATE KEY");
    expect(fetch("127.0.0.1", "/etc/nginx/infernus/lan-certificate.pem").endsWith("\n404")).toBe(true);
  });
});
