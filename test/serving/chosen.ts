/**
 * The user's own choice of models for the serving tests and the models lab: the home stack with a
 * fine-tune of his own described by its spec, two LoRA adapters on it, and a Qwen3 reranker.
 */
import { clone, stackObject } from "../helpers";

export const rev = (digit: string) => digit.repeat(40);

/** A Qwen3-8B fine-tune of the user's own, as README's "A model of your own" reads it from config.json. */
export const MY_MODEL = {
  name: "kirill-qwen3-8b",
  spec: {
    repo: "kirill/Qwen3-8B-notes",
    revision: rev("a"),
    kind: "chat",
    parametersB: 8.19,
    dtype: "bf16",
    weightGB: 16.38,
    maxContext: 40960,
    layers: 36,
    kvHeads: 8,
    headDim: 128,
    hiddenSize: 4096,
    intermediateSize: 12288,
    vllmArgs: ["--enable-auto-tool-choice", "--tool-call-parser", "hermes"],
  },
  maxModelLen: 32768,
  loras: [
    { name: "notes-sql", repo: "kirill/qwen3-8b-sql-lora", revision: rev("b"), rank: 16 },
    { name: "notes-ru", repo: "kirill/qwen3-8b-ru-lora", revision: rev("c"), rank: 32 },
  ],
};

/** The home stack with gpu1's models edited. */
export function withModels(edit: (models: unknown[]) => unknown[], config = clone(stackObject("home"))) {
  config.servers[0].models = edit(config.servers[0].models);
  return config;
}

/** The user's models, his own and a reranker beside the catalogue's. */
export const chosen = withModels((models) => [...models, MY_MODEL, "qwen3-reranker-0.6b"]);
