/**
 * What each kind of app puts on its host: its containers, its files and secrets, and the lines a
 * client needs. The App component (app.ts) wires these into one step.
 */
import * as pulumi from "@pulumi/pulumi";
import type { AppConfig } from "../config/schema";
import { webhookPrefix } from "../gateway/nginx";
import type { StepFile } from "../host/remoteHost";
import { APP_CATALOGUE, gatewayKeyOf, type AppRuntime, type AppSpec } from "./catalogue";
import {
  APP_PATHS,
  probeConf,
  renderEnvFile,
  renderN8nCredential,
  renderPerplexicaProvider,
  renderProbeConf,
  renderQdrantConfig,
  renderSearxngSettings,
  SEARXNG,
  searxngUnit,
  type Container,
} from "./files";

/** How an app on a host reaches the estate's gateway over the tunnel. */
export interface GatewayAccess {
  /** The base URL it calls (…/v1). */
  readonly baseUrl: pulumi.Input<string>;
  /** `name:address` entries that send the gateway's public name through the tunnel. */
  readonly hosts: readonly string[];
  /** The private CA's certificate, when the gateway has no public one. */
  readonly caCertificate?: pulumi.Input<string>;
  /** The API key the app calls with. Secret. */
  readonly apiKey: pulumi.Input<string>;
  /** `https://host[:port]` of the edge's gateway, where the internet sends the app's webhooks. */
  readonly publicOrigin?: pulumi.Input<string>;
}

/** The Qdrant an app keeps its vectors in. */
export interface VectorStoreAccess {
  readonly url: string;
  /** Its read-write key. Secret. */
  readonly apiKey: pulumi.Input<string>;
}

/** A container whose environment may wait on values only a deployment knows (a droplet's address). */
export type ContainerInput = Omit<Container, "env"> & { readonly env: Readonly<Record<string, pulumi.Input<string>>> };

export interface AppContext<K extends AppConfig["kind"] = AppConfig["kind"]> {
  readonly app: Extract<AppConfig, { kind: K }>;
  readonly spec: AppSpec;
  /** The app's main unit and container: infernus-<name>. */
  readonly unit: string;
  readonly image: string;
  readonly listen: string;
  readonly port: number;
  /** `http://address:port` on the tunnel. */
  readonly url: string;
  /** Its 0600 env file. */
  readonly envFile: string;
  /** Its data folder mounted where the image keeps its state. */
  readonly volume: string;
  /** What every container of the app shares: the tunnel interface and the folders to mount first. */
  readonly base: Pick<Container, "tunnelInterface" | "mountsFor">;
  /** A generated secret, kept in the stack's state. */
  secret(what: string, length?: number): pulumi.Output<string>;
  readonly gateway?: GatewayAccess;
  readonly vectorStore?: VectorStoreAccess;
  /** The SearxNG unit its host already runs for another app (placement.ts: searxngOwner); absent, an Open WebUI runs its own. */
  readonly searxngUnit?: string;
}

export interface AppParts {
  readonly files: StepFile[];
  readonly containers: ContainerInput[];
  /** Values app.sh acts on beyond the common ones. */
  readonly params?: Record<string, pulumi.Input<string>>;
  /** The lines a client needs. Secret. */
  readonly snippet: pulumi.Output<string>;
  /** Qdrant's API key (read and write). Secret. */
  readonly apiKey?: pulumi.Output<string>;
  /** Qdrant's read-only key. Secret. */
  readonly readOnlyKey?: pulumi.Output<string>;
  /** The gateway models the app must find with its own key (infernus-app-probe); none: the listing itself. */
  readonly models?: readonly string[];
}

/** The app's own container (its unit, image and title); the rest is the kind's. */
const mainContainer = <K extends AppConfig["kind"]>(ctx: AppContext<K>, rest: Pick<ContainerInput, "env" | "volumes"> & Partial<ContainerInput>): ContainerInput => ({
  ...ctx.base,
  unit: ctx.unit,
  description: `infernus: ${ctx.spec.title}`,
  image: ctx.image,
  ...rest,
});

const secretEnvFile = (env: pulumi.Input<Record<string, pulumi.Input<string>>>) => pulumi.secret(pulumi.output(env).apply(renderEnvFile));

/** The files, environment, mounts and app.sh parameters that let a container trust the gateway. */
export interface GatewayTrust {
  readonly files: StepFile[];
  readonly env: Record<string, string>;
  readonly volumes: string[];
  readonly params: Record<string, string>;
}

