/**
 * Models the estate knows: where the weights live, how big they are, how much KV cache a token
 * costs (from each model's config.json), and the vLLM flags each one needs. Sources: the models'
 * Hugging Face configs and cards; facts.md for sizes and flags. Any other model is served by its
 * spec in the stack file (models.ts checks it the same way).
 *
 * What runs on this card (SM120) with vLLM 0.21, late 2026:
 * - MXFP4 (gpt-oss): vLLM takes the Marlin MXFP4 MoE backend (weight-only FP4) and Triton
 *   attention on SM120; forcing FlashInfer attention fails ("sink setting not supported",
 *   vllm#40153 on an RTX PRO 6000; vllm#30135), Triton MXFP4 MoE does not compile there (vllm#41477).
 *   Leave the backends on auto.
 * - Block FP8 (the -fp8 Qwen3 checkpoints, 128×128 blocks): dense layers use the CUTLASS blockwise
 *   kernel SM120 has had since #41215 (before 0.14: "No compiled cutlass_scaled_mm … capability:
 *   120", vllm#32109); MoE layers fall back to Triton FP8 MoE, as CUTLASS FP8 MoE has no SM12x
 *   build (vllm#43507): it runs, untuned ("config not found" warnings). Upgrading past 0.21 routes
 *   SM120 FP8 through DeepGEMM, which 0.24.0 crashes in (vllm#47130): VLLM_USE_DEEP_GEMM=0 there.
 * - No public report yet of vLLM 0.21 with Qwen3-30B-A3B FP8 on an RTX PRO 6000 (it is documented
 *   on 2× RTX 5090 with 0.25.1): the self-check's first answer is the proof.
 * Revisions are the commits most public code pins (HF-cache snapshot paths, `--revision` in scripts);
 * none could be read from the Hub itself here.
 */

import type { MODEL_DTYPES, MODEL_KINDS } from "../config/schema";

export type ModelKind = (typeof MODEL_KINDS)[number];
export type ModelDtype = (typeof MODEL_DTYPES)[number];

export interface ModelSpec {
  /** Hugging Face repository of the weights. */
  readonly repo: string;
  /** The commit downloaded: a new upload to the repository changes nothing until the catalogue moves. */
  readonly revision: string;
  /**
   * Repository paths not downloaded: copies of the weights in formats vLLM does not load (it reads
   * the root's safetensors only). `hf download --exclude` patterns, matched with fnmatch against the
   * whole path, so `*` spans folders.
   */
  readonly exclude?: readonly string[];
  /** Bytes of what is downloaded, for progress: the served files' sizes as the repository lists them. */
  readonly downloadBytes: number;
  readonly kind: ModelKind;
  /** Parameters in billions (the model card's count). */
  readonly parametersB: number;
  /** The checkpoint's format, as its config.json says. */
  readonly dtype: ModelDtype;
  /** Size of the checkpoint on disk and in VRAM, in bytes. */
  readonly weightBytes: number;
  /** The longest context the model supports. */
  readonly maxContext: number;
  /** Transformer layers (num_hidden_layers). */
  readonly layers: number;
  /** Attention layers that keep KV for the whole context (sliding-window layers keep a few tokens). */
  readonly fullAttentionLayers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** hidden_size and the MLP's width (intermediate_size; for a MoE, an expert's: moe_intermediate_size), with the experts: a LoRA slot's size. */
  readonly hiddenSize?: number;
  readonly intermediateSize?: number;
  /** num_experts (num_local_experts) of a MoE. */
  readonly experts?: number;
  /** Flags this model needs to serve correctly through the OpenAI API. */
  readonly vllmArgs: readonly string[];
  /** Environment it needs (e.g. local tokenizer files on an offline host). */
  readonly env?: Readonly<Record<string, string>>;
  /** Extra files the host must have besides the weights. */
  readonly needsTiktoken?: boolean;
  /** The prompt format it must be given, an asset passed as --chat-template (a reranker's query and document). */
  readonly chatTemplate?: string;
}

const GB = 1e9;

