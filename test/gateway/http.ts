/**
 * The two ends of a request in the labs: a stand-in OpenAI backend, and a client that records when
 * each chunk arrives. Light on imports: the estate lab runs them as processes in namespaces.
 */
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { responseObject, ResponsesStream } from "../serving/vllmResponses";
import { promptTokens, streamsUsage, type Usage } from "../serving/vllmUsage";

export interface BackendRequest {
  readonly path: string;
  readonly client?: string;
  readonly authorization?: string;
  readonly model?: string;
  /** The token counts it answered with, as vLLM reports them. */
  readonly usage?: Usage;
}

/**
 * An OpenAI-compatible stand-in: /v1/models, embeddings, rerank, responses, and chat completions
 * that stream SSE at a set cadence, `chunks` or max_tokens long. Bodies have vLLM's shapes and
 * field order (its protocol.py models): usage last in completions and embeddings, before the
 * results in rerank, in the response of a Responses stream's last event.
 */
export async function startBackend(options: { chunks: number; cadenceMs: number; port?: number; host?: string; models?: readonly string[]; forceIncludeUsage?: boolean }) {
  const seen: BackendRequest[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const parsed = body ? (JSON.parse(body) as { model?: string; stream?: boolean; max_tokens?: number; stream_options?: { include_usage?: boolean } }) : {};
      const model = parsed.model ?? "stand-in";
      // A model that writes until max_tokens when the request sets it (as vLLM stops there), else `chunks` tokens.
      const tokens = parsed.max_tokens ?? options.chunks;
      const prompt = promptTokens(body);
      const generated = req.url === "/v1/embeddings" || req.url === "/v1/rerank" ? 0 : tokens;
      const usage: Usage = { prompt_tokens: prompt, completion_tokens: generated, total_tokens: prompt + generated };
      const json = (payload: unknown) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(payload));
      };
      seen.push({ path: req.url ?? "", client: req.headers["x-infernus-client"] as string | undefined, authorization: req.headers.authorization, model: parsed.model, ...(req.url === "/v1/models" ? {} : { usage }) });
      if (req.url === "/v1/models") return json({ object: "list", data: (options.models ?? ["stand-in"]).map((id) => ({ id, object: "model" })) });
      if (req.url === "/v1/embeddings") {
        return json({ id: "embd-x", object: "list", created: 1, model, data: [{ index: 0, object: "embedding", embedding: [0.1, 0.2] }], usage });
      }
      if (req.url === "/v1/rerank") {
        // The documents come back in the results, after the usage: text that may look like usage.
        const documents = (JSON.parse(body) as { documents?: string[] }).documents ?? [];
        return json({ id: "rerank-x", model, usage: { prompt_tokens: prompt, total_tokens: prompt }, results: documents.map((text, index) => ({ index, document: { text }, relevance_score: 1 / (index + 1) })) });
      }
      if (req.url === "/v1/responses") return respond(res, parsed, model, usage, tokens, options.cadenceMs);
      if (!parsed.stream) {
        return json({ id: "chatcmpl-x", object: "chat.completion", created: 1, model, choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }], usage });
      }
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      let sent = 0;
      const timer = setInterval(() => {
        if (sent === tokens) {
          clearInterval(timer);
          // vLLM's last chunk: no choices, the usage (chat_completion_stream_generator).
          if (streamsUsage(parsed, options.forceIncludeUsage ?? true)) res.write(`data: ${JSON.stringify({ id: "chatcmpl-x", object: "chat.completion.chunk", created: 1, model, choices: [], usage })}\n\n`);
          res.end("data: [DONE]\n\n");
          return;
        }
        // Wall-clock milliseconds, comparable across processes on one machine.
        res.write(`data: ${JSON.stringify({ id: "chatcmpl-x", object: "chat.completion.chunk", created: 1, model, choices: [{ index: 0, delta: { content: `t${sent}` } }], sentAt: performance.timeOrigin + performance.now() })}\n\n`);
        sent++;
      }, options.cadenceMs);
    });
  });
  // vLLM serves through uvicorn, whose listen backlog is 2048 (uvicorn/config.py), not Node's 511.
  await new Promise<void>((done) => server.listen({ port: options.port ?? 0, host: options.host ?? "127.0.0.1", backlog: 2048 }, done));
  const port = (server.address() as AddressInfo).port;
  return { port, seen, stop: () => new Promise<void>((done) => server.close(() => done())) };
}

/** The Responses API as vLLM answers it (vllmResponses.ts), a delta every cadenceMs. */
function respond(res: http.ServerResponse, request: { stream?: boolean }, model: string, usage: Usage, tokens: number, cadenceMs: number): void {
  if (!request.stream) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(responseObject(model, Array.from({ length: tokens }, (_, i) => `t${i}`).join(""), usage, true)));
    return;
  }
  const stream = new ResponsesStream(res, model, usage);
  stream.open();
  let sent = 0;
  const timer = setInterval(() => {
    if (sent === tokens) {
      clearInterval(timer);
      stream.close();
      return;
    }
    stream.delta(`t${sent++}`);
  }, cadenceMs);
}

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** Milliseconds from the request to each body chunk. */
  readonly chunkTimes: number[];
  /** Wall-clock milliseconds when the request started, comparable with the backend's sentAt. */
  readonly startedAt: number;
  readonly ms: number;
}

/** Where a request goes: the gateway's port on loopback, or a base URL with the CA to trust and a connection pool. */
export type Target = number | { readonly url: string; readonly ca?: Buffer; readonly agent?: http.Agent };

export function request(target: Target, method: string, urlPath: string, options: { key?: string; body?: unknown; timeoutMs?: number } = {}): Promise<Reply> {
  const { url, ca, agent } = typeof target === "number" ? { url: `https://127.0.0.1:${target}`, ca: undefined, agent: undefined } : target;
  const base = new URL(url);
  const started = performance.now();
  return new Promise((done, fail) => {
    const req = (base.protocol === "https:" ? https : http).request(
      {
        host: base.hostname,
        port: base.port,
        method,
        path: urlPath,
        ...(ca ? { ca } : { rejectUnauthorized: false }),
        agent: agent ?? false,
        headers: { ...(options.key ? { authorization: `Bearer ${options.key}` } : {}), ...(options.body ? { "content-type": "application/json" } : {}) },
        timeout: options.timeoutMs ?? 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        const chunkTimes: number[] = [];
        res.on("data", (d: Buffer) => {
          chunks.push(d);
          chunkTimes.push(performance.now() - started);
        });
        res.on("end", () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), chunkTimes, startedAt: performance.timeOrigin + started, ms: performance.now() - started }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
    // Whether the request went out on a kept connection: a reset there means the server closed it
    // first, and never saw the request (Node's documented case for a retry).
    req.on("error", (error) => fail(Object.assign(error, { reusedSocket: req.reusedSocket })));
    req.end(options.body ? JSON.stringify(options.body) : undefined);
  });
}
