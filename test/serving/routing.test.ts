/**
 * Requests reach the model they name. llama-swap itself cannot run here, so a stand-in reads the
 * rendered llama-swap config (models, apiKeys) and routes by `model` to a stand-in backend per
 * model, behind the real gateway (nginx) rendered for the same stack.
 */
import { load } from "js-yaml";
import * as http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderStack } from "../../render/render";
import { pulumiConfig, stackObject } from "../helpers";
import { llamaSwapValidator } from "./llamaSwapSchema";
import { request, startBackend, startGateway, type Gateway } from "../gateway/lab";
import { startStandInSwap, type SwapConfig } from "./standInSwap";

type Backend = Awaited<ReturnType<typeof startBackend>>;

describe("requests through the gateway to the rendered llama-swap models (stand-ins)", () => {
  let backends: Record<string, Backend>;
  let swap: Awaited<ReturnType<typeof startStandInSwap>>;
  let gateway: Gateway;
  const key = "sk-infernus-routing-test-000000000000000000000000";
  let models: string[];

  beforeAll(async () => {
    const { files } = await renderStack("home");
    const config = load(String(files.get("hosts/gpu1/etc/infernus/llama-swap/config.yaml"))) as SwapConfig;
    const upstreamAuth = String(files.get("hosts/edge/etc/nginx/infernus/upstream-auth.conf"));
    // The key the gateway sends is the one llama-swap accepts.
    expect(upstreamAuth).toContain(`proxy_set_header Authorization "Bearer ${config.apiKeys[0]}";`);
    models = Object.keys(config.models);
    backends = Object.fromEntries(await Promise.all(models.map(async (m) => [m, await startBackend({ chunks: 2, cadenceMs: 20 })] as const)));
    swap = await startStandInSwap(config, backends);
    gateway = startGateway({
      gateway: { port: 18447, upstreamPort: swap.port, maxRequestMiB: 1, generationTimeoutSeconds: 60, maxStreams: 2000 },
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
    expect(JSON.parse(reply.body)).toEqual({ src: "llama-swap", error: "no router for requested model" });
  });
});

/** A plain HTTP POST to a stand-in llama-swap, as the gateway would send it; resolves to the status. */
function postDirect(port: number, key: string, body: unknown): Promise<number> {
  return new Promise((done, fail) => {
    const req = http.request({ host: "127.0.0.1", port, method: "POST", path: "/v1/chat/completions", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, timeout: 5_000 }, (res) => {
      res.resume();
      res.on("end", () => done(res.statusCode ?? 0));
    });
    req.on("error", fail);
    req.end(JSON.stringify(body));
  });
}

describe("two servers: each model reached through either server, a server down takes only its own", () => {
  // gpu2 takes the coder from gpu1; the gateway knows both servers, each llama-swap knows the other's models.
  const config = stackObject("home");
  const gpu1 = config.servers[0];
  gpu1.models = gpu1.models.filter((m: unknown) => typeof m === "string");
  config.servers.push({
    name: "gpu2",
    ssh: { host: "192.168.1.51", user: "kirill", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAHPI5zzYl9Odap5FOKEccA2cApNmitT3b5K9G46IV6J" },
    gpus: [{ model: "rtx-pro-6000-blackwell-workstation" }],
    models: [{ name: "qwen3-coder-30b", maxModelLen: 131072 }],
  });
  const key = "sk-infernus-routing-test-111111111111111111111111";
  let backends: Record<string, Backend>;
  const swaps: Record<string, Awaited<ReturnType<typeof startStandInSwap>>> = {};
  let gateway: Gateway;
  let configs: Record<string, SwapConfig>;

  beforeAll(async () => {
    const { files } = await renderStack("home", pulumiConfig(config));
    configs = Object.fromEntries(["gpu1", "gpu2"].map((s) => [s, load(String(files.get(`hosts/${s}/etc/infernus/llama-swap/config.yaml`))) as SwapConfig]));
    const nginx = String(files.get("hosts/edge/etc/nginx/conf.d/infernus-gateway.conf") ?? "");
    const addresses = Object.fromEntries([...nginx.matchAll(/server (10\.66\.0\.\d+):8080/g)].map((m, i) => [m[1], i]));
    expect(Object.keys(addresses)).toHaveLength(2);
    backends = Object.fromEntries(await Promise.all(["gpt-oss-120b", "qwen3-embedding-8b", "qwen3-coder-30b"].map(async (m) => [m, await startBackend({ chunks: 2, cadenceMs: 20 })] as const)));
    // Stand-ins listen on loopback; a tunnel URL is translated to the stand-in of that server.
    const portOf: Record<string, number> = {};
    const reach = (url: string) => portOf[new URL(url).hostname];
    for (const server of ["gpu1", "gpu2"]) {
      const own = Object.fromEntries(Object.keys(configs[server].models).map((m) => [m, backends[m]]));
      swaps[server] = await startStandInSwap(configs[server], own, { reach });
    }
    const tunnelAddress = (server: string) => Object.values(configs).flatMap((c) => Object.entries(c.peers ?? {})).find(([name]) => name === server)![1].proxy;
    for (const server of ["gpu1", "gpu2"]) portOf[new URL(tunnelAddress(server)).hostname] = swaps[server].port;
    gateway = startGateway({
      gateway: { port: 18449, upstreamPort: 0, maxRequestMiB: 1, generationTimeoutSeconds: 60, maxStreams: 2000 },
      apiKeys: [{ name: "ide", requestsPerMinute: 600, burst: 50, rotation: 0 }],
      keys: { ide: key },
      upstreams: [`127.0.0.1:${swaps.gpu1.port}`, `127.0.0.1:${swaps.gpu2.port}`],
      upstreamKey: configs.gpu1.apiKeys[0],
    });
  });
  afterAll(async () => {
    gateway?.stop();
    await Promise.all([...Object.values(swaps).map((s) => s.stop()), ...Object.values(backends ?? {}).map((b) => b.stop())]);
  });

  it("renders each server's peers: the other server's models, at its tunnel address, with the shared key", () => {
    expect(configs.gpu1.peers).toEqual({ gpu2: { proxy: expect.stringMatching(/^http:\/\/10\.66\.0\.\d+:8080$/), apiKey: configs.gpu1.apiKeys[0], models: ["qwen3-coder-30b"], timeouts: { connect: 3 } } });
    expect(configs.gpu2.peers!.gpu1.models).toEqual(["gpt-oss-120b", "qwen3-embedding-8b"]);
    expect(configs.gpu2.apiKeys).toEqual(configs.gpu1.apiKeys);
    const validate = llamaSwapValidator();
    for (const server of ["gpu1", "gpu2"]) expect(validate(configs[server]), JSON.stringify(validate.errors)).toBe(true);
  });

  it("sends a request for gpu2's model to gpu2, and gpu1's to gpu1, whichever server the gateway picks", async () => {
    // llama-swap lists a peer's models under the peer's name (v242 on); the gateway prefers gpu1.
    const list = await request(gateway.port, "GET", "/v1/models", { key });
    expect((JSON.parse(list.body) as { data: { id: string }[] }).data.map((m) => m.id)).toEqual(["gpt-oss-120b", "gpu2/qwen3-coder-30b", "qwen3-embedding-8b"]);
    for (const model of ["qwen3-coder-30b", "gpt-oss-120b"]) {
      const reply = await request(gateway.port, "POST", "/v1/chat/completions", { key, body: { model, messages: [{ role: "user", content: "hi" }] } });
      expect(reply.status, model).toBe(200);
      expect(backends[model].seen.at(-1)!.model).toBe(model);
    }
    // The gateway prefers gpu1; asked directly, gpu2 passes gpu1's model on just as well.
    const before = backends["gpt-oss-120b"].seen.length;
    expect(await postDirect(swaps.gpu2.port, configs.gpu2.apiKeys[0], { model: "gpt-oss-120b", messages: [] })).toBe(200);
    expect(backends["gpt-oss-120b"].seen.length).toBe(before + 1);
    // The listed name reaches gpu2 from gpu1, which sends it on as the bare name (gpu2 itself does not know its own prefix).
    expect(await postDirect(swaps.gpu1.port, configs.gpu1.apiKeys[0], { model: "gpu2/qwen3-coder-30b", messages: [] })).toBe(200);
    expect(backends["qwen3-coder-30b"].seen.at(-1)!.model).toBe("qwen3-coder-30b");
  });

  it("with gpu2 down, gpu1's models still answer and gpu2's get a clear error at once", async () => {
    await swaps.gpu2.stop();
    for (const model of ["gpt-oss-120b", "qwen3-embedding-8b"]) {
      const path = model.includes("embedding") ? "/v1/embeddings" : "/v1/chat/completions";
      const reply = await request(gateway.port, "POST", path, { key, body: { model, input: "x", messages: [{ role: "user", content: "hi" }] } });
      expect(reply.status, model).toBe(200);
    }
    const lost = await request(gateway.port, "POST", "/v1/chat/completions", { key, body: { model: "qwen3-coder-30b", messages: [{ role: "user", content: "hi" }] } });
    expect(lost.status).toBe(502);
    expect(JSON.parse(lost.body).error.message).toMatch(/^peer gpu2 \(http:\/\/10\.66\.0\.\d+:8080\) for qwen3-coder-30b: connect ECONNREFUSED/);
    expect(lost.ms).toBeLessThan(3_000);
    console.log(`gpu2 down: its model answered 502 in ${lost.ms.toFixed(0)} ms`);
  });
});
