/**
 * Every vLLM flag infernus puts on a command line itself, by what it sets. Nothing else reaches a
 * command line but a model's own flags (the catalogue's or its spec's) and extraArgs. Each one is
 * checked against `vllm serve`'s arguments in the pinned release (test/serving/fixtures/vllm).
 */
export const VLLM_FLAGS = {
  servedModelName: "--served-model-name",
  host: "--host",
  port: "--port",
  gpuMemoryUtilization: "--gpu-memory-utilization",
  maxModelLen: "--max-model-len",
  maxNumSeqs: "--max-num-seqs",
  kvCacheDtype: "--kv-cache-dtype",
  enablePrefixCaching: "--enable-prefix-caching",
  speculativeConfig: "--speculative-config",
  /** Sleep mode for the models that swap out. */
  enableSleepMode: "--enable-sleep-mode",
  /** Usage in every stream (vLLM's frontend option), so the audit log counts a stream's tokens although its client did not ask. */
  enableForceIncludeUsage: "--enable-force-include-usage",
  /** pooling for embedding and rerank models. */
  runner: "--runner",
  tensorParallelSize: "--tensor-parallel-size",
  cpuOffloadGb: "--cpu-offload-gb",
  enableLora: "--enable-lora",
  maxLoras: "--max-loras",
  maxLoraRank: "--max-lora-rank",
  loraModules: "--lora-modules",
  /** A model's prompt format from the catalogue (a reranker's). */
  chatTemplate: "--chat-template",
} as const;

/** Flags a model's own arguments may not carry: infernus sets them from the model entry, and the planner counts what they change. */
export const PLANNED_FLAGS: ReadonlySet<string> = new Set(Object.values(VLLM_FLAGS));
