/**
 * Serving files on a GPU server: the vLLM command line of each model, llama-swap's config.yaml
 * (one entry per model, the planner's sets as its matrix), its hardened unit, and one resumable
 * download unit per model. Pure: the same plan gives the same bytes.
 */
import type { ModelConfig, ServingConfig } from "../config/schema";
import { MODEL_CATALOGUE } from "./catalogue";
import type { PlannedModel, ServingPlan } from "./planner";
import { HEADER, renderYaml } from "../header";

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
} as const;

export const SERVICE_USER = "infernus-llm";

/** How long llama-swap waits for a model to load: 60 GB from disk and CUDA graph capture take minutes. */
export const LOAD_TIMEOUT_SECONDS = 900;

export const fetchUnitName = (model: string) => `infernus-fetch-${model}.service`;
export const fetchUnitPath = (model: string) => `/etc/systemd/system/${fetchUnitName(model)}`;
export const TIKTOKEN_UNIT = "infernus-fetch-tiktoken.service";

/** The vLLM arguments each typed option becomes; nothing else reaches the command line but the catalogue's flags and extraArgs. */
export const VLLM_OPTION_FLAGS = {
  maxModelLen: "--max-model-len",
  maxNumSeqs: "--max-num-seqs",
  kvCacheDtype: "--kv-cache-dtype",
  enablePrefixCaching: "--enable-prefix-caching",
  speculativeConfig: "--speculative-config",
  gpuMemoryUtilization: "--gpu-memory-utilization",
} as const;
/** Flags every process gets, set by infernus itself. */
export const VLLM_FIXED_FLAGS = ["--served-model-name", "--host", "--port"] as const;

/**
 * Each model's vLLM port on 127.0.0.1, by its place in the server's list. Fixed rather than
 * llama-swap's ${PORT}, so the metrics collector and the self-check reach a running model directly
 * without asking llama-swap, which would load a model that is not running.
 */
export const modelPort = (index: number) => 5801 + index;

export function modelDir(serving: ServingConfig, model: string): string {
  return `${serving.modelsDir}/${model}`;
}

/** The vLLM command for one model, as llama-swap runs it. */
export function vllmCommand(serving: ServingConfig, model: ModelConfig, planned: PlannedModel, port: number): string[] {
  const spec = MODEL_CATALOGUE[model.name];
  return [
    `${SERVING_PATHS.venv}/bin/vllm`,
    "serve",
    modelDir(serving, model.name),
    "--served-model-name",
    model.name,
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    VLLM_OPTION_FLAGS.gpuMemoryUtilization,
    planned.gpuMemoryUtilization.toFixed(2),
    VLLM_OPTION_FLAGS.maxModelLen,
    String(planned.maxModelLen),
    ...(model.maxNumSeqs !== undefined ? [VLLM_OPTION_FLAGS.maxNumSeqs, String(model.maxNumSeqs)] : []),
    ...(model.kvCacheDtype === "fp8" ? [VLLM_OPTION_FLAGS.kvCacheDtype, "fp8"] : []),
    ...(model.enablePrefixCaching ? [VLLM_OPTION_FLAGS.enablePrefixCaching] : []),
    ...(model.speculativeConfig ? [VLLM_OPTION_FLAGS.speculativeConfig, `'${JSON.stringify(sortKeys(model.speculativeConfig))}'`] : []),
    ...spec.vllmArgs,
    ...model.extraArgs,
  ];
}

function sortKeys<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b))) as T;
}

function modelEnv(serving: ServingConfig, model: ModelConfig, planned: PlannedModel): string[] {
  const spec = MODEL_CATALOGUE[model.name];
  const env: Record<string, string> = {
    CUDA_VISIBLE_DEVICES: String(planned.gpu),
    // Weights are on disk already; at run time nothing may be fetched.
    HF_HUB_OFFLINE: "1",
    TRANSFORMERS_OFFLINE: "1",
    VLLM_NO_USAGE_STATS: "1",
    DO_NOT_TRACK: "1",
    ...(spec.needsTiktoken ? { TIKTOKEN_ENCODINGS_BASE: `${serving.modelsDir}/tiktoken` } : {}),
    ...model.env,
  };
  return Object.entries(env)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}=${value}`);
}

export interface LlamaSwapView {
  readonly serving: ServingConfig;
  readonly models: readonly ModelConfig[];
  readonly plan: ServingPlan;
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
    logLevel: "info",
    globalTTL: view.serving.ttlSeconds,
    apiKeys: [view.apiKey],
    models: Object.fromEntries(
      view.models.map((model, index) => {
        const planned = view.plan.models.find((p) => p.name === model.name)!;
        const spec = MODEL_CATALOGUE[model.name];
        return [
          model.name,
          {
            name: model.name,
            description: `${spec.repo} on GPU ${planned.gpu}, ${planned.maxModelLen} tokens`,
            cmd: vllmCommand(view.serving, model, planned, modelPort(index)).join(" "),
            env: modelEnv(view.serving, model, planned),
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
    // vLLM processes are its children: stop them with it, give them time to free the GPU.
    "KillMode=mixed",
    "TimeoutStopSec=60",
    `Environment=HOME=${SERVING_PATHS.stateDir} XDG_CACHE_HOME=${SERVING_PATHS.stateDir}/cache`,
    "StateDirectory=infernus-llm",
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

/** One model's weights; `hf download` skips what is already complete. */
export function renderFetchUnit(serving: ServingConfig, model: string): string {
  const spec = MODEL_CATALOGUE[model];
  const dir = modelDir(serving, model);
  return renderDownloadUnit(`download ${spec.repo} into ${dir}`, [
    `EnvironmentFile=-${SERVING_PATHS.hfTokenEnv}`,
    `Environment=HF_HOME=${SERVING_PATHS.stateDir}/hf`,
    `ExecStart=${SERVING_PATHS.venv}/bin/hf download ${spec.repo} --local-dir ${dir}`,
    `ExecStartPost=/usr/bin/touch ${dir}/.infernus-complete`,
  ]);
}

export function renderTiktokenUnit(serving: ServingConfig): string {
  return renderDownloadUnit(`tiktoken encodings for gpt-oss into ${serving.modelsDir}/tiktoken`, [`ExecStart=${SERVING_PATHS.fetchTiktoken} ${serving.modelsDir}/tiktoken`]);
}

/** What `infernus-models` and the metrics report on: name, repository, expected bytes, weights, vLLM port. */
export function renderModelsList(serving: ServingConfig, models: readonly ModelConfig[]): string {
  return models.map((m, i) => `${m.name} ${MODEL_CATALOGUE[m.name].repo} ${Math.round(MODEL_CATALOGUE[m.name].weightBytes)} ${modelDir(serving, m.name)} ${modelPort(i)}`).join("\n") + "\n";
}
