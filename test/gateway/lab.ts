/**
 * The rendered gateway served by the real nginx on loopback, in front of a stand-in OpenAI
 * backend. Only the file locations and the listen address differ from what the edge gets.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { ApiKeyConfig, GatewayConfig } from "../../components/config/schema";
import { CERTIFICATE_SHARE_PORT, GATEWAY_PATHS, renderApiKeyMap, renderGatewayConfig, renderNginxMain, renderUpstreamAuth, type WebhookRoute } from "../../components/gateway/nginx";
import { asset } from "../../components/host/stdin";
import { tool } from "../helpers";

export { request, startBackend, type BackendRequest, type Reply, type Target } from "./http";

export interface Gateway {
  readonly port: number;
  readonly dir: string;
  readonly paths: typeof GATEWAY_PATHS;
  stop(): void;
}

/** The key the stand-in gateway presents upstream. */
export const UPSTREAM_KEY = "sk-infernus-upstream-0000000000000000000000000000";

/** The deployed main configuration with its pid, logs and temporary files in DIR, and only the gateway's server. */
export function labMain(main: string, dir: string, gatewayConfig: string): string {
  const relocated = main
    .replace("pid /run/nginx.pid;", `pid ${dir}/nginx.pid;`)
    .replace("error_log /var/log/nginx/error.log;", `error_log ${dir}/error.log warn;`)
    .replace("access_log /var/log/nginx/access.log;", `access_log ${dir}/access.log;`)
    // The distribution's module files name modules relative to the prefix, which the lab moves: the
    // njs module the gateway needs (libnginx-mod-http-js) by its absolute path instead.
    .replace("include /etc/nginx/modules-enabled/*.conf;", "load_module /usr/lib/nginx/modules/ngx_http_js_module.so;")
    .replace("include /etc/nginx/conf.d/*.conf;", `include ${gatewayConfig};`)
    .replace("    include /etc/nginx/sites-enabled/*;\n", "")
    .replace(
      "http {\n",
      `http {\n    client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;\n`,
    );
  for (const systemPath of ["/etc/nginx/modules-enabled/", "/run/", "/var/log/nginx/", "/etc/nginx/conf.d/", "/etc/nginx/sites-enabled/"]) {
    if (relocated.includes(` ${systemPath}`)) throw new Error(`labMain: the deployed nginx.conf names ${systemPath} where the lab does not expect it`);
  }
  return relocated;
}

/** Renders the gateway for `upstreams`, then runs `nginx -t` and starts nginx on 127.0.0.1. */
/** Ports the gateway has beside its own, moved where a test may listen: the ACME challenge's, the certificate share's. */
export const MOVED_PORTS: Readonly<Record<number, number>> = { 80: 18080, [CERTIFICATE_SHARE_PORT]: 18444 };

export function startGateway(options: {
  gateway: GatewayConfig;
  apiKeys: readonly ApiKeyConfig[];
  keys: Record<string, string>;
  upstreams: string[];
  upstreamKey?: string;
  /** With a domain, and the certificate shared with this address (the LAN gateway's). */
  acme?: { domain: string; shareCertificateWith?: string };
  /** Apps' webhooks from the internet, as the edge's gateway takes them. */
  webhooks?: readonly WebhookRoute[];
}): Gateway {
  const dir = mkdtempSync(path.join(tmpdir(), "infernus-gateway-"));
  // Workers (www-data when root starts nginx) create their temporary files below it; its files stay the owner's.
  chmodSync(dir, 0o711);
  const paths = Object.fromEntries(Object.entries(GATEWAY_PATHS).map(([k, v]) => [k, path.join(dir, v)])) as unknown as typeof GATEWAY_PATHS;
  for (const file of Object.values(paths)) mkdirSync(path.dirname(file), { recursive: true });
  const config = renderGatewayConfig({ gateway: options.gateway, apiKeys: options.apiKeys, upstreams: options.upstreams, paths, acmeDomain: options.acme?.domain, shareCertificateWith: options.acme?.shareCertificateWith, webhooks: options.webhooks })
    .replace(/listen (\[::\]:)?(\d+) ssl http2;/g, (_line, v6: string | undefined, port: string) => `listen ${v6 ? "[::1]" : "127.0.0.1"}:${port} ssl http2;`)
    .replace(/^( *)listen (\[::\]:)?(80|\d{4})( ssl)?;$/gm, (line, indent: string, v6: string | undefined, port: string, ssl = "") =>
      MOVED_PORTS[Number(port)] ? (v6 ? "" : `${indent}listen 127.0.0.1:${MOVED_PORTS[Number(port)]}${ssl};`) : line,
    );
  writeFileSync(paths.config, config);
  writeFileSync(paths.keys, renderApiKeyMap(Object.entries(options.keys).map(([name, key]) => ({ name, key }))), { mode: 0o600 });
  writeFileSync(paths.usageScript, asset("gateway/usage.js"));
  writeFileSync(paths.upstreamAuth, renderUpstreamAuth(options.upstreamKey ?? UPSTREAM_KEY), { mode: 0o600 });
  const openssl = tool("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", paths.certificateKey, "-out", paths.certificate]);
  if (openssl.status !== 0) throw new Error(`openssl: ${openssl.stderr}`);
  // The main configuration as deployed, its paths moved into the scratch folder; as root (CI) its
  // workers run as www-data, like the edge's.
  const main = path.join(dir, "nginx.conf");
  writeFileSync(main, labMain(renderNginxMain(options.gateway), dir, paths.config));
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

