/**
 * The VRAM planner: which models can be resident together on a server's GPUs, what share of its
 * card each vLLM process gets (--gpu-memory-utilization is a fraction of the whole card, per
 * process), and how much context that leaves. Pure: numbers in, plan out.
 */
import type { Problem } from "../config/problems";
import { TENSOR_PARALLEL_SIZES } from "../config/schema";
import { kvBytesPerToken, type ModelSpec } from "./catalogue";

/** Co-resident processes on one card stay below this share together (facts.md). */
export const USABLE_SHARE = 0.95;
/** Besides weights and KV cache, on each card: CUDA context, activations, CUDA graphs. */
const OVERHEAD_BYTES = { chat: 3 * 2 ** 30, embedding: 1.5 * 2 ** 30, rerank: 1.5 * 2 ** 30 } as const;

/** A card shows a little less than its nominal size to CUDA (97887 MiB of a 96 GiB card). */
const VISIBLE_SHARE = 0.995;

export interface PlannerGpu {
  readonly index: number;
  readonly name: string;
  readonly memoryGiB: number;
}

export interface PlannerModel {
  readonly name: string;
  readonly spec: ModelSpec;
  readonly maxModelLen: number;
  /** The stack file fixed maxModelLen; otherwise the planner may shorten it to keep a companion resident. */
  readonly contextDeclared: boolean;
  readonly kvCacheDtype: "auto" | "fp8";
  /** A share the user fixed for this model. */
  readonly gpuMemoryUtilization?: number;
  /** Stays loaded beside every other model on its card: in every resident set. */
  readonly alwaysResident?: boolean;
  /** Cards it is split across (vLLM's tensor parallelism). */
  readonly tensorParallel: number;
  /** GiB of its weights per card kept in host RAM (vLLM's --cpu-offload-gb). */
  readonly cpuOffloadGiB?: number;
  /** Bytes its LoRA adapter slots take (--max-loras × one adapter at --max-lora-rank). */
  readonly loraBytes: number;
  /** Where the model stands in config, for messages. */
  readonly configPath: string;
}

export interface PlannedModel {
  readonly name: string;
  /** The cards it runs on: one, or its tensor-parallel ones. */
  readonly gpus: readonly number[];
  /** Of each of its cards. */
  readonly gpuMemoryUtilization: number;
  readonly maxModelLen: number;
  /** Bytes the process needs on each card at the least: weights, adapters, overhead and KV for one full-length sequence. */
  readonly needBytes: number;
  /** Weights on its cards, all of them together: what a level-1 sleep parks in host RAM. */
  readonly weightBytes: number;
  /** Weights kept in host RAM while it runs (cpuOffloadGiB on each card). */
  readonly offloadBytes: number;
  /** Tokens of KV cache its share leaves. */
  readonly kvTokens: number;
  /** Full-length sequences that fit at once. */
  readonly fullLengthSequences: number;
}

/** What keeping companions resident cost: a context the stack file left open, shortened. */
export interface ContextTrade {
  readonly model: string;
  readonly from: number;
  readonly to: number;
  /** The chat models it now stays resident beside. */
  readonly besides: readonly string[];
}

export interface ServingPlan {
  readonly gpus: readonly PlannerGpu[];
  readonly models: readonly PlannedModel[];
  /** Sets of models that can run at once; every model is in at least one. */
  readonly sets: readonly (readonly string[])[];
  readonly trades: readonly ContextTrade[];
  /** Chat models that leave no room for a companion, even with open contexts shortened: it swaps out while they run. */
  readonly alone: readonly { readonly model: string; readonly without: readonly string[] }[];
  readonly problems: readonly Problem[];
}

const GIB = 2 ** 30;
const gib = (bytes: number) => (bytes / GIB).toFixed(1);
const cardBytes = (gpu: PlannerGpu) => gpu.memoryGiB * GIB * VISIBLE_SHARE;

/** MiB of `gpu` a process with this share takes: vLLM checks at its start that the card has this much free. */
export function processMiB(model: PlannedModel, gpu: PlannerGpu): number {
  return Math.ceil((model.gpuMemoryUtilization * cardBytes(gpu)) / 2 ** 20);
}

