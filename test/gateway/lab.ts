/**
 * The rendered gateway served by the real nginx on loopback, in front of a stand-in OpenAI
 * backend. Only the file locations and the listen address differ from what the edge gets.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { ApiKeyConfig, GatewayConfig } from "../../components/config/schema";
import { GATEWAY_PATHS, renderApiKeyMap, renderGatewayConfig, renderUpstreamAuth } from "../../components/gateway/nginx";
import { tool } from "../helpers";

export interface BackendRequest {
  readonly path: string;
  readonly client?: string;
  readonly authorization?: string;
  readonly model?: string;
}

/** An OpenAI-compatible stand-in: /v1/models, embeddings, and chat completions that stream SSE at a set cadence. */
export async function startBackend(options: { chunks: number; cadenceMs: number; port?: number; models?: readonly string[] }) {
  const seen: BackendRequest[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const parsed = body ? (JSON.parse(body) as { model?: string; stream?: boolean }) : {};
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
      let sent = 0;
      const timer = setInterval(() => {
        if (sent === options.chunks) {
          clearInterval(timer);
          res.end("data: [DONE]\n\n");
          return;
        }
        res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: `t${sent}` } }], sentAt: Date.now() })}\n\n`);
        sent++;
      }, options.cadenceMs);
    });
  });
  await new Promise<void>((done) => server.listen(options.port ?? 0, "127.0.0.1", done));
  const port = (server.address() as AddressInfo).port;
  return { port, seen, stop: () => new Promise<void>((done) => server.close(() => done())) };
}

export interface Gateway {
  readonly port: number;
  readonly dir: string;
  readonly paths: typeof GATEWAY_PATHS;
  stop(): void;
}

/** Renders the gateway for `upstreams`, then runs `nginx -t` and starts nginx on 127.0.0.1. */
/** The key the stand-in gateway presents upstream. */
export const UPSTREAM_KEY = "sk-infernus-upstream-0000000000000000000000000000";

export function startGateway(options: { gateway: GatewayConfig; apiKeys: readonly ApiKeyConfig[]; keys: Record<string, string>; upstreams: string[]; upstreamKey?: string }): Gateway {
  const dir = mkdtempSync(path.join(tmpdir(), "infernus-gateway-"));
  const paths = Object.fromEntries(Object.entries(GATEWAY_PATHS).map(([k, v]) => [k, path.join(dir, v)])) as unknown as typeof GATEWAY_PATHS;
  for (const file of Object.values(paths)) mkdirSync(path.dirname(file), { recursive: true });
  const config = renderGatewayConfig({ gateway: options.gateway, apiKeys: options.apiKeys, upstreams: options.upstreams, paths }).replace(
    /listen (\[::\]:)?(\d+) ssl http2;/g,
    (_line, v6: string | undefined, port: string) => `listen ${v6 ? "[::1]" : "127.0.0.1"}:${port} ssl http2;`,
  );
  writeFileSync(paths.config, config);
  writeFileSync(paths.keys, renderApiKeyMap(Object.entries(options.keys).map(([name, key]) => ({ name, key }))), { mode: 0o600 });
  writeFileSync(paths.upstreamAuth, renderUpstreamAuth(options.upstreamKey ?? UPSTREAM_KEY), { mode: 0o600 });
  const openssl = tool("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", paths.certificateKey, "-out", paths.certificate]);
  if (openssl.status !== 0) throw new Error(`openssl: ${openssl.stderr}`);
  const main = path.join(dir, "nginx.conf");
  writeFileSync(
    main,
    [
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      "worker_processes 2;",
      "events { worker_connections 1024; }",
      "http {",
      `  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;`,
      `  include ${paths.config};`,
      "}",
      "",
    ].join("\n"),
  );
  const check = tool("nginx", ["-t", "-p", dir, "-c", main]);
  if (check.status !== 0) throw new Error(`nginx -t rejected the rendered gateway: ${check.stderr}`);
  const start = spawnSync("nginx", ["-p", dir, "-c", main], { encoding: "utf8", timeout: 10_000 });
  if (start.status !== 0) throw new Error(`nginx did not start: ${start.stderr}`);
  return {
    port: options.gateway.port,
    dir,
    paths,
    stop: () => void spawnSync("nginx", ["-p", dir, "-c", main, "-s", "stop"], { timeout: 10_000 }),
  };
}

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** Milliseconds from the request to each body chunk. */
  readonly chunkTimes: number[];
  readonly ms: number;
}

export function request(port: number, method: string, urlPath: string, options: { key?: string; body?: unknown } = {}): Promise<Reply> {
  const started = performance.now();
  return new Promise((done, fail) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port,
        method,
        path: urlPath,
        rejectUnauthorized: false,
        agent: false,
        headers: { ...(options.key ? { authorization: `Bearer ${options.key}` } : {}), ...(options.body ? { "content-type": "application/json" } : {}) },
        timeout: 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        const chunkTimes: number[] = [];
        res.on("data", (d: Buffer) => {
          chunks.push(d);
          chunkTimes.push(performance.now() - started);
        });
        res.on("end", () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), chunkTimes, ms: performance.now() - started }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
    req.on("error", fail);
    req.end(options.body ? JSON.stringify(options.body) : undefined);
  });
}
