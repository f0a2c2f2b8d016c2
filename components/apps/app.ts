/**
 * One app on one host of the estate: its containers as systemd units on the host's tunnel
 * address, its secrets generated here, its data on the host's datasets, and what a client needs.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { AppConfig } from "../config/schema";
import type { RemoteHost } from "../host/remoteHost";
import { asset } from "../host/stdin";
import { APP_CATALOGUE, appImage, appPort } from "./catalogue";
import { APP_PATHS, appUnit, renderContainerUnit, renderProbeUnits, unitPath } from "./files";
import { appParts, probeFile, type AppContext, type GatewayAccess, type VectorStoreAccess } from "./kinds";

export type { GatewayAccess, VectorStoreAccess } from "./kinds";

export interface AppArgs {
  readonly app: AppConfig;
  readonly host: RemoteHost;
  /** The host's tunnel address: the app listens there and nowhere else. */
  readonly listen: string;
  readonly tunnelInterface: string;
  /** Its state folder on the host (a dataset's folder where the host has pools). */
  readonly dataDir: string;
  /** The app's way to the models: Perplexica's, n8n's and Open WebUI's. */
  readonly gateway?: GatewayAccess;
  /** Open WebUI's Qdrant. */
  readonly vectorStore?: VectorStoreAccess;
  /** The SearxNG unit on its host that Open WebUI searches the web with (placement.ts: searxngOwner); absent, it runs its own. */
  readonly searxngUnit?: string;
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
  /** Whether infernus-app-probe checks its way to the gateway (an app that calls the models). */
  public readonly probed: boolean;

  constructor(name: string, args: AppArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infernus:apps:App", name, {}, opts);
    const { app, listen } = args;
    const spec = APP_CATALOGUE[app.kind];
    const port = appPort(app);
    const unit = appUnit(app.name);
    this.name = app.name;
    this.kind = app.kind;
    this.host = app.host;
    this.address = `${listen}:${port}`;
    this.url = `http://${this.address}`;
    this.healthUrl = `${this.url}${spec.health}`;
    const secret = (what: string, length = 40) =>
      pulumi.secret(new random.RandomPassword(`${name}-${what}`, { length, special: false }, { parent: this }).result);
    const ctx = {
      app,
      spec,
      unit,
      image: appImage(app),
      listen,
      port,
      url: this.url,
      envFile: `${APP_PATHS.dir}/${app.name}.env`,
      volume: `${args.dataDir}:${spec.dataMount}`,
      base: { tunnelInterface: args.tunnelInterface, mountsFor: [args.dataDir] },
      secret,
      gateway: args.gateway,
      vectorStore: args.vectorStore,
      searxngUnit: args.searxngUnit,
    } as AppContext;
    const parts = appParts(ctx);
    this.apiKey = parts.apiKey;
    this.readOnlyKey = parts.readOnlyKey;
    this.snippet = parts.snippet;
    // An app that calls the gateway is probed from inside its container (infernus-app-probe): the self-check reads what it found.
    const probe = probeFile(ctx, parts.models ?? []);
    this.probed = probe !== undefined;
    const probeUnits = renderProbeUnits();

    args.host.step(`app-${app.name}`, {
      script: "apps/app.sh",
      params: {
        UNITS: parts.containers.map((c) => c.unit).join(" "),
        IMAGES: parts.containers.map((c) => c.image).join(" "),
        DATA_DIR: args.dataDir,
        DATA_UID: String(spec.uid),
        HEALTH: this.healthUrl,
        ...(probe ? { PROBE: app.name } : {}),
        ...parts.params,
      },
      files: [
        ...parts.files,
        ...parts.containers.map((c) => ({ path: unitPath(c.unit), mode: "0644", content: pulumi.output(c.env).apply((env) => renderContainerUnit({ ...c, env })) })),
        ...(probe
          ? [
              probe,
              { path: APP_PATHS.probeScript, mode: "0755", content: asset("apps/app-probe.sh") },
              { path: APP_PATHS.probeService, mode: "0644", content: probeUnits.service },
              { path: APP_PATHS.probeTimer, mode: "0644", content: probeUnits.timer },
            ]
          : []),
      ],
    });
    this.registerOutputs({ url: this.url, healthUrl: this.healthUrl, snippet: this.snippet });
  }
}
