/**
 * Serving files on a GPU server: each model's vLLM arguments, environment and swap settings, the
 * unit template its vLLM runs in, llama-swap's config.yaml (one entry per model started through
 * infernus-vllm, the planner's sets as its matrix), its hardened unit, and one resumable download
 * unit per model. Pure: the same plan gives the same bytes.
 */
import type { ModelConfig, ServingConfig } from "../config/schema";
import { VLLM_FLAGS } from "./flags";
import { loraBytes, loraRankSlot, modelSpecOf } from "./models";
import type { ServerPlan } from "./plan";
import { processMiB, type PlannedModel } from "./planner";
import { HEADER, renderYaml } from "../header";
import { asset } from "../host/stdin";

export const SERVING_PATHS = {
  venv: "/opt/infernus/vllm",
  llamaSwapDir: "/opt/infernus/llama-swap",
  llamaSwapConfig: "/etc/infernus/llama-swap/config.yaml",
  llamaSwapUnit: "/etc/systemd/system/infernus-llama-swap.service",
  hfTokenEnv: "/etc/infernus/hf-token.env",
  modelsList: "/etc/infernus/models.list",
  stateDir: "/var/lib/infernus-llm",
  fetchTiktoken: "/usr/local/sbin/infernus-fetch-tiktoken",
  statusCommand: "/usr/local/bin/infernus-models",
  vllmCommand: "/usr/local/bin/infernus-vllm",
  vllmDir: "/etc/infernus/vllm",
  vllmUnit: "/etc/systemd/system/infernus-vllm@.service",
  /** Lets llama-swap's user start and stop its models' vLLM units, and nothing else. */
  polkitRule: "/etc/polkit-1/rules.d/50-infernus-vllm.rules",
} as const;

/** How long a model waits for the card's memory to be free (the previous model's sleep or stop). */
export const GPU_FREE_SECONDS = 120;

export const SERVICE_USER = "infernus-llm";

/** How long llama-swap waits for a model to load: 60 GB from disk and CUDA graph capture take minutes. */
export const LOAD_TIMEOUT_SECONDS = 900;

export const fetchUnitName = (model: string) => `infernus-fetch-${model}.service`;
export const fetchUnitPath = (model: string) => `/etc/systemd/system/${fetchUnitName(model)}`;
export const TIKTOKEN_UNIT = "infernus-fetch-tiktoken.service";

/**
 * Each model's vLLM port on 127.0.0.1, by its place in the server's list. Fixed rather than
 * llama-swap's ${PORT}, so the metrics collector and the self-check reach a running model directly
 * without asking llama-swap, which would load a model that is not running.
 */
export const modelPort = (index: number) => 5801 + index;

export function modelDir(serving: ServingConfig, model: string): string {
  return `${serving.modelsDir}/${model}`;
}

/** The vLLM command for one model, as its unit runs it (one argument per line in its .args file). */
export function vllmCommand(serving: ServingConfig, model: ModelConfig, planned: PlannedModel, port: number, sleeps: boolean): string[] {
  const spec = modelSpecOf(model);
  const f = VLLM_FLAGS;
  return [
    `${SERVING_PATHS.venv}/bin/vllm`,
    "serve",
    modelDir(serving, model.name),
    f.servedModelName,
    model.name,
    f.host,
    "127.0.0.1",
    f.port,
    String(port),
    ...(spec.kind === "chat" ? [] : [f.runner, "pooling"]),
    f.gpuMemoryUtilization,
    planned.gpuMemoryUtilization.toFixed(2),
    f.maxModelLen,
    String(planned.maxModelLen),
    ...(planned.gpus.length > 1 ? [f.tensorParallelSize, String(planned.gpus.length)] : []),
    ...(model.cpuOffloadGiB !== undefined ? [f.cpuOffloadGb, String(model.cpuOffloadGiB)] : []),
    ...(model.maxNumSeqs !== undefined ? [f.maxNumSeqs, String(model.maxNumSeqs)] : []),
    ...(model.kvCacheDtype === "fp8" ? [f.kvCacheDtype, "fp8"] : []),
    ...(model.enablePrefixCaching ? [f.enablePrefixCaching] : []),
    ...(model.speculativeConfig ? [f.speculativeConfig, JSON.stringify(sortKeys(model.speculativeConfig))] : []),
    ...(model.loras.length > 0
      ? [f.enableLora, f.maxLoras, String(model.loras.length), f.maxLoraRank, String(loraRankSlot(model.loras)), f.loraModules, ...model.loras.map((l) => `${l.name}=${modelDir(serving, l.name)}`)]
      : []),
    ...(spec.chatTemplate ? [f.chatTemplate, chatTemplatePath(model.name)] : []),
    ...(sleeps ? [f.enableSleepMode] : []),
    f.enableForceIncludeUsage,
    ...spec.vllmArgs,
    ...model.extraArgs,
  ];
}

