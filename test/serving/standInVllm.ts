/**
 * A stand-in `vllm serve` for the labs: it takes vLLM's own command line and holds "the card", a
 * folder of claims (MiB per model) that the lab's nvidia-smi sums. What it mirrors, from vLLM's
 * source (upstream main, August 2026):
 * - the start refuses when the card has less free than --gpu-memory-utilization of it
 *   (v1/worker/utils.py: "Free memory on device … is less than desired GPU memory utilization"),
 *   and aborts when another process frees memory while it profiles (v1/worker/gpu_worker.py:
 *   "Error in memory profiling"); both are also written to the card's violations file;
 * - it listens only once loaded; /health is 200 while it runs, asleep or not (instrumentator/health.py);
 * - with VLLM_SERVER_DEV_MODE=1 and --enable-sleep-mode: POST /sleep?level=1|2, POST /wake_up
 *   [?tags=weights|kv_cache], GET /is_sleeping, POST /collective_rpc {"method": "reload_weights"}
 *   (entrypoints/serve/dev/sleep/api_router.py, dev/rpc/api_router.py); without them those paths 404;
 * - a request that arrives while it sleeps waits until it is fully awake (v1/engine/core.py:
 *   pause queues new requests; the scheduler resumes only when nothing sleeps);
 * - /metrics has the families and format of vLLM's PrometheusStatLogger (vllmMetrics.ts);
 * - answers carry usage as vLLM's do, and with --enable-force-include-usage a stream ends with a
 *   chunk of no choices and the usage (should_include_usage in entrypoints/utils.py);
 * - its served names are --served-model-name and each --lora-modules adapter (NAME=PATH), listed at
 *   /v1/models (an adapter with its parent); a request for any other name is a 404 NotFoundError
 *   (openai/engine/serving.py, _check_model), and the answer names the model asked for;
 * - what it serves follows its runner: a generate model answers chat, completions and responses;
 *   `--runner pooling` embeddings, or with a sequence-classification architecture (--hf-overrides,
 *   as Qwen3-Reranker is served) rerank and score at /rerank, /v1/rerank, /v2/rerank, /score and
 *   /v1/score (pooling/scoring/api_router.py; pooling/factories.py mounts them for scoring models only);
 * - POST /v1/responses with stream:true sends `event:` and `data:` lines, sequence-numbered, from
 *   response.created to response.completed with no [DONE] (openai/responses/api_router.py and
 *   serving.py, responses_stream_generator), usage as input_tokens and output_tokens.
 * Read from upstream main just after v0.21.0 (fork local-inference-lab/vllm at 9aaf83ef5).
 * Its times are simulated (STAND_IN_MS).
 *   usage: standInVllm.ts serve DIR --served-model-name NAME --host H --port P --gpu-memory-utilization U …
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { VllmMetrics } from "./vllmMetrics";
import { responseObject, ResponsesStream } from "./vllmResponses";
import { promptTokens, streamsUsage } from "./vllmUsage";

/** What CUDA shows of a 96 GiB RTX PRO 6000 Blackwell (facts.md). */
export const CARD_MIB = 97887;
/** What a sleeping process keeps on the card: its CUDA context. */
export const ASLEEP_MIB = 512;
/** Its simulated times, unless INFERNUS_LAB_<NAME>_MS says otherwise. */
export const STAND_IN_MS = { LOAD: 2000, SLEEP: 300, WAKE: 300, RELOAD: 1000, CHUNK: 50 } as const;
const card = process.env.INFERNUS_LAB_CARD ?? "/dev/shm/infernus-lab-card";
const ms = (name: keyof typeof STAND_IN_MS) => Number(process.env[`INFERNUS_LAB_${name}_MS`] ?? STAND_IN_MS[name]);
const pause = (duration: number) => new Promise((done) => setTimeout(done, duration));

