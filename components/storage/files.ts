/** ZFS pools, datasets, the ARC ceiling, and sanoid/syncoid for one server. Pure renderers. */
import type { PoolConfig, ServerConfig } from "../config/schema";
import { HEADER } from "../header";

export const STORAGE_PATHS = {
  zfsModprobe: "/etc/modprobe.d/zfs.conf",
  sanoid: "/etc/sanoid/sanoid.conf",
  syncoidService: "/etc/systemd/system/infernus-syncoid.service",
  syncoidTimer: "/etc/systemd/system/infernus-syncoid.timer",
} as const;

export type SnapshotPolicy = "frequent" | "daily" | "none";

export interface Dataset {
  readonly name: string;
  readonly mountpoint: string;
  readonly properties: Readonly<Record<string, string>>;
  readonly snapshots: SnapshotPolicy;
  /** Irreplaceable: replicated to the backup pool, copied offsite, snapshotted before a power-off. */
  readonly irreplaceable: boolean;
}

/** The datasets of the primary pool: models (re-downloadable), RAG, service state, home. */
export function datasetsOf(server: ServerConfig, modelsDir: string): Dataset[] {
  const primary = server.pools.find((p) => p.role === "primary");
  if (!primary) return [];
  return [
    // Large sequential files, re-downloadable: big records, no snapshots.
    { name: `${primary.name}/models`, mountpoint: modelsDir, properties: { recordsize: "1M" }, snapshots: "none", irreplaceable: false },
    { name: `${primary.name}/rag`, mountpoint: "/srv/rag", properties: { recordsize: "128K" }, snapshots: "frequent", irreplaceable: true },
    { name: `${primary.name}/state`, mountpoint: "/srv/state", properties: { recordsize: "128K" }, snapshots: "frequent", irreplaceable: true },
    { name: `${primary.name}/home`, mountpoint: "/srv/home", properties: { recordsize: "128K" }, snapshots: "daily", irreplaceable: true },
  ];
}

/** The datasets that cannot be downloaded again: replicated, copied offsite, snapshotted before a power-off. */
export function irreplaceableDatasets(server: ServerConfig, modelsDir: string): Dataset[] {
  return datasetsOf(server, modelsDir).filter((d) => d.irreplaceable);
}

export function backupPool(server: ServerConfig): PoolConfig | undefined {
  return server.pools.find((p) => p.role === "backup");
}

/** Where a dataset is replicated to on the backup pool. */
export function replicaOf(dataset: Dataset, backup: PoolConfig): string {
  return `${backup.name}/backup/${dataset.name.split("/").slice(1).join("/")}`;
}

/** One line per pool for zfs.sh: `name|layout|disk,disk;disk,disk|wipe wipe`. */
export function renderPoolSpec(pools: readonly PoolConfig[]): string {
  return pools
    .map((pool) => {
      const vdevs = pool.vdevs.map((vdev) => vdev.map((d) => d.path).join(",")).join(";");
      const wipe = pool.vdevs.flat().filter((d) => d.wipe).map((d) => d.path).join(" ");
      return `${pool.name}|${pool.layout}|${vdevs}|${wipe}`;
    })
    .join("\n");
}

/** One line per dataset for zfs.sh: `name|mountpoint|prop=value,prop=value`. */
export function renderDatasetSpec(server: ServerConfig, modelsDir: string): string {
  const backup = backupPool(server);
  const lines = datasetsOf(server, modelsDir).map((d) => `${d.name}|${d.mountpoint}|${Object.entries(d.properties).map(([k, v]) => `${k}=${v}`).join(",")}`);
  // Replicas are received by syncoid; their parent is only a container.
  if (backup) lines.push(`${backup.name}/backup|none|canmount=off`);
  return lines.join("\n");
}

/** The ARC ceiling: the page cache of model files helps swaps, but vLLM needs host RAM to load. */
export function arcMaxBytes(server: ServerConfig): number {
  const gib = server.arcMaxGiB ?? Math.max(4, Math.floor((server.memoryGiB ?? 32) / 4));
  return gib * 2 ** 30;
}

export function renderZfsModprobe(bytes: number): string {
  return `${HEADER}\noptions zfs zfs_arc_max=${bytes}\n`;
}

export function renderSanoidConf(server: ServerConfig, modelsDir: string): string {
  const backup = backupPool(server);
  const datasets = datasetsOf(server, modelsDir).filter((d) => d.snapshots !== "none");
  const section = (name: string, template: string) => [`[${name}]`, `\tuse_template = ${template}`, ""];
  return [
    HEADER,
    ...datasets.flatMap((d) => section(d.name, d.snapshots)),
    // Replicas keep what syncoid brings and prune it on a longer schedule.
    ...(backup ? datasets.flatMap((d) => section(replicaOf(d, backup), "replica")) : []),
    "[template_frequent]",
    "\tfrequently = 4",
    "\thourly = 48",
    "\tdaily = 30",
    "\tmonthly = 6",
    "\tautosnap = yes",
    "\tautoprune = yes",
    "",
    "[template_daily]",
    "\thourly = 0",
    "\tdaily = 30",
    "\tmonthly = 12",
    "\tautosnap = yes",
    "\tautoprune = yes",
    "",
    "[template_replica]",
    "\tfrequently = 0",
    "\thourly = 72",
    "\tdaily = 90",
    "\tmonthly = 24",
    "\tautosnap = no",
    "\tautoprune = yes",
    "",
  ].join("\n");
}

/** syncoid from the primary pool to the backup pool, hourly; undefined without a backup pool. */
export function renderSyncoidUnits(server: ServerConfig, modelsDir: string): { service: string; timer: string } | undefined {
  const backup = backupPool(server);
  if (!backup) return undefined;
  const replicated = irreplaceableDatasets(server, modelsDir);
  return {
    service: [
      HEADER,
      "[Unit]",
      `Description=infernus: replicate ${replicated.map((d) => d.name).join(", ")} to ${backup.name}`,
      "After=zfs.target",
      "",
      "[Service]",
      "Type=oneshot",
      // sanoid's snapshots only: no extra sync snapshots to prune by hand.
      ...replicated.map((d) => `ExecStart=/usr/sbin/syncoid --quiet --no-sync-snap ${d.name} ${replicaOf(d, backup)}`),
      "Nice=10",
      "IOSchedulingClass=idle",
      "",
    ].join("\n"),
    timer: [HEADER, "[Unit]", "Description=infernus: hourly replication to the backup pool", "", "[Timer]", "OnCalendar=hourly", "RandomizedDelaySec=5m", "Persistent=true", "", "[Install]", "WantedBy=timers.target", ""].join("\n"),
  };
}
