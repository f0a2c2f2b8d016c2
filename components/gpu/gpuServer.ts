/**
 * A GPU server at home: checked against its declared hardware before anything changes, then the
 * tunnel, base system and hardening, its storage, the NVIDIA driver verified after its reboot,
 * serving, and the UPS.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { OffsiteConfig, ServerConfig, TunnelConfig } from "../config/schema";
import { GATEWAY_PATHS } from "../gateway/nginx";
import type { Opening } from "../host/firewall";
import { dialAttemptsFor, machineOf } from "../host/connection";
import { harden } from "../host/hardening";
import { RemoteHost, type Connection } from "../host/remoteHost";
import type { WireGuard } from "../network/wireguard";
import { PORTS } from "../monitoring/files";
import { installExporters, type MetricsSources } from "../monitoring/monitoring";
import { Ups } from "../power/ups";
import { SERVING_PATHS } from "../serving/files";
import type { ServerPlan } from "../serving/plan";
import { LLAMA_SWAP_UNIT, Serving, type ServingArgs } from "../serving/serving";
import type { OffsiteTarget } from "../storage/offsiteTarget";
import { renderPoolSpec } from "../storage/files";
import { Storage, type StorageSummary } from "../storage/storage";
import { gpuSpecOf } from "./catalogue";
import { GPU_PATHS, HELD_PACKAGES, nvidiaGpus, renderGpuExpectations, renderJournald, renderNouveauBlacklist, renderPowerUnit, renderSysctl } from "./files";

/** What a GPU server passes on to its serving, documented once in ServingArgs. */
export interface GpuServerArgs extends Omit<ServingArgs, "host" | "peers"> {
  readonly connection: pulumi.Output<Connection>;
  /** Resources the first step waits for (the edge's tunnel, for a server reached through it). */
  readonly after?: readonly pulumi.Resource[];
  readonly tunnel: WireGuard;
  readonly tunnelConfig: TunnelConfig;
  /** Home networks: SSH (and serving, with serveLan) is allowed from them. */
  readonly lanCidrs: readonly string[];
  /** The other servers that serve models: this one's llama-swap passes their requests on. */
  readonly servingPeers?: ServingArgs["peers"];
  /** The encrypted offsite copy of its irreplaceable datasets. */
  readonly offsite?: { readonly config: OffsiteConfig; readonly target: OffsiteTarget };
  /** The edge's tunnel address: the self-check and Prometheus read node_exporter from there alone. */
  readonly watchedFrom: string;
  /** The LAN gateway when it runs here: its infernus-metrics probes it. */
  readonly lanGateway?: MetricsSources["lanGateway"];
  /** The ports of what else runs on this server: its apps, the LAN gateway. */
  readonly openings?: readonly Opening[];
}


/** A GPU as the driver reported it in the last run. */
export interface VerifiedGpu {
  readonly index: number;
  readonly name: string;
  readonly bus: string;
  readonly driver: string;
  readonly computeCapability: string;
  readonly memoryMiB: number;
}

/** Seconds between the driver step's reboot and the next connection attempt. */
const REBOOT_GRACE_SECONDS = 60;
/** How long the server may take to come back after that: a server board with much RAM POSTs for minutes. */
const REBOOT_SECONDS = 900;

export class GpuServer extends pulumi.ComponentResource {
  public readonly host: RemoteHost;
  /** What nvidia-smi showed after the driver step; empty for a server without NVIDIA GPUs. */
  public readonly gpuInventory: pulumi.Output<VerifiedGpu[]>;
  /** Which models run where, and which can be resident together. */
  public readonly plan: ServerPlan;
  /** Pools, datasets with their snapshot policy, and where replicas go. */
  public readonly storageSummary: StorageSummary;

