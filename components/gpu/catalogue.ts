/**
 * GPUs the estate knows. Sources: NVIDIA's product pages and facts.md (the RTX PRO 6000 Blackwell
 * is compute capability 12.0, 96 GB GDDR7; the Workstation Edition's limit is settable 150–600 W).
 */

export interface GpuSpec {
  readonly vendor: "nvidia" | "amd";
  /** What nvidia-smi's `name` contains for this card. */
  readonly marketingName: string;
  /** Major.minor, as nvidia-smi's `compute_cap` prints it; NVIDIA only. */
  readonly computeCapability?: string;
  readonly memoryGiB: number;
  /** The range `nvidia-smi -pl` accepts, in watts; NVIDIA only. */
  readonly powerW?: { readonly min: number; readonly max: number };
  /** The lowest driver branch that runs the card (Blackwell: 570), and whether it needs the open modules. */
  readonly minDriverBranch?: number;
  readonly openModulesOnly?: boolean;
}

export const GPU_CATALOGUE: Readonly<Record<string, GpuSpec>> = {
  "rtx-pro-6000-blackwell-workstation": {
    vendor: "nvidia",
    marketingName: "RTX PRO 6000 Blackwell Workstation Edition",
    computeCapability: "12.0",
    memoryGiB: 96,
    powerW: { min: 150, max: 600 },
    minDriverBranch: 570,
    openModulesOnly: true,
  },
  "rtx-pro-6000-blackwell-server": {
    vendor: "nvidia",
    marketingName: "RTX PRO 6000 Blackwell Server Edition",
    computeCapability: "12.0",
    memoryGiB: 96,
    powerW: { min: 150, max: 600 },
    minDriverBranch: 570,
    openModulesOnly: true,
  },
  "rtx-pro-6000-blackwell-max-q": {
    vendor: "nvidia",
    marketingName: "RTX PRO 6000 Blackwell Max-Q Workstation Edition",
    computeCapability: "12.0",
    memoryGiB: 96,
    powerW: { min: 150, max: 300 },
    minDriverBranch: 570,
    openModulesOnly: true,
  },
  "h100-80gb-hbm3": {
    vendor: "nvidia",
    marketingName: "H100 80GB HBM3",
    computeCapability: "9.0",
    memoryGiB: 80,
    powerW: { min: 200, max: 700 },
    minDriverBranch: 525,
  },
  "radeon-rx-9070-xt": { vendor: "amd", marketingName: "Radeon RX 9070 XT", memoryGiB: 16 },
};

export function gpuSpecOf(gpu: { readonly model: string; readonly specs?: GpuSpec }): GpuSpec {
  const spec = gpu.specs ?? GPU_CATALOGUE[gpu.model];
  if (!spec) throw new Error(`GPU ${gpu.model} is neither in the catalogue nor described (the schema should have refused it)`);
  return spec;
}
