/**
 * The two ends of a request in the labs: a stand-in OpenAI backend, and a client that records when
 * each chunk arrives. Light on imports: the estate lab runs them as processes in namespaces.
 */
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";

export interface BackendRequest {
  readonly path: string;
  readonly client?: string;
  readonly authorization?: string;
  readonly model?: string;
}

/** An OpenAI-compatible stand-in: /v1/models, embeddings, and chat completions that stream SSE at a set cadence, `chunks` or max_tokens long. */
export async function startBackend(options: { chunks: number; cadenceMs: number; port?: number; host?: string; models?: readonly string[] }) {
  const seen: BackendRequest[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const parsed = body ? (JSON.parse(body) as { model?: string; stream?: boolean; max_tokens?: number }) : {};
      seen.push({ path: req.url ?? "", client: req.headers["x-infernus-client"] as string | undefined, authorization: req.headers.authorization, model: parsed.model });
      if (req.url === "/v1/models") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ object: "list", data: (options.models ?? ["stand-in"]).map((id) => ({ id, object: "model" })) }));
        return;
      }
      if (req.url === "/v1/embeddings") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ object: "list", data: [{ object: "embedding", index: 0, embedding: [0.1, 0.2] }], model: parsed.model }));
        return;
      }
      if (!parsed.stream) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ id: "x", object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: "ok" } }] }));
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      // A model that writes until max_tokens when the request sets it (as vLLM stops there), else `chunks` tokens.
      const tokens = parsed.max_tokens ?? options.chunks;
      let sent = 0;
      const timer = setInterval(() => {
        if (sent === tokens) {
          clearInterval(timer);
          res.end("data: [DONE]\n\n");
          return;
        }
        // Wall-clock milliseconds, comparable across processes on one machine.
        res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: `t${sent}` } }], sentAt: performance.timeOrigin + performance.now() })}\n\n`);
        sent++;
      }, options.cadenceMs);
    });
  });
  // vLLM serves through uvicorn, whose listen backlog is 2048 (uvicorn/config.py), not Node's 511.
  await new Promise<void>((done) => server.listen({ port: options.port ?? 0, host: options.host ?? "127.0.0.1", backlog: 2048 }, done));
  const port = (server.address() as AddressInfo).port;
  return { port, seen, stop: () => new Promise<void>((done) => server.close(() => done())) };
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
