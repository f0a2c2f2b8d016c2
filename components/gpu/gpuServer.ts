/**
 * A GPU server at home: checked against its declared hardware before anything changes, then the
 * base system, hardening, the tunnel, and the NVIDIA driver verified after its reboot.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { OffsiteConfig, ServerConfig, ServingConfig, TunnelConfig } from "../config/schema";
import { OFFSITE_PATHS, renderOffsiteUnits, renderRcloneConf } from "../storage/offsite";
import type { OffsiteTarget } from "../storage/offsiteTarget";
import { harden } from "../host/hardening";
import { RemoteHost, type Connection } from "../host/remoteHost";
import type { WireGuard } from "../network/wireguard";
import { servingPlan } from "../serving/plan";
import type { ServingPlan } from "../serving/planner";
import { renderPlanTable } from "../serving/planner";
import {
  fetchUnitPath,
  renderFetchUnit,
  renderLlamaSwapConfig,
  renderLlamaSwapUnit,
  renderModelsList,
  renderTiktokenUnit,
  SERVICE_USER,
  SERVING_PATHS,
  TIKTOKEN_UNIT,
} from "../serving/files";
import { MODEL_CATALOGUE } from "../serving/catalogue";
import { asset } from "../host/stdin";
import * as random from "@pulumi/random";
import { POWER_PATHS, renderDrainConf, renderNutConf, renderUpsConf, renderUpsdConf, renderUpsdUsers, renderUpsmonConf } from "../power/files";
import { arcMaxBytes, backupPool, datasetsOf, replicaOf, renderDatasetSpec, renderPoolSpec, renderSanoidConf, renderSyncoidUnits, renderZfsModprobe, STORAGE_PATHS } from "../storage/files";
import { gpuSpecOf } from "./catalogue";
import { GPU_PATHS, HELD_PACKAGES, nvidiaGpus, renderGpuExpectations, renderJournald, renderNouveauBlacklist, renderPowerUnit, renderSysctl } from "./files";

export interface GpuServerArgs {
  /** The validated server entry of the stack config. */
  readonly server: ServerConfig;
  readonly connection: pulumi.Output<Connection>;
  /** Resources the first step waits for (the edge's tunnel, for a server reached through it). */
  readonly after?: readonly pulumi.Resource[];
  readonly tunnel: WireGuard;
  readonly tunnelConfig: TunnelConfig;
  /** Home networks: SSH (and serving, with serveLan) is allowed from them. */
  readonly lanCidrs: readonly string[];
  /** The port the models are served on, over the tunnel. */
  readonly servingPort: number;
  /** This server's tunnel address: llama-swap listens there. */
  readonly tunnelAddress: string;
  readonly serving: ServingConfig;
  /** The key the gateway presents to llama-swap. Secret. */
  readonly upstreamKey: pulumi.Output<string>;
  /** Hugging Face token for gated or rate-limited downloads. Secret. */
  readonly hfToken?: pulumi.Output<string>;
  /** Where the server stands in the stack config, for messages. */
  readonly configPath: string;
  /** The encrypted offsite copy of its irreplaceable datasets. */
  readonly offsite?: { readonly config: OffsiteConfig; readonly target: OffsiteTarget };
}

/** The uv release that installs vLLM. */
const UV_VERSION = "0.9.5";

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

export class GpuServer extends pulumi.ComponentResource {
  public readonly host: RemoteHost;
  /** What nvidia-smi showed after the driver step; empty for a server without NVIDIA GPUs. */
  public readonly gpuInventory: pulumi.Output<VerifiedGpu[]>;
  /** Which models run where, and which can be resident together. */
  public readonly plan: ServingPlan;
  /** Pools, datasets with their snapshot policy, and where replicas go. */
  public readonly storageSummary: { pools: string[]; datasets: { name: string; mountpoint: string; snapshots: string; replica?: string }[] };

  constructor(name: string, args: GpuServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infernus:gpu:Server", name, {}, opts);
    const { server } = args;
    this.host = new RemoteHost(server.name, { connection: args.connection, after: args.after }, { parent: this });
    const gpus = renderGpuExpectations(server);

    this.host.step("preflight", {
      script: "gpu/preflight.sh",
      libraries: ["gpu/inventory.sh"],
      params: {
        GPUS: gpus,
        AMD_GPUS: String(server.gpus.filter((g) => gpuSpecOf(g).vendor === "amd").length),
        DISKS: [...new Set([...server.disks, ...server.pools.flatMap((p) => p.vdevs.flat().map((d) => d.path))])].join(" "),
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
        ],
        forwards: [],
      },
    });

