/** Where each app runs and keeps its state, and what the host's firewall opens for it. Pure. */
import type { AppConfig, EstateConfig } from "../config/schema";
import type { Opening } from "../host/firewall";
import type { WebhookRoute } from "../gateway/nginx";
import { datasetsOf } from "../storage/files";
import { APP_CATALOGUE, appPort } from "./catalogue";

/** Each app's port opened on its host's tunnel address: from the tunnel, and the LAN where asked. */
export function appOpenings(config: EstateConfig, host: string): Opening[] {
  return config.apps.filter((app) => app.host === host).map((app) => ({
    protocol: "tcp",
    port: appPort(app),
    from: [config.tunnel.cidr, ...(app.serveLan ? config.lan.cidrs : [])],
    comment: `${APP_CATALOGUE[app.kind].title}, over the tunnel${app.serveLan ? " and the LAN" : ""}`,
    internal: true,
  }));
}

/**
 * The app's state folder: the RAG store on the RAG dataset and other apps on the state dataset
 * (so snapshots, the backup pool and the offsite copy cover them), or the root disk on a host
 * without pools.
 */
export function appDataDir(config: EstateConfig, app: AppConfig): string {
  const server = config.servers.find((s) => s.name === app.host);
  const dataset = server && datasetsOf(server, config.serving.modelsDir).find((d) => d.name.endsWith(APP_CATALOGUE[app.kind].ragStore ? "/rag" : "/state"));
  return `${dataset?.mountpoint ?? "/var/lib/infernus/apps"}/${app.name}`;
}

/** The apps that take webhooks from the internet through the edge, and where each one listens. */
export function webhookRoutes(config: EstateConfig, addressOf: (host: string) => string): WebhookRoute[] {
  return config.apps.flatMap((app) =>
    app.kind === "n8n" && app.webhooks
      ? [{ app: app.name, paths: APP_CATALOGUE[app.kind].webhookPaths ?? [], upstream: `${addressOf(app.host)}:${appPort(app)}`, ...app.webhooks }]
      : [],
  );
}

/** Open WebUI's Qdrant: the one it names, or the estate's only one (the config checks refuse anything else). */
export function vectorStoreOf(apps: EstateConfig["apps"], app: Extract<AppConfig, { kind: "open-webui" }>): string | undefined {
  const stores = apps.filter((a) => a.kind === "qdrant").map((a) => a.name);
  return app.vectorStore ?? (stores.length === 1 ? stores[0] : undefined);
}

/**
 * The app whose SearxNG serves a host's web searches: its Perplexica, else its first Open WebUI
 * that searches (which then runs one of its own); the others on the host use that one.
 */
export function searxngOwner(config: EstateConfig, host: string): AppConfig | undefined {
  const here = config.apps.filter((app) => app.host === host);
  return here.find((app) => app.kind === "perplexica") ?? here.find((app) => app.kind === "open-webui" && app.webSearch);
}
