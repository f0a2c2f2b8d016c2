/** The apps infernus can run: each one's pinned image and how it is reached and checked. */
import type { AppConfig } from "../config/schema";

export type AppKind = AppConfig["kind"];
/** What an app that calls the gateway runs in its container: whose trust store it has. */
export type AppRuntime = "node" | "python";

export interface AppSpec {
  /** The image, pinned to a release (the stack's `image` overrides it). */
  readonly image: string;
  /** The port on the host's tunnel address, unless the stack names another. */
  readonly port: number;
  /** Where it keeps its state inside the container. */
  readonly dataMount: string;
  /** The uid the image runs as, which must own the data folder. */
  readonly uid: number;
  /** A path that answers 200 without a key while the program works. */
  readonly health: string;
  /** What stops a stranger who reaches the port: the tunnel alone, an API key, or the app's own login. */
  readonly guard: "none" | "api-key" | "login";
  /** Keeps data that cannot be downloaded again, so it must live on the RAG dataset. */
  readonly ragStore: boolean;
  /** How the container calls the gateway (whose trust store it needs), for an app that does. */
  readonly runtime?: AppRuntime;
  /**
   * The app's own paths that take webhooks, where the stack lets the internet send them: n8n's
   * production, test (only while the editor listens) and waiting (Wait nodes) webhooks.
   */
  readonly webhookPaths?: readonly string[];
  readonly title: string;
}

export const APP_CATALOGUE: Readonly<Record<AppKind, AppSpec>> = {
  // Perplexica is named Vane since 1.12; the slim image leaves SearxNG to its own container (files.ts).
  perplexica: {
    image: "docker.io/itzcrazykns1337/vane:slim-v1.12.2",
    port: 3000,
    dataMount: "/home/vane/data",
    uid: 0,
    health: "/",
    guard: "none",
    ragStore: false,
    runtime: "node",
    title: "Perplexica (AI search)",
  },
  qdrant: {
    image: "docker.io/qdrant/qdrant:v1.19.0",
    port: 6333,
    dataMount: "/qdrant/data",
    uid: 0,
    health: "/healthz",
    guard: "api-key",
    ragStore: true,
    title: "Qdrant (RAG vector store)",
  },
  n8n: {
    image: "docker.n8n.io/n8nio/n8n:2.12.3",
    port: 5678,
    dataMount: "/home/node/.n8n",
    uid: 1000,
    // 200 once its database is connected and migrated (abstract-server.js); /healthz answers before
    // that, and the credential's import would then race n8n's own migrations.
    health: "/healthz/readiness",
    guard: "login",
    ragStore: false,
    runtime: "node",
    webhookPaths: ["webhook", "webhook-test", "webhook-waiting"],
    title: "n8n (workflows)",
  },
  "open-webui": {
    image: "ghcr.io/open-webui/open-webui:v0.11.0",
    port: 3080,
    dataMount: "/app/backend/data",
    uid: 0,
    health: "/health",
    guard: "login",
    ragStore: false,
    runtime: "python",
    title: "Open WebUI (chat)",
  },
};

export function appPort(app: AppConfig): number {
  return app.port ?? APP_CATALOGUE[app.kind].port;
}

export function appImage(app: AppConfig): string {
  return app.image ?? APP_CATALOGUE[app.kind].image;
}

/** The infernus:apiKeys entry an app that calls the models presents: its own apiKey, or its name. */
export function gatewayKeyOf(app: AppConfig): string {
  return ("apiKey" in app && app.apiKey) || app.name;
}
