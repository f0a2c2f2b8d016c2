/**
 * Models the estate knows: where the weights live, how big they are, how much KV cache a token
 * costs (from each model's config.json), and the vLLM flags each one needs. Sources: the models'
 * Hugging Face configs and cards; facts.md for sizes and flags.
 */

export type ModelKind = "chat" | "embedding";

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
    // Pinned by MLPerf's reference and vLLM's own scripts; main as read from the Hub API in October 2026.
    revision: "b5c939de8f754692c1647ca79fbf85e8c1e70f8a",
    // original/ (the PyTorch checkpoint, ~61 GiB) and metal/ (~65 GB) would triple the download.
    exclude: ["original/*", "metal/*"],
    // Every root file (test/serving/fixtures/hf): 15 shards of 65,248,893,184 bytes, tokenizer and configs.
    downloadBytes: 65276859410,
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
    // main on 2026-10-05 (its last commit 2025-12-03).
    revision: "b2cff646eb4bb1d68355c01b18ae02e7cf42d120",
    // 16 shards of 61,066,575,656 bytes, the tokenizer and chat template; the rest is a few MB.
    downloadBytes: 61073627321,
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
    // refs/heads/main as pinned on 2026-05-10, still used in September 2026.
    revision: "dcaee4d4dfc5ee71ad501f01f530e5652438fde0",
    // 29.03 GiB of safetensors in 4 shards (as listed to two decimals).
    downloadBytes: Math.round(29.03 * 2 ** 30),
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
    // main since 2025-07-07: 17 files (4 shards, tokenizer, sentence-transformers pooling config).
    revision: "1d8ad4ca9b3dd8059ad90a75d4983776a23d44af",
    // Its shards' sizes are not public to the byte: the weights' size.
    downloadBytes: 15.1 * GB,
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
    // The revision most public setups pin (July 2026): 118 shards, 438 GiB of tensors.
    revision: "ac9c66cc9b46af7306746a9250f23d47083d689e",
    downloadBytes: 438 * 2 ** 30,
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