/** Qwen3-235B-A22B 2507: 94 layers of full attention, 64 query and 4 KV heads of 128, 128 experts of 1536 (8 active), 22B active. */
const QWEN3_235B = {
  kind: "chat",
  parametersB: 235,
  maxContext: 262144,
  layers: 94,
  fullAttentionLayers: 94,
  kvHeads: 4,
  headDim: 128,
  hiddenSize: 4096,
  intermediateSize: 1536,
  experts: 128,
  vllmArgs: ["--enable-auto-tool-choice", "--tool-call-parser", "hermes"],
} as const;

export const MODEL_CATALOGUE: Readonly<Record<string, ModelSpec>> = {
  "gpt-oss-120b": {
    repo: "openai/gpt-oss-120b",
    // Pinned by MLPerf's reference and vLLM's own scripts; main as read from the Hub API in October 2026.
    revision: "b5c939de8f754692c1647ca79fbf85e8c1e70f8a",
    // original/ (the PyTorch checkpoint, ~61 GiB) and metal/ (~65 GB) would triple the download.
    exclude: ["original/*", "metal/*"],
    // Every root file (test/serving/fixtures/hf): 15 shards of 65,248,893,184 bytes, tokenizer and configs.
    downloadBytes: 65276859410,
    kind: "chat",
    parametersB: 116.8,
    dtype: "mxfp4",
    // MXFP4 is its native format: this is the unquantized checkpoint.
    weightBytes: 65.3 * GB,
    maxContext: 131072,
    layers: 36,
    // 36 layers alternate full and 128-token sliding-window attention.
    fullAttentionLayers: 18,
    kvHeads: 8,
    headDim: 64,
    hiddenSize: 2880,
    intermediateSize: 2880,
    experts: 128,
    vllmArgs: ["--tool-call-parser", "openai", "--enable-auto-tool-choice", "--reasoning-parser", "openai_gptoss"],
    needsTiktoken: true,
  },
  "qwen3-coder-30b": {
    repo: "Qwen/Qwen3-Coder-30B-A3B-Instruct",
    // main on 2026-10-05 (its last commit 2025-12-03).
    revision: "b2cff646eb4bb1d68355c01b18ae02e7cf42d120",
    // 16 shards of 61,066,575,656 bytes, the tokenizer and chat template; the rest is a few MB.
    downloadBytes: 61073627321,
    kind: "chat",
    parametersB: 30.5,
    dtype: "bf16",
    weightBytes: 61.1 * GB,
    maxContext: 262144,
    layers: 48,
    fullAttentionLayers: 48,
    kvHeads: 4,
    headDim: 128,
    hiddenSize: 2048,
    intermediateSize: 768,
    experts: 128,
    vllmArgs: ["--enable-auto-tool-choice", "--tool-call-parser", "qwen3_coder"],
  },
  "qwen3-coder-30b-fp8": {
    repo: "Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8",
    // refs/heads/main as pinned on 2026-05-10, still used in September 2026.
    revision: "dcaee4d4dfc5ee71ad501f01f530e5652438fde0",
    // 29.03 GiB of safetensors in 4 shards (as listed to two decimals).
    downloadBytes: Math.round(29.03 * 2 ** 30),
    kind: "chat",
    parametersB: 30.5,
    dtype: "fp8",
    weightBytes: 31.3 * GB,
    maxContext: 262144,
    layers: 48,
    fullAttentionLayers: 48,
    kvHeads: 4,
    headDim: 128,
    hiddenSize: 2048,
    intermediateSize: 768,
    experts: 128,
    vllmArgs: ["--enable-auto-tool-choice", "--tool-call-parser", "qwen3_coder"],
  },
  "qwen3-embedding-8b": {
    repo: "Qwen/Qwen3-Embedding-8B",
    // main since 2025-07-07: 17 files (4 shards, tokenizer, sentence-transformers pooling config).
    revision: "1d8ad4ca9b3dd8059ad90a75d4983776a23d44af",
    // Its shards' sizes are not public to the byte: the weights' size.
    downloadBytes: 15.1 * GB,
    kind: "embedding",
    parametersB: 7.57,
    dtype: "bf16",
    weightBytes: 15.1 * GB,
    maxContext: 32768,
    layers: 36,
    fullAttentionLayers: 36,
    kvHeads: 8,
    headDim: 128,
    hiddenSize: 4096,
    intermediateSize: 12288,
    vllmArgs: [],
  },
  "qwen3-235b": {
    ...QWEN3_235B,
    repo: "Qwen/Qwen3-235B-A22B-Instruct-2507",
    // The revision most public setups pin (July 2026): 118 shards, 438 GiB of tensors.
    revision: "ac9c66cc9b46af7306746a9250f23d47083d689e",
    downloadBytes: 438 * 2 ** 30,
    dtype: "bf16",
    weightBytes: 470 * GB,
  },
  "qwen3-235b-fp8": {
    ...QWEN3_235B,
    repo: "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8",
    // The most pinned of three commits in public deployments (which is main could not be told).
    revision: "e156cb4efae43fbee1a1ab073f946a1377e6b969",
    // 24 shards, "221 GB" as a deployment lists them: more than two cards, the big brain for a server board.
    downloadBytes: 221 * GB,
    dtype: "fp8",
    weightBytes: 221 * GB,
  },
  "gpt-oss-20b": {
    repo: "openai/gpt-oss-20b",
    // HF-cache snapshot paths and `vllm serve --revision` in public scripts (one "immutable revision, measured 2026-09-05").
    revision: "6cee5e81ee83917806bbde320786a8fb61efebee",
    // original/ and metal/ hold two more copies of the 13.8 GB of weights.
    exclude: ["original/*", "metal/*"],
    // Its 3 shards; tokenizer and configs add a few MB.
    downloadBytes: 13761316904,
    kind: "chat",
    // "21B parameters with 3.6B active" (20,914,757,184 by the safetensors listing).
    parametersB: 20.9,
    dtype: "mxfp4",
    // model.safetensors.index.json's total_size.
    weightBytes: 13761264768,
    maxContext: 131072,
    // 24 layers alternate full and 128-token sliding-window attention.
    layers: 24,
    fullAttentionLayers: 12,
    kvHeads: 8,
    headDim: 64,
    hiddenSize: 2880,
    intermediateSize: 2880,
    experts: 32,
    // vLLM's GPT-OSS recipe: "the instruction is the same for GPT-OSS-20b".
    vllmArgs: ["--tool-call-parser", "openai", "--enable-auto-tool-choice", "--reasoning-parser", "openai_gptoss"],
    needsTiktoken: true,
  },
  ...qwen3Moe("qwen3-30b-instruct", "Qwen/Qwen3-30B-A3B-Instruct-2507", {
    // In HF-cache paths of many public runs; dated 2025-09-17 in one revision table.
    bf16: "0d7cf23991f47feeb3a57ecb4c9cee8ea4a17bfe",
    // `hf download … --revision` in a 2× RTX 5090 run with vLLM 0.25.1.
    fp8: "5a5a776300a41aaa681dd7ff0106608ef2bc90db",
    // Non-thinking: tool calls in Hermes style, no reasoning parser (the qwen3 parser would take an answer without </think> for reasoning).
    vllmArgs: ["--enable-auto-tool-choice", "--tool-call-parser", "hermes"],
  }),
  ...qwen3Moe("qwen3-30b-thinking", "Qwen/Qwen3-30B-A3B-Thinking-2507", {
    // The `--revision` default of a public script, "verified (HF API)".
    bf16: "144afc2f379b542fdd4e85a1fcd5e1f79112d95d",
    // HF-cache paths, October 2026, with vLLM 0.28.
    fp8: "60d80c83c53c3b611c642dbb8c942b3f90c5948a",
    // The model card's parser (its --enable-reasoning was removed from vLLM in 0.10).
    vllmArgs: ["--enable-auto-tool-choice", "--tool-call-parser", "hermes", "--reasoning-parser", "deepseek_r1"],
  }),
  ...qwen3Reranker("qwen3-reranker-0.6b", "Qwen/Qwen3-Reranker-0.6B", {
    revision: "e61197ed45024b0ed8a2d74b80b4d909f1255473",
    // One model.safetensors of 1.2 GB; the architecture is Qwen3-0.6B's.
    parametersB: 0.6,
    weightBytes: 1.19 * GB,
    layers: 28,
    hiddenSize: 1024,
    intermediateSize: 3072,
  }),
  ...qwen3Reranker("qwen3-reranker-4b", "Qwen/Qwen3-Reranker-4B", {
    revision: "22e683669bc0f0bd69640a1354a6d0aebcfeede5",
    // 7.6 GB on disk; the architecture is Qwen3-4B's.
    parametersB: 4.02,
    weightBytes: 7.6 * GB,
    layers: 36,
    hiddenSize: 2560,
    intermediateSize: 9728,
  }),
  ...qwen3Reranker("qwen3-reranker-8b", "Qwen/Qwen3-Reranker-8B", {
    // Run on vLLM 0.25.1 on an RTX PRO 6000 in public.
    revision: "77d193c791ed757ca307ee72715aa132723da912",
    // 5 shards of 15.25 GiB, 8,188,548,096 parameters (its config.json: Qwen3-8B's).
    parametersB: 8.19,
    weightBytes: 15.25 * 2 ** 30,
    layers: 36,
    hiddenSize: 4096,
    intermediateSize: 12288,
  }),
};

