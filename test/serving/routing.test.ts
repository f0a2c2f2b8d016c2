/**
 * Requests reach the model they name. llama-swap itself cannot run here, so a stand-in reads the
 * rendered llama-swap config (models, apiKeys) and routes by `model` to a stand-in backend per
 * model, behind the real gateway (nginx) rendered for the same stack.
 */
import { load } from "js-yaml";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderStack } from "../../render/render";
import { request, startBackend, startGateway, type Gateway } from "../gateway/lab";

type Backend = Awaited<ReturnType<typeof startBackend>>;

/** What llama-swap does at its front door: check the key, route by model, list the models. */
async function startStandInSwap(config: { apiKeys: string[]; models: Record<string, unknown> }, backends: Record<string, Backend>) {
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(payload));
      };
      if (req.headers.authorization !== `Bearer ${config.apiKeys[0]}`) return reply(401, { error: "unauthorized" });
      if (req.url === "/v1/models") return reply(200, { object: "list", data: Object.keys(config.models).map((id) => ({ id, object: "model" })) });
      const model = (JSON.parse(body || "{}") as { model?: string }).model ?? "";
      const backend = backends[model];
      if (!backend) return reply(404, { error: { message: `model ${model} is not served here`, type: "invalid_request_error", code: "model_not_found" } });
      const upstream = http.request({ host: "127.0.0.1", port: backend.port, method: req.method, path: req.url, headers: { "content-type": "application/json", "x-infernus-client": req.headers["x-infernus-client"] } }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return { port: (server.address() as AddressInfo).port, stop: () => new Promise<void>((done) => server.close(() => done())) };
}

describe("requests through the gateway to the rendered llama-swap models (stand-ins)", () => {
  let backends: Record<string, Backend>;
  let swap: Awaited<ReturnType<typeof startStandInSwap>>;
  let gateway: Gateway;
  const key = "sk-infernus-routing-test-000000000000000000000000";
  let models: string[];

  beforeAll(async () => {
    const { files } = await renderStack("home");
    const config = load(String(files.get("hosts/gpu1/etc/infernus/llama-swap/config.yaml"))) as { apiKeys: string[]; models: Record<string, unknown> };
    const upstreamAuth = String(files.get("hosts/edge/etc/nginx/infernus/upstream-auth.conf"));
    // The key the gateway sends is the one llama-swap accepts.
    expect(upstreamAuth).toContain(`proxy_set_header Authorization "Bearer ${config.apiKeys[0]}";`);
    models = Object.keys(config.models);
    backends = Object.fromEntries(await Promise.all(models.map(async (m) => [m, await startBackend({ chunks: 2, cadenceMs: 20 })] as const)));
    swap = await startStandInSwap(config, backends);
    gateway = startGateway({
      gateway: { port: 18447, upstreamPort: swap.port, maxRequestMiB: 1, generationTimeoutSeconds: 60 },
      apiKeys: [{ name: "ide", requestsPerMinute: 600, burst: 50, rotation: 0 }],
      keys: { ide: key },
      upstreams: [`127.0.0.1:${swap.port}`],
      upstreamKey: config.apiKeys[0],
    });
  });
  afterAll(async () => {
    gateway?.stop();
    await swap?.stop();
    await Promise.all(Object.values(backends ?? {}).map((b) => b.stop()));
  });

  it("lists every declared model at /v1/models", async () => {
    const reply = await request(gateway.port, "GET", "/v1/models", { key });
    expect(reply.status).toBe(200);
    expect((JSON.parse(reply.body) as { data: { id: string }[] }).data.map((m) => m.id)).toEqual(["gpt-oss-120b", "qwen3-coder-30b", "qwen3-embedding-8b"]);
  });

  it("sends each model's requests to that model's server only", async () => {
    for (const model of models) {
      const path = model.includes("embedding") ? "/v1/embeddings" : "/v1/chat/completions";
      const reply = await request(gateway.port, "POST", path, { key, body: { model, input: "x", messages: [{ role: "user", content: "hi" }] } });
      expect(reply.status, model).toBe(200);
    }
    for (const model of models) expect(backends[model].seen.map((s) => s.model)).toEqual([model]);
  });

  it("answers a model nobody serves with a clear 404", async () => {
    const reply = await request(gateway.port, "POST", "/v1/chat/completions", { key, body: { model: "llama-3.1-70b", messages: [] } });
    expect(reply.status).toBe(404);
    expect(JSON.parse(reply.body).error).toMatchObject({ code: "model_not_found", message: "model llama-3.1-70b is not served here" });
  });
});
