/**
 * A server's models as the planner and the renderers see them: a catalogue entry, or the stack
 * file's own spec of a Hugging Face model, checked for plausibility first. Pure.
 */
import type { ModelConfig } from "../config/schema";
import type { Problem } from "../config/problems";
import { MODEL_CATALOGUE, type ModelDtype, type ModelSpec } from "./catalogue";
import { longFlag, PLANNED_FLAGS } from "./flags";

/**
 * Bytes a parameter takes on disk in each format. The bounds leave room for what quantized
 * checkpoints keep in BF16 (embeddings, norms, router gates, scales: gpt-oss-120b is 0.56 B/param
 * in MXFP4, gpt-oss-20b 0.66) and for the rounding of model cards' counts ("8B" for 7.57 B).
 */
export const BYTES_PER_PARAMETER: Readonly<Record<ModelDtype, readonly [number, number]>> = {
  bf16: [1.8, 2.2],
  fp16: [1.8, 2.2],
  fp8: [0.9, 1.45],
  mxfp4: [0.5, 0.85],
  nvfp4: [0.5, 0.85],
  int4: [0.5, 0.85],
};

/** The spec a validated model entry stands for. */
export function modelSpecOf(model: Pick<ModelConfig, "name" | "spec">): ModelSpec {
  if (model.spec) {
    const { spec } = model;
    return {
      repo: spec.repo,
      revision: spec.revision,
      exclude: spec.exclude,
      downloadBytes: Math.round((spec.downloadGB ?? spec.weightGB) * 1e9),
      kind: spec.kind,
      parametersB: spec.parametersB,
      dtype: spec.dtype,
      weightBytes: Math.round(spec.weightGB * 1e9),
      maxContext: spec.maxContext,
      layers: spec.layers,
      fullAttentionLayers: spec.fullAttentionLayers ?? spec.layers,
      kvHeads: spec.kvHeads,
      headDim: spec.headDim,
      hiddenSize: spec.hiddenSize,
      intermediateSize: spec.intermediateSize,
      experts: spec.experts,
      vllmArgs: spec.vllmArgs,
      needsTiktoken: spec.tiktoken,
    };
  }
  const spec = MODEL_CATALOGUE[model.name];
  if (!spec) throw new Error(`model ${model.name} is neither in the catalogue nor described (the config checks should have refused it)`);
  return spec;
}

/** The names requests use for a model entry: its own, then its adapters'. */
export function servedNames(model: Pick<ModelConfig, "name" | "loras">): string[] {
  return [model.name, ...model.loras.map((l) => l.name)];
}

/** What is wrong with a model entry: an unknown name, an implausible spec, adapters it cannot carry. */
export function modelProblems(model: ModelConfig, path: string): Problem[] {
  const catalogued = MODEL_CATALOGUE[model.name];
  if (model.spec && catalogued) {
    return [{ path: `${path}.name`, value: model.name, message: `the catalogue's ${model.name} is ${catalogued.repo}; give your model a name of its own, or drop spec to serve the catalogue's` }];
  }
  if (!model.spec && !catalogued) {
    return [
      {
        path: `${path}.name`,
        value: model.name,
        message: `not in the model catalogue (${Object.keys(MODEL_CATALOGUE).join(", ")}); describe it with spec: { repo, revision, kind, parametersB, dtype, weightGB, maxContext, layers, kvHeads, headDim } (README: A model of your own)`,
      },
    ];
  }
  const spec = modelSpecOf(model);
  return [...(model.spec ? specProblems(spec, `${path}.spec`) : []), ...loraProblems(model, spec, path)];
}

/** A spec's numbers against each other; the catalogue's entries pass the same checks. */
export function specProblems(spec: ModelSpec, path: string): Problem[] {
  const problems: Problem[] = [];
  const [low, high] = BYTES_PER_PARAMETER[spec.dtype];
  const perParameter = spec.weightBytes / (spec.parametersB * 1e9);
  if (perParameter < low || perParameter > high) {
    const range = `${(spec.parametersB * low).toFixed(1)}–${(spec.parametersB * high).toFixed(1)} GB`;
    problems.push({
      path: `${path}.weightGB`,
      value: +(spec.weightBytes / 1e9).toFixed(3),
      message: `${spec.parametersB}B parameters in ${spec.dtype} weigh ${range} (${low}–${high} bytes each), not ${(spec.weightBytes / 1e9).toFixed(1)} GB: check metadata.total_size in model.safetensors.index.json, the model card's parameter count, and config.json's format`,
    });
  }
  if (spec.fullAttentionLayers > spec.layers) {
    problems.push({ path: `${path}.fullAttentionLayers`, value: spec.fullAttentionLayers, message: `more than the model's ${spec.layers} layers; count the full_attention entries of config.json's layer_types` });
  }
  spec.vllmArgs.forEach((arg, i) => {
    const flag = longFlag(arg);
    const by = PLANNED_FLAGS.get(flag);
    if (by) problems.push({ path: `${path}.vllmArgs[${i}]`, value: arg, message: `infernus sets ${flag} from ${by}, and plans around it; leave it out here` });
  });
  return problems;
}

function loraProblems(model: ModelConfig, spec: ModelSpec, path: string): Problem[] {
  if (model.loras.length === 0) return [];
  if (spec.kind !== "chat") return [{ path: `${path}.loras`, value: model.loras.map((l) => l.name), message: `${model.name} is ${article(spec.kind)} ${spec.kind} model; vLLM serves LoRA adapters on chat models` }];
  if (spec.hiddenSize === undefined || spec.intermediateSize === undefined) {
    return [{ path: `${path}.spec`, value: model.name, message: "a LoRA adapter's memory depends on hiddenSize and intermediateSize: add them from config.json" }];
  }
  return [];
}

/** The ranks vLLM's --max-lora-rank accepts (vllm/config/lora.py, MaxLoRARanks). */
export const LORA_RANK_SLOTS = [1, 8, 16, 32, 64, 128, 256, 320, 512] as const;

/** The smallest --max-lora-rank that holds every adapter. */
export function loraRankSlot(loras: readonly { readonly rank: number }[]): number {
  const rank = Math.max(...loras.map((l) => l.rank));
  return LORA_RANK_SLOTS.find((slot) => slot >= rank)!;
}

/**
 * Bytes one adapter of `rank` takes in BF16, as vLLM allocates a --max-loras slot at
 * --max-lora-rank (lora/layers/base_linear.py: A is rank × in, B out × rank, per slice; fused_moe.py
 * per expert): on every layer, q, k, v (A 3 × hidden; B the query's width, taken as hidden, and
 * 2 × the KV heads'), o (hidden in and out), and per expert gate and up (A 2 × hidden, B 2 ×
 * intermediate) and down (A intermediate, B hidden). An adapter on disk is no larger.
 */
export function loraBytes(spec: ModelSpec, rank: number): number {
  const h = spec.hiddenSize!;
  const attention = 3 * h + h + 2 * spec.kvHeads * spec.headDim + 2 * h;
  const mlp = (spec.experts ?? 1) * (3 * h + 3 * spec.intermediateSize!);
  return 2 * rank * (attention + mlp) * spec.layers;
}

/** "a" or "an" before a model kind. */
export const article = (kind: string) => (/^[aeiou]/.test(kind) ? "an" : "a");