/**
 * Qwen3-30B-A3B 2507, in BF16 and in Qwen's block FP8: 48 layers of full attention, 32 query and 4
 * KV heads of 128, hidden 2048, 128 experts of 768 (8 active), 262,144 tokens, 30.5B parameters
 * (3.3B active). BF16: 16 shards, total_size 61,064,245,248. FP8 (e4m3, 128×128 blocks; lm_head,
 * norms and the router in BF16): 4 shards of 29.03 GiB.
 */
function qwen3Moe(name: string, repo: string, args: { bf16: string; fp8: string; vllmArgs: readonly string[] }): Record<string, ModelSpec> {
  const shape = { kind: "chat", parametersB: 30.5, maxContext: 262144, layers: 48, fullAttentionLayers: 48, kvHeads: 4, headDim: 128, hiddenSize: 2048, intermediateSize: 768, experts: 128, vllmArgs: args.vllmArgs } as const;
  const fp8Bytes = Math.round(29.03 * 2 ** 30);
  return {
    [name]: { ...shape, repo, revision: args.bf16, dtype: "bf16", downloadBytes: 61064245248, weightBytes: 61064245248 },
    [`${name}-fp8`]: { ...shape, repo: `${repo}-FP8`, revision: args.fp8, dtype: "fp8", downloadBytes: fp8Bytes, weightBytes: fp8Bytes },
  };
}

