/**
 * The host-RAM plan beside the VRAM plan: how each model that swaps out sleeps. vLLM's sleep level 1
 * parks the weights in pinned host RAM (a wake is a copy over PCIe); level 2 drops them and keeps
 * the process, its CUDA graphs and compile caches (a wake reads the weights from disk). Pinned RAM
 * cannot be swapped out, so level 1 is used only while every model that can be asleep at once fits
 * beside the ZFS ARC, the OS and the vLLM processes themselves. Pure: numbers in, plan out.
 */
import type { Problem } from "../config/problems";
import type { ServingPlan } from "./planner";

export type SleepLevel = 1 | 2;

/** What the plan assumes: estimates until measured on the card, shown with every figure they produce. */
export const SWAP_ESTIMATES = {
  /** PCIe 5.0 x16 moves 64 GB/s raw; pinned copies reach about 40 % of that on a desktop board. */
  hostToGpuGBps: 25,
  /** Safetensors read from the NVMe pool through ZFS. */
  diskGBps: 3,
  /** A process start beyond reading weights: Python, CUDA context, compile and CUDA graphs from the warm cache. */
  coldStartSeconds: 60,
  /** A level-2 sleep drops the weights; a level-2 wake reallocates before it reads them. */
  level2SleepSeconds: 1,
  level2WakeSeconds: 2,
} as const;

/** Host RAM the OS and everything beside vLLM keep. */
export const OS_HEADROOM_GIB = 8;
/** Host RAM one vLLM process keeps while it runs or sleeps (API server and engine core: Python, torch, CUDA). */
export const PROCESS_HOST_GIB = 5;

export interface MemoryModel {
  readonly name: string;
  /** Weights on its cards: what a level-1 sleep parks. */
  readonly weightBytes: number;
  /** Weights it keeps in host RAM all the time (cpuOffloadGiB). */
  readonly offloadBytes?: number;
  /** Its vLLM processes: one per card it is split across (a worker each), else one. */
  readonly processes?: number;
}

/** The vLLM processes of all the models: API servers and engine cores, and a worker per card of a split model. */
const processCount = (models: readonly MemoryModel[]) => models.reduce((sum, m) => sum + (m.processes ?? 1), 0);

export interface MemoryHost {
  /** Installed RAM; without it the plan cannot count and every sleeper uses level 2. */
  readonly memoryGiB?: number;
  readonly arcMaxBytes: number;
  /** Where memoryGiB stands in config, for messages. */
  readonly configPath: string;
}

export interface MemoryPlan {
  /** The sleep level of each model that can swap out; models in every resident set never sleep. */
  readonly levels: Readonly<Record<string, SleepLevel>>;
  /** Host RAM left for parked weights after the ARC, the OS and the processes; undefined without memoryGiB. */
  readonly parkBytes?: number;
  /** The most weights parked at level 1 at once, over every resident set. */
  readonly parkedBytes: number;
  readonly problems: readonly Problem[];
}

const GIB = 2 ** 30;
const gib = (bytes: number) => (bytes / GIB).toFixed(1);

export function planHostMemory(host: MemoryHost, vram: ServingPlan, models: readonly MemoryModel[]): MemoryPlan {
  const sleepers = models.filter((m) => vram.sets.some((set) => !set.includes(m.name)));
  const offloaded = models.reduce((sum, m) => sum + (m.offloadBytes ?? 0), 0);
  const fixedBytes = host.arcMaxBytes + offloaded + (OS_HEADROOM_GIB + PROCESS_HOST_GIB * processCount(models)) * GIB;
  if (host.memoryGiB === undefined) return { levels: Object.fromEntries(sleepers.map((m) => [m.name, 2])), parkedBytes: 0, problems: [] };
  const parkBytes = host.memoryGiB * GIB - fixedBytes;
  if (parkBytes < 0) {
    const weights = offloaded > 0 ? `, ${gib(offloaded)} GiB of offloaded weights (cpuOffloadGiB)` : "";
    const message = `the ZFS ARC ceiling (${gib(host.arcMaxBytes)} GiB), the OS (${OS_HEADROOM_GIB} GiB)${weights} and ${processCount(models)} vLLM processes (${PROCESS_HOST_GIB} GiB each) need ${gib(fixedBytes)} GiB: sleeping models would push the host into swap; add RAM, lower arcMaxGiB, ${offloaded > 0 ? "offload less, " : ""}or serve fewer models`;
    return { levels: {}, parkBytes, parkedBytes: 0, problems: [{ path: host.configPath, value: host.memoryGiB, message }] };
  }
  const levels = new Map<string, SleepLevel>(sleepers.map((m) => [m.name, 1]));
  // Largest first to level 2 until what can be asleep at once fits in the room left.
  for (const model of [...sleepers].sort((a, b) => b.weightBytes - a.weightBytes)) {
    if (parkedAtOnce(vram, models, levels) <= parkBytes) break;
    levels.set(model.name, 2);
  }
  return { levels: Object.fromEntries(levels), parkBytes, parkedBytes: parkedAtOnce(vram, models, levels), problems: [] };
}