function sortKeys<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b))) as T;
}

/** One model's vLLM environment, the EnvironmentFile of its unit. */
export function renderVllmEnv(serving: ServingConfig, model: ModelConfig, planned: PlannedModel, sleeps: boolean): string {
  const spec = modelSpecOf(model);
  const env: Record<string, string> = {
    CUDA_VISIBLE_DEVICES: planned.gpus.join(","),
    // Weights are on disk already; at run time nothing may be fetched.
    HF_HUB_OFFLINE: "1",
    TRANSFORMERS_OFFLINE: "1",
    VLLM_NO_USAGE_STATS: "1",
    DO_NOT_TRACK: "1",
    // torch.compile and autotuning caches survive a reboot: a cold start after a power cut reuses them.
    VLLM_CACHE_ROOT: `${SERVING_PATHS.stateDir}/cache/vllm`,
    // The sleep endpoints, on vLLM's 127.0.0.1 port: the gateway forwards only the OpenAI paths (llama-swap's /upstream route does not filter).
    ...(sleeps ? { VLLM_SERVER_DEV_MODE: "1" } : {}),
    ...(spec.needsTiktoken ? { TIKTOKEN_ENCODINGS_BASE: `${serving.modelsDir}/tiktoken` } : {}),
    ...model.env,
  };
  const lines = Object.entries(env)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}=${value}`);
  return [HEADER, ...lines, ""].join("\n");
}

export interface SwapSettings {
  readonly port: number;
  /** The cards it runs on: one, or all its tensor-parallel ones. */
  readonly gpus: readonly number[];
  /** MiB of each card the process takes: its share of what CUDA sees. */
  readonly needMiB: number;
  /** 0: it never sleeps (stopped when llama-swap unloads it). */
  readonly sleepLevel: 0 | 1 | 2;
  readonly drainSeconds: number;
}

/** What infernus-vllm reads for one model: plain KEY=number lines, never sourced. */
export function renderSwapSettings(settings: SwapSettings): string {
  return [
    HEADER,
    `PORT=${settings.port}`,
    `GPU=${settings.gpus.join(",")}`,
    `NEED_MIB=${settings.needMiB}`,
    `SLEEP_LEVEL=${settings.sleepLevel}`,
    `LOAD_SECONDS=${LOAD_TIMEOUT_SECONDS}`,
    `DRAIN_SECONDS=${settings.drainSeconds}`,
    `FREE_SECONDS=${GPU_FREE_SECONDS}`,
    "",
  ].join("\n");
}

/** Where a model's chat template from the catalogue is installed. */
export const chatTemplatePath = (model: string) => `${SERVING_PATHS.vllmDir}/${model}.jinja`;

/** Every file infernus-vllm and a model's unit read, by path. */
export function renderModelFiles(serving: ServingConfig, models: readonly ModelConfig[], plan: ServerPlan): { path: string; content: string }[] {
  return models.flatMap((model, index) => {
    const spec = modelSpecOf(model);
    const planned = plan.models.find((p) => p.name === model.name)!;
    const level = plan.memory.levels[model.name];
    // A split model's cards are of one size (the planner sees to it): the same MiB on each.
    const needMiB = processMiB(planned, plan.gpus.find((g) => g.index === planned.gpus[0])!);
    const base = `${SERVING_PATHS.vllmDir}/${model.name}`;
    return [
      { path: `${base}.args`, content: [HEADER, ...vllmCommand(serving, model, planned, modelPort(index), level !== undefined), ""].join("\n") },
      { path: `${base}.env`, content: renderVllmEnv(serving, model, planned, level !== undefined) },
      {
        path: `${base}.conf`,
        content: renderSwapSettings({ port: modelPort(index), gpus: planned.gpus, needMiB, sleepLevel: level ?? 0, drainSeconds: serving.drainSeconds }),
      },
      ...(spec.chatTemplate ? [{ path: chatTemplatePath(model.name), content: asset(spec.chatTemplate) }] : []),
    ];
  });
}

export interface LlamaSwapView {
  readonly serving: ServingConfig;
  readonly models: readonly ModelConfig[];
  readonly plan: ServerPlan;
  /** The key the gateway presents; llama-swap refuses requests without it. */
  readonly apiKey: string;
  /** The other servers' llama-swap with their models: a request for one of them is passed on. */
  readonly peers?: readonly ServingPeer[];
}

export interface ServingPeer {
  readonly name: string;
  /** `http://address:port` of its llama-swap on the tunnel. */
  readonly url: string;
  readonly models: readonly string[];
}

