/**
 * The user's models through the real gateway (nginx with njs, as rendered), the llama-swap stand-in
 * (its v250 routes, aliases and listing, standInSwap.ts) and one vLLM stand-in process per model,
 * each started with the command line infernus renders for it (standInVllm.ts: its served names,
 * LoRA adapters, runner, rerank and the Responses stream as vLLM's source has them). The official
 * `openai` npm client speaks the Responses API and chat to it as an IDE or an agent would.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as https from "node:https";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { load } from "js-yaml";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderStack } from "../../render/render";
import { request, startGateway, type Gateway } from "../gateway/lab";
import { pulumiConfig } from "../helpers";
import { chosen } from "../serving/chosen";
import { startStandInSwap, type SwapConfig } from "../serving/standInSwap";

const ROOT = path.join(__dirname, "..", "..");
const KEY = "sk-infernus-models-lab-0000000000000000000000000";
/** The models run here, each on a port of the lab's: the adapters' model, the reranker, a model that speaks Responses. */
const PORTS: Record<string, number> = { "kirill-qwen3-8b": 19381, "qwen3-reranker-0.6b": 19382, "gpt-oss-120b": 19383 };

/** fetch over node:https trusting the gateway's own certificate (its name is localhost), for the openai client. */
function fetchTrusting(ca: Buffer): typeof fetch {
  return (input, init) =>
    new Promise((done, fail) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const headers = Object.fromEntries(new Headers(init?.headers).entries());
      const req = https.request(url, { method: init?.method ?? "GET", headers, ca, servername: "localhost" }, (res) => {
        const answer = new Headers();
        for (const [name, value] of Object.entries(res.headers)) for (const v of [value ?? []].flat()) answer.append(name, v);
        done(new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, { status: res.statusCode, headers: answer }));
      });
      req.on("error", fail);
      init?.signal?.addEventListener("abort", () => req.destroy(new Error("aborted")));
      req.end(typeof init?.body === "string" ? init.body : undefined);
    });
}