const offloadBytes = (model: PlannerModel) => (model.cpuOffloadGiB ?? 0) * GIB;
/** Bytes on each of its cards besides the KV cache: its share of weights and adapters (tensor parallelism splits both), less what is offloaded, and the overhead. */
function fixedBytes(model: PlannerModel): number {
  return (model.spec.weightBytes + model.loraBytes) / model.tensorParallel - offloadBytes(model) + OVERHEAD_BYTES[model.spec.kind];
}
/** KV-cache bytes per token on each card: tensor parallelism splits the KV heads, and copies them once there are more cards than heads. */
const kvPerCard = (model: PlannerModel) => kvBytesPerToken(model.spec, model.kvCacheDtype) / Math.min(model.tensorParallel, model.spec.kvHeads);

function needBytes(model: PlannerModel): number {
  return fixedBytes(model) + kvPerCard(model) * model.maxModelLen;
}

/** A model's smallest share of `gpu`: the user's, or what it needs rounded up to the 0.01 vLLM is given. */
function minShare(model: PlannerModel, gpu: PlannerGpu): number {
  return model.gpuMemoryUtilization ?? Math.ceil((needBytes(model) / cardBytes(gpu)) * 100) / 100;
}

function fits(models: readonly PlannerModel[], gpu: PlannerGpu): boolean {
  return models.reduce((sum, m) => sum + minShare(m, gpu), 0) <= USABLE_SHARE + 1e-9;
}

/** The cards of each model, by GPU index. */
type Assignment = readonly (readonly number[])[];

export function planServing(gpus: readonly PlannerGpu[], declared: readonly PlannerModel[]): ServingPlan {
  const problems = declared.flatMap((model) => tooBig(model, gpus));
  if (problems.length > 0 || declared.length === 0) return { gpus, models: [], sets: [], trades: [], alone: [], problems };

  const splits = splitCards(gpus, declared);
  const resident = residentEverywhere(gpus, declared, splits);
  const assignment = resident ?? homeGpus(gpus, declared, splits);
  const { models, trades, alone } = resident ? { models: declared, trades: [], alone: [] } : keepCompanions(gpus, declared, assignment);
  const perGpu = gpus.map((gpu) => models.filter((_, i) => assignment[i].includes(gpu.index)));
  // On each card, the largest groups of its models that fit together, each with the card's alwaysResident models.
  const setsPerGpu = gpus.map((gpu, g) => withResident(maximalFittingSets(perGpu[g], gpu), perGpu[g]));
  const unplaced = perGpu.flatMap((onGpu, g) => onGpu.filter((m) => !setsPerGpu[g].some((set) => set.includes(m))).map((m) => notBeside(m, onGpu, gpus[g])));
  if (unplaced.length > 0) return { gpus, models: [], sets: [], trades, alone, problems: unplaced };
  // A split model runs on all its cards or none: while a card runs something else, the split model's
  // other cards run what fits without it, so there every smaller set counts too (or none at all).
  const split = assignment.some((cards) => cards.length > 1);
  const options = split ? gpus.map((gpu, g) => [...withResident(fittingSets(perGpu[g], gpu), perGpu[g]), ...(perGpu[g].some((m) => m.alwaysResident) ? [] : [[]])]) : setsPerGpu;
  const sets = acrossCards(options, models, assignment);

  const planned = models.map((model, i): PlannedModel => {
    const cards = gpus.filter((g) => assignment[i].includes(g.index));
    const share = model.gpuMemoryUtilization ?? Math.min(...cards.map((gpu) => shareWithSlack(model, gpu, setsPerGpu[gpus.indexOf(gpu)])));
    const smallest = cards.reduce((a, b) => (cardBytes(b) < cardBytes(a) ? b : a));
    const kvTokens = Math.floor((share * cardBytes(smallest) - fixedBytes(model)) / kvPerCard(model));
    return {
      name: model.name,
      gpus: cards.map((g) => g.index),
      gpuMemoryUtilization: share,
      maxModelLen: model.maxModelLen,
      needBytes: needBytes(model),
      weightBytes: model.spec.weightBytes - offloadBytes(model) * model.tensorParallel,
      offloadBytes: offloadBytes(model) * model.tensorParallel,
      kvTokens,
      fullLengthSequences: Math.floor(kvTokens / model.maxModelLen),
    };
  });
  const overridden = planned.flatMap((p, i): Problem[] => {
    const model = models[i];
    if (model.gpuMemoryUtilization === undefined || p.kvTokens >= model.maxModelLen) return [];
    return [{ path: `${model.configPath}.gpuMemoryUtilization`, value: model.gpuMemoryUtilization, message: `leaves ${gib(model.gpuMemoryUtilization * cardBytes(gpus.find((g) => g.index === p.gpus[0])!))} GiB, ${model.name} needs ${gib(p.needBytes)} GiB for one ${model.maxModelLen}-token sequence; raise it or remove it` }];
  });
  return { gpus, models: planned, sets, trades, alone, problems: overridden };
}

