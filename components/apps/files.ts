/**
 * The files that run an app: one systemd unit per container (podman, host network, listening on
 * the host's tunnel address only), each app's own config, and its secrets as 0600 env files.
 * Pure renderers: the same input gives the same bytes.
 */
import { createHash } from "node:crypto";
import { HEADER, renderYaml } from "../header";
import type { AppRuntime } from "./catalogue";

export const APP_PATHS = {
  dir: "/etc/infernus/apps",
  /** The gateway's private CA, for apps on hosts that call the gateway without a public certificate. */
  gatewayCa: "/etc/infernus/apps/gateway-ca.crt",
  /** The host's roots and that CA in one file (app.sh makes it): Python trusts one file or the other, not both. */
  caBundle: "/etc/infernus/apps/ca-bundle.crt",
  /** infernus-app-probe (assets/apps/app-probe.sh) and its template units, one timer per app. */
  probeScript: "/usr/local/sbin/infernus-app-probe",
  probeService: "/etc/systemd/system/infernus-app-probe@.service",
  probeTimer: "/etc/systemd/system/infernus-app-probe@.timer",
} as const;

export const probeConf = (app: string) => `${APP_PATHS.dir}/${app}.probe.json`;

export const unitPath = (unit: string) => `/etc/systemd/system/${unit}.service`;

/** An app's main unit and container. */
export const appUnit = (app: string) => `infernus-${app}`;
/** The SearxNG an app runs (a Perplexica, or an Open WebUI on a host without one), which the host's other searching apps use too. */
export const searxngUnit = (app: string) => `${appUnit(app)}-searxng`;

/** SearxNG, one per host: loopback only, so nothing but the apps on that host reach it. */
export const SEARXNG = { image: "docker.io/searxng/searxng:2026.9.13-e61d09756", listen: "127.0.0.1:8888" } as const;

export interface Container {
  /** The systemd unit and the container's name. */
  readonly unit: string;
  readonly description: string;
  readonly image: string;
  /** Environment without secrets, written into the unit. */
  readonly env: Readonly<Record<string, string>>;
  /** The 0600 file with its secret environment. */
  readonly envFile?: string;
  /** `host-path:container-path[:ro]`. */
  readonly volumes: readonly string[];
  /** `name:address` lines for the container's /etc/hosts. */
  readonly hosts?: readonly string[];
  /** Units that must run first (Perplexica's SearxNG). */
  readonly requires?: readonly string[];
  /** Folders that must be mounted first (the ZFS datasets). */
  readonly mountsFor: readonly string[];
  /** The WireGuard interface: the container listens on its address. */
  readonly tunnelInterface: string;
}

/**
 * A podman container as a systemd service, in the shape `podman generate systemd --new` gives:
 * created at start, removed at stop, its state only in the mounted folders. Host networking keeps
 * it behind the host's own nftables (a bridge's published ports would bypass the input chain); the
 * image is pulled by the install step, never at boot.
 */