/** Level-1 weights parked while a set runs, the largest over every set. */
function parkedAtOnce(vram: ServingPlan, models: readonly MemoryModel[], levels: ReadonlyMap<string, SleepLevel>): number {
  return Math.max(0, ...vram.sets.map((set) => models.filter((m) => !set.includes(m.name) && levels.get(m.name) === 1).reduce((sum, m) => sum + m.weightBytes, 0)));
}

export interface SwapEstimate {
  readonly from: readonly string[];
  readonly to: readonly string[];
  readonly sleeps: readonly { readonly model: string; readonly level: SleepLevel }[];
  readonly wakes: readonly string[];
  /** Seconds with every model of `to` started before (it sleeps). */
  readonly warmSeconds: number;
  /** Seconds when the models of `to` start from nothing (the first time after a boot). */
  readonly coldSeconds: number;
}

/** Every switch between two resident sets: what sleeps at which level, what wakes, and its estimated time. */
export function swapEstimates(vram: ServingPlan, memory: MemoryPlan, models: readonly MemoryModel[]): SwapEstimate[] {
  const weights = new Map(models.map((m) => [m.name, m.weightBytes]));
  const { hostToGpuGBps, diskGBps, coldStartSeconds, level2SleepSeconds, level2WakeSeconds } = SWAP_ESTIMATES;
  const sleepSeconds = (model: string) => (memory.levels[model] === 1 ? weights.get(model)! / 1e9 / hostToGpuGBps : level2SleepSeconds);
  const wakeSeconds = (model: string) => (memory.levels[model] === 1 ? weights.get(model)! / 1e9 / hostToGpuGBps : level2WakeSeconds + weights.get(model)! / 1e9 / diskGBps);
  const coldSeconds = (model: string) => coldStartSeconds + weights.get(model)! / 1e9 / diskGBps;
  return vram.sets.flatMap((from) =>
    vram.sets
      .filter((to) => to !== from)
      .map((to): SwapEstimate => {
        const leaving = from.filter((m) => !to.includes(m));
        const coming = to.filter((m) => !from.includes(m));
        const sleeping = leaving.reduce((sum, m) => sum + sleepSeconds(m), 0);
        return {
          from,
          to,
          sleeps: leaving.map((model) => ({ model, level: memory.levels[model] })),
          wakes: coming,
          // One model moves at a time: the sleeps free the card, then the wakes fill it.
          warmSeconds: sleeping + coming.reduce((sum, m) => sum + wakeSeconds(m), 0),
          coldSeconds: sleeping + coming.reduce((sum, m) => sum + coldSeconds(m), 0),
        };
      }),
  );
}

/** The host-RAM plan and the swap table as Markdown, under the VRAM plan in serving.md. */
export function renderMemoryTable(host: MemoryHost, vram: ServingPlan, memory: MemoryPlan, models: readonly MemoryModel[]): string {
  const sleepers = Object.keys(memory.levels);
  const room =
    memory.parkBytes === undefined
      ? "memoryGiB is not declared: every model that swaps out sleeps at level 2 (nothing parked in RAM)."
      : `${host.memoryGiB} GiB of RAM − ARC ${gib(host.arcMaxBytes)} − OS ${OS_HEADROOM_GIB} − ${processCount(models)} vLLM processes × ${PROCESS_HOST_GIB} = ${gib(memory.parkBytes)} GiB for weights parked at level 1; at most ${gib(memory.parkedBytes)} GiB are parked at once.`;
  const e = SWAP_ESTIMATES;
  const seconds = (s: number) => `${s.toFixed(1)} s`;
  return [
    "Sleep (host RAM):",
    "",
    room,
    "",
    ...(sleepers.length === 0
      ? ["Every model stays resident: nothing sleeps.", ""]
      : [
          "| model | weights (GiB) | sleeps at | wake from |",
          "|---|---|---|---|",
          ...sleepers.map((name) => {
            const weights = models.find((m) => m.name === name)!.weightBytes;
            return `| ${name} | ${gib(weights)} | level ${memory.levels[name]} | ${memory.levels[name] === 1 ? "host RAM" : "disk"} |`;
          }),
          "",
          "| from | to | puts to sleep | wakes | switch, warm | switch, first after boot |",
          "|---|---|---|---|---|---|",
          ...swapEstimates(vram, memory, models).map(
            (s) => `| ${s.from.join(" + ")} | ${s.to.join(" + ")} | ${s.sleeps.map((m) => `${m.model} (level ${m.level})`).join(", ")} | ${s.wakes.join(", ")} | ${seconds(s.warmSeconds)} | ${seconds(s.coldSeconds)} |`,
          ),
          "",
          `Estimates, not measurements: host↔GPU ${e.hostToGpuGBps} GB/s, disk ${e.diskGBps} GB/s, a cold start ${e.coldStartSeconds} s beyond reading the weights (compile and CUDA-graph caches warm), a level-2 sleep ${e.level2SleepSeconds} s and wake ${e.level2WakeSeconds} s beyond reading them. Models move one at a time.`,
          "",
        ]),
  ].join("\n");
}
