/** The VRAM planner with the user's models on his card(s). */
import { describe, expect, it } from "vitest";
import { MODEL_CATALOGUE, kvBytesPerToken } from "../../components/serving/catalogue";
import { planServing, USABLE_SHARE, type PlannerGpu, type PlannerModel } from "../../components/serving/planner";

const card = (index: number): PlannerGpu => ({ index, name: "RTX PRO 6000 Blackwell Workstation Edition", memoryGiB: 96 });
const model = (name: string, options: Partial<PlannerModel> = {}): PlannerModel => ({
  contextDeclared: options.maxModelLen !== undefined,
  name,
  spec: MODEL_CATALOGUE[name],
  maxModelLen: MODEL_CATALOGUE[name].maxContext,
  kvCacheDtype: "auto",
  tensorParallel: 1,
  loraBytes: 0,
  configPath: `servers[0].models[${name}]`,
  ...options,
});
const users = [model("gpt-oss-120b"), model("qwen3-coder-30b", { maxModelLen: 131072 }), model("qwen3-embedding-8b")];

describe("the VRAM planner", () => {
  it("derives KV bytes per token from each model's architecture", () => {
    expect(kvBytesPerToken(MODEL_CATALOGUE["gpt-oss-120b"], "auto")).toBe(2 * 18 * 8 * 64 * 2);
    expect(kvBytesPerToken(MODEL_CATALOGUE["qwen3-coder-30b"], "auto")).toBe(98304);
    expect(kvBytesPerToken(MODEL_CATALOGUE["qwen3-coder-30b"], "fp8")).toBe(49152);
    expect(kvBytesPerToken(MODEL_CATALOGUE["qwen3-embedding-8b"], "auto")).toBe(147456);
  });

  it("puts the user's three models on one 96 GB card, the embedder resident beside each chat model", () => {
    const plan = planServing([card(0)], users);
    expect(plan.problems).toEqual([]);
    expect(plan.sets).toEqual([["gpt-oss-120b", "qwen3-embedding-8b"], ["qwen3-coder-30b", "qwen3-embedding-8b"]]);
    const byName = Object.fromEntries(plan.models.map((m) => [m.name, m]));
    expect(byName["gpt-oss-120b"]).toMatchObject({ gpus: [0], gpuMemoryUtilization: 0.75, maxModelLen: 131072, fullLengthSequences: 1 });
    expect(byName["qwen3-embedding-8b"]).toMatchObject({ gpus: [0], gpuMemoryUtilization: 0.19, maxModelLen: 18432, fullLengthSequences: 1 });
    expect(byName["qwen3-coder-30b"]).toMatchObject({ gpus: [0], gpuMemoryUtilization: 0.76, maxModelLen: 131072, fullLengthSequences: 1 });
    expect((byName["gpt-oss-120b"].needBytes / 2 ** 30).toFixed(1)).toBe("68.3");
    expect((byName["qwen3-coder-30b"].needBytes / 2 ** 30).toFixed(1)).toBe("71.9");
    expect((byName["qwen3-embedding-8b"].needBytes / 2 ** 30).toFixed(1)).toBe("18.1");
  });

  it("shortens only the context the stack file left open, and says so", () => {
    const plan = planServing([card(0)], users);
    expect(plan.trades).toEqual([{ model: "qwen3-embedding-8b", from: 32768, to: 18432, besides: ["qwen3-coder-30b"] }]);
    expect(plan.alone).toEqual([]);
  });

  it("lets the embedder swap out beside a chat model whose declared context leaves no room", () => {
    const plan = planServing([card(0)], [users[0], model("qwen3-coder-30b", { maxModelLen: 196608 }), model("qwen3-embedding-8b", { maxModelLen: 32768 })]);
    expect(plan.trades).toEqual([]);
    expect(plan.alone).toEqual([{ model: "qwen3-coder-30b", without: ["qwen3-embedding-8b"] }]);
    expect(plan.sets).toEqual([["gpt-oss-120b", "qwen3-embedding-8b"], ["qwen3-coder-30b"]]);
  });

  it("refuses an alwaysResident model that cannot run beside another, with the shares", () => {
    const plan = planServing([card(0)], [users[0], model("qwen3-coder-30b", { maxModelLen: 196608 }), model("qwen3-embedding-8b", { maxModelLen: 32768, alwaysResident: true })]);
    expect(plan.problems).toEqual([
      {
        path: "servers[0].models[qwen3-embedding-8b].alwaysResident",
        value: true,
        message: "qwen3-coder-30b cannot run beside what must stay resident on GPU 0 (qwen3-coder-30b 0.82, qwen3-embedding-8b 0.22 of the card: 1.04 together, above 0.95); shorten a maxModelLen, use kvCacheDtype: fp8, or drop alwaysResident",
      },
    ]);
  });

  it("keeps every resident set within the card's usable share", () => {
    const plan = planServing([card(0)], users);
    for (const set of plan.sets) {
      const total = set.reduce((sum, name) => sum + plan.models.find((m) => m.name === name)!.gpuMemoryUtilization, 0);
      expect(total).toBeLessThanOrEqual(USABLE_SHARE + 1e-9);
    }
    for (const m of plan.models) expect(m.kvTokens).toBeGreaterThanOrEqual(m.maxModelLen);
  });

  it("keeps all three resident at once with a second card", () => {
    const plan = planServing([card(0), card(1)], users);
    expect(plan.sets).toEqual([["gpt-oss-120b", "qwen3-coder-30b", "qwen3-embedding-8b"]]);
    const gpus = Object.fromEntries(plan.models.map((m) => [m.name, m.gpus]));
    expect(gpus["gpt-oss-120b"]).not.toBe(gpus["qwen3-coder-30b"]);
  });

  it("rejects Qwen3-235B in BF16 with the numbers", () => {
    const plan = planServing([card(0)], [model("qwen3-235b")]);
    expect(plan.problems).toHaveLength(1);
    expect(plan.problems[0].message).toBe(
      "needs 487.7 GiB (437.7 GiB of weights, 47.0 GiB of KV cache for one 262144-token sequence, 3.0 GiB overhead); the largest GPU here (RTX PRO 6000 Blackwell Workstation Edition) gives one process at most 90.7 GiB: its weights alone do not fit; choose a smaller or quantized model, split it with tensorParallel: 8 across 8 such cards (this server has 1), or keep 397 GiB of its weights in host RAM with cpuOffloadGiB: 397 (memoryGiB must hold them besides the ARC and the OS; every token then reads them over PCIe: about 0.059 tokens/s for a dense model, a MoE reads only its active experts' share)",
    );
  });

  it("names the context that fits when only the KV cache is too big", () => {
    const plan = planServing([{ index: 0, name: "H100 80GB HBM3", memoryGiB: 80 }], [model("qwen3-coder-30b")]);
    expect(plan.problems[0].message).toMatch(/needs 83\.9 GiB .*; set maxModelLen: \d+ or kvCacheDtype: fp8$/);
    const context = Number(/maxModelLen: (\d+)/.exec(plan.problems[0].message)![1]);
    expect(planServing([{ index: 0, name: "H100 80GB HBM3", memoryGiB: 80 }], [model("qwen3-coder-30b", { maxModelLen: context })]).problems).toEqual([]);
  });

  it("says so when a fixed share is too small for the model", () => {
    const plan = planServing([card(0)], [model("qwen3-embedding-8b", { gpuMemoryUtilization: 0.1 })]);
    expect(plan.problems[0]).toMatchObject({ path: "servers[0].models[qwen3-embedding-8b].gpuMemoryUtilization", value: 0.1 });
  });
});
