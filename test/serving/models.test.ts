/**
 * Models of the user's choice: one described by its spec, LoRA adapters on it, a reranker, a model
 * split across two cards and one with weights in host RAM, rendered as `pulumi up` would install
 * them; specs the planner cannot trust refused, with why; and every vLLM flag the program writes
 * checked against `vllm serve`'s own arguments in the pinned release (fixtures/vllm, read from
 * vLLM's source with extract_flags.py).
 */
import { load } from "js-yaml";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseEstateConfig } from "../../components/config/load";
import { servingSchema, type ModelConfig } from "../../components/config/schema";
import { MODEL_CATALOGUE } from "../../components/serving/catalogue";
import { VLLM_FLAGS } from "../../components/serving/flags";
import { loraBytes, modelSpecOf, specProblems } from "../../components/serving/models";
import { servingPlan } from "../../components/serving/plan";
import { renderStack } from "../../render/render";
import { clone, problemsOf, pulumiConfig, toolOutput } from "../helpers";
import { chosen, MY_MODEL, rev, withModels } from "./chosen";

const FLAGS = JSON.parse(readFileSync(path.join(__dirname, "fixtures/vllm/serve-flags-0.21.0.json"), "utf8")) as { source: { tag: string; commit: string }; flags: string[] };



const argsOf = (files: ReadonlyMap<string, unknown>, model: string) =>
  String(files.get(`hosts/gpu1/etc/infernus/vllm/${model}.args`))
    .split("\n")
    .filter((line) => line && !line.startsWith("#"));