/** Companions stay resident beside each chat model on their card: embedding and rerank models, and those declared alwaysResident. */
const isCompanion = (model: PlannerModel) => model.spec.kind !== "chat" || model.alwaysResident === true;
/** The shortest context the planner shortens an open one to: RAG chunks are far shorter, agents need long contexts. */
const SHORTEST_OPEN_CONTEXT = { chat: 32768, embedding: 8192, rerank: 8192 } as const;

/**
 * Shortens contexts the stack file left open (companions' first, then the chat model's) until each
 * chat model fits with its card's companions; where even the shortest do not fit, nothing changes.
 */
function keepCompanions(gpus: readonly PlannerGpu[], declared: readonly PlannerModel[], assignment: Assignment) {
  let models = [...declared];
  const besides = new Map<string, string[]>();
  const alone: { model: string; without: string[] }[] = [];
  for (const gpu of gpus) {
    const on = models.map((_, i) => i).filter((i) => assignment[i].includes(gpu.index));
    const companions = on.filter((i) => isCompanion(models[i]));
    for (const chat of on.filter((i) => !isCompanion(models[i]) && companions.length > 0)) {
      const trial = [...models];
      const set = () => [...companions, chat].map((i) => trial[i]);
      for (const i of [...companions, chat]) {
        if (fits(set(), gpu)) break;
        if (trial[i].contextDeclared) continue;
        const others = set().filter((m) => m !== trial[i]);
        trial[i] = { ...trial[i], maxModelLen: longestContext(trial[i], others, gpu) };
      }
      if (!fits(set(), gpu)) {
        // A split model meets this on each of its cards: it is said once, with every companion it leaves out.
        const known = alone.find((a) => a.model === models[chat].name);
        const without = companions.map((i) => models[i].name);
        if (known) known.without.push(...without.filter((w) => !known.without.includes(w)));
        else alone.push({ model: models[chat].name, without });
        continue;
      }
      for (const i of [...companions, chat].filter((i) => trial[i].maxModelLen !== models[i].maxModelLen)) besides.set(models[i].name, [...(besides.get(models[i].name) ?? []), models[chat].name]);
      models = trial;
    }
  }
  const trades = declared.flatMap((m, i): ContextTrade[] => (models[i].maxModelLen === m.maxModelLen ? [] : [{ model: m.name, from: m.maxModelLen, to: models[i].maxModelLen, besides: besides.get(m.name) ?? [] }]));
  return { models, trades, alone };
}

/** The longest context (a multiple of 1024, not below the shortest open one) that lets `model` fit beside `others`. */
function longestContext(model: PlannerModel, others: readonly PlannerModel[], gpu: PlannerGpu): number {
  const shortest = Math.min(SHORTEST_OPEN_CONTEXT[model.spec.kind], model.maxModelLen);
  let context = Math.floor(model.maxModelLen / 1024) * 1024;
  while (context > shortest && !fits([...others, { ...model, maxModelLen: context }], gpu)) context -= 1024;
  return Math.max(context, shortest);
}

function notBeside(model: PlannerModel, onGpu: readonly PlannerModel[], gpu: PlannerGpu): Problem {
  const always = onGpu.filter((m) => m.alwaysResident && m !== model);
  const shares = [model, ...always].map((m) => `${m.name} ${minShare(m, gpu).toFixed(2)}`).join(", ");
  const total = [model, ...always].reduce((sum, m) => sum + minShare(m, gpu), 0);
  return {
    path: `${always[0]?.configPath ?? model.configPath}.alwaysResident`,
    value: true,
    message: `${model.name} cannot run beside what must stay resident on GPU ${gpu.index} (${shares} of the card: ${total.toFixed(2)} together, above ${USABLE_SHARE}); shorten a maxModelLen, use kvCacheDtype: fp8, or drop alwaysResident`,
  };
}