  constructor(name: string, args: GpuServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infernus:gpu:Server", name, {}, opts);
    const { server } = args;
    this.host = new RemoteHost(server.name, { connection: args.connection, machine: machineOf(server.ssh), after: args.after }, { parent: this });
    const gpus = renderGpuExpectations(server);

    this.host.step("preflight", {
      script: "gpu/preflight.sh",
      libraries: ["gpu/inventory.sh", "storage/disks.sh"],
      params: {
        GPUS: gpus,
        AMD_GPUS: String(server.gpus.filter((g) => gpuSpecOf(g).vendor === "amd").length),
        DISKS: [...new Set([...server.disks, ...server.pools.flatMap((p) => p.vdevs.flat().map((d) => d.path))])].join(" "),
        POOLS: renderPoolSpec(server.pools),
        MEMORY_GIB: server.memoryGiB === undefined ? "" : String(server.memoryGiB),
        NUMA_NODES: String(server.numaNodes),
        MIN_FREE_GIB: String(server.minFreeDiskGiB),
      },
    });
    args.tunnel.install(this.host, server.name);
    this.host.step("base", {
      script: "gpu/base.sh",
      params: { TIMEZONE: server.timezone, SYSCTL: GPU_PATHS.sysctl },
      files: [
        { path: GPU_PATHS.sysctl, mode: "0644", content: renderSysctl() },
        { path: GPU_PATHS.journald, mode: "0644", content: renderJournald() },
      ],
    });
    const tunnelAndLan = [args.tunnelConfig.cidr, ...args.lanCidrs];
    harden(this.host, {
      sshd: {},
      upgrades: { rebootTime: server.rebootTime, hold: HELD_PACKAGES },
      firewall: {
        openings: [
          { protocol: "tcp", port: server.ssh.port, from: tunnelAndLan, comment: "SSH from the tunnel and the LAN" },
          { protocol: "tcp", port: args.servingPort, from: server.serveLan ? tunnelAndLan : [args.tunnelConfig.cidr], comment: "models, for the gateway" },
          { protocol: "tcp", port: PORTS.nodeExporter, from: [args.watchedFrom], comment: "metrics, for the self-check and Prometheus on the edge" },
          ...(args.openings ?? []),
        ],
        forwards: [],
      },
    });

    const storage = new Storage(`${name}-storage`, { host: this.host, server, serving: args.serving, offsite: args.offsite }, { parent: this });
    this.storageSummary = storage.summary;
    this.gpuInventory = nvidiaGpus(server).length > 0 ? this.nvidia(name, server, gpus) : pulumi.output([]);
    const serving = new Serving(
      `${name}-serving`,
      {
        host: this.host,
        server,
        serving: args.serving,
        configPath: args.configPath,
        tunnelAddress: args.tunnelAddress,
        servingPort: args.servingPort,
        upstreamKey: args.upstreamKey,
        hfToken: args.hfToken,
        peers: args.servingPeers,
      },
      { parent: this },
    );
    this.plan = serving.plan;
    if (server.ups) {
      new Ups(`${name}-ups`, { host: this.host, server, serving: args.serving, drainServices: server.models.length > 0 ? [LLAMA_SWAP_UNIT] : [] }, { parent: this });
    }
    installExporters(this.host, `${args.tunnelAddress}:${PORTS.nodeExporter}`, {
      gpu: nvidiaGpus(server).length > 0,
      ups: server.ups?.name,
      datasets: this.storageSummary.datasets.filter((d) => d.snapshots !== "none").map((d) => d.name),
      modelsList: server.models.length > 0 ? SERVING_PATHS.modelsList : undefined,
      lanGateway: args.lanGateway,
      // The LAN gateway's requests count in the usage too.
      auditLog: args.lanGateway ? GATEWAY_PATHS.auditLog : undefined,
    });
    this.registerOutputs({ gpuInventory: this.gpuInventory });
  }





  private nvidia(name: string, server: ServerConfig, gpus: string): pulumi.Output<VerifiedGpu[]> {
    const open = server.driver.flavour.endsWith("open");
    const driver = this.host.step("nvidia", {
      script: "gpu/nvidia.sh",
      params: { BRANCH: String(server.driver.branch), FLAVOUR: server.driver.flavour, REBOOT_MARKER: GPU_PATHS.rebootMarker },
      files: [{ path: GPU_PATHS.nouveauBlacklist, mode: "0644", content: renderNouveauBlacklist() }],
    });
    // Runs here, not on the host: lets a reboot the driver step started take the host down before
    // the next step connects (which then retries until the host is back). Its trigger is the driver
    // step's, machine included, so a migrated server gets the grace too.
    const rebootGrace = new command.local.Command(
      `${name}-reboot-grace`,
      { create: `sleep ${REBOOT_GRACE_SECONDS}`, triggers: [driver.trigger] },
      { parent: this, dependsOn: [driver.command] },
    );
    const verify = this.host.step("nvidia-verify", {
      script: "gpu/nvidia-verify.sh",
      libraries: ["gpu/inventory.sh"],
      params: { GPUS: gpus, OPEN: open ? "1" : "0", REBOOT_MARKER: GPU_PATHS.rebootMarker, DRIVER_TRIGGER: driver.trigger },
      after: [rebootGrace],
      dialAttempts: dialAttemptsFor(REBOOT_SECONDS),
      report: true,
    });
    const unit = renderPowerUnit(server);
    this.host.step("gpu-power", {
      script: "gpu/gpu-power.sh",
      params: { UNIT: "infernus-gpu-power.service", LIMITS: unit ? "1" : "0" },
      files: unit ? [{ path: GPU_PATHS.powerUnit, mode: "0644", content: unit }] : [],
    });
    return verify.command.stdout.apply(parseInventory);
  }
}

/** The inventory line nvidia-verify.sh prints; empty before a run (or under mocks). */
export function parseInventory(stdout: string | undefined): VerifiedGpu[] {
  const line = (stdout ?? "").split("\n").find((l) => l.startsWith("INFERNUS_GPU_INVENTORY "));
  return line ? (JSON.parse(line.slice("INFERNUS_GPU_INVENTORY ".length)) as VerifiedGpu[]) : [];
}