/** A peer that is down must fail its models' requests at once, not after the default 30 s. */
const PEER_CONNECT_SECONDS = 3;

/** llama-swap's config.yaml. */
export function renderLlamaSwapConfig(view: LlamaSwapView): string {
  const vars = Object.fromEntries(view.models.map((m, i) => [`m${i + 1}`, m.name]));
  const varOf = (name: string) => Object.entries(vars).find(([, model]) => model === name)![0];
  const config = {
    healthCheckTimeout: LOAD_TIMEOUT_SECONDS,
    // An unload (TTL, /unload) waits for infernus-vllm to drain and park the model.
    unloadTimeout: view.serving.drainSeconds + GPU_FREE_SECONDS,
    logLevel: "info",
    globalTTL: view.serving.ttlSeconds,
    apiKeys: [view.apiKey],
    // LoRA adapters are their model's aliases: listed at /v1/models under their own names.
    ...(view.models.some((m) => m.loras.length > 0) ? { includeAliasesInList: true } : {}),
    // Loaded when llama-swap starts (at boot): a resident set.
    hooks: { on_startup: { preload: [...view.plan.preload] } },
    models: Object.fromEntries(
      view.models.map((model, index) => {
        const planned = view.plan.models.find((p) => p.name === model.name)!;
        const spec = modelSpecOf(model);
        const level = view.plan.memory.levels[model.name];
        return [
          model.name,
          {
            name: model.name,
            description: `${spec.repo} on GPU ${planned.gpus.join(" + ")}, ${planned.maxModelLen} tokens, ${level ? `sleeps at level ${level}` : "stays resident"}`,
            // Its adapters are served by its vLLM under their own names (--lora-modules): llama-swap routes them here, the name unchanged.
            ...(model.loras.length > 0 ? { aliases: model.loras.map((l) => l.name) } : {}),
            // Its vLLM runs in its own unit: a stop of this command puts the model to sleep (SIGTERM: drain, then sleep).
            cmd: `${SERVING_PATHS.vllmCommand} serve ${model.name}`,
            // vLLM listens on 127.0.0.1 only; "localhost" may resolve to ::1 first.
            proxy: `http://127.0.0.1:${modelPort(index)}`,
            checkEndpoint: "/health",
            ttl: model.ttlSeconds ?? -1,
          },
        ];
      }),
    ),
    matrix: {
      vars,
      sets: Object.fromEntries(view.plan.sets.map((set, i) => [`set${i + 1}`, set.map(varOf).join(" & ")])),
    },
    ...(view.peers && view.peers.length > 0
      ? {
          // Every server knows the others' models, so the gateway may send any request to any server.
          peers: Object.fromEntries(
            view.peers.map((peer) => [peer.name, { proxy: peer.url, apiKey: view.apiKey, models: [...peer.models], timeouts: { connect: PEER_CONNECT_SECONDS } }]),
          ),
        }
      : {}),
  };
  return renderYaml(config);
}

