/** A server's serving plan from its stack-config entry: the catalogue looked up, then the VRAM and host-RAM planners. */
import type { ServerConfig } from "../config/schema";
import type { ModelKind } from "./catalogue";
import { gpuSpecOf } from "../gpu/catalogue";
import { nvidiaGpus } from "../gpu/files";
import { arcMaxBytes } from "../storage/files";
import { loraBytes, loraRankSlot, modelProblems, modelSpecOf } from "./models";
import type { Problem } from "../config/problems";
import { planHostMemory, renderMemoryTable, type MemoryHost, type MemoryPlan } from "./memory";
import { planServing, renderPlanTable, type PlannerModel, type ServingPlan } from "./planner";

export interface ServerPlan extends ServingPlan {
  readonly memory: MemoryPlan;
  readonly host: MemoryHost;
  /** Loaded at boot: the stack's choice, else the first resident set. */
  readonly preload: readonly string[];
  /** Every name the server serves, its LoRA adapters too (as chat), with its kind: what clients are set up for. */
  readonly kinds: Readonly<Record<string, ModelKind>>;
}

export function servingPlan(server: ServerConfig, serverPath: string): ServerPlan {
  const refused: Problem[] = [];
  const models = server.models.flatMap((model, i): PlannerModel[] => {
    const configPath = `${serverPath}.models[${i}]`;
    const problems = modelProblems(model, configPath);
    if (problems.length > 0) {
      refused.push(...problems);
      return [];
    }
    const spec = modelSpecOf(model);
    return [
      {
        name: model.name,
        spec,
        maxModelLen: model.maxModelLen ?? spec.maxContext,
        contextDeclared: model.maxModelLen !== undefined,
        kvCacheDtype: model.kvCacheDtype,
        gpuMemoryUtilization: model.gpuMemoryUtilization,
        alwaysResident: model.alwaysResident,
        tensorParallel: model.tensorParallel,
        cpuOffloadGiB: model.cpuOffloadGiB,
        loraBytes: model.loras.length > 0 ? model.loras.length * loraBytes(spec, loraRankSlot(model.loras)) : 0,
        configPath,
      },
    ];
  });
  // The ARC exists only where ZFS does.
  const host: MemoryHost = { memoryGiB: server.memoryGiB, arcMaxBytes: server.pools.length > 0 ? arcMaxBytes(server) : 0, configPath: `${serverPath}.memoryGiB` };
  const none = { levels: {}, parkedBytes: 0, problems: [] };
  if (refused.length > 0) return { gpus: [], models: [], sets: [], trades: [], alone: [], problems: refused, memory: none, host, preload: [], kinds: {} };
  const gpus = nvidiaGpus(server).map((gpu, index) => ({ index, name: gpuSpecOf(gpu).marketingName, memoryGiB: gpuSpecOf(gpu).memoryGiB }));
  const vram = planServing(gpus, models);
  const memory = vram.problems.length > 0 ? none : planHostMemory(host, vram, weightsOf(vram));
  const preload = server.preload ?? vram.sets[0] ?? [];
  const kinds = Object.fromEntries(models.flatMap((m, i) => [[m.name, m.spec.kind], ...server.models[i].loras.map((l) => [l.name, "chat"])]));
  return { ...vram, memory, host, preload, kinds, problems: [...vram.problems, ...memory.problems, ...preloadProblems(server.preload, vram, `${serverPath}.preload`)] };
}

function preloadProblems(preload: readonly string[] | undefined, vram: ServingPlan, path: string): Problem[] {
  if (!preload || vram.problems.length > 0) return [];
  const unknown = preload.filter((name) => !vram.models.some((m) => m.name === name));
  if (unknown.length > 0) return [{ path, value: preload, message: `${unknown.join(", ")} ${unknown.length === 1 ? "is" : "are"} not served by this server; list models from its models` }];
  if (vram.sets.some((set) => preload.every((name) => set.includes(name)))) return [];
  return [{ path, value: preload, message: `these models cannot be resident together; preload one of the resident sets: ${vram.sets.map((set) => `[${set.join(", ")}]`).join(" or ")}` }];
}

const weightsOf = (plan: ServingPlan) => plan.models.map((m) => ({ name: m.name, weightBytes: m.weightBytes, offloadBytes: m.offloadBytes, processes: m.gpus.length }));

/** The plan as Markdown, for `pulumi preview` logs and out/<stack>/serving.md. */
export function renderServingPlan(server: string, plan: ServerPlan): string {
  return [renderPlanTable(server, plan), renderMemoryTable(plan.host, plan, plan.memory, weightsOf(plan))].join("\n");
}