describe("a model by its spec, with LoRA adapters, beside a reranker", async () => {
  const { files } = await renderStack("home", pulumiConfig(chosen));
  const swap = load(String(files.get("hosts/gpu1/etc/infernus/llama-swap/config.yaml"))) as { includeAliasesInList?: boolean; models: Record<string, { aliases?: string[]; description: string }> };

  it("serves the spec's model as it does a catalogue model: its folder, its name, its flags, its download at the pinned revision", () => {
    const args = argsOf(files, "kirill-qwen3-8b");
    expect(args.slice(0, 5)).toEqual(["/opt/infernus/vllm/bin/vllm", "serve", "/srv/models/kirill-qwen3-8b", "--served-model-name", "kirill-qwen3-8b"]);
    expect(args.join(" ")).toContain("--max-model-len 32768");
    expect(args.join(" ")).toContain("--enable-auto-tool-choice --tool-call-parser hermes");
    expect(String(files.get("hosts/gpu1/etc/systemd/system/infernus-fetch-kirill-qwen3-8b.service"))).toContain(`/bin/hf download kirill/Qwen3-8B-notes --revision ${rev("a")} --local-dir /srv/models/kirill-qwen3-8b\n`);
    expect(swap.models["kirill-qwen3-8b"].description).toMatch(/^kirill\/Qwen3-8B-notes on GPU 0, 32768 tokens/);
  });

  it("loads its adapters in its vLLM: one slot each, the rank that holds the largest, each adapter by its folder", () => {
    const args = argsOf(files, "kirill-qwen3-8b").join(" ");
    expect(args).toContain("--enable-lora --max-loras 2 --max-lora-rank 32 --lora-modules notes-sql=/srv/models/notes-sql notes-ru=/srv/models/notes-ru");
    for (const [name, repo, digit] of [["notes-sql", "kirill/qwen3-8b-sql-lora", "b"], ["notes-ru", "kirill/qwen3-8b-ru-lora", "c"]]) {
      expect(String(files.get(`hosts/gpu1/etc/systemd/system/infernus-fetch-${name}.service`))).toContain(`/bin/hf download ${repo} --revision ${rev(digit)} --local-dir /srv/models/${name}\n`);
    }
    // Downloads its own, served by its model's process: no port of its own.
    expect(String(files.get("hosts/gpu1/etc/infernus/models.list"))).toMatch(/^notes-sql kirill\/qwen3-8b-sql-lora \d+ \/srv\/models\/notes-sql -$/m);
  });

  it("routes each adapter's name to its model's process through llama-swap, and lists it", () => {
    expect(swap.models["kirill-qwen3-8b"].aliases).toEqual(["notes-sql", "notes-ru"]);
    expect(swap.includeAliasesInList).toBe(true);
    // The self-check asks each adapter by its name, loaded with its model.
    expect(String(files.get("hosts/edge/etc/infernus/check.conf"))).toContain("\nmodel notes-ru gpu1 chat kirill-qwen3-8b\n");
  });

  it("counts the adapters' slots in the model's share of the card", () => {
    const server = parseEstateConfig(chosen).servers[0];
    const bare = { ...server, models: server.models.map((m) => (m.name === "kirill-qwen3-8b" ? { ...m, loras: [] } : m)) };
    const need = (s: typeof server) => servingPlan(s, "servers[0]").models.find((m) => m.name === "kirill-qwen3-8b")!.needBytes;
    const spec = modelSpecOf(server.models.find((m) => m.name === "kirill-qwen3-8b")!);
    expect(need(server) - need(bare)).toBe(2 * loraBytes(spec, 32));
    // vLLM's buffers module by module (lora/layers/base_linear.py: A rank × in, B out × rank, per
    // slice) on each of Qwen3-8B's 36 layers: qkv (A 3 × 4096; B 4096 + 2 × 1024), o (4096, 4096),
    // gate_up (A 2 × 4096; B 2 × 12288), down (12288, 4096); 2 bytes each, rank 32.
    const modules = [3 * 4096 + 4096 + 2 * 1024, 4096 + 4096, 2 * 4096 + 2 * 12288, 12288 + 4096];
    expect(loraBytes(spec, 32)).toBe(36 * 2 * 32 * modules.reduce((a, b) => a + b));
    expect(Math.round(loraBytes(spec, 32) / 2 ** 20)).toBe(167);
  });

  it("serves the reranker with vLLM's pooling runner and Qwen's overrides, resident beside each chat model that leaves it room", () => {
    const args = argsOf(files, "qwen3-reranker-0.6b");
    expect(args.slice(args.indexOf("--runner"), args.indexOf("--runner") + 2)).toEqual(["--runner", "pooling"]);
    expect(JSON.parse(args[args.indexOf("--hf-overrides") + 1])).toEqual({ architectures: ["Qwen3ForSequenceClassification"], classifier_from_token: ["no", "yes"], is_original_qwen3_reranker: true });
    expect(args[args.indexOf("--chat-template") + 1]).toBe("/etc/infernus/vllm/qwen3-reranker-0.6b.jinja");
    const plan = servingPlan(parseEstateConfig(chosen).servers[0], "servers[0]");
    expect(plan.problems).toEqual([]);
    for (const chat of ["gpt-oss-120b", "kirill-qwen3-8b"]) expect(plan.sets.filter((set) => set.includes(chat)).every((set) => set.includes("qwen3-reranker-0.6b")), chat).toBe(true);
    // The coder's declared 131072 tokens leave room for one companion at a time, and the plan says so.
    expect(plan.alone).toEqual([{ model: "qwen3-coder-30b", without: ["qwen3-embedding-8b", "qwen3-reranker-0.6b"] }]);
    expect(String(files.get("hosts/edge/etc/infernus/check.conf"))).toContain("\nmodel qwen3-reranker-0.6b gpu1 rerank\n");
  });

  it("gives the reranker Qwen's prompt, as vLLM's scoring renders its template (real Jinja, the query and document as messages)", () => {
    // vLLM's CrossEncoderIOProcessor.get_score_prompt: [{role: query}, {role: document}] through the
    // --chat-template in transformers' Jinja environment (trim_blocks, lstrip_blocks; without a template
    // it scores query + document run together). The expected text is
    // the model card's: its prefix, format_instruction and suffix.
    const template = String(files.get("hosts/gpu1/etc/infernus/vllm/qwen3-reranker-0.6b.jinja"));
    const render = (kwargs: Record<string, string>) =>
      toolOutput("/usr/bin/python3", ["-c", "import jinja2.sandbox, json, sys; t, kw = json.load(sys.stdin); sys.stdout.write(jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).from_string(t).render(messages=[{'role': 'query', 'content': 'ZFS snapshots'}, {'role': 'document', 'content': 'sanoid takes them hourly'}], **kw))"], JSON.stringify([template, kwargs]));
    const card = (instruction: string) =>
      '<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n' +
      `<Instruct>: ${instruction}\n<Query>: ZFS snapshots\n<Document>: sanoid takes them hourly` +
      "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";
    expect(render({})).toBe(card("Given a web search query, retrieve relevant passages that answer the query"));
    expect(render({ instruction: "Find the backup policy" })).toBe(card("Find the backup policy"));
  });

  it("writes only flags `vllm serve` has in the pinned release, for every model", () => {
    expect(FLAGS.source.tag).toBe(`v${servingSchema.parse({}).vllmVersion}`);
    const known = new Set(FLAGS.flags);
    for (const model of Object.keys(swap.models)) {
      for (const flag of argsOf(files, model).filter((a) => a.startsWith("--"))) expect(known, `${model}: ${flag}`).toContain(flag);
    }
  });
});