/** The sandbox llama-swap and vLLM run in: their own state directory, the rest of the system read-only. */
const SERVICE_HARDENING = [
  "LimitNOFILE=65536",
  "NoNewPrivileges=yes",
  "ProtectSystem=strict",
  "ProtectHome=yes",
  "PrivateTmp=yes",
  "ProtectKernelTunables=yes",
  "ProtectKernelModules=yes",
  "ProtectControlGroups=yes",
  "RestrictSUIDSGID=yes",
  "LockPersonality=yes",
];

/** The unit each model's vLLM runs in, started and stopped by infernus-vllm for llama-swap (never at boot by itself). */
export function renderVllmUnit(): string {
  return [
    HEADER,
    "[Unit]",
    "Description=infernus: vLLM serving %i (llama-swap starts, wakes and parks it through infernus-vllm)",
    "After=network-online.target nvidia-persistenced.service",
    "",
    "[Service]",
    "Type=exec",
    `User=${SERVICE_USER}`,
    `Group=${SERVICE_USER}`,
    `EnvironmentFile=${SERVING_PATHS.vllmDir}/%i.env`,
    `Environment=HOME=${SERVING_PATHS.stateDir} XDG_CACHE_HOME=${SERVING_PATHS.stateDir}/cache`,
    `ExecStart=${SERVING_PATHS.vllmCommand} exec %i`,
    // Its API server and engine core go together; give them time to free the card.
    "KillMode=mixed",
    "TimeoutStopSec=60",
    "StateDirectory=infernus-llm",
    ...SERVICE_HARDENING,
    "",
  ].join("\n");
}

