/**
 * One app on one host of the estate: its containers as systemd units on the host's tunnel
 * address, its secrets generated here, its data on the host's datasets, and what a client needs.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { AppConfig } from "../config/schema";
import type { RemoteHost, StepFile } from "../host/remoteHost";
import { APP_CATALOGUE, appImage, appPort } from "./catalogue";
import {
  APP_PATHS,
  renderContainerUnit,
  renderEnvFile,
  renderPerplexicaProvider,
  renderQdrantConfig,
  renderSearxngSettings,
  SEARXNG,
  unitPath,
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
}

export interface AppArgs {
  readonly app: AppConfig;
  readonly host: RemoteHost;
  /** The host's tunnel address: the app listens there and nowhere else. */
  readonly listen: string;
  readonly tunnelInterface: string;
  /** Its state folder on the host (a dataset's folder where the host has pools). */
  readonly dataDir: string;
  /** Perplexica's way to the models. */
  readonly gateway?: GatewayAccess;
}

export class App extends pulumi.ComponentResource {
  /** The app's name in the stack file. */
  public readonly name: string;
  public readonly kind: AppConfig["kind"];
  /** The host it runs on. */
  public readonly host: string;
  /** `address:port` on the host's tunnel address. */
  public readonly address: string;
  /** Where clients reach it over the tunnel. */
  public readonly url: string;
  /** A URL that answers 200 while it works, without a key. */
  public readonly healthUrl: string;
  /** Qdrant's API key (read and write). Secret. */
  public readonly apiKey?: pulumi.Output<string>;
  /** Qdrant's read-only key: what monitoring scrapes /metrics with. Secret. */
  public readonly readOnlyKey?: pulumi.Output<string>;
  /** The lines a client needs (URL, and key where it has one). Secret. */
  public readonly snippet: pulumi.Output<string>;