/** The largest cards first (by index among equals): a tensor-parallel model takes the first ones. */
const bySize = (gpus: readonly PlannerGpu[]) => [...gpus].sort((a, b) => cardBytes(b) - cardBytes(a) || a.index - b.index);

function tooBig(model: PlannerModel, gpus: readonly PlannerGpu[]): Problem[] {
  const path = model.configPath;
  if (gpus.length === 0) return [{ path, value: model.name, message: "this server declares no NVIDIA GPU to serve it on" }];
  if (model.maxModelLen > model.spec.maxContext) {
    return [{ path: `${path}.maxModelLen`, value: model.maxModelLen, message: `${model.name} supports at most ${model.spec.maxContext} tokens` }];
  }
  if (model.tensorParallel > gpus.length) {
    return [{ path: `${path}.tensorParallel`, value: model.tensorParallel, message: `splits ${model.name} across ${model.tensorParallel} NVIDIA cards; this server declares ${gpus.length}` }];
  }
  if (offloadBytes(model) >= model.spec.weightBytes / model.tensorParallel) {
    return [{ path: `${path}.cpuOffloadGiB`, value: model.cpuOffloadGiB, message: `${model.name} has ${gib(model.spec.weightBytes / model.tensorParallel)} GiB of weights per card; offload less than that` }];
  }
  const cards = bySize(gpus).slice(0, model.tensorParallel);
  // One --gpu-memory-utilization for all its cards: on cards of other sizes it would be other amounts.
  if (cards.some((g) => g.memoryGiB !== cards[0].memoryGiB)) {
    return [{ path: `${path}.tensorParallel`, value: model.tensorParallel, message: `splits ${model.name} across ${cards.map((g) => `${g.name} (${g.memoryGiB} GiB)`).join(" and ")}: vLLM gives each card the same share, so split it across cards of one size` }];
  }
  const smallest = cards[cards.length - 1];
  const usable = USABLE_SHARE * cardBytes(smallest);
  const need = needBytes(model);
  if (need <= usable) return [];
  const fixed = fixedBytes(model);
  const perCard = model.tensorParallel > 1 ? ` on each of ${model.tensorParallel} cards` : "";
  const parts = `${gib((model.spec.weightBytes + model.loraBytes) / model.tensorParallel - offloadBytes(model))} GiB of weights${model.loraBytes > 0 ? " and adapters" : ""}, ${gib(need - fixed)} GiB of KV cache for one ${model.maxModelLen}-token sequence, ${gib(OVERHEAD_BYTES[model.spec.kind])} GiB overhead`;
  const room = `${model.tensorParallel > 1 ? `the ${model.tensorParallel} largest GPUs here each give` : `the largest GPU here (${smallest.name}) gives`} one process at most ${gib(usable)} GiB`;
  if (fixed >= usable) return [{ path, value: model.name, message: `needs ${gib(need)} GiB${perCard} (${parts}); ${room}: its weights alone do not fit; ${whatItTakes(model, smallest, gpus.length)}` }];
  const context = Math.floor((usable - fixed) / kvPerCard(model) / 1024) * 1024;
  return [{ path, value: model.name, message: `needs ${gib(need)} GiB${perCard} (${parts}); ${room}; set maxModelLen: ${context} or kvCacheDtype: fp8` }];
}

/** What would run a model whose weights do not fit: more cards, weights in host RAM, or smaller weights. */
function whatItTakes(model: PlannerModel, card: PlannerGpu, cards: number): string {
  const usable = USABLE_SHARE * cardBytes(card);
  const at = (tensorParallel: number) => needBytes({ ...model, tensorParallel, cpuOffloadGiB: undefined });
  const split = TENSOR_PARALLEL_SIZES.find((tp) => at(tp) <= usable);
  const cardsNeeded = split ? `tensorParallel: ${split} across ${split} such cards (this server has ${cards})` : `more than ${TENSOR_PARALLEL_SIZES.at(-1)} such cards`;
  // --cpu-offload-gb is per card, and each card reads its own share over its own link.
  const offload = Math.ceil((at(model.tensorParallel) - usable) / GIB);
  const total = offload * model.tensorParallel;
  return `choose a smaller or quantized model, split it with ${cardsNeeded}, or keep ${total} GiB of its weights in host RAM with cpuOffloadGiB: ${offload}${model.tensorParallel > 1 ? " on each card" : ""} (memoryGiB must hold them besides the ARC and the OS; every token then reads them over PCIe: about ${tokensPerSecondAt(offload * GIB)} tokens/s for a dense model, a MoE reads only its active experts' share)`;
}

