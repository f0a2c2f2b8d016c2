/**
 * Models the estate knows: where the weights live, how big they are, how much KV cache a token
 * costs (from each model's config.json), and the vLLM flags each one needs. Sources: the models'
 * Hugging Face configs and cards; facts.md for sizes and flags.
 */

export type ModelKind = "chat" | "embedding";

export interface ModelSpec {
  /** Hugging Face repository of the weights. */
  readonly repo: string;
  readonly kind: ModelKind;
  /** Size of the checkpoint on disk and in VRAM, in bytes. */
  readonly weightBytes: number;
  /** The longest context the model supports. */
  readonly maxContext: number;
  /** Attention layers that keep KV for the whole context (sliding-window layers keep a few tokens). */
  readonly fullAttentionLayers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** Flags this model needs to serve correctly through the OpenAI API. */
  readonly vllmArgs: readonly string[];
  /** Environment it needs (e.g. local tokenizer files on an offline host). */
  readonly env?: Readonly<Record<string, string>>;
  /** Extra files the host must have besides the weights. */
  readonly needsTiktoken?: boolean;
}

const GB = 1e9;

export const MODEL_CATALOGUE: Readonly<Record<string, ModelSpec>> = {
  "gpt-oss-120b": {
    repo: "openai/gpt-oss-120b",
    kind: "chat",
    // MXFP4 is its native format: this is the unquantized checkpoint.
    weightBytes: 65.3 * GB,
    maxContext: 131072,
    // 36 layers alternate full and 128-token sliding-window attention.
    fullAttentionLayers: 18,
    kvHeads: 8,
    headDim: 64,
    vllmArgs: ["--tool-call-parser", "openai", "--enable-auto-tool-choice", "--reasoning-parser", "openai_gptoss"],
    needsTiktoken: true,
  },
  "qwen3-coder-30b": {
    repo: "Qwen/Qwen3-Coder-30B-A3B-Instruct",
    kind: "chat",
    weightBytes: 61.1 * GB,
    maxContext: 262144,
    fullAttentionLayers: 48,
    kvHeads: 4,
    headDim: 128,
    vllmArgs: ["--enable-auto-tool-choice", "--tool-call-parser", "qwen3_coder"],
  },
  "qwen3-coder-30b-fp8": {
    repo: "Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8",
    kind: "chat",
    weightBytes: 31.3 * GB,
    maxContext: 262144,
    fullAttentionLayers: 48,
    kvHeads: 4,
    headDim: 128,
    vllmArgs: ["--enable-auto-tool-choice", "--tool-call-parser", "qwen3_coder"],
  },
  "qwen3-embedding-8b": {
    repo: "Qwen/Qwen3-Embedding-8B",
    kind: "embedding",
    weightBytes: 15.1 * GB,
    maxContext: 32768,
    fullAttentionLayers: 36,
    kvHeads: 8,
    headDim: 128,
    vllmArgs: ["--runner", "pooling"],
  },
  "qwen3-235b": {
    repo: "Qwen/Qwen3-235B-A22B-Instruct-2507",
    kind: "chat",
    weightBytes: 470 * GB,
    maxContext: 262144,
    fullAttentionLayers: 94,
    kvHeads: 4,
    headDim: 128,
    vllmArgs: ["--enable-auto-tool-choice", "--tool-call-parser", "hermes"],
  },
};

/** KV-cache bytes per token: K and V, per full-attention layer, per KV head, per dimension. */
export function kvBytesPerToken(spec: ModelSpec, kvCacheDtype: "auto" | "fp8"): number {
  const bytes = kvCacheDtype === "fp8" ? 1 : 2;
  return 2 * spec.fullAttentionLayers * spec.kvHeads * spec.headDim * bytes;
}