describe("the vLLM flags the program can write", () => {
  it("exist in vLLM 0.21.0's own argument definitions: infernus' own and every catalogue model's", () => {
    const known = new Set(FLAGS.flags);
    for (const flag of Object.values(VLLM_FLAGS)) expect(known, flag).toContain(flag);
    for (const [name, spec] of Object.entries(MODEL_CATALOGUE)) for (const flag of spec.vllmArgs.filter((a) => a.startsWith("--"))) expect(known, `${name}: ${flag}`).toContain(flag);
  });

  it("are checked against a fixture that knows what vLLM does not have (the invented flags of the user's notes)", () => {
    const known = new Set(FLAGS.flags);
    for (const flag of ["--enable-flash-attention", "--speculative-decoding", "--max-concurrent-requests", "--draft-model", "--task"]) expect(known.has(flag), flag).toBe(false);
  });
});

describe("models split across cards, and weights in host RAM", () => {
  const twoCards = (config: Record<string, any>) => {
    config.servers[0].gpus = [{ model: "rtx-pro-6000-blackwell-workstation" }, { model: "rtx-pro-6000-blackwell-workstation" }];
    return config;
  };

  it("splits a tensor-parallel model across both cards: its flag, both cards visible, both cards waited for", async () => {
    const config = twoCards(withModels(() => [{ name: "gpt-oss-120b", tensorParallel: 2 }, { name: "qwen3-coder-30b", maxModelLen: 131072 }, "qwen3-embedding-8b"]));
    const { files } = await renderStack("home", pulumiConfig(config));
    expect(argsOf(files, "gpt-oss-120b").join(" ")).toContain("--tensor-parallel-size 2");
    expect(String(files.get("hosts/gpu1/etc/infernus/vllm/gpt-oss-120b.env"))).toContain("\nCUDA_VISIBLE_DEVICES=0,1\n");
    expect(String(files.get("hosts/gpu1/etc/infernus/vllm/gpt-oss-120b.conf"))).toContain("\nGPU=0,1\n");
    expect(argsOf(files, "qwen3-coder-30b").join(" ")).not.toContain("--tensor-parallel-size");
  });

  it("plans around a split model: half its weights and KV cache on each card, the others on the cards around it", () => {
    const plan = servingPlan(parseEstateConfig(twoCards(withModels(() => [{ name: "gpt-oss-120b", tensorParallel: 2 }, { name: "qwen3-coder-30b", maxModelLen: 131072 }, "qwen3-embedding-8b"]))).servers[0], "servers[0]");
    expect(plan.problems).toEqual([]);
    const oss = plan.models.find((m) => m.name === "gpt-oss-120b")!;
    expect(oss.gpus).toEqual([0, 1]);
    // 65.3 GB of weights and 4.5 GiB of KV for 131072 tokens, halved, plus 3 GiB on each card.
    expect((oss.needBytes / 2 ** 30).toFixed(1)).toBe("35.7");
    // The coder's 71.9 GiB do not fit beside the split model's half: it swaps with it, the embedder stays.
    expect(plan.sets).toEqual([["gpt-oss-120b", "qwen3-embedding-8b"], ["qwen3-coder-30b", "qwen3-embedding-8b"]]);
    // Each set within every card's usable share.
    for (const set of plan.sets) {
      for (const gpu of [0, 1]) {
        const share = plan.models.filter((m) => set.includes(m.name) && m.gpus.includes(gpu)).reduce((sum, m) => sum + m.gpuMemoryUtilization, 0);
        expect(share, `${set.join(" + ")} on GPU ${gpu}`).toBeLessThanOrEqual(0.95 + 1e-9);
      }
    }
  });

  it("refuses a split across cards of two sizes: vLLM gives each card the same share", () => {
    const config = withModels(() => [{ name: "gpt-oss-120b", tensorParallel: 2 }]);
    config.servers[0].gpus = [{ model: "rtx-pro-6000-blackwell-workstation" }, { model: "h100-80gb-hbm3" }];
    config.apps = [];
    expect(problemsOf(config)).toContainEqual(expect.objectContaining({ path: "servers[0].models[0].tensorParallel", message: expect.stringContaining("vLLM gives each card the same share, so split it across cards of one size") }));
  });

  it("says what a split model too big for its cards would take, offload per card", () => {
    const config = twoCards(withModels(() => [{ name: "qwen3-235b-fp8", tensorParallel: 2 }]));
    config.apps = [];
    const [problem] = problemsOf(config);
    expect(problem.path).toBe("servers[0].models[0]");
    expect(problem.message).toMatch(/^needs [\d.]+ GiB on each of 2 cards .*; the 2 largest GPUs here each give one process at most 90\.7 GiB: its weights alone do not fit; .*split it with tensorParallel: 4 across 4 such cards \(this server has 2\), or keep (\d+) GiB of its weights in host RAM with cpuOffloadGiB: (\d+) on each card/);
    // The offload it names is enough: the same model with it plans.
    const offload = Number(/cpuOffloadGiB: (\d+)/.exec(problem.message)![1]);
    config.servers[0].memoryGiB = 512;
    config.servers[0].models[0].cpuOffloadGiB = offload;
    expect(problemsOf(config)).toEqual([]);
  });

  it("refuses a split across more cards than the server has", () => {
    expect(problemsOf(withModels(() => [{ name: "gpt-oss-120b", tensorParallel: 2 }]))).toContainEqual({
      path: "servers[0].models[0].tensorParallel",
      value: 2,
      message: "splits gpt-oss-120b across 2 NVIDIA cards; this server declares 1",
    });
  });

  it("runs a model too big for the card with weights in host RAM, and says what that costs", async () => {
    const config = withModels(() => [{ name: "qwen3-235b-fp8", maxModelLen: 32768, cpuOffloadGiB: 130 }]);
    config.servers[0].memoryGiB = 512;
    config.apps = [];
    const plan = servingPlan(parseEstateConfig(config).servers[0], "servers[0]");
    expect(plan.problems).toEqual([]);
    expect(plan.models[0]).toMatchObject({ offloadBytes: 130 * 2 ** 30 });
    const { files } = await renderStack("home", pulumiConfig(config));
    expect(argsOf(files, "qwen3-235b-fp8").join(" ")).toContain("--cpu-offload-gb 130");
    expect(String(files.get("serving.md"))).toContain(
      "- qwen3-235b-fp8 keeps 130.0 GiB of its weights in host RAM (cpuOffloadGiB): every token reads them over PCIe, about 0.18 tokens/s for a dense model at 25 GB/s host to each card (a MoE reads only its active experts' share)",
    );
  });

  it("counts offloaded weights in the host's RAM: 128 GB cannot hold 130 GiB of them", () => {
    const config = withModels(() => [{ name: "qwen3-235b-fp8", maxModelLen: 32768, cpuOffloadGiB: 130 }]);
    config.apps = [];
    const problems = problemsOf(config);
    expect(problems).toContainEqual(expect.objectContaining({ path: "servers[0].memoryGiB", value: 128, message: expect.stringContaining("130.0 GiB of offloaded weights (cpuOffloadGiB)") }));
  });
});