/**
 * A Qwen3 reranker: the Qwen3 model of its size scoring "yes" against "no" for a query and a
 * document. vLLM serves it as a sequence classifier from the original checkpoint with these
 * overrides and its prompt format as the chat template, which vLLM's cross-encoder scoring applies
 * to /rerank and /score alike (examples/pooling/score/qwen3_reranker_online.py; pooling/scoring/
 * io_processor.py); 8 KV heads of 128, 32,768 tokens (the card's context).
 */
function qwen3Reranker(name: string, repo: string, spec: Pick<ModelSpec, "revision" | "parametersB" | "weightBytes" | "layers" | "hiddenSize" | "intermediateSize">): Record<string, ModelSpec> {
  const overrides = { architectures: ["Qwen3ForSequenceClassification"], classifier_from_token: ["no", "yes"], is_original_qwen3_reranker: true };
  return {
    [name]: { ...spec, repo, kind: "rerank", dtype: "bf16", downloadBytes: spec.weightBytes, maxContext: 32768, fullAttentionLayers: spec.layers, kvHeads: 8, headDim: 128, vllmArgs: ["--hf-overrides", JSON.stringify(overrides)], chatTemplate: "serving/qwen3-reranker.jinja" },
  };
}

/** KV-cache bytes per token: K and V, per full-attention layer, per KV head, per dimension. */
export function kvBytesPerToken(spec: ModelSpec, kvCacheDtype: "auto" | "fp8"): number {
  const bytes = kvCacheDtype === "fp8" ? 1 : 2;
  return 2 * spec.fullAttentionLayers * spec.kvHeads * spec.headDim * bytes;
}
