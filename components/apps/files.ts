/**
 * The files that run an app: one systemd unit per container (podman, host network, listening on
 * the host's tunnel address only), each app's own config, and its secrets as 0600 env files.
 * Pure renderers: the same input gives the same bytes.
 */
import { HEADER, renderYaml } from "../header";

export const APP_PATHS = {
  dir: "/etc/infernus/apps",
  /** The gateway's private CA, for apps on hosts that call the gateway without a public certificate. */
  gatewayCa: "/etc/infernus/apps/gateway-ca.crt",
} as const;

export const unitPath = (unit: string) => `/etc/systemd/system/${unit}.service`;

/** SearxNG for Perplexica: loopback only, so nothing but Perplexica on that host reaches it. */
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