/** Host-to-GPU bandwidth an offloaded model's weights stream at, on every forward pass (PCIe 5.0 x16, pinned copies). */
export const OFFLOAD_GBPS = 25;
/** Decode speed with `bytes` of weights offloaded on a card: each token reads all of them over its PCIe link once. */
export function tokensPerSecondAt(bytes: number): string {
  const perSecond = (OFFLOAD_GBPS * 1e9) / bytes;
  return perSecond >= 10 ? perSecond.toFixed(0) : perSecond.toPrecision(2);
}

/** Each tensor-parallel model's cards: the largest ones. */
function splitCards(gpus: readonly PlannerGpu[], models: readonly PlannerModel[]): (readonly number[] | undefined)[] {
  const largest = bySize(gpus).map((g) => g.index);
  return models.map((m) => (m.tensorParallel > 1 ? largest.slice(0, m.tensorParallel).sort((a, b) => a - b) : undefined));
}

/** An assignment of every model to its cards with all of them resident at once, the most even one; else undefined. */
function residentEverywhere(gpus: readonly PlannerGpu[], models: readonly PlannerModel[], split: readonly (readonly number[] | undefined)[]): Assignment | undefined {
  let best: { assignment: Assignment; slack: number } | undefined;
  const free = models.map((_, i) => i).filter((i) => !split[i]);
  const count = gpus.length ** free.length;
  for (let n = 0; n < count && count <= 65536; n++) {
    const assignment = models.map((_, i) => split[i] ?? [gpus[Math.floor(n / gpus.length ** free.indexOf(i)) % gpus.length].index]);
    const slacks = gpus.map((gpu) => USABLE_SHARE - models.reduce((sum, m, i) => sum + (assignment[i].includes(gpu.index) ? minShare(m, gpu) : 0), 0));
    const slack = Math.min(...slacks);
    if (slack >= -1e-9 && (!best || slack > best.slack + 1e-9)) best = { assignment, slack };
  }
  return best?.assignment;
}

/** Each model on the card it fits on with the most room left when models are placed largest first (they swap there); split models on theirs. */
function homeGpus(gpus: readonly PlannerGpu[], models: readonly PlannerModel[], split: readonly (readonly number[] | undefined)[]): Assignment {
  const load = new Map(gpus.map((g) => [g.index, 0]));
  const assignment: (readonly number[])[] = [];
  models.forEach((m, i) => {
    if (!split[i]) return;
    assignment[i] = split[i];
    for (const g of split[i]) load.set(g, load.get(g)! + needBytes(m));
  });
  const order = models.map((_, i) => i).filter((i) => !split[i]).sort((a, b) => needBytes(models[b]) - needBytes(models[a]));
  for (const i of order) {
    // tooBig has made sure the largest card takes it.
    const gpu = gpus.filter((g) => fits([models[i]], g)).sort((a, b) => cardBytes(b) - load.get(b.index)! - (cardBytes(a) - load.get(a.index)!))[0];
    assignment[i] = [gpu.index];
    load.set(gpu.index, load.get(gpu.index)! + needBytes(models[i]));
  }
  return assignment;
}

/** Every group of a card's models that fits on it together. */
function fittingSets(models: readonly PlannerModel[], gpu: PlannerGpu): PlannerModel[][] {
  const fitting: PlannerModel[][] = [];
  for (let mask = (1 << models.length) - 1; mask > 0; mask--) {
    const set = models.filter((_, i) => mask & (1 << i));
    if (fits(set, gpu)) fitting.push(set);
  }
  return fitting;
}

/** The sets that hold every alwaysResident model of the card. */
const withResident = (sets: PlannerModel[][], onGpu: readonly PlannerModel[]) => sets.filter((set) => onGpu.every((m) => !m.alwaysResident || set.includes(m)));

function maximalFittingSets(models: readonly PlannerModel[], gpu: PlannerGpu): PlannerModel[][] {
  const fitting = fittingSets(models, gpu);
  const maximal = fitting.filter((set) => !fitting.some((other) => other.length > set.length && set.every((m) => other.includes(m))));
  // Larger sets first, then by config order: deterministic.
  return maximal.sort((a, b) => b.length - a.length || models.indexOf(a[0]) - models.indexOf(b[0]));
}

