/** The UPS: NUT watching it, and the drain that runs when its battery runs low. */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { ServerConfig, ServingConfig } from "../config/schema";
import type { RemoteHost } from "../host/remoteHost";
import { asset } from "../host/stdin";
import { irreplaceableDatasets } from "../storage/files";
import { POWER_PATHS, renderDrainConf, renderNutConf, renderUpsConf, renderUpsdConf, renderUpsdUsers, renderUpsmonConf } from "./files";

export interface UpsArgs {
  /** The host its step runs on. */
  readonly host: RemoteHost;
  /** The validated server entry of the stack config; it has a `ups`. */
  readonly server: ServerConfig;
  readonly serving: ServingConfig;
  /** Services the drain stops before the snapshots (serving, when the server serves models). */
  readonly drainServices: readonly string[];
}

export class Ups extends pulumi.ComponentResource {
  constructor(name: string, args: UpsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infernus:power:Ups", name, {}, opts);
    const { server } = args;
    const ups = server.ups;
    if (!ups) throw new Error(`Ups: ${server.name} declares no UPS`);
    const password = pulumi.secret(new random.RandomPassword(`${name}-password`, { length: 32, special: false }, { parent: this }).result);
    const irreplaceable = irreplaceableDatasets(server, args.serving.modelsDir).map((d) => d.name);
    args.host.step("ups", {
      script: "power/nut.sh",
      params: { UPS: ups.name },
      files: [
        { path: POWER_PATHS.nutConf, mode: "0640", content: renderNutConf() },
        { path: POWER_PATHS.upsConf, mode: "0640", content: renderUpsConf(ups) },
        { path: POWER_PATHS.upsdConf, mode: "0640", content: renderUpsdConf() },
        { path: POWER_PATHS.upsdUsers, mode: "0640", content: password.apply(renderUpsdUsers) },
        { path: POWER_PATHS.upsmonConf, mode: "0640", content: password.apply((p) => renderUpsmonConf(ups, p)) },
        { path: POWER_PATHS.drain, mode: "0755", content: asset("power/drain.sh") },
        { path: POWER_PATHS.drainConf, mode: "0644", content: renderDrainConf(args.drainServices, irreplaceable) },
      ],
    });
    this.registerOutputs({ ups: ups.name });
  }
}