/**
 * What a container needs to trust the gateway: nothing with a public certificate (its name is
 * pinned by `hosts`), else the private CA. Node adds NODE_EXTRA_CA_CERTS to its own roots; Python's
 * libraries each take one file that replaces theirs (Open WebUI's env.py builds aiohttp's context
 * from AIOHTTP_CLIENT_SSL_CERT_FILE, requests reads REQUESTS_CA_BUNDLE, httpx and ssl SSL_CERT_FILE),
 * so they get the host's roots and the CA in one bundle, which app.sh makes.
 */
export function gatewayTrust(gateway: GatewayAccess, runtime: AppRuntime): GatewayTrust {
  if (!gateway.caCertificate) return { files: [], env: {}, volumes: [], params: {} };
  const files: StepFile[] = [{ path: APP_PATHS.gatewayCa, mode: "0644", content: gateway.caCertificate }];
  if (runtime === "node") return { files, env: { NODE_EXTRA_CA_CERTS: APP_PATHS.gatewayCa }, volumes: [`${APP_PATHS.gatewayCa}:${APP_PATHS.gatewayCa}:ro`], params: {} };
  const bundle = APP_PATHS.caBundle;
  return {
    files,
    env: { AIOHTTP_CLIENT_SSL_CERT_FILE: bundle, REQUESTS_CA_BUNDLE: bundle, SSL_CERT_FILE: bundle },
    volumes: [`${bundle}:${bundle}:ro`],
    params: { CA_BUNDLE: bundle, GATEWAY_CA: APP_PATHS.gatewayCa },
  };
}

/** Qdrant: HTTP on the tunnel address, both keys from its env file. */
export function qdrantParts(ctx: AppContext<"qdrant">): AppParts {
  const apiKey = ctx.secret("api-key");
  const readOnlyKey = ctx.secret("read-only-key");
  const config = `${APP_PATHS.dir}/${ctx.app.name}.yaml`;
  return {
    files: [
      { path: config, mode: "0644", content: renderQdrantConfig(ctx.listen, ctx.port, ctx.spec.dataMount) },
      { path: ctx.envFile, mode: "0600", content: secretEnvFile({ QDRANT__SERVICE__API_KEY: apiKey, QDRANT__SERVICE__READ_ONLY_API_KEY: readOnlyKey }) },
    ],
    containers: [mainContainer(ctx, { env: {}, envFile: ctx.envFile, volumes: [ctx.volume, `${config}:/qdrant/config/production.yaml:ro`] })],
    snippet: pulumi.secret(pulumi.interpolate`QDRANT_URL=${ctx.url}\nQDRANT_API_KEY=${apiKey}\n`),
    apiKey,
    readOnlyKey,
  };
}

/**
 * n8n: its login on, its OpenAI credential for the gateway imported at install (app.sh), and where
 * the stack lets the internet send webhooks, their URLs on the edge's public name.
 */
export function n8nParts(ctx: AppContext<"n8n">): AppParts {
  const { app } = ctx;
  const gateway = ctx.gateway!;
  const trust = gatewayTrust(gateway, "node");
  const encryptionKey = ctx.secret("encryption-key", 48);
  const credential = `${APP_PATHS.dir}/${app.name}.credential.json`;
  const webhookUrl = app.webhooks && gateway.publicOrigin ? pulumi.interpolate`${gateway.publicOrigin}${webhookPrefix(app.name)}` : `${ctx.url}/`;
  return {
    files: [
      { path: ctx.envFile, mode: "0600", content: secretEnvFile({ N8N_ENCRYPTION_KEY: encryptionKey }) },
      {
        path: credential,
        mode: "0600",
        content: pulumi.secret(pulumi.all([gateway.baseUrl, gateway.apiKey]).apply(([baseUrl, key]) => renderN8nCredential({ baseUrl, key }, gatewayKeyOf(app)))),
      },
      ...trust.files,
    ],
    containers: [
      mainContainer(ctx, {
        envFile: ctx.envFile,
        volumes: [ctx.volume, ...trust.volumes],
        hosts: gateway.hosts,
        env: {
          N8N_LISTEN_ADDRESS: ctx.listen,
          N8N_PORT: String(ctx.port),
          N8N_HOST: ctx.listen,
          N8N_PROTOCOL: "http",
          WEBHOOK_URL: webhookUrl,
          // The edge's nginx is the one proxy in front of public webhooks: n8n takes the sender's address from it.
          ...(app.webhooks ? { N8N_PROXY_HOPS: "1" } : {}),
          // Reached over WireGuard, not HTTPS: the browser must keep its login cookie on plain http.
          N8N_SECURE_COOKIE: "false",
          GENERIC_TIMEZONE: app.timezone,
          TZ: app.timezone,
          N8N_DIAGNOSTICS_ENABLED: "false",
          N8N_VERSION_NOTIFICATIONS_ENABLED: "false",
          ...trust.env,
        },
      }),
    ],
    params: { N8N_CREDENTIAL: credential, ...trust.params },
    snippet: pulumi.secret(
      pulumi.interpolate`N8N_URL=${ctx.url}\n# its OpenAI credential "infernus (${gatewayKeyOf(app)})" calls the gateway${app.webhooks ? pulumi.interpolate`\n# webhooks from the internet: ${webhookUrl}webhook/<path>` : ""}\n`,
    ),
  };
}

