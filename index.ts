import { declareEstate } from "./components/program";

const estate = declareEstate();

/** `host:port` every WireGuard peer dials. */
export const tunnelEndpoint = estate.tunnelEndpoint;
/** Each peer's tunnel address. */
export const tunnelAddresses = estate.addresses;
/** wg-quick files for the user's devices (secret): `pulumi stack output --show-secrets clientConfigs`. */
export const clientConfigs = estate.clientConfigs;
/** The OpenAI-compatible base URL for every client. */
export const apiBaseUrl = estate.gateway.baseUrl;
/** The private CA certificate clients trust when the stack has no domain (absent with Let's Encrypt). */
export const caCertificate = estate.gateway.caCertificate;
/** Each user's API key (secret): `pulumi stack output --show-secrets apiKeys`. */
export const apiKeys = estate.apiKeys;
/** Ready-to-paste OPENAI_BASE_URL and OPENAI_API_KEY lines per user (secret). */
export const apiSnippets = estate.apiSnippets;
/** Per server, the GPUs as nvidia-smi showed them after the last driver check. */
export const gpuInventory = Object.fromEntries(Object.entries(estate.servers).map(([name, server]) => [name, server.gpuInventory]));
/** Per server, the models it serves and the sets of them that can be resident at once. */
export const serving = Object.fromEntries(
  Object.entries(estate.servers).map(([name, server]) => [name, { models: server.plan.models.map((m) => m.name), residentSets: server.plan.sets }]),
);
/** The encrypted offsite copy: bucket, endpoint, password, salt and how to restore (secret). */
export const offsite = estate.offsiteSummary;
/** Per server, its pools, datasets with their snapshot policy, and their replicas on the backup pool. */
export const storage = Object.fromEntries(Object.entries(estate.servers).map(([name, server]) => [name, server.storageSummary]));
/** Prometheus and Alertmanager (over the tunnel only), and every alert with its threshold. */
export const monitoring = estate.monitoring
  ? { prometheusUrl: estate.monitoring.prometheusUrl, alertmanagerUrl: estate.monitoring.alertmanagerUrl, alerts: estate.monitoring.alerts }
  : undefined;
/** The last self-check's table: one line per check, ok / pending / failed with its figure. */
export const selfCheck = estate.selfCheck.report;
/** How `npm run status` reaches the edge over SSH (address, port, user, pinned host key). */
export const edgeSsh = estate.edgeSsh;
/** Each app: its kind, host and URL on the tunnel. */
export const apps = Object.fromEntries(Object.values(estate.apps).map((app) => [app.name, { kind: app.kind, host: app.host, url: app.url }]));
/** Per app, the lines a client needs: URL, and its key where it has one (secret). */
export const appSnippets = Object.fromEntries(Object.values(estate.apps).map((app) => [app.name, app.snippet]));