/** MiB the card's claims add up to, but this model's. */
export function heldByOthers(dir: string, self: string): number {
  mkdirSync(dir, { recursive: true });
  return readdirSync(dir)
    .filter((f) => f.endsWith(".mib") && f !== `${self}.mib`)
    .reduce((sum, f) => sum + Number(readFileSync(path.join(dir, f), "utf8") || 0), 0);
}

function option(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

async function serve(args: readonly string[]): Promise<void> {
  const name = option(args, "--served-model-name") ?? "model";
  const host = option(args, "--host") ?? "127.0.0.1";
  const port = Number(option(args, "--port") ?? 8000);
  const share = Number(option(args, "--gpu-memory-utilization") ?? 0.9);
  const sleepMode = args.includes("--enable-sleep-mode");
  const forceUsage = args.includes("--enable-force-include-usage");
  const adapters = loraModules(args);
  const served = [name, ...adapters];
  const pooling = option(args, "--runner") === "pooling";
  const scoring = pooling && /ForSequenceClassification/.test(option(args, "--hf-overrides") ?? "");
  const dev = process.env.VLLM_SERVER_DEV_MODE === "1";
  const claim = path.join(card, `${name}.mib`);
  const violation = (message: string) => {
    appendFileSync(path.join(card, "violations"), `${new Date().toISOString()} ${name}: ${message}\n`);
    console.error(message);
    process.exit(1);
  };
  const hold = (mib: number) => {
    if (mib > ASLEEP_MIB && heldByOthers(card, name) + mib > CARD_MIB) violation(`the card is over-committed: ${heldByOthers(card, name)} MiB held by others, ${mib} MiB by ${name}`);
    writeFileSync(claim, String(mib));
  };
  const wanted = Math.ceil(share * CARD_MIB);

  const free = CARD_MIB - heldByOthers(card, name);
  if (free < wanted) violation(`ValueError: Free memory on device (${free} MiB) on startup is less than desired GPU memory utilization (${share}, ${wanted} MiB)`);
  const before = heldByOthers(card, name);
  hold(wanted);
  await pause(ms("LOAD"));
  if (heldByOthers(card, name) < before) violation("AssertionError: Error in memory profiling. This happens when other processes sharing the same container release GPU memory while vLLM is profiling during initialization");

  let level = 0; // 0 awake, else the level it sleeps at
  let weightsBack = false;
  const metrics = new VllmMetrics(name);
  const awake: (() => void)[] = [];
  const whenAwake = () => (level === 0 ? Promise.resolve() : new Promise<void>((done) => awake.push(done)));
  const wake = () => {
    level = 0;
    hold(wanted);
    console.error(`${name}: awake, ${awake.length} requests were waiting`);
    awake.splice(0).forEach((done) => done());
  };

  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", async () => {
      const url = new URL(req.url ?? "/", "http://x");
      const json = (status: number, payload: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(payload === undefined ? "" : JSON.stringify(payload));
      };
      const route = `${req.method} ${url.pathname}`;
      if (route === "GET /health") return json(200, undefined);
      if (route === "GET /metrics") {
        res.writeHead(200, { "content-type": "text/plain" });
        return res.end(metrics.text());
      }
      if (route === "GET /v1/models") {
        const entry = (id: string, parent: string | null) => ({ id, object: "model", created: 1, owned_by: "vllm", root: id === name ? option(args, "serve") : id, parent, max_model_len: Number(option(args, "--max-model-len") ?? 0) });
        return json(200, { object: "list", data: [entry(name, null), ...adapters.map((a) => entry(a, name))] });
      }
      const devRoute = ["POST /sleep", "POST /wake_up", "GET /is_sleeping", "POST /collective_rpc"].includes(route);
      if (devRoute && !(dev && sleepMode)) return json(404, { detail: "Not Found" });
      if (route === "GET /is_sleeping") return json(200, { is_sleeping: level !== 0 });
      if (route === "POST /sleep") {
        if (metrics.running > 0) console.error(`${name}: put to sleep with ${metrics.running} requests running (aborted)`);
        await pause(ms("SLEEP"));
        level = Number(url.searchParams.get("level") ?? 1);
        weightsBack = false;
        writeFileSync(claim, String(ASLEEP_MIB));
        console.error(`${name}: asleep at level ${level}`);
        return json(200, undefined);
      }
      if (route === "POST /wake_up") {
        const tags = url.searchParams.getAll("tags");
        if (level === 0) return json(200, undefined);
        if (tags.length === 0 || tags.includes("weights")) {
          await pause(ms("WAKE"));
          weightsBack = true;
        }
        // Level 2 dropped the weights: only a reload makes them real; level 1 restores them.
        if (tags.length === 0 || tags.includes("kv_cache")) {
          if (level === 2 && !weightsBack) return json(500, { error: "weights were discarded: reload_weights first" });
          wake();
        }
        return json(200, undefined);
      }
      if (route === "POST /collective_rpc") {
        const method = (JSON.parse(body || "{}") as { method?: string }).method;
        if (!method) return json(400, { error: "Missing 'method' in request body" });
        if (method === "reload_weights") await pause(ms("RELOAD"));
        return json(200, { results: [null] });
      }
      const kind = servedRoute(url.pathname, pooling, scoring);
      if (req.method === "POST" && kind) {
        const request = JSON.parse(body || "{}") as { model?: string; stream?: boolean; max_tokens?: number; max_output_tokens?: number; stream_options?: { include_usage?: boolean }; documents?: string[]; query?: string; top_n?: number };
        const asked = request.model ?? name;
        if (!served.includes(asked)) return json(404, { error: { message: `The model \`${asked}\` does not exist.`, type: "NotFoundError", param: "model", code: 404 } });
        // A client that goes away aborts its request, queued or running (vLLM's API server does so on disconnect).
        let gone = false;
        const left = new Promise<"gone">((done) =>
          res.on("close", () => {
            if (res.writableFinished) return;
            gone = true;
            done("gone");
          }),
        );
        const arrived = Date.now();
        metrics.waiting++;
        const outcome = await Promise.race([whenAwake().then(() => "awake" as const), left]);
        metrics.waiting--;
        if (outcome === "gone") return metrics.finished({ promptTokens: 0, generationTokens: 0, queueSeconds: (Date.now() - arrived) / 1000, firstTokenSeconds: 0, tokenGapsSeconds: [], reason: "abort" });
        const scheduled = Date.now();
        metrics.running++;
        let counted = true;
        const prompt = promptTokens(body);
        const gaps: number[] = [];
        let firstToken = 0;
        let tokens = 0;
        const done = () => {
          if (!counted) return;
          metrics.running--;
          counted = false;
          metrics.finished({ promptTokens: prompt, generationTokens: tokens, queueSeconds: (scheduled - arrived) / 1000, firstTokenSeconds: firstToken, tokenGapsSeconds: gaps, reason: gone ? "abort" : "stop" });
        };
        res.on("close", done);
        if (kind === "embeddings") {
          firstToken = (Date.now() - arrived) / 1000;
          done();
          return json(200, { id: "embd-x", object: "list", created: 1, model: name, data: [{ index: 0, object: "embedding", embedding: [0.1, 0.2] }], usage: { prompt_tokens: prompt, total_tokens: prompt, completion_tokens: 0 } });
        }
        if (kind === "rerank" || kind === "score") {
          firstToken = (Date.now() - arrived) / 1000;
          done();
          // A document's score: how much of the query's words it holds.
          const documents = request.documents ?? [];
          const words = new Set((request.query ?? "").toLowerCase().split(/\W+/).filter(Boolean));
          const score = (text: string) => text.toLowerCase().split(/\W+/).filter((w) => words.has(w)).length / Math.max(1, words.size);
          const usage = { prompt_tokens: prompt, total_tokens: prompt };
          if (kind === "score") return json(200, { id: "score-x", object: "list", created: 1, model: name, data: documents.map((d, index) => ({ index, object: "score", score: score(d) })), usage: { ...usage, completion_tokens: 0, prompt_tokens_details: null } });
          const results = documents.map((text, index) => ({ index, document: { text, multi_modal: null }, relevance_score: score(text) })).sort((a, b) => b.relevance_score - a.relevance_score);
          return json(200, { id: "score-x", model: name, usage, results: request.top_n ? results.slice(0, request.top_n) : results });
        }
        const chunks = request.max_tokens ?? request.max_output_tokens ?? 4;
        const usage = { prompt_tokens: prompt, total_tokens: prompt + chunks, completion_tokens: chunks };
        if (kind === "responses") {
          if (!request.stream) {
            await pause(chunks * 20);
            firstToken = (Date.now() - arrived) / 1000;
            tokens = chunks;
            done();
            return json(200, responseObject(asked, Array.from({ length: chunks }, (_, i) => `t${i}`).join(""), usage, true));
          }
          const stream = new ResponsesStream(res, asked, usage);
          stream.open();
          for (let i = 0; i < chunks && !gone; i++) {
            stream.delta(`t${i}`);
            if (i === 0) firstToken = (Date.now() - arrived) / 1000;
            tokens++;
            await pause(ms("CHUNK"));
          }
          done();
          return gone ? res.end() : stream.close();
        }
        if (!request.stream) {
          await pause(chunks * 20);
          firstToken = (Date.now() - arrived) / 1000;
          tokens = chunks;
          done();
          return json(200, { id: "x", object: "chat.completion", created: 1, model: asked, choices: [{ index: 0, message: { role: "assistant", content: "ok" } }], usage });
        }
        res.writeHead(200, { "content-type": "text/event-stream" });
        let last = scheduled;
        for (let i = 0; i < chunks && !gone; i++) {
          res.write(`data: ${JSON.stringify({ model: asked, choices: [{ delta: { content: `t${i}` } }] })}\n\n`);
          const now = Date.now();
          if (i === 0) firstToken = (now - arrived) / 1000;
          else gaps.push((now - last) / 1000);
          last = now;
          tokens++;
          await pause(ms("CHUNK"));
        }
        if (!gone && streamsUsage(request, forceUsage)) res.write(`data: ${JSON.stringify({ id: "x", object: "chat.completion.chunk", created: 1, model: asked, choices: [], usage })}\n\n`);
        done();
        return res.end("data: [DONE]\n\n");
      }
      json(404, { detail: "Not Found" });
    });
  });
  const release = () => {
    rmSync(claim, { force: true });
    process.exit(0);
  };
  process.on("SIGTERM", release);
  process.on("SIGINT", release);
  server.listen(port, host);
}

