/**
 * A server's storage: its ZFS pools and datasets, snapshots and replication, and the encrypted
 * offsite copy of what cannot be downloaded again.
 */
import * as pulumi from "@pulumi/pulumi";
import type { OffsiteConfig, ServerConfig, ServingConfig } from "../config/schema";
import type { RemoteHost } from "../host/remoteHost";
import { asset } from "../host/stdin";
import {
  arcMaxBytes,
  backupPool,
  datasetsOf,
  irreplaceableDatasets,
  renderDatasetSpec,
  renderPoolSpec,
  renderSanoidConf,
  renderSyncoidUnits,
  renderZfsModprobe,
  replicaOf,
  STORAGE_PATHS,
} from "./files";
import { OFFSITE_PATHS, renderOffsiteUnits, renderRcloneConf } from "./offsite";
import type { OffsiteTarget } from "./offsiteTarget";

export interface StorageArgs {
  /** The host its steps run on. */
  readonly host: RemoteHost;
  /** The validated server entry of the stack config. */
  readonly server: ServerConfig;
  readonly serving: ServingConfig;
  /** The encrypted offsite copy of its irreplaceable datasets. */
  readonly offsite?: { readonly config: OffsiteConfig; readonly target: OffsiteTarget };
}

export interface StorageSummary {
  readonly pools: string[];
  readonly datasets: { name: string; mountpoint: string; snapshots: string; replica?: string }[];
}

export class Storage extends pulumi.ComponentResource {
  /** Pools, datasets with their snapshot policy, and where replicas go. */
  public readonly summary: StorageSummary;
  private readonly host: RemoteHost;

  constructor(name: string, args: StorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infernus:storage:Storage", name, {}, opts);
    const { server, serving } = args;
    this.host = args.host;
    const backup = backupPool(server);
    this.summary = {
      pools: server.pools.map((p) => `${p.name} (${p.role})`),
      datasets: datasetsOf(server, serving.modelsDir).map((d) => ({
        name: d.name,
        mountpoint: d.mountpoint,
        snapshots: d.snapshots,
        ...(backup && d.irreplaceable ? { replica: replicaOf(d, backup) } : {}),
      })),
    };
    if (server.pools.length > 0) {
      this.zfs(server, serving);
      if (args.offsite) this.offsite(server, serving, args.offsite);
    }
    this.registerOutputs({ summary: this.summary });
  }

  private zfs(server: ServerConfig, serving: ServingConfig): void {
    const syncoid = renderSyncoidUnits(server, serving.modelsDir);
    this.host.step("zfs", {
      script: "storage/zfs.sh",
      libraries: ["storage/disks.sh"],
      params: { POOLS: renderPoolSpec(server.pools), DATASETS: renderDatasetSpec(server, serving.modelsDir), ARC_MAX_BYTES: String(arcMaxBytes(server)) },
      files: [
        { path: STORAGE_PATHS.zfsModprobe, mode: "0644", content: renderZfsModprobe(arcMaxBytes(server)) },
        { path: STORAGE_PATHS.sanoid, mode: "0644", content: renderSanoidConf(server, serving.modelsDir) },
        ...(syncoid
          ? [
              { path: STORAGE_PATHS.syncoidService, mode: "0644", content: syncoid.service },
              { path: STORAGE_PATHS.syncoidTimer, mode: "0644", content: syncoid.timer },
            ]
          : []),
      ],
    });
  }

  private offsite(server: ServerConfig, serving: ServingConfig, offsite: NonNullable<StorageArgs["offsite"]>): void {
    const { target } = offsite;
    const units = renderOffsiteUnits(offsite.config);
    const rclone = pulumi
      .all([target.accessKeyId, target.secretAccessKey, target.password, target.salt])
      .apply(([accessKeyId, secretAccessKey, password, salt]) => renderRcloneConf(offsite.config, server.name, { accessKeyId, secretAccessKey, password, salt }));
    this.host.step("offsite", {
      script: "storage/offsite-install.sh",
      files: [
        { path: OFFSITE_PATHS.rcloneConf, mode: "0600", content: pulumi.secret(rclone) },
        { path: OFFSITE_PATHS.script, mode: "0755", content: asset("storage/offsite.sh") },
        { path: OFFSITE_PATHS.datasets, mode: "0644", content: irreplaceableDatasets(server, serving.modelsDir).map((d) => `${d.name} ${d.mountpoint}\n`).join("") },
        { path: OFFSITE_PATHS.service, mode: "0644", content: units.service },
        { path: OFFSITE_PATHS.timer, mode: "0644", content: units.timer },
      ],
    });
  }
}
