/**
 * What infernus-check checks, as its config file: the gateway, the tunnel peers that must be up,
 * each server's exporter with its declared GPUs, pools and UPS, and each declared model. Pure.
 */
import { HEADER } from "../header";

export const CHECK_PATHS = {
  script: "/usr/local/sbin/infernus-check",
  conf: "/etc/infernus/check.conf",
  /** The check key as a curl header file: it never reaches a command line. */
  header: "/etc/infernus/check.header",
} as const;

/** The gateway key the check uses; the audit log names its requests after it. */
export const CHECK_KEY_NAME = "infernus-check";

export interface CheckedServer {
  readonly name: string;
  /** `address:port` of its node_exporter on the tunnel. */
  readonly exporter: string;
  /** NVIDIA GPUs that nvidia-smi must list. */
  readonly gpus: number;
  readonly driverBranch: number;
  readonly pools: readonly string[];
  readonly ups?: string;
}

export interface CheckView {
  /** `https://host[:port]`: the public gateway. */
  readonly gatewayOrigin: string;
  /** Where to connect instead of resolving the public name (the edge reaches itself on loopback). */
  readonly connectTo?: string;
  /** The private CA's certificate, when the gateway has no public one. */
  readonly caFile?: string;
  /** The edge's own metrics, with the WireGuard handshake ages. */
  readonly edgeMetrics: string;
  readonly handshakeMaxSeconds: number;
  /** Prometheus on the edge, when monitoring is on. */
  readonly prometheus?: string;
  /** Seconds for a probe, for a loaded model's answer, and for a model that must load first. */
  readonly timeouts: { readonly probe: number; readonly answer: number; readonly load: number };
  /** The tunnel peers that must be up: the servers (client devices come and go). */
  readonly peers: readonly string[];
  readonly servers: readonly CheckedServer[];
  /** Every served name: models, and adapters with the model they run on (base). */
  readonly models: readonly { readonly name: string; readonly server: string; readonly kind: string; readonly base?: string }[];
  /** The edge's own name: its apps need no server to answer first. */
  readonly edge: string;
  /**
   * The user's apps, by the health URL each answers on the tunnel; for one that calls the models,
   * how old its host's infernus-app-probe finding may be.
   */
  readonly apps: readonly { readonly name: string; readonly host: string; readonly healthUrl: string; readonly probeMaxAgeSeconds?: number }[];
  /** The LAN gateway: the server that probes it (its metrics say), and its /healthz. */
  readonly lanGateway?: { readonly server: string; readonly healthUrl: string };
}

export function renderCheckConf(view: CheckView): string {
  const dash = (value: string | undefined) => (value === undefined || value === "" ? "-" : value);
  return [
    HEADER,
    `gateway ${view.gatewayOrigin} ${dash(view.connectTo)} ${dash(view.caFile)}`,
    `edge ${view.edge}`,
    `key ${CHECK_PATHS.header}`,
    `wireguard ${view.edgeMetrics} ${view.handshakeMaxSeconds}`,
    ...(view.prometheus ? [`prometheus ${view.prometheus}`] : []),
    `timeouts ${view.timeouts.probe} ${view.timeouts.answer} ${view.timeouts.load}`,
    ...view.peers.map((peer) => `peer ${peer}`),
    ...view.servers.map((s) => `server ${s.name} ${s.exporter} ${s.gpus} ${s.driverBranch} ${dash(s.pools.join(","))} ${dash(s.ups)}`),
    ...view.models.map((m) => `model ${m.name} ${m.server} ${m.kind}${m.base ? ` ${m.base}` : ""}`),
    ...view.apps.map((a) => `app ${a.name} ${a.host} ${a.healthUrl} ${dash(a.probeMaxAgeSeconds?.toString())}`),
    ...(view.lanGateway ? [`lan ${view.lanGateway.server} ${view.lanGateway.healthUrl}`] : []),
    "",
  ].join("\n");
}

export function renderCheckHeader(key: string): string {
  return `Authorization: Bearer ${key}\n`;
}
