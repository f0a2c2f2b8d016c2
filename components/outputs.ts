/**
 * The stack outputs, as `pulumi stack output` lists them. An output the stack does not have (no
 * monitoring, no offsite copy, a public certificate) is left out: exported as undefined, the SDK
 * would warn that it "will not show as a stack output".
 */
import type * as pulumi from "@pulumi/pulumi";
import type { Estate } from "./estate";
import type { GpuServer } from "./gpu/gpuServer";
import type { Monitoring } from "./monitoring/monitoring";

export interface StackOutputs {
  /** `host:port` every WireGuard peer dials. */
  readonly tunnelEndpoint: pulumi.Output<string>;
  /** Each peer's tunnel address. */
  readonly tunnelAddresses: Record<string, string>;
  /** wg-quick files for the user's devices (secret): `pulumi stack output --show-secrets clientConfigs`. */
  readonly clientConfigs: Record<string, pulumi.Output<string>>;
  /** The OpenAI-compatible base URL for every client. */
  readonly apiBaseUrl: pulumi.Output<string>;
  /** The base URL at home, through the LAN gateway, which answers when the internet is down (absent without lan.gateway). */
  readonly apiBaseUrlAtHome?: string;
  /** The private CA certificate clients trust when the stack has no domain (absent with Let's Encrypt). */
  readonly caCertificate?: pulumi.Output<string>;
  /** Each user's API key (secret): `pulumi stack output --show-secrets apiKeys`. */
  readonly apiKeys: Record<string, pulumi.Output<string>>;
  /** Ready-to-paste OPENAI_BASE_URL and OPENAI_API_KEY lines per user, with the URL at home where there is one (secret). */
  readonly apiSnippets: Record<string, pulumi.Output<string>>;
  /** Per server, the GPUs as nvidia-smi showed them after the last driver check. */
  readonly gpuInventory: Record<string, GpuServer["gpuInventory"]>;
  /** Per server, the models it serves and the sets of them that can be resident at once. */
  readonly serving: Record<string, { models: string[]; residentSets: GpuServer["plan"]["sets"]; kinds: GpuServer["plan"]["kinds"] }>;
  /** The encrypted offsite copy: bucket, endpoint, password, salt and how to restore (secret; absent without one). */
  readonly offsite?: pulumi.Output<Record<string, string>>;
  /** Per server, its pools, datasets with their snapshot policy, and their replicas on the backup pool. */
  readonly storage: Record<string, GpuServer["storageSummary"]>;
  /** Prometheus and Alertmanager (over the tunnel only), and every alert with its threshold (absent without monitoring). */
  readonly monitoring?: Pick<Monitoring, "prometheusUrl" | "alertmanagerUrl" | "alerts">;
  /** Grafana's URL over the tunnel and its admin's login (secret; absent without monitoring). */
  readonly grafana?: pulumi.Output<{ url: string; user: string; password: string }>;
  /** The last self-check's table: one line per check, ok / pending / failed with its figure. */
  readonly selfCheck: pulumi.Output<string>;
  /** The last day's usage per user and model as the last self-check saw it (requests, tokens, 429s, 5xx); empty without monitoring. */
  readonly usage: pulumi.Output<string>;
  /** How `npm run status` reaches the edge over SSH (address, port, user, pinned host key). */
  readonly edgeSsh: Estate["edgeSsh"];
  /** Each app: its kind, host and URL on the tunnel. */
  readonly apps: Record<string, { kind: string; host: string; url: string }>;
  /** Per app, the lines a client needs: URL, and its key where it has one (secret). */
  readonly appSnippets: Record<string, pulumi.Output<string>>;
}

/** The estate's outputs, without the ones this stack does not have. */
export function stackOutputs(estate: Estate): StackOutputs {
  const servers = Object.entries(estate.servers);
  const apps = Object.values(estate.apps);
  const monitoring = estate.monitoring;
  // Every output named here, present or not, so that a new one is not forgotten.
  const outputs: { [K in keyof Required<StackOutputs>]: Required<StackOutputs>[K] | undefined } = {
    tunnelEndpoint: estate.tunnelEndpoint,
    tunnelAddresses: estate.addresses,
    clientConfigs: estate.clientConfigs,
    apiBaseUrl: estate.gateway.baseUrl,
    apiBaseUrlAtHome: estate.lanBaseUrl,
    caCertificate: estate.gateway.caCertificate,
    apiKeys: estate.apiKeys,
    apiSnippets: estate.apiSnippets,
    gpuInventory: Object.fromEntries(servers.map(([name, server]) => [name, server.gpuInventory])),
    serving: Object.fromEntries(servers.map(([name, server]) => [name, { models: server.plan.models.map((m) => m.name), residentSets: server.plan.sets, kinds: server.plan.kinds }])),
    offsite: estate.offsiteSummary,
    storage: Object.fromEntries(servers.map(([name, server]) => [name, server.storageSummary])),
    monitoring: monitoring ? { prometheusUrl: monitoring.prometheusUrl, alertmanagerUrl: monitoring.alertmanagerUrl, alerts: monitoring.alerts } : undefined,
    grafana: monitoring?.grafana.login,
    selfCheck: estate.selfCheck.report,
    usage: estate.selfCheck.usage,
    edgeSsh: estate.edgeSsh,
    apps: Object.fromEntries(apps.map((app) => [app.name, { kind: app.kind, host: app.host, url: app.url }])),
    appSnippets: Object.fromEntries(apps.map((app) => [app.name, app.snippet])),
  };
  return Object.fromEntries(Object.entries(outputs).filter(([, value]) => value !== undefined)) as unknown as StackOutputs;
}
