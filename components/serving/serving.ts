/**
 * Serving on one GPU server: the VRAM plan, vLLM, the model downloads and llama-swap in front of
 * them, reached by the gateway with its own key.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ServerConfig, ServingConfig } from "../config/schema";
import type { RemoteHost } from "../host/remoteHost";
import { asset } from "../host/stdin";
import {
  downloadsOf,
  fetchUnitPath,
  renderFetchUnit,
  renderLlamaSwapConfig,
  renderLlamaSwapUnit,
  renderModelFiles,
  renderModelsList,
  renderPolkitRule,
  renderTiktokenUnit,
  renderVllmUnit,
  SERVICE_USER,
  SERVING_PATHS,
  TIKTOKEN_UNIT,
  type ServingPeer,
} from "./files";
import { modelSpecOf } from "./models";
import { renderServingPlan, servingPlan, type ServerPlan } from "./plan";

export interface ServingArgs {
  /** The host its steps run on. */
  readonly host: RemoteHost;
  /** The validated server entry of the stack config. */
  readonly server: ServerConfig;
  readonly serving: ServingConfig;
  /** Where the server stands in the stack config, for messages. */
  readonly configPath: string;
  /** This server's tunnel address: llama-swap listens there. */
  readonly tunnelAddress: string;
  /** The port the models are served on, over the tunnel. */
  readonly servingPort: number;
  /** The key the gateway presents to llama-swap. Secret. */
  readonly upstreamKey: pulumi.Output<string>;
  /** Hugging Face token for gated or rate-limited downloads. Secret. */
  readonly hfToken?: pulumi.Output<string>;
  /** The other servers that serve models. */
  readonly peers?: readonly ServingPeer[];
}

/** The uv release that installs vLLM. */
const UV_VERSION = "0.9.5";
export const LLAMA_SWAP_UNIT = "infernus-llama-swap.service";

export class Serving extends pulumi.ComponentResource {
  /** Which models run where, and which can be resident together. */
  public readonly plan: ServerPlan;
  private readonly host: RemoteHost;

  constructor(name: string, args: ServingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infernus:serving:Serving", name, {}, opts);
    this.host = args.host;
    this.plan = servingPlan(args.server, args.configPath);
    if (args.server.models.length > 0) this.serve(args);
    this.registerOutputs({ models: this.plan.models.map((m) => m.name), residentSets: this.plan.sets });
  }

  private serve(args: ServingArgs): void {
    const { server, serving } = args;
    pulumi.log.info(renderServingPlan(server.name, this.plan), this);
    const extra = server.models.filter((m) => m.extraArgs.length > 0);
    for (const model of extra) pulumi.log.warn(`${server.name}: ${model.name} passes unchecked vLLM arguments: ${model.extraArgs.join(" ")}`, this);
    this.host.step("vllm-runtime", {
      script: "serving/vllm-runtime.sh",
      params: { VLLM_VERSION: serving.vllmVersion, UV_VERSION, VENV: SERVING_PATHS.venv, SERVICE_USER, MODELS_DIR: serving.modelsDir },
    });
    const tiktoken = server.models.some((m) => modelSpecOf(m).needsTiktoken);
    this.host.step("models", {
      script: "serving/models.sh",
      params: { MODELS_LIST: SERVING_PATHS.modelsList, TIKTOKEN: tiktoken ? "1" : "0" },
      files: [
        { path: SERVING_PATHS.modelsList, mode: "0644", content: renderModelsList(serving, server.models) },
        { path: SERVING_PATHS.statusCommand, mode: "0755", content: asset("serving/models-status.sh") },
        ...downloadsOf(server.models).map((d) => ({ path: fetchUnitPath(d.name), mode: "0644", content: renderFetchUnit(serving, d) })),
        ...(tiktoken
          ? [
              { path: SERVING_PATHS.fetchTiktoken, mode: "0755", content: asset("serving/fetch-tiktoken.sh") },
              { path: `/etc/systemd/system/${TIKTOKEN_UNIT}`, mode: "0644", content: renderTiktokenUnit(serving) },
            ]
          : []),
        ...(args.hfToken ? [{ path: SERVING_PATHS.hfTokenEnv, mode: "0600", content: pulumi.secret(pulumi.interpolate`HF_TOKEN=${args.hfToken}\n`) }] : []),
      ],
    });
    const listen = `${server.serveLan ? "0.0.0.0" : args.tunnelAddress}:${args.servingPort}`;
    this.host.step("llama-swap", {
      script: "serving/llama-swap.sh",
      params: {
        LLAMA_SWAP_VERSION: String(serving.llamaSwap.version),
        LLAMA_SWAP_SHA256: serving.llamaSwap.sha256 ?? "",
        INSTALL_DIR: SERVING_PATHS.llamaSwapDir,
        UNIT: LLAMA_SWAP_UNIT,
        SERVICE_USER,
        CONFIG: SERVING_PATHS.llamaSwapConfig,
        VLLM_DIR: SERVING_PATHS.vllmDir,
        MODELS: server.models.map((m) => m.name).join(" "),
        DRAIN_SECONDS: String(serving.drainSeconds),
      },
      files: [
        {
          path: SERVING_PATHS.llamaSwapConfig,
          mode: "0640",
          content: pulumi.secret(
            args.upstreamKey.apply((apiKey) => renderLlamaSwapConfig({ serving, models: server.models, plan: this.plan, apiKey, peers: args.peers })),
          ),
        },
        { path: SERVING_PATHS.llamaSwapUnit, mode: "0644", content: renderLlamaSwapUnit(listen) },
        { path: SERVING_PATHS.vllmUnit, mode: "0644", content: renderVllmUnit() },
        { path: SERVING_PATHS.vllmCommand, mode: "0755", content: asset("serving/vllm.sh") },
        { path: SERVING_PATHS.polkitRule, mode: "0644", content: renderPolkitRule() },
        ...renderModelFiles(serving, server.models, this.plan).map((file) => ({ ...file, mode: "0644" })),
      ],
    });
  }
}