/** Resolves once `url` answers 200, within `ms`. */
async function healthy(url: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within ${ms} ms`);
}

describe("the user's models through the gateway: adapters, a reranker, the Responses API", () => {
  const processes: ChildProcess[] = [];
  let card: string;
  let swap: Awaited<ReturnType<typeof startStandInSwap>>;
  let gateway: Gateway;
  let client: OpenAI;

  beforeAll(async () => {
    const { files } = await renderStack("home", pulumiConfig(chosen));
    const config = load(String(files.get("hosts/gpu1/etc/infernus/llama-swap/config.yaml"))) as SwapConfig;
    card = mkdtempSync(path.join(tmpdir(), "infernus-models-card-"));
    for (const [model, port] of Object.entries(PORTS)) {
      // The rendered command line, with only the lab's port and the stand-in for vllm.
      const args = String(files.get(`hosts/gpu1/etc/infernus/vllm/${model}.args`)).split("\n").filter((line) => line && !line.startsWith("#"));
      args[args.indexOf("--port") + 1] = String(port);
      const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "test/serving/standInVllm.ts"), ...args.slice(1)], {
        cwd: ROOT,
        // A card of its own each: the swaps are the machines lab's; here all three answer at once.
        env: { ...process.env, INFERNUS_LAB_CARD: path.join(card, model), INFERNUS_LAB_LOAD_MS: "100", INFERNUS_LAB_CHUNK_MS: "10" },
        stdio: ["ignore", "ignore", "inherit"],
      });
      processes.push(child);
    }
    await Promise.all(Object.values(PORTS).map((port) => healthy(`http://127.0.0.1:${port}/health`, 30_000)));
    swap = await startStandInSwap(config, Object.fromEntries(Object.entries(PORTS).map(([model, port]) => [model, { port }])));
    gateway = startGateway({
      gateway: { port: 19384, upstreamPort: swap.port, maxRequestMiB: 1, generationTimeoutSeconds: 60, maxStreams: 2000 },
      apiKeys: [{ name: "ide", requestsPerMinute: 600, burst: 50, rotation: 0 }],
      keys: { ide: KEY },
      upstreams: [`127.0.0.1:${swap.port}`],
      upstreamKey: config.apiKeys[0],
    });
    client = new OpenAI({ apiKey: KEY, baseURL: `https://127.0.0.1:${gateway.port}/v1`, fetch: fetchTrusting(readFileSync(gateway.paths.certificate)), maxRetries: 0 });
  }, 60_000);

  afterAll(async () => {
    gateway?.stop();
    await swap?.stop();
    for (const child of processes) child.kill("SIGTERM");
    await Promise.all(processes.map((child) => new Promise((done) => (child.exitCode !== null ? done(null) : child.on("exit", done)))));
    if (card) rmSync(card, { recursive: true, force: true });
  });

  const audit = () => readFileSync(gateway.paths.auditLog, "utf8");

  it("lists each LoRA adapter under its own name beside its model, as llama-swap lists aliases", async () => {
    const models = await client.models.list();
    const ids = models.data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(["kirill-qwen3-8b", "notes-sql", "notes-ru", "qwen3-reranker-0.6b", "gpt-oss-120b"]));
  });

  it("answers a request for an adapter from its model's vLLM, under the adapter's name", async () => {
    const answer = await client.chat.completions.create({ model: "notes-ru", messages: [{ role: "user", content: "Привет" }], max_tokens: 3 });
    expect(answer.model).toBe("notes-ru");
    expect(answer.usage).toMatchObject({ completion_tokens: 3 });
    // A name nobody serves: llama-swap has no router for it.
    await expect(client.chat.completions.create({ model: "notes-de", messages: [{ role: "user", content: "x" }] })).rejects.toMatchObject({ status: 404 });
    // Asked straight, the model's vLLM answers its adapters and refuses any other name, as vLLM does.
    const direct = (model: string) => fetch(`http://127.0.0.1:${PORTS["kirill-qwen3-8b"]}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, messages: [] }) });
    expect((await direct("notes-sql")).status).toBe(200);
    expect(await (await direct("notes-de")).json()).toEqual({ error: { message: "The model `notes-de` does not exist.", type: "NotFoundError", param: "model", code: 404 } });
  });

  it("reranks through the gateway with its key, limits and audit line like any other path", async () => {
    const documents = ["ZFS snapshots every hour", "the UPS shuts the server down", "snapshots of ZFS datasets are replicated"];
    const reply = await request(gateway.port, "POST", "/v1/rerank", { key: KEY, body: { model: "qwen3-reranker-0.6b", query: "ZFS snapshots", documents } });
    expect(reply.status).toBe(200);
    const body = JSON.parse(reply.body) as { model: string; results: { index: number; relevance_score: number }[] };
    expect(body.model).toBe("qwen3-reranker-0.6b");
    expect(body.results.map((r) => r.index)).toEqual([0, 2, 1]);
    expect((await request(gateway.port, "POST", "/v1/rerank", { body: { model: "qwen3-reranker-0.6b", query: "x", documents: ["y"] } })).status).toBe(401);
    const line = JSON.parse(audit().trim().split("\n").filter((l) => l.includes('"/v1/rerank"') && l.includes('"ide"')).at(-1)!) as Record<string, unknown>;
    expect(line).toMatchObject({ client: "ide", status: 200, model: "qwen3-reranker-0.6b" });
    expect(line.prompt_tokens).toBeGreaterThan(0);
  });

  it("does not forward /v1/score, which llama-swap v250 would not route either", async () => {
    // vLLM serves /score beside /rerank, but llama-swap's front door has no such route: the gateway answers 404 itself.
    expect((await request(gateway.port, "POST", "/v1/score", { key: KEY, body: { model: "qwen3-reranker-0.6b", queries: "x", documents: ["y"] } })).status).toBe(404);
  });

  it("streams a Responses API answer through the gateway to the openai client, events in vLLM's order, usage at the end", async () => {
    const stream = await client.responses.create({ model: "gpt-oss-120b", input: "Say OK.", max_output_tokens: 4, stream: true });
    const types: string[] = [];
    let text = "";
    let usage: OpenAI.Responses.ResponseUsage | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.output_text.delta") text += event.delta;
      if (event.type === "response.completed") usage = event.response.usage ?? undefined;
    }
    expect(types[0]).toBe("response.created");
    expect(types.at(-1)).toBe("response.completed");
    expect(types.filter((t) => t === "response.output_text.delta")).toHaveLength(4);
    expect(text).toBe("t0t1t2t3");
    expect(usage).toMatchObject({ output_tokens: 4 });
    // The audit line counts its tokens from the completed response.
    const line = JSON.parse(audit().trim().split("\n").filter((l) => l.includes('"/v1/responses"')).at(-1)!) as Record<string, unknown>;
    expect(line).toMatchObject({ model: "gpt-oss-120b", completion_tokens: 4 });
  });

  it("gives the openai client's stream helper a response it can assemble, and answers unstreamed too", async () => {
    const final = await client.responses.stream({ model: "gpt-oss-120b", input: "Say OK.", max_output_tokens: 2 }).finalResponse();
    expect(final.output_text).toBe("t0t1");
    const whole = await client.responses.create({ model: "gpt-oss-120b", input: "Say OK.", max_output_tokens: 3 });
    expect(whole.output_text).toBe("t0t1t2");
    expect(whole.usage).toMatchObject({ output_tokens: 3 });
  });
});