/**
 * A SearxNG on loopback for the app named (Perplexica's, or an Open WebUI's on a host without one):
 * nothing but the apps on that host reach it.
 */
function searxngParts<K extends AppConfig["kind"]>(ctx: AppContext<K>): { unit: string; files: StepFile[]; container: ContainerInput } {
  const unit = searxngUnit(ctx.app.name);
  const settings = `${APP_PATHS.dir}/${ctx.app.name}.searxng.yml`;
  const env = `${APP_PATHS.dir}/${ctx.app.name}.searxng.env`;
  const [host, port] = SEARXNG.listen.split(":");
  return {
    unit,
    files: [
      { path: settings, mode: "0644", content: renderSearxngSettings() },
      { path: env, mode: "0600", content: secretEnvFile({ SEARXNG_SECRET: ctx.secret("searxng-secret") }) },
    ],
    container: {
      ...ctx.base,
      mountsFor: [],
      unit,
      description: `infernus: SearxNG for ${ctx.app.name}`,
      image: SEARXNG.image,
      envFile: env,
      env: { GRANIAN_HOST: host, GRANIAN_PORT: port },
      volumes: [`${settings}:/etc/searxng/settings.yml:ro`],
    },
  };
}

/** Perplexica with its SearxNG: its provider entry calls the gateway with its own key. */
export function perplexicaParts(ctx: AppContext<"perplexica">): AppParts {
  const { app } = ctx;
  const gateway = ctx.gateway!;
  const trust = gatewayTrust(gateway, "node");
  const searxng = searxngParts(ctx);
  const provider = `${APP_PATHS.dir}/${app.name}.provider.json`;
  const searxUrl = `http://${SEARXNG.listen}`;
  return {
    files: [
      ...searxng.files,
      {
        path: provider,
        mode: "0600",
        content: pulumi.secret(
          pulumi.all([gateway.baseUrl, gateway.apiKey]).apply(([baseUrl, apiKey]) => renderPerplexicaProvider({ baseUrl, apiKey, chatModel: app.chatModel, embeddingModel: app.embeddingModel })),
        ),
      },
      ...trust.files,
    ],
    containers: [
      searxng.container,
      mainContainer(ctx, {
        requires: [searxng.unit],
        hosts: gateway.hosts,
        env: { HOSTNAME: ctx.listen, PORT: String(ctx.port), SEARXNG_API_URL: searxUrl, ...trust.env },
        volumes: [ctx.volume, ...trust.volumes],
      }),
    ],
    params: { PROVIDER: provider, SEARXNG_URL: searxUrl },
    snippet: pulumi.secret(pulumi.output(`PERPLEXICA_URL=${ctx.url}\n# open it from a WireGuard client; search shortcut: ${ctx.url}/?q=%s\n`)),
    models: [app.chatModel, app.embeddingModel],
  };
}

/**
 * Open WebUI (env names from backend/open_webui/config.py and env.py at v0.11.0). The stack file
 * decides its settings at every start (ENABLE_PERSISTENT_CONFIG=false): a rotated key or a new
 * model reaches it, where a saved config would keep the old one. Sign-up is off; Open WebUI lets
 * the first account in anyway and makes it the admin (routers/auths.py).
 */