/** polkit lets llama-swap's user start and stop infernus-vllm@*.service (the wrapper's systemctl calls), and nothing else. */
export function renderPolkitRule(): string {
  return [
    HEADER.replace(/^#/gm, "//"),
    "polkit.addRule(function (action, subject) {",
    `  if (action.id !== "org.freedesktop.systemd1.manage-units" || subject.user !== "${SERVICE_USER}") return polkit.Result.NOT_HANDLED;`,
    '  var verb = action.lookup("verb");',
    '  if (/^infernus-vllm@[a-z0-9][a-z0-9.-]*\\.service$/.test(action.lookup("unit")) && (verb === "start" || verb === "stop")) return polkit.Result.YES;',
    "  return polkit.Result.NOT_HANDLED;",
    "});",
    "",
  ].join("\n");
}

export function renderLlamaSwapUnit(listen: string): string {
  return [
    HEADER,
    "[Unit]",
    "Description=infernus: llama-swap, the OpenAI API in front of one vLLM process per model",
    "After=network-online.target wg-quick@wg0.service nvidia-persistenced.service",
    "Wants=network-online.target",
    "",
    "[Service]",
    `User=${SERVICE_USER}`,
    `Group=${SERVICE_USER}`,
    `ExecStart=${SERVING_PATHS.llamaSwapDir}/llama-swap --config ${SERVING_PATHS.llamaSwapConfig} --listen ${listen}`,
    "Restart=always",
    "RestartSec=5",
    // Its children are infernus-vllm (vLLM runs in units of its own): on a stop, llama-swap parks them.
    "KillMode=mixed",
    "TimeoutStopSec=60",
    `Environment=HOME=${SERVING_PATHS.stateDir} XDG_CACHE_HOME=${SERVING_PATHS.stateDir}/cache`,
    "StateDirectory=infernus-llm",
    // infernus-vllm's per-card locks.
    "RuntimeDirectory=infernus-llm",
    ...SERVICE_HARDENING,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** A oneshot download run as the service user that, after a dropped link, resumes a minute later. */
function renderDownloadUnit(description: string, service: readonly string[]): string {
  return [
    HEADER,
    "[Unit]",
    `Description=infernus: ${description}`,
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=oneshot",
    `User=${SERVICE_USER}`,
    `Group=${SERVICE_USER}`,
    ...service,
    "Restart=on-failure",
    "RestartSec=60",
    // Hours at 30 Mbit/s: never time out, and stay out of the way of serving.
    "TimeoutStartSec=infinity",
    "Nice=10",
    "IOSchedulingClass=idle",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** What `hf download` fetches into modelsDir/<name>: a model's weights, or a LoRA adapter. */
export interface Download {
  readonly name: string;
  readonly repo: string;
  readonly revision: string;
  readonly exclude?: readonly string[];
  /** What it downloads, for progress. */
  readonly bytes: number;
  /** A model's vLLM port; an adapter is served by its model's. */
  readonly port?: number;
}

/** Every model's weights and every adapter, in the server's order. */
export function downloadsOf(models: readonly ModelConfig[]): Download[] {
  return models.flatMap((model, index) => {
    const spec = modelSpecOf(model);
    return [
      { name: model.name, repo: spec.repo, revision: spec.revision, exclude: spec.exclude, bytes: spec.downloadBytes, port: modelPort(index) },
      ...model.loras.map((lora) => ({ name: lora.name, repo: lora.repo, revision: lora.revision, bytes: loraBytes(spec, lora.rank) })),
    ];
  });
}

/** The `hf download` arguments: the pinned revision, without the copies vLLM does not load. */
export function hfDownloadArgs(serving: ServingConfig, download: Download): string[] {
  return [download.repo, "--revision", download.revision, ...(download.exclude ?? []).flatMap((pattern) => ["--exclude", pattern]), "--local-dir", modelDir(serving, download.name)];
}

/** One download's unit; `hf download` skips what is already complete. */
export function renderFetchUnit(serving: ServingConfig, download: Download): string {
  const dir = modelDir(serving, download.name);
  return renderDownloadUnit(`download ${download.repo} at ${download.revision.slice(0, 12)} into ${dir}`, [
    `EnvironmentFile=-${SERVING_PATHS.hfTokenEnv}`,
    `Environment=HF_HOME=${SERVING_PATHS.stateDir}/hf`,
    // systemd runs it without a shell: the patterns reach hf as written.
    `ExecStart=${SERVING_PATHS.venv}/bin/hf download ${hfDownloadArgs(serving, download).join(" ")}`,
    `ExecStartPost=/usr/bin/touch ${dir}/.infernus-complete`,
  ]);
}

export function renderTiktokenUnit(serving: ServingConfig): string {
  return renderDownloadUnit(`tiktoken encodings for gpt-oss into ${serving.modelsDir}/tiktoken`, [`ExecStart=${SERVING_PATHS.fetchTiktoken} ${serving.modelsDir}/tiktoken`]);
}

/** What `infernus-models` and the metrics report on: name, repository, bytes it downloads, folder, vLLM port (- for an adapter). */
export function renderModelsList(serving: ServingConfig, models: readonly ModelConfig[]): string {
  return downloadsOf(models).map((d) => `${d.name} ${d.repo} ${Math.round(d.bytes)} ${modelDir(serving, d.name)} ${d.port ?? "-"}`).join("\n") + "\n";
}