/** The adapters of --lora-modules NAME=PATH … (its values run to the next flag). */
function loraModules(args: readonly string[]): string[] {
  const at = args.indexOf("--lora-modules");
  if (at < 0) return [];
  const values = args.slice(at + 1);
  const end = values.findIndex((a) => a.startsWith("--"));
  return (end < 0 ? values : values.slice(0, end)).map((module) => module.split("=")[0]);
}

/** Which answer a path gets from a process of this runner; undefined: vLLM has no such route for it. */
function servedRoute(pathname: string, pooling: boolean, scoring: boolean): "chat" | "responses" | "embeddings" | "rerank" | "score" | undefined {
  if (!pooling) return ({ "/v1/chat/completions": "chat", "/v1/completions": "chat", "/v1/responses": "responses" } as const)[pathname];
  if (!scoring) return pathname === "/v1/embeddings" ? "embeddings" : undefined;
  if (["/rerank", "/v1/rerank", "/v2/rerank"].includes(pathname)) return "rerank";
  return ["/score", "/v1/score"].includes(pathname) ? "score" : undefined;
}

if (require.main === module) {
  const [command, ...rest] = process.argv.slice(2);
  if (command === "serve") void serve(rest);
  else {
    console.error("vllm (lab stand-in): usage: vllm serve DIR --served-model-name NAME …");
    process.exit(2);
  }
}