export function openWebuiParts(ctx: AppContext<"open-webui">): AppParts {
  const { app } = ctx;
  const gateway = ctx.gateway!;
  const store = ctx.vectorStore!;
  const trust = gatewayTrust(gateway, "python");
  const rerank = app.rerankModel;
  // The SearxNG its host already runs for another app (placement.ts: searxngOwner), or one of its own.
  const ownSearxng = app.webSearch && !ctx.searxngUnit ? searxngParts(ctx) : undefined;
  const searxng = ctx.searxngUnit ?? ownSearxng?.unit;
  const env: Record<string, pulumi.Input<string>> = {
    HOST: ctx.listen,
    PORT: String(ctx.port),
    ENABLE_PERSISTENT_CONFIG: "false",
    WEBUI_AUTH: "true",
    ENABLE_SIGNUP: "false",
    DEFAULT_USER_ROLE: "pending",
    // No model downloads, no update check: everything it needs comes through the gateway.
    OFFLINE_MODE: "true",
    ENABLE_VERSION_UPDATE_CHECK: "false",
    ENABLE_COMMUNITY_SHARING: "false",
    ENABLE_OLLAMA_API: "false",
    ENABLE_OPENAI_API: "true",
    OPENAI_API_BASE_URL: gateway.baseUrl,
    DEFAULT_MODELS: app.chatModel,
    // Titles and tags with the model already loaded, not one that would swap it out.
    TASK_MODEL_EXTERNAL: app.chatModel,
    VECTOR_DB: "qdrant",
    QDRANT_URI: store.url,
    QDRANT_COLLECTION_PREFIX: app.name,
    RAG_EMBEDDING_ENGINE: "openai",
    RAG_OPENAI_API_BASE_URL: gateway.baseUrl,
    RAG_EMBEDDING_MODEL: app.embeddingModel,
    // Its default is one chunk per request: a long document would be hundreds of requests against the key's rate.
    RAG_EMBEDDING_BATCH_SIZE: "64",
    ENABLE_MEMORIES: "true",
    ...(rerank
      ? { ENABLE_RAG_HYBRID_SEARCH: "true", RAG_RERANKING_ENGINE: "external", RAG_RERANKING_MODEL: rerank, RAG_EXTERNAL_RERANKER_URL: pulumi.interpolate`${gateway.baseUrl}/rerank` }
      : {}),
    ...(searxng ? { ENABLE_WEB_SEARCH: "true", WEB_SEARCH_ENGINE: "searxng", SEARXNG_QUERY_URL: `http://${SEARXNG.listen}/search?q=<query>` } : { ENABLE_WEB_SEARCH: "false" }),
    ...trust.env,
  };
  const secrets = {
    WEBUI_SECRET_KEY: ctx.secret("secret-key", 48),
    OPENAI_API_KEY: gateway.apiKey,
    RAG_OPENAI_API_KEY: gateway.apiKey,
    QDRANT_API_KEY: store.apiKey,
    ...(rerank ? { RAG_EXTERNAL_RERANKER_API_KEY: gateway.apiKey } : {}),
  };
  return {
    files: [{ path: ctx.envFile, mode: "0600", content: secretEnvFile(secrets) }, ...(ownSearxng?.files ?? []), ...trust.files],
    containers: [
      ...(ownSearxng ? [ownSearxng.container] : []),
      mainContainer(ctx, { envFile: ctx.envFile, requires: searxng ? [searxng] : [], hosts: gateway.hosts, env, volumes: [ctx.volume, ...trust.volumes] }),
    ],
    params: trust.params,
    snippet: pulumi.secret(pulumi.output(`OPEN_WEBUI_URL=${ctx.url}\n# open it from a WireGuard client; the first account made there is the admin, and no one can sign up after it\n`)),
    models: [app.chatModel, app.embeddingModel, ...(rerank ? [rerank] : [])],
  };
}

/** The parts of any app. */
export function appParts(ctx: AppContext): AppParts {
  switch (ctx.app.kind) {
    case "qdrant":
      return qdrantParts(ctx as AppContext<"qdrant">);
    case "n8n":
      return n8nParts(ctx as AppContext<"n8n">);
    case "perplexica":
      return perplexicaParts(ctx as AppContext<"perplexica">);
    case "open-webui":
      return openWebuiParts(ctx as AppContext<"open-webui">);
  }
}

/** The probe's file for an app that calls the gateway: its container's runtime, the base URL, its key and its models. */
export function probeFile(ctx: AppContext, models: readonly string[]): StepFile | undefined {
  const runtime = APP_CATALOGUE[ctx.app.kind].runtime;
  const gateway = ctx.gateway;
  if (!runtime || !gateway) return undefined;
  return {
    path: probeConf(ctx.app.name),
    mode: "0600",
    content: pulumi.secret(pulumi.all([gateway.baseUrl, gateway.apiKey]).apply(([baseUrl, key]) => renderProbeConf({ unit: ctx.unit, runtime, baseUrl, key, models }))),
  };
}
