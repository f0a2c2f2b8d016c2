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

/**
 * Flags a model's own arguments may not carry, and what sets each instead: infernus writes them,
 * and the planner counts what they change. A catalogue model's chat template is not among them: a
 * model of the user's own may name one of its own.
 */
export const PLANNED_FLAGS: ReadonlyMap<string, string> = new Map<string, string>([
  ...Object.entries({
    servedModelName: "the entry's name",
    host: "itself: vLLM listens on 127.0.0.1 only",
    port: "itself: each model has its fixed port",
    gpuMemoryUtilization: "the planner (the entry's gpuMemoryUtilization overrides it)",
    maxModelLen: "the entry's maxModelLen",
    maxNumSeqs: "the entry's maxNumSeqs",
    kvCacheDtype: "the entry's kvCacheDtype",
    enablePrefixCaching: "the entry's enablePrefixCaching",
    speculativeConfig: "the entry's speculativeConfig",
    enableSleepMode: "itself, for the models that swap out",
    enableForceIncludeUsage: "itself, for the audit log's tokens",
    runner: "spec.kind",
    tensorParallelSize: "the entry's tensorParallel",
    cpuOffloadGb: "the entry's cpuOffloadGiB",
    enableLora: "the entry's loras",
    maxLoras: "the entry's loras",
    maxLoraRank: "the entry's loras",
    loraModules: "the entry's loras",
  } satisfies Record<Exclude<keyof typeof VLLM_FLAGS, "chatTemplate">, string>).map(([key, by]) => [VLLM_FLAGS[key as keyof typeof VLLM_FLAGS], by] as const),
  // Ways of splitting a model the planner does not plan.
  ["--pipeline-parallel-size", "nothing: infernus plans tensorParallel only"],
  ["--data-parallel-size", "nothing: infernus plans tensorParallel only"],
]);

/** vLLM's short spellings of planned flags (its arg_utils.py registers them beside the long ones). */
export const SHORT_FLAGS: Readonly<Record<string, string>> = { "-tp": "--tensor-parallel-size", "-sc": "--speculative-config", "-pp": "--pipeline-parallel-size", "-dp": "--data-parallel-size" };

/** A flag as vLLM reads it: its long name, `_` as `-` (FlexibleArgumentParser), without `=value`. */
export function longFlag(arg: string): string {
  const flag = arg.split("=")[0];
  return SHORT_FLAGS[flag] ?? (flag.startsWith("--") ? `--${flag.slice(2).replace(/_/g, "-")}` : flag);
}