    const backup = backupPool(server);
    this.storageSummary = {
      pools: server.pools.map((p) => `${p.name} (${p.role})`),
      datasets: datasetsOf(server, args.serving.modelsDir).map((d) => ({
        name: d.name,
        mountpoint: d.mountpoint,
        snapshots: d.snapshots,
        ...(backup && d.irreplaceable ? { replica: replicaOf(d, backup) } : {}),
      })),
    };
    if (server.pools.length > 0) this.storage(server, args.serving);
    if (server.pools.length > 0 && args.offsite) this.offsite(server, args.serving, args.offsite);
    this.gpuInventory = nvidiaGpus(server).length > 0 ? this.nvidia(name, server, gpus) : pulumi.output([]);
    this.plan = servingPlan(server, args.configPath);
    if (server.models.length > 0) this.serve(args);
    if (server.ups) this.power(name, server, server.ups, args.serving);
    this.registerOutputs({ gpuInventory: this.gpuInventory, models: server.models.map((m) => m.name), residentSets: this.plan.sets });
  }

  private storage(server: ServerConfig, serving: ServingConfig): void {
    const syncoid = renderSyncoidUnits(server, serving.modelsDir);
    this.host.step("zfs", {
      script: "storage/zfs.sh",
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

  private offsite(server: ServerConfig, serving: ServingConfig, offsite: NonNullable<GpuServerArgs["offsite"]>): void {
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
        { path: OFFSITE_PATHS.datasets, mode: "0644", content: datasetsOf(server, serving.modelsDir).filter((d) => d.irreplaceable).map((d) => `${d.name} ${d.mountpoint}\n`).join("") },
        { path: OFFSITE_PATHS.service, mode: "0644", content: units.service },
        { path: OFFSITE_PATHS.timer, mode: "0644", content: units.timer },
      ],
    });
  }

  private power(name: string, server: ServerConfig, ups: NonNullable<ServerConfig["ups"]>, serving: ServingConfig): void {
    const password = pulumi.secret(new random.RandomPassword(`${name}-ups-password`, { length: 32, special: false }, { parent: this }).result);
    const irreplaceable = datasetsOf(server, serving.modelsDir).filter((d) => d.irreplaceable).map((d) => d.name);
    this.host.step("ups", {
      script: "power/nut.sh",
      params: { UPS: ups.name },
      files: [
        { path: POWER_PATHS.nutConf, mode: "0640", content: renderNutConf() },
        { path: POWER_PATHS.upsConf, mode: "0640", content: renderUpsConf(ups) },
        { path: POWER_PATHS.upsdConf, mode: "0640", content: renderUpsdConf() },
        { path: POWER_PATHS.upsdUsers, mode: "0640", content: password.apply(renderUpsdUsers) },
        { path: POWER_PATHS.upsmonConf, mode: "0640", content: password.apply((p) => renderUpsmonConf(ups, p)) },
        { path: POWER_PATHS.drain, mode: "0755", content: asset("power/drain.sh") },
        { path: POWER_PATHS.drainConf, mode: "0644", content: renderDrainConf(server.models.length > 0 ? ["infernus-llama-swap.service"] : [], irreplaceable) },
      ],
    });
  }

  private serve(args: GpuServerArgs): void {
    const { server, serving } = args;
    pulumi.log.info(renderPlanTable(server.name, this.plan), this);
    const extra = server.models.filter((m) => m.extraArgs.length > 0);
    for (const model of extra) pulumi.log.warn(`${server.name}: ${model.name} passes unchecked vLLM arguments: ${model.extraArgs.join(" ")}`, this);
    this.host.step("vllm-runtime", {
      script: "serving/vllm-runtime.sh",
      params: { VLLM_VERSION: serving.vllmVersion, UV_VERSION, VENV: SERVING_PATHS.venv, SERVICE_USER, MODELS_DIR: serving.modelsDir },
    });
    const tiktoken = server.models.some((m) => MODEL_CATALOGUE[m.name].needsTiktoken);
    this.host.step("models", {
      script: "serving/models.sh",
      params: { MODELS_LIST: SERVING_PATHS.modelsList, TIKTOKEN: tiktoken ? "1" : "0" },
      files: [
        { path: SERVING_PATHS.modelsList, mode: "0644", content: renderModelsList(serving, server.models) },
        { path: SERVING_PATHS.statusCommand, mode: "0755", content: asset("serving/models-status.sh") },
        ...server.models.map((m) => ({ path: fetchUnitPath(m.name), mode: "0644", content: renderFetchUnit(serving, m.name) })),
        ...(tiktoken
          ? [
              { path: SERVING_PATHS.fetchTiktoken, mode: "0755", content: asset("serving/fetch-tiktoken.sh") },
              { path: `/etc/systemd/system/${TIKTOKEN_UNIT}`, mode: "0644", content: renderTiktokenUnit(serving) },
            ]
          : []),
        ...(args.hfToken ? [{ path: SERVING_PATHS.hfTokenEnv, mode: "0600", content: pulumi.secret(pulumi.interpolate`HF_TOKEN=${args.hfToken}\n`) }] : []),
      ],
    });
    const listen = `${server.serveLan ? "0.0.0.0" : args.tunnelAddress}:${args.servingPort}`;
    this.host.step("llama-swap", {
      script: "serving/llama-swap.sh",
      params: {
        LLAMA_SWAP_VERSION: String(serving.llamaSwap.version),
        LLAMA_SWAP_SHA256: serving.llamaSwap.sha256 ?? "",
        INSTALL_DIR: SERVING_PATHS.llamaSwapDir,
        UNIT: "infernus-llama-swap.service",
        SERVICE_USER,
        CONFIG: SERVING_PATHS.llamaSwapConfig,
      },
      files: [
        {
          path: SERVING_PATHS.llamaSwapConfig,
          mode: "0640",
          content: pulumi.secret(args.upstreamKey.apply((apiKey) => renderLlamaSwapConfig({ serving, models: server.models, plan: this.plan, apiKey }))),
        },
        { path: SERVING_PATHS.llamaSwapUnit, mode: "0644", content: renderLlamaSwapUnit(listen) },
      ],
    });
  }

  private nvidia(name: string, server: ServerConfig, gpus: string): pulumi.Output<VerifiedGpu[]> {
    const open = server.driver.flavour.endsWith("open");
    const driver = this.host.step("nvidia", {
      script: "gpu/nvidia.sh",
      params: { BRANCH: String(server.driver.branch), FLAVOUR: server.driver.flavour, REBOOT_MARKER: GPU_PATHS.rebootMarker },
      files: [{ path: GPU_PATHS.nouveauBlacklist, mode: "0644", content: renderNouveauBlacklist() }],
    });
    // Runs here, not on the host: lets a reboot the driver step started take the host down before
    // the next step connects (which then retries until the host is back).
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
      dialAttempts: 60,
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