  constructor(name: string, args: AppArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infernus:apps:App", name, {}, opts);
    const { app, listen } = args;
    const spec = APP_CATALOGUE[app.kind];
    const port = appPort(app);
    const unit = `infernus-${app.name}`;
    this.name = app.name;
    this.kind = app.kind;
    this.host = app.host;
    this.address = `${listen}:${port}`;
    this.url = `http://${this.address}`;
    this.healthUrl = `${this.url}${spec.health}`;
    const secret = (what: string, length = 40) =>
      pulumi.secret(new random.RandomPassword(`${name}-${what}`, { length, special: false }, { parent: this }).result);
    const envFile = `${APP_PATHS.dir}/${app.name}.env`;
    const base = { tunnelInterface: args.tunnelInterface, mountsFor: [args.dataDir] };
    const volume = `${args.dataDir}:${spec.dataMount}`;
    const files: StepFile[] = [];
    const containers: Container[] = [];
    const params: Record<string, pulumi.Input<string>> = {};

    if (app.kind === "qdrant") {
      this.apiKey = secret("api-key");
      this.readOnlyKey = secret("read-only-key");
      const config = `${APP_PATHS.dir}/${app.name}.yaml`;
      files.push(
        { path: config, mode: "0644", content: renderQdrantConfig(listen, port, spec.dataMount) },
        {
          path: envFile,
          mode: "0600",
          content: pulumi.secret(
            pulumi.all([this.apiKey, this.readOnlyKey]).apply(([key, readOnly]) => renderEnvFile({ QDRANT__SERVICE__API_KEY: key, QDRANT__SERVICE__READ_ONLY_API_KEY: readOnly })),
          ),
        },
      );
      containers.push({ ...base, unit, description: `infernus: ${spec.title}`, image: appImage(app), env: {}, envFile, volumes: [volume, `${config}:/qdrant/config/production.yaml:ro`] });
      this.snippet = pulumi.secret(pulumi.interpolate`QDRANT_URL=${this.url}\nQDRANT_API_KEY=${this.apiKey}\n`);
    } else if (app.kind === "n8n") {
      const encryptionKey = secret("encryption-key", 48);
      files.push({ path: envFile, mode: "0600", content: pulumi.secret(encryptionKey.apply((key) => renderEnvFile({ N8N_ENCRYPTION_KEY: key }))) });
      containers.push({
        ...base,
        unit,
        description: `infernus: ${spec.title}`,
        image: appImage(app),
        envFile,
        volumes: [volume],
        env: {
          N8N_LISTEN_ADDRESS: listen,
          N8N_PORT: String(port),
          N8N_HOST: listen,
          N8N_PROTOCOL: "http",
          WEBHOOK_URL: `${this.url}/`,
          // Reached over WireGuard, not HTTPS: the browser must keep its login cookie on plain http.
          N8N_SECURE_COOKIE: "false",
          GENERIC_TIMEZONE: app.timezone,
          TZ: app.timezone,
          N8N_DIAGNOSTICS_ENABLED: "false",
          N8N_VERSION_NOTIFICATIONS_ENABLED: "false",
        },
      });
      this.snippet = pulumi.secret(pulumi.output(`N8N_URL=${this.url}\n`));
    } else {
      const gateway = args.gateway!;
      const searxng = `${unit}-searxng`;
      const settings = `${APP_PATHS.dir}/${app.name}.searxng.yml`;
      const searxEnv = `${APP_PATHS.dir}/${app.name}.searxng.env`;
      const provider = `${APP_PATHS.dir}/${app.name}.provider.json`;
      const [searxHost, searxPort] = SEARXNG.listen.split(":");
      const searxUrl = `http://${SEARXNG.listen}`;
      const searxSecret = secret("searxng-secret");
      files.push(
        { path: settings, mode: "0644", content: renderSearxngSettings() },
        { path: searxEnv, mode: "0600", content: pulumi.secret(searxSecret.apply((s) => renderEnvFile({ SEARXNG_SECRET: s }))) },
        {
          path: provider,
          mode: "0600",
          content: pulumi.secret(
            pulumi
              .all([gateway.baseUrl, gateway.apiKey])
              .apply(([baseUrl, apiKey]) => renderPerplexicaProvider({ baseUrl, apiKey, chatModel: app.chatModel, embeddingModel: app.embeddingModel })),
          ),
        },
        ...(gateway.caCertificate ? [{ path: APP_PATHS.gatewayCa, mode: "0644", content: gateway.caCertificate }] : []),
      );
      containers.push(
        {
          ...base,
          mountsFor: [],
          unit: searxng,
          description: `infernus: SearxNG for ${app.name}`,
          image: SEARXNG.image,
          envFile: searxEnv,
          env: { GRANIAN_HOST: searxHost, GRANIAN_PORT: searxPort },
          volumes: [`${settings}:/etc/searxng/settings.yml:ro`],
        },
        {
          ...base,
          unit,
          description: `infernus: ${spec.title}`,
          image: appImage(app),
          requires: [searxng],
          hosts: gateway.hosts,
          env: {
            HOSTNAME: listen,
            PORT: String(port),
            SEARXNG_API_URL: searxUrl,
            ...(gateway.caCertificate ? { NODE_EXTRA_CA_CERTS: APP_PATHS.gatewayCa } : {}),
          },
          volumes: [volume, ...(gateway.caCertificate ? [`${APP_PATHS.gatewayCa}:${APP_PATHS.gatewayCa}:ro`] : [])],
        },
      );
      params.PROVIDER = provider;
      params.SEARXNG_URL = searxUrl;
      this.snippet = pulumi.secret(pulumi.output(`PERPLEXICA_URL=${this.url}\n# open it from a WireGuard client; search shortcut: ${this.url}/?q=%s\n`));
    }

    args.host.step(`app-${app.name}`, {
      script: "apps/app.sh",
      params: {
        UNITS: containers.map((c) => c.unit).join(" "),
        IMAGES: containers.map((c) => c.image).join(" "),
        DATA_DIR: args.dataDir,
        DATA_UID: String(spec.uid),
        HEALTH: this.healthUrl,
        ...params,
      },
      files: [...files, ...containers.map((c) => ({ path: unitPath(c.unit), mode: "0644", content: renderContainerUnit(c) }))],
    });
    this.registerOutputs({ url: this.url, healthUrl: this.healthUrl, snippet: this.snippet });
  }
}