export function renderContainerUnit(c: Container): string {
  const required = (c.requires ?? []).map((u) => `${u}.service`).join(" ");
  const run = [
    "/usr/bin/podman run",
    `--name ${c.unit}`,
    "--replace --rm --pull=never",
    "--sdnotify=conmon --cgroups=no-conmon",
    "--network=host",
    "--log-driver=journald",
    ...(c.envFile ? [`--env-file ${c.envFile}`] : []),
    ...Object.entries(c.env).map(([name, value]) => `--env ${name}=${value}`),
    ...c.volumes.map((v) => `--volume ${v}`),
    ...(c.hosts ?? []).map((h) => `--add-host ${h}`),
    c.image,
  ];
  return [
    HEADER,
    "[Unit]",
    `Description=${c.description}`,
    "Wants=network-online.target",
    `After=network-online.target wg-quick@${c.tunnelInterface}.service${required ? ` ${required}` : ""}`,
    ...(required ? [`Requires=${required}`] : []),
    ...(c.mountsFor.length ? [`RequiresMountsFor=${c.mountsFor.join(" ")}`] : []),
    "",
    "[Service]",
    "Environment=PODMAN_SYSTEMD_UNIT=%n",
    "Type=notify",
    "NotifyAccess=all",
    // Until the tunnel address exists at boot, the bind fails: try again rather than give up.
    "Restart=always",
    "RestartSec=10",
    "TimeoutStartSec=300",
    "TimeoutStopSec=60",
    `ExecStart=${run.join(" \\\n    ")}`,
    `ExecStop=/usr/bin/podman stop --ignore --time 30 ${c.unit}`,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** An env file for `podman --env-file`: NAME=value lines, sorted. */
export function renderEnvFile(env: Readonly<Record<string, string>>): string {
  return [HEADER, ...Object.keys(env).sort().map((name) => `${name}=${env[name]}`), ""].join("\n");
}

/** Qdrant's own config: HTTP on the tunnel address, no gRPC, no telemetry; keys come from the env file. */
export function renderQdrantConfig(listen: string, port: number, dataMount: string): string {
  return renderYaml({
    log_level: "INFO",
    storage: { storage_path: `${dataMount}/storage`, snapshots_path: `${dataMount}/snapshots` },
    service: { host: listen, http_port: port, grpc_port: null, enable_cors: false },
    telemetry_disabled: true,
  });
}

/** SearxNG's settings: its defaults, JSON answers for Perplexica, no rate limiter (one local caller). */
export function renderSearxngSettings(): string {
  return renderYaml({
    use_default_settings: true,
    general: { instance_name: "infernus search" },
    // The real secret comes from SEARXNG_SECRET in the env file.
    server: { secret_key: "set-by-SEARXNG_SECRET", limiter: false, image_proxy: false, public_instance: false },
    search: { formats: ["html", "json"] },
  });
}

export interface PerplexicaProvider {
  /** The gateway's base URL as the app reaches it (…/v1). */
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly chatModel: string;
  readonly embeddingModel: string;
}

/** The provider entry infernus keeps in Perplexica's config.json; the user's own settings stay. */
export function renderPerplexicaProvider(p: PerplexicaProvider): string {
  return `${JSON.stringify(
    {
      id: "infernus",
      name: "infernus",
      type: "openai",
      config: { apiKey: p.apiKey, baseURL: p.baseUrl },
      chatModels: [{ name: p.chatModel, key: p.chatModel }],
      embeddingModels: [{ name: p.embeddingModel, key: p.embeddingModel }],
      hash: "infernus",
    },
    null,
    2,
  )}\n`;
}

/**
 * What infernus-app-probe asks for one app (0600: it holds the app's key): from inside the
 * container, with the container's own trust store, the gateway's model list with the app's key.
 */
export function renderProbeConf(p: { unit: string; runtime: AppRuntime; baseUrl: string; key: string; models: readonly string[] }): string {
  return `${JSON.stringify({ unit: p.unit, runtime: p.runtime, baseUrl: p.baseUrl, key: p.key, models: [...p.models].sort() }, null, 2)}\n`;
}

/** How often each app's probe runs: often enough for the self-check to find it fresh, rarely enough to cost nothing. */
export const PROBE_INTERVAL_SECONDS = 300;

/** The probe's template service and timer: `infernus-app-probe@<app>.timer` per app. */
export function renderProbeUnits(): { service: string; timer: string } {
  return {
    service: [
      HEADER,
      "[Unit]",
      "Description=infernus: whether %i calls the gateway with its own key and trust store",
      "After=infernus-%i.service",
      "",
      "[Service]",
      "Type=oneshot",
      `ExecStart=${APP_PATHS.probeScript} %i`,
      "",
    ].join("\n"),
    timer: [
      HEADER,
      "[Unit]",
      "Description=infernus: probe %i's way to the gateway every few minutes",
      "",
      "[Timer]",
      "OnBootSec=2min",
      `OnUnitActiveSec=${PROBE_INTERVAL_SECONDS}s`,
      "",
      "[Install]",
      "WantedBy=timers.target",
      "",
    ].join("\n"),
  };
}

/**
 * n8n's OpenAI credential (type openAiApi: apiKey, organizationId, url, header; packages/nodes-base/
 * credentials/OpenAiApi.credentials.ts) for `n8n import:credentials --input=FILE`: an array, upserted
 * on id, its data plain (the import encrypts it; packages/cli/src/commands/import/credentials.ts).
 */
export function renderN8nCredential(api: { readonly baseUrl: string; readonly key: string }, user: string): string {
  // The import upserts on id: one of the user's own, whatever his name's length or dashes.
  const id = `infernus${createHash("sha256").update(user).digest("hex").slice(0, 8)}`;
  const credential = { id, name: `infernus (${user})`, type: "openAiApi", data: { apiKey: api.key, organizationId: "", url: api.baseUrl, header: false } };
  return `${JSON.stringify([credential], null, 2)}\n`;
}
