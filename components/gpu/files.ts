/** The GPU server's rendered files. Pure: the same config gives the same bytes. */
import type { ServerConfig } from "../config/schema";
import { gpuSpecOf } from "./catalogue";
import { HEADER } from "../header";

export const GPU_PATHS = {
  sysctl: "/etc/sysctl.d/60-infernus-gpu.conf",
  journald: "/etc/systemd/journald.conf.d/60-infernus.conf",
  nouveauBlacklist: "/etc/modprobe.d/infernus-blacklist-nouveau.conf",
  powerUnit: "/etc/systemd/system/infernus-gpu-power.service",
  rebootMarker: "/var/lib/infernus/reboot-pending",
} as const;

/** Packages unattended upgrades leave alone: the driver, and the kernel its modules are built for. */
export const HELD_PACKAGES = ["^nvidia-", "^libnvidia-", "^linux-modules-nvidia-", "^linux-(image|headers|modules|generic|signed)"];

export function renderSysctl(): string {
  return [
    HEADER,
    "# No static hugepages: vLLM takes GPU memory through CUDA and host memory on demand, so pages",
    "# reserved here would only be RAM that model loading, the page cache and the ZFS ARC cannot use.",
    "vm.nr_hugepages = 0",
    "# Keep model servers in RAM under memory pressure rather than swapping them out.",
    "vm.swappiness = 10",
    "# Memory-mapped safetensors shards and many worker threads outgrow the default 65530 mappings.",
    "vm.max_map_count = 1048576",
    "# Unattended at home: after a kernel panic, reboot in 10 s rather than hang until someone comes.",
    "kernel.panic = 10",
    "",
  ].join("\n");
}

export function renderJournald(): string {
  return [HEADER, "[Journal]", "SystemMaxUse=2G", "MaxRetentionSec=1month", ""].join("\n");
}

export function renderNouveauBlacklist(): string {
  return [HEADER, "blacklist nouveau", "options nouveau modeset=0", ""].join("\n");
}

/** The NVIDIA GPUs in declared order, which is their nvidia-smi index (PCI bus order). */
export function nvidiaGpus(server: ServerConfig) {
  return server.gpus.filter((gpu) => gpuSpecOf(gpu).vendor === "nvidia");
}

/** What the preflight and the driver check expect: `model|marketing name|compute capability|memory GiB` per NVIDIA GPU. */
export function renderGpuExpectations(server: ServerConfig): string {
  return nvidiaGpus(server)
    .map((gpu) => {
      const spec = gpuSpecOf(gpu);
      return [gpu.model, spec.marketingName, spec.computeCapability ?? "", spec.memoryGiB].join("|");
    })
    .join("\n");
}

/** A oneshot unit that applies the declared power limits at every boot; undefined when none is declared. */
export function renderPowerUnit(server: ServerConfig): string | undefined {
  const limits = nvidiaGpus(server).flatMap((gpu, index) => (gpu.powerLimitW === undefined ? [] : [`ExecStart=/usr/bin/nvidia-smi -i ${index} -pl ${gpu.powerLimitW}`]));
  if (limits.length === 0) return undefined;
  return [
    HEADER,
    "[Unit]",
    "Description=infernus: GPU power limits from the stack file",
    "After=nvidia-persistenced.service",
    "Wants=nvidia-persistenced.service",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    ...limits,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}
