/**
 * llama-swap cannot run here: this stand-in does what it does at its front door, from the rendered
 * config, as read from llama-swap at tag v250 (60226b63, internal/server and internal/swaputil):
 * - a request needs one of apiKeys as a Bearer token or x-api-key (auth.go, ExtractAPIKey); without
 *   it, 401 with llama-swap's own error;
 * - only its routes reach a model: POST /v1/chat/completions, /v1/completions, /v1/responses,
 *   /v1/embeddings, /v1/rerank, /v1/reranking, /rerank, /reranking (server.go, modelPostJSONRoutes),
 *   the model read from the JSON body's `model`; any other path (e.g. /v1/score) is Go's
 *   `404 page not found`;
 * - a model is found by its id or one of its `aliases`, the body forwarded unchanged (an alias
 *   stays the model asked for; only useModelName rewrites it), else by the peer that lists it, or
 *   the peer a `peer/model` name names (sent on as the bare name);
 * - GET /v1/models lists its models sorted by id (api.go, handleListModels), their aliases too when
 *   includeAliasesInList is set, and each peer's models as `peer/model`;
 * - a server that does not answer gets a 502.
 * Given its process side (standInProcesses.ts), it first makes the model's upstream ready,
 * swapping as llama-swap does, and counts the request in flight until its answer ends.
 */
import { readFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { StandInProcesses } from "./standInProcesses";

export interface SwapConfig {
  apiKeys: string[];
  includeAliasesInList?: boolean;
  models: Record<string, { name?: string; description?: string; aliases?: string[] }>;
  peers?: Record<string, { proxy: string; apiKey: string; models: string[] }>;
}

/** The POST routes llama-swap v250 sends to a model by the body's `model` (server.go, modelPostJSONRoutes; the ones the estate uses). */
export const SWAP_MODEL_ROUTES = ["/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/embeddings", "/v1/rerank", "/v1/reranking", "/rerank", "/reranking"] as const;

export interface StandInSwapOptions {
  /** Turns a peer's tunnel URL into the loopback port its stand-in listens on. */
  readonly reach?: (url: string) => number;
  /** Where it listens; loopback on a free port unless told. */
  readonly listen?: { readonly host: string; readonly port: number };
  /** Runs the models' commands; without it, the backends are already running. */
  readonly processes?: StandInProcesses;
}

export async function startStandInSwap(config: SwapConfig, backends: Record<string, { readonly port: number }>, options: StandInSwapOptions = {}) {
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(payload));
      };
      const pathname = new URL(req.url ?? "/", "http://x").pathname;
      const listing = req.method === "GET" && (pathname === "/v1/models" || pathname === "/models");
      if (!listing && !(req.method === "POST" && (SWAP_MODEL_ROUTES as readonly string[]).includes(pathname))) {
        res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
        return res.end("404 page not found\n");
      }
      const presented = /^Bearer (.+)$/i.exec(req.headers.authorization ?? "")?.[1] ?? req.headers["x-api-key"];
      if (!config.apiKeys.includes(String(presented))) return reply(401, { src: "llama-swap", error: "unauthorized: invalid or missing API key" });
      const peers = Object.entries(config.peers ?? {});
      if (listing) return reply(200, { object: "list", data: listed(config) });
      const asked = (JSON.parse(body || "{}") as { model?: string }).model ?? "";
      const model = Object.entries(config.models).find(([id, m]) => id === asked || m.aliases?.includes(asked))?.[0] ?? asked;
      const backend = backends[model];
      // `peer/model` goes to that peer as the bare name (swaputil.ReplaceRequestModel); a bare name to the peer that lists it.
      const named = peers.find(([id, p]) => asked.startsWith(`${id}/`) && p.models.includes(asked.slice(id.length + 1)));
      const peer = named ?? peers.find(([, p]) => p.models.includes(model));
      const sent = named ? JSON.stringify({ ...(JSON.parse(body) as object), model: asked.slice(named[0].length + 1) }) : body;
      if (!backend && !peer) return reply(404, { src: "llama-swap", error: "no router for requested model" });
      const [where, port, key] = backend ? [`its server`, backend.port, undefined] : [`peer ${peer![0]} (${peer![1].proxy})`, (options.reach ?? (() => 0))(peer![1].proxy), peer![1].apiKey];
      const client = req.headers["x-infernus-client"] ? { "x-infernus-client": req.headers["x-infernus-client"] } : {};
      const forward = () =>
        new Promise<void>((done) => {
          const upstream = http.request({ host: "127.0.0.1", port, method: req.method, path: req.url, headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}), ...client } }, (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
            answer.on("end", done);
            answer.on("error", done);
          });
          upstream.on("error", (error) => {
            reply(502, { error: { message: `${where} for ${model}: ${error.message}`, type: "server_error" } });
            done();
          });
          upstream.end(sent);
        });
      const processes = backend ? options.processes : undefined;
      if (!processes) return void forward();
      processes
        .ensure(model)
        .then(() => processes.track(model, forward))
        .catch((error: Error) => reply(502, { error: { message: error.message, type: "server_error" } }));
    });
  });
  const listen = options.listen ?? { host: "127.0.0.1", port: 0 };
  // llama-swap is Go: net.Listen's backlog is the kernel's somaxconn (src/net/sock_linux.go,
  // maxListenerBacklog), not Node's 511; and its http.Server sets no timeout (llama-swap.go in
  // v250), so an idle kept connection stays open, where Node closes it after 5 s.
  server.keepAliveTimeout = 0;
  const backlog = Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8").trim()) || 4096;
  await new Promise<void>((done) => server.listen({ port: listen.port, host: listen.host, backlog }, done));
  return { port: (server.address() as AddressInfo).port, stop: () => new Promise<void>((done) => server.close(() => done())) };
}

/** /v1/models as llama-swap v250 lists it: its models and their aliases (when asked), and its peers' models under the peer's name, sorted by id. */
function listed(config: SwapConfig) {
  const record = (id: string, model: SwapConfig["models"][string], meta: Record<string, unknown>) => ({
    id,
    object: "model",
    created: 1,
    owned_by: "llama-swap",
    ...(model.name ? { name: model.name } : {}),
    ...(model.description ? { description: model.description } : {}),
    meta: { llamaswap: meta },
  });
  const own = Object.entries(config.models).flatMap(([id, model]) => [
    record(id, model, { type: "model", aliases: model.aliases ?? [] }),
    ...(config.includeAliasesInList ? (model.aliases ?? []).map((alias) => record(alias, model, { type: "alias", modelID: id })) : []),
  ]);
  const remote = Object.entries(config.peers ?? {}).flatMap(([peer, p]) => p.models.map((m) => record(`${peer}/${m}`, { name: `${peer}: ${m}` }, { type: "peer", peerID: peer })));
  return [...own, ...remote].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