describe("specs and entries the planner cannot trust", () => {
  const at = (edit: (model: Record<string, any>) => void) => {
    const model = clone(MY_MODEL) as Record<string, any>;
    edit(model);
    return problemsOf(withModels((models) => [...models, model]));
  };

  it("refuses weights that cannot be the stated size, with the range and where to read the numbers", () => {
    expect(at((m) => (m.spec.weightGB = 4))).toEqual([
      {
        path: "servers[0].models[3].spec.weightGB",
        value: 4,
        message: "8.19B parameters in bf16 weigh 14.7–18.0 GB (1.8–2.2 bytes each), not 4.0 GB: check metadata.total_size in model.safetensors.index.json, the model card's parameter count, and config.json's format",
      },
    ]);
  });

  it("refuses a flag in the spec that infernus sets and plans itself", () => {
    expect(at((m) => m.spec.vllmArgs.push("--max-model-len=8192"))).toEqual([
      { path: "servers[0].models[3].spec.vllmArgs[3]", value: "--max-model-len=8192", message: "infernus sets --max-model-len from the entry's maxModelLen, and plans around it; leave it out here" },
    ]);
    // vLLM's other spellings of the same flags, and the splits the planner does not plan.
    for (const [arg, by] of [["-tp", "the entry's tensorParallel"], ["--tensor_parallel_size", "the entry's tensorParallel"], ["--pipeline-parallel-size", "nothing: infernus plans tensorParallel only"]]) {
      expect(at((m) => m.spec.vllmArgs.push(arg))[0]?.message, arg).toMatch(new RegExp(`from ${by.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}, and plans`));
    }
    // A chat template of the user's own is his to give.
    expect(at((m) => m.spec.vllmArgs.push("--chat-template=/srv/models/kirill-qwen3-8b/template.jinja"))).toEqual([]);
  });

  it("refuses a branch for a revision: what runs would change with the next upload", () => {
    expect(at((m) => (m.spec.revision = "main"))).toContainEqual(expect.objectContaining({ path: "servers[0].models[3].spec.revision", message: expect.stringContaining("a branch would let a new upload change what runs") }));
  });

  it("refuses a spec under a catalogue model's name, and an unknown name without one, pointing at spec", () => {
    expect(at((m) => (m.name = "gpt-oss-20b"))[0]).toMatchObject({ path: "servers[0].models[3].name", message: expect.stringContaining("the catalogue's gpt-oss-20b is openai/gpt-oss-20b; give your model a name of its own") });
    expect(at((m) => delete m.spec)[0]).toMatchObject({ path: "servers[0].models[3].name", message: expect.stringContaining("describe it with spec: { repo, revision, kind") });
  });

  it("refuses adapters on an embedding model, and on a spec without the sizes their slots need", () => {
    expect(problemsOf(withModels((models) => [...models.slice(0, 2), { name: "qwen3-embedding-8b", loras: MY_MODEL.loras }]))[0]).toMatchObject({
      path: "servers[0].models[2].loras",
      message: "qwen3-embedding-8b is an embedding model; vLLM serves LoRA adapters on chat models",
    });
    expect(at((m) => delete m.spec.hiddenSize)[0]).toMatchObject({ path: "servers[0].models[3].spec", message: expect.stringContaining("add them from config.json") });
  });

  it("refuses an adapter named like a model, on this server or another", () => {
    expect(at((m) => (m.loras[0].name = "qwen3-coder-30b"))[0]).toMatchObject({ path: "servers[0].models[3].loras[0].name", message: expect.stringContaining("already served as servers[0].models[1].name") });
    const twoServers = clone(chosen);
    twoServers.servers.push({ ...clone(twoServers.servers[0]), name: "gpu2", ssh: { ...twoServers.servers[0].ssh, host: "192.168.1.51" }, pools: [], ups: undefined, models: [{ name: "qwen3-30b-instruct-fp8", loras: [{ ...MY_MODEL.loras[0], rank: 8 }], spec: undefined }] });
    expect(problemsOf(twoServers)).toContainEqual({ path: "servers[1].models[0].loras[0].name", value: "notes-sql", message: "gpu1 serves it too; serve each name on one server" });
  });

  it("finds every catalogue entry plausible by the same checks", () => {
    for (const [name, spec] of Object.entries(MODEL_CATALOGUE)) expect(specProblems(spec, name), name).toEqual([]);
  });

  it("keeps the user's own model and the catalogue's alike where the planner reads them", () => {
    const parsed = parseEstateConfig(chosen).servers[0].models.find((m): m is ModelConfig => m.name === "kirill-qwen3-8b")!;
    expect(modelSpecOf(parsed)).toMatchObject({ weightBytes: 16.38e9, downloadBytes: 16.38e9, fullAttentionLayers: 36, kind: "chat" });
  });
});
