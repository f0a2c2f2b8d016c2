/** The host-RAM plan: which model sleeps at which level on the user's card, and what a switch costs. */
import { describe, expect, it } from "vitest";
import { MODEL_CATALOGUE } from "../../components/serving/catalogue";
import { planHostMemory, swapEstimates, type MemoryHost } from "../../components/serving/memory";
import { planServing, type PlannerModel } from "../../components/serving/planner";

const GIB = 2 ** 30;
const model = (name: string, maxModelLen?: number): PlannerModel => ({
  name,
  spec: MODEL_CATALOGUE[name],
  maxModelLen: maxModelLen ?? MODEL_CATALOGUE[name].maxContext,
  contextDeclared: maxModelLen !== undefined,
  kvCacheDtype: "auto",
  tensorParallel: 1,
  loraBytes: 0,
  configPath: `servers[0].models[${name}]`,
});
const vram = planServing([{ index: 0, name: "RTX PRO 6000 Blackwell Workstation Edition", memoryGiB: 96 }], [model("gpt-oss-120b"), model("qwen3-coder-30b", 131072), model("qwen3-embedding-8b")]);
const weights = vram.models.map((m) => ({ name: m.name, weightBytes: MODEL_CATALOGUE[m.name].weightBytes }));
const host = (memoryGiB: number | undefined, arcGiB: number): MemoryHost => ({ memoryGiB, arcMaxBytes: arcGiB * GIB, configPath: "servers[0].memoryGiB" });

describe("the host-RAM plan", () => {
  it("parks both chat models in RAM (level 1) with 128 GB and a 32 GiB ARC; the embedder never sleeps", () => {
    const plan = planHostMemory(host(128, 32), vram, weights);
    expect(plan.problems).toEqual([]);
    expect(plan.levels).toEqual({ "gpt-oss-120b": 1, "qwen3-coder-30b": 1 });
    expect((plan.parkBytes! / GIB).toFixed(1)).toBe("73.0");
    // One chat model sleeps at a time: the larger one is the most ever parked.
    expect((plan.parkedBytes / GIB).toFixed(1)).toBe("60.8");
  });

  it("drops both to level 2 with 64 GB, where neither fits beside the ARC, the OS and the processes", () => {
    const plan = planHostMemory(host(64, 16), vram, weights);
    expect(plan.levels).toEqual({ "gpt-oss-120b": 2, "qwen3-coder-30b": 2 });
    expect((plan.parkBytes! / GIB).toFixed(1)).toBe("25.0");
    expect(plan.parkedBytes).toBe(0);
  });

  it("moves the largest sleeper to level 2 first and keeps the one that fits at level 1", () => {
    const small = planServing(vram.gpus, [model("gpt-oss-120b"), model("qwen3-coder-30b-fp8", 131072), model("qwen3-embedding-8b", 32768)]);
    // gpt-oss (60.8 GiB) and the FP8 coder (29.2 GiB) cannot be parked together in 76 GiB.
    const plan = planHostMemory(host(128, 29), small, small.models.map((m) => ({ name: m.name, weightBytes: MODEL_CATALOGUE[m.name].weightBytes })));
    expect(small.sets).toEqual([["gpt-oss-120b", "qwen3-embedding-8b"], ["qwen3-coder-30b-fp8", "qwen3-embedding-8b"]]);
    expect(plan.levels).toEqual({ "gpt-oss-120b": 1, "qwen3-coder-30b-fp8": 1 });
    const tight = planHostMemory(host(96, 24), small, small.models.map((m) => ({ name: m.name, weightBytes: MODEL_CATALOGUE[m.name].weightBytes })));
    expect(tight.levels).toEqual({ "gpt-oss-120b": 2, "qwen3-coder-30b-fp8": 1 });
  });

  it("sleeps every swapped model at level 2 when memoryGiB is not declared", () => {
    const plan = planHostMemory(host(undefined, 8), vram, weights);
    expect(plan.levels).toEqual({ "gpt-oss-120b": 2, "qwen3-coder-30b": 2 });
    expect(plan.parkBytes).toBeUndefined();
  });

  it("refuses a host the processes alone would push into swap, with the numbers", () => {
    expect(planHostMemory(host(24, 8), vram, weights).problems).toEqual([
      {
        path: "servers[0].memoryGiB",
        value: 24,
        message:
          "the ZFS ARC ceiling (8.0 GiB), the OS (8 GiB) and 3 vLLM processes (5 GiB each) need 31.0 GiB: sleeping models would push the host into swap; add RAM, lower arcMaxGiB, or serve fewer models",
      },
    ]);
  });

  it("estimates each switch from the weights and the stated bandwidths, warm and from a boot", () => {
    const estimates = swapEstimates(vram, planHostMemory(host(128, 32), vram, weights), weights);
    expect(estimates.map((s) => [s.from, s.sleeps, s.wakes, s.warmSeconds.toFixed(1), s.coldSeconds.toFixed(1)])).toEqual([
      [["gpt-oss-120b", "qwen3-embedding-8b"], [{ model: "gpt-oss-120b", level: 1 }], ["qwen3-coder-30b"], "5.1", "83.0"],
      [["qwen3-coder-30b", "qwen3-embedding-8b"], [{ model: "qwen3-coder-30b", level: 1 }], ["gpt-oss-120b"], "5.1", "84.2"],
    ]);
    // 65.3 GB parked to RAM at 25 GB/s, then 61.1 GB back: 2.6 s + 2.4 s.
    const slow = swapEstimates(vram, planHostMemory(host(64, 16), vram, weights), weights);
    expect(slow[0].warmSeconds.toFixed(1)).toBe(String((1 + 2 + 61.1 / 3).toFixed(1)));
  });
});
