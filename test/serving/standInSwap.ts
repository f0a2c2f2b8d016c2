/**
 * llama-swap cannot run here: this stand-in does what it does at its front door, from the rendered
 * config. It checks the key, routes by `model` to its own model's server or to the peer that lists
 * it (with the peer's key), and lists its own and its peers' models. A server that does not answer
 * gets a 502, as llama-swap gives when its upstream is gone. Given its process side
 * (standInProcesses.ts), it first makes the model's upstream ready, swapping as llama-swap does,
 * and counts the request in flight until its answer ends.
 */
import { readFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { StandInProcesses } from "./standInProcesses";

export interface SwapConfig {
  apiKeys: string[];
  models: Record<string, unknown>;
  peers?: Record<string, { proxy: string; apiKey: string; models: string[] }>;
}

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
      if (req.headers.authorization !== `Bearer ${config.apiKeys[0]}`) return reply(401, { error: "unauthorized" });
      const peers = Object.entries(config.peers ?? {});
      if (req.url === "/v1/models") return reply(200, { object: "list", data: [...Object.keys(config.models), ...peers.flatMap(([, p]) => p.models)].map((id) => ({ id, object: "model" })) });
      const model = (JSON.parse(body || "{}") as { model?: string }).model ?? "";
      const backend = backends[model];
      const peer = peers.find(([, p]) => p.models.includes(model));
      if (!backend && !peer) return reply(404, { error: { message: `model ${model} is not served here`, type: "invalid_request_error", code: "model_not_found" } });
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
          upstream.end(body);
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