/**
 * The server's resident sets: one set per card, combined. A model split across cards runs on all of
 * them or none, so a combination that has it on some of its cards only is no set; of the rest, those
 * inside a larger one are dropped.
 */
function acrossCards(setsPerGpu: readonly PlannerModel[][][], models: readonly PlannerModel[], assignment: Assignment): string[][] {
  const cardsOf = new Map(models.map((m, i) => [m, assignment[i].length]));
  const whole = crossProduct(setsPerGpu.filter((s) => s.some((set) => set.length > 0)))
    .filter((combo) => combo.every((m) => combo.filter((other) => other === m).length === cardsOf.get(m)))
    .map((combo) => [...new Set(combo.map((m) => m.name))].sort());
  const unique = whole.filter((set, i) => whole.findIndex((other) => other.join() === set.join()) === i);
  const maximal = unique.filter((set) => !unique.some((other) => other.length > set.length && set.every((name) => other.includes(name))));
  // Larger sets first, then by name: deterministic.
  return maximal.sort((a, b) => b.length - a.length || a.join().localeCompare(b.join()));
}

/** The model's need plus its part of the spare room of the tightest set it is in. */
function shareWithSlack(model: PlannerModel, gpu: PlannerGpu, sets: readonly PlannerModel[][]): number {
  const own = minShare(model, gpu);
  const extra = Math.min(
    ...sets
      .filter((set) => set.includes(model))
      .map((set) => {
        const total = set.reduce((sum, m) => sum + minShare(m, gpu), 0);
        return (USABLE_SHARE - total) * (own / total);
      }),
  );
  return Math.round((own + Math.floor(extra * 100) / 100) * 100) / 100;
}

function crossProduct<T>(groups: readonly (readonly T[][])[]): T[][] {
  return groups.reduce<T[][]>((acc, options) => acc.flatMap((prefix) => options.map((option) => [...prefix, ...option])), [[]]).filter((set) => set.length > 0);
}

/** The VRAM plan as a Markdown table, with what keeping companions resident traded. */
export function renderPlanTable(server: string, plan: ServingPlan): string {
  const warnings = offloadWarnings(plan);
  const lines = [
    `### ${server}`,
    "",
    `GPUs: ${plan.gpus.map((g) => `#${g.index} ${g.name} (${g.memoryGiB} GiB)`).join(", ") || "none"}`,
    "",
    "| model | GPU | --gpu-memory-utilization | needs per card (GiB) | max context | KV tokens | full-length sequences |",
    "|---|---|---|---|---|---|---|",
    ...plan.models.map((m) => `| ${m.name} | ${m.gpus.map((g) => `#${g}`).join(" + ")} | ${m.gpuMemoryUtilization.toFixed(2)} | ${gib(m.needBytes)} | ${m.maxModelLen} | ${m.kvTokens} | ${m.fullLengthSequences} |`),
    "",
    "Resident together:",
    ...plan.sets.map((set) => `- ${set.join(" + ")}`),
    "",
    ...plan.trades.map((t) => `- ${t.model}: context ${t.from} → ${t.to} tokens (left open in the stack file), so it stays resident beside ${t.besides.join(", ")}; declare maxModelLen to keep the longer one`),
    ...plan.alone.map((a) => `- ${a.model} leaves no room for ${a.without.join(", ")}: while it runs, a request for ${a.without.length === 1 ? "it swaps" : "them swaps"} ${a.model} out`),
    ...warnings.map((w) => `- ${w}`),
    ...(plan.trades.length + plan.alone.length + warnings.length > 0 ? [""] : []),
  ];
  return lines.join("\n");
}

/** What offloading costs each model that does it, said plainly. */
export function offloadWarnings(plan: ServingPlan): string[] {
  return plan.models
    .filter((m) => m.offloadBytes > 0)
    .map((m) => `${m.name} keeps ${gib(m.offloadBytes)} GiB of its weights in host RAM (cpuOffloadGiB): every token reads them over PCIe, about ${tokensPerSecondAt(m.offloadBytes / m.gpus.length)} tokens/s for a dense model at ${OFFLOAD_GBPS} GB/s host to each card (a MoE reads only its active experts' share)`);
}
