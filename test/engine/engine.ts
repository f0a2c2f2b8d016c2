/**
 * A stand-in for the Pulumi engine. The program runs as pulumi-language-nodejs runs it
 * (sdk/nodejs/cmd/pulumi-language-nodejs/main.go: node on @pulumi/pulumi/cmd/run with --monitor,
 * --engine, --project, --stack, --dry-run …, PULUMI_CONFIG with `project:config:key` keys,
 * PULUMI_CONFIG_SECRET_KEYS, PULUMI_NODEJS_TYPESCRIPT, so ts-node type-checks it) and speaks gRPC to
 * the ResourceMonitor and Engine served here. They keep a stack's state between runs and decide each
 * resource's step as pkg/resource/deploy/step_generator.go does:
 * - URNs from the parent's type chain; a second registration of one URN fails the run ("Duplicate
 *   resource URN '…'; try giving it a unique name", diag 2001); a parent or dependency must be
 *   registered first;
 * - ignoreChanges puts the old value back before the diff, and it stays on a replacement;
 * - a change to a replaceOnChanges path or to an input the provider marks ForceNew replaces
 *   (./providers.ts), any other change updates; in a preview a new resource's computed outputs and id
 *   are unknown;
 * - what the program no longer declares is deleted (retainOnDelete: only forgotten); a protected
 *   resource cannot be deleted or replaced;
 * - secret inputs make the outputs of the same name secret, and additionalSecretOutputs too.
 * It stays while CI cannot run the real engine: the module proxy here serves the Pulumi CLI but not
 * pulumi-language-nodejs nor the command, random and tls providers (toolchain/probe.sh). Run once
 * by hand against the real ones (README, "The real engine"), its edit previews agreed; what it
 * cannot know is what a provider makes an ID of (pulumi-random's RandomBytes: the value itself).
 */
import * as grpc from "@grpc/grpc-js";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { standIn } from "../../render/runtime";
import { PROJECT_ROOT } from "../../render/stackFile";
import { computedOutputs, forceNew, replacesOn } from "./providers";

// The SDK's own generated gRPC code and wire constants, so both ends speak the same protocol.
/* eslint-disable @typescript-eslint/no-require-imports */
const resrpc = require("@pulumi/pulumi/proto/resource_grpc_pb.js");
const resproto = require("@pulumi/pulumi/proto/resource_pb.js");
const engrpc = require("@pulumi/pulumi/proto/engine_grpc_pb.js");
const engproto = require("@pulumi/pulumi/proto/engine_pb.js");
const provproto = require("@pulumi/pulumi/proto/provider_pb.js");
const structproto = require("google-protobuf/google/protobuf/struct_pb.js");
const emptyproto = require("google-protobuf/google/protobuf/empty_pb.js");
const rpc = require("@pulumi/pulumi/runtime/rpc.js");
/* eslint-enable @typescript-eslint/no-require-imports */

const UNKNOWN: string = rpc.unknownValue;
const SIG: string = rpc.specialSigKey;
const SECRET_SIG: string = rpc.specialSecretSig;

/** A property value as it travels: plain JSON with the SDK's secret, resource and unknown markers. */
export type Wire = unknown;

export interface ResourceState {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly parent: string;
  readonly custom: boolean;
  readonly id: string;
  readonly inputs: Record<string, Wire>;
  readonly outputs: Record<string, Wire>;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  /** The explicit provider (`urn::id`), empty for the default one. */
  readonly provider: string;
  /** URNs it waits for: its dependsOn and the resources its inputs come from. */
  readonly dependencies: readonly string[];
  /** How many times this URN was created: a replacement gets a new id. */
  readonly generation: number;
}

/** A stack's state after a deployment, by URN. */
export type StackState = ReadonlyMap<string, ResourceState>;

export type Operation = "create" | "update" | "replace" | "same" | "delete" | "forget";

export interface PlannedStep {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly op: Operation;
  /** Top-level inputs that differ from the last deployment. */
  readonly diffs: readonly string[];
  /** For a command: which of its commands the provider runs (`create` on create or replace). */
  readonly runs?: "create" | "update";
}

export interface LogEntry {
  readonly severity: "debug" | "info" | "warning" | "error";
  readonly message: string;
  readonly urn: string;
}

export interface Deployment {
  readonly steps: readonly PlannedStep[];
  /** Every resource as this run registered it (in a preview: with the unknowns it saw). */
  readonly resources: ReadonlyMap<string, ResourceState>;
  /** The new state; after a preview, the old one. */
  readonly state: StackState;
  readonly logs: readonly LogEntry[];
  /** The stack's outputs as registered, markers kept (secrets are wrapped). */
  readonly outputs: Record<string, Wire>;
  /** Errors the engine itself raised (duplicate URNs, protected deletes). */
  readonly errors: readonly string[];
  readonly exitCode: number;
  readonly stderr: string;
  readonly stdout: string;
}

export interface DeployOptions {
  readonly stack: string;
  /** Full config keys (`infernus:edge`) to string values, as the CLI holds them. */
  readonly config: Readonly<Record<string, string>>;
  /** Full keys whose values were stored as secrets. */
  readonly secretKeys?: readonly string[];
  readonly preview: boolean;
  /** The stack's state from the last `up` (none: a new stack). */
  readonly state?: StackState;
  /** Type-check with ts-node, as the language host does by default (slower). */
  readonly typeCheck?: boolean;
  /** Answers data-source calls (e.g. `digitalocean:index/getSshKeys:getSshKeys`). */
  readonly invoke?: (token: string, args: Record<string, unknown>) => Record<string, unknown>;
  /** Extra environment for the program (e.g. a cloud token's variable). */
  readonly env?: Readonly<Record<string, string>>;
  /** The program's entry point under the project root; index.ts as Pulumi.yaml says. */
  readonly entry?: string;
}

const PROJECT = "infernus";
const SEVERITIES = ["debug", "info", "warning", "error"] as const;

/** Runs the program once against the stand-in engine: a preview or an update. */
export async function deploy(options: DeployOptions): Promise<Deployment> {
  const old = options.state ?? new Map<string, ResourceState>();
  const next = new Map<string, ResourceState>(old);
  const seen = new Map<string, ResourceState>();
  const registered = new Set<string>();
  const steps: PlannedStep[] = [];
  const logs: LogEntry[] = [];
  const errors: string[] = [];
  let outputs: Record<string, Wire> = {};
  const stackUrn = `urn:pulumi:${options.stack}::${PROJECT}::pulumi:pulumi:Stack::${PROJECT}-${options.stack}`;

  const fail = (message: string) => {
    errors.push(message);
    const error = new Error(message) as Error & { code: number };
    error.code = grpc.status.INTERNAL;
    return error;
  };

  const register = (req: any): any => {
    const type: string = req.getType();
    const name: string = req.getName();
    const parent: string = req.getParent();
    const custom: boolean = req.getCustom();
    const urn = urnOf(options.stack, type, name, parent);
    if (registered.has(urn)) throw fail(`Duplicate resource URN '${urn}'; try giving it a unique name`);
    for (const needed of [parent, ...req.getDependenciesList()].filter(Boolean)) {
      if (!registered.has(needed)) throw fail(`${urn}: ${needed} is not registered yet (a parent or dependency must be)`);
    }
    registered.add(urn);
    let inputs = (req.getObject()?.toJavaScript() ?? {}) as Record<string, Wire>;
    const before = old.get(urn);
    if (before) for (const key of req.getIgnorechangesList()) if (key in before.inputs) inputs = { ...inputs, [key]: before.inputs[key] };
    const protect = req.getProtect() === true;
    const retainOnDelete = req.getRetainondelete() === true;
    const provider: string = req.getProvider();
    const propertyDependencies = [...req.getPropertydependenciesMap().entries()].flatMap(([, deps]: [string, any]) => deps.getUrnsList() as string[]);
    const dependencies = [...new Set([...req.getDependenciesList(), ...propertyDependencies])].sort();
    const kept = { urn, type, name, parent, custom, protect, retainOnDelete, provider, dependencies };
    if (!custom) {
      const state: ResourceState = { ...kept, id: "", inputs, outputs: before?.outputs ?? {}, generation: 0 };
      next.set(urn, state);
      seen.set(urn, state);
      return { urn, id: "", outputs: {} };
    }
    const diffs = before ? changedKeys(before.inputs, inputs) : [];
    const replaceKeys = [...req.getReplaceonchangesList()].map((p: string) => p.split(/[.[]/)[0]);
    const rules = forceNew(type);
    const replace =
      before !== undefined &&
      diffs.some((key) => replaceKeys.includes(key) || rules.includes(key) || rules.includes("*") || replacesOn(type, key, plain(before.inputs[key]), plain(inputs[key])));
    const op: Operation = !before ? "create" : replace ? "replace" : diffs.length > 0 ? "update" : "same";
    if (op === "replace" && before!.protect) throw fail(protectedError(urn));
    const runs = type.startsWith("command:") && op !== "same" ? (op === "update" && plain(inputs.update) ? "update" : "create") : undefined;
    steps.push({ urn, type, name, op, diffs, ...(runs ? { runs } : {}) });

    const generation = (before?.generation ?? 0) + (op === "create" || op === "replace" ? 1 : 0);
    const secretOutputs = new Set<string>(req.getAdditionalsecretoutputsList());
    let id: string;
    let state: Record<string, Wire>;
    if (op === "same") {
      id = before!.id;
      state = before!.outputs;
    } else if (op === "update") {
      id = before!.id;
      // A command's output is what its new run printed; other providers keep what they computed.
      const rerun = type.startsWith("command:") ? Object.fromEntries(["stdout", "stderr"].map((key) => [key, options.preview ? UNKNOWN : ""])) : {};
      state = { ...before!.outputs, ...inputs, ...rerun };
    } else if (options.preview) {
      id = "";
      state = { ...Object.fromEntries(computedOutputs(type).map((key) => [key, UNKNOWN])), ...inputs };
    } else {
      id = idFor(type, urn, generation);
      const made: Record<string, unknown> = standIn(type, `${name}#${generation}`, plain(inputs) as Record<string, unknown>).state;
      if (type.startsWith("command:")) Object.assign(made, { stdout: "", stderr: "" });
      if (type === "digitalocean:index/droplet:Droplet") made.dropletUrn = `do:droplet:${id}`;
      state = { ...Object.fromEntries(computedOutputs(type).flatMap((key) => (made[key] === undefined ? [] : [[key, made[key]]]))), ...inputs };
    }
    state = Object.fromEntries(Object.entries(state).filter(([, v]) => v !== undefined).map(([k, v]) => [k, secretOutputs.has(k) && !isSecret(v) ? secret(v) : v]));
    const result: ResourceState = { ...kept, id, inputs, outputs: state, generation };
    seen.set(urn, result);
    if (!options.preview || op === "same") next.set(urn, result);
    return { urn, id, outputs: state };
  };

  const monitor = {
    supportsFeature: (call: any, done: any) => {
      const response = new resproto.SupportsFeatureResponse();
      // What the engine of the CLI this project pins answers (pkg/resource/deploy/source_eval.go).
      response.setHassupport(["secrets", "resourceReferences", "outputValues", "deletedWith", "aliasSpecs", "replaceWith"].includes(call.request.getId()));
      done(null, response);
    },
    registerResource: (call: any, done: any) => {
      try {
        const { urn, id, outputs: state } = register(call.request);
        const response = new resproto.RegisterResourceResponse();
        response.setUrn(urn);
        response.setId(id);
        response.setObject(structproto.Struct.fromJavaScript(state));
        done(null, response);
      } catch (error) {
        if (!errors.includes((error as Error).message)) errors.push(`engine stand-in: ${(error as Error).stack}`);
        done(error, null);
      }
    },
    registerResourceOutputs: (call: any, done: any) => {
      const urn: string = call.request.getUrn();
      const registeredOutputs = (call.request.getOutputs()?.toJavaScript() ?? {}) as Record<string, Wire>;
      if (urn === stackUrn) outputs = registeredOutputs;
      done(null, new emptyproto.Empty());
    },
    invoke: (call: any, done: any) => {
      try {
        const token: string = call.request.getTok();
        if (!options.invoke) throw fail(`engine stand-in: no answer for the invoke ${token}`);
        const response = new provproto.InvokeResponse();
        response.setReturn(structproto.Struct.fromJavaScript(options.invoke(token, plain(call.request.getArgs()?.toJavaScript() ?? {}) as Record<string, unknown>)));
        done(null, response);
      } catch (error) {
        done(error, null);
      }
    },
    registerPackage: (_call: any, done: any) => {
      const response = new resproto.RegisterPackageResponse();
      response.setRef("engine-stand-in-package");
      done(null, response);
    },
    signalAndWaitForShutdown: (_call: any, done: any) => done(null, new emptyproto.Empty()),
  };
  const engine = {
    log: (call: any, done: any) => {
      logs.push({ severity: SEVERITIES[call.request.getSeverity()] ?? "error", message: call.request.getMessage(), urn: call.request.getUrn() });
      done(null, new emptyproto.Empty());
    },
    getRootResource: (_call: any, done: any) => done(null, new engproto.GetRootResourceResponse()),
    setRootResource: (_call: any, done: any) => done(null, new engproto.SetRootResourceResponse()),
  };

  const server = new grpc.Server();
  server.addService(resrpc.ResourceMonitorService, monitor);
  server.addService(engrpc.EngineService, engine);
  const port = await new Promise<number>((done, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : done(p))));
  try {
    const run = await runProgram(options, `127.0.0.1:${port}`);
    if (run.exitCode === 0 && errors.length === 0) {
      for (const [urn, state] of old) {
        if (registered.has(urn) || !state.custom) continue;
        if (state.protect) errors.push(protectedError(urn));
        steps.push({ urn, type: state.type, name: state.name, op: state.retainOnDelete ? "forget" : "delete", diffs: [] });
        if (!options.preview) next.delete(urn);
      }
    }
    const ok = run.exitCode === 0 && errors.length === 0;
    return { steps, resources: seen, state: options.preview || !ok ? old : next, logs, outputs, errors, ...run };
  } finally {
    server.forceShutdown();
  }
}

/** node on the SDK's run entry, with the language host's arguments and environment. */
function runProgram(options: DeployOptions, address: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const config = Object.fromEntries(Object.entries(options.config).map(([key, value]) => [key.replace(/^([^:]+):/, "$1:config:"), value]));
  const args = [
    require.resolve("@pulumi/pulumi/cmd/run"),
    ...["--monitor", address, "--engine", address, "--organization", "organization", "--project", PROJECT, "--root-directory", PROJECT_ROOT],
    ...["--stack", options.stack, "--pwd", PROJECT_ROOT, ...(options.preview ? ["--dry-run"] : []), "--parallel", "16", options.entry ?? "index.ts"],
  ];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PULUMI_CONFIG: JSON.stringify(config),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(options.secretKeys ?? []),
    PULUMI_NODEJS_TYPESCRIPT: "true",
    ...(options.typeCheck ? {} : { PULUMI_NODEJS_TRANSPILE_ONLY: "true" }),
    ...options.env,
  };
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    // A program that hangs (an Output that never resolves) fails the test instead of stalling it.
    const timer = setTimeout(() => child.kill("SIGKILL"), 180_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ exitCode: code ?? -1, stdout, stderr });
    });
  });
}

/** URNs as the engine makes them: a child's type is qualified by its parent's (resource/urn.go). */
function urnOf(stack: string, type: string, name: string, parent: string): string {
  const parentType = parent ? parent.split("::")[2] : "";
  const qualified = parentType && parentType !== "pulumi:pulumi:Stack" ? `${parentType}$${type}` : type;
  return `urn:pulumi:${stack}::${PROJECT}::${qualified}::${name}`;
}

function protectedError(urn: string): string {
  return `resource "${urn}" cannot be deleted\nbecause it is protected. To unprotect the resource, either remove the \`protect\` flag from the resource in your Pulumi program and run \`pulumi up\`, or use the command:\n\`pulumi state unprotect ${urn}\``;
}

function idFor(type: string, urn: string, generation: number): string {
  const hash = createHash("sha256").update(`${urn}#${generation}`).digest();
  // DigitalOcean's ids are numbers (the droplet's is turned into one by the program).
  return type.startsWith("digitalocean:") ? String(100000000 + (hash.readUInt32BE(0) % 900000000)) : `${urn.split("::").pop()}-${hash.toString("hex").slice(0, 8)}`;
}

export function isSecret(value: Wire): boolean {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG] === SECRET_SIG;
}

function secret(value: Wire): Wire {
  return { [SIG]: SECRET_SIG, value };
}

/** The value with secret markers removed (unknowns stay the sentinel string). */
export function plain(value: Wire): unknown {
  if (isSecret(value)) return plain((value as { value: Wire }).value);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

function changedKeys(before: Record<string, Wire>, after: Record<string, Wire>): string[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return keys.filter((key) => JSON.stringify(plain(before[key])) !== JSON.stringify(plain(after[key])) || JSON.stringify(plain(after[key])).includes(UNKNOWN)).sort();
}

/** Every path in `value` that holds a secret's plain text outside a secret marker, given the secrets' texts. */
export function leaks(value: Wire, secrets: readonly string[], at = ""): string[] {
  if (isSecret(value)) return [];
  if (typeof value === "string") return secrets.some((s) => s.length >= 8 && value.includes(s)) ? [at] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => leaks(v, secrets, `${at}[${i}]`));
  if (typeof value === "object" && value !== null) return Object.entries(value).flatMap(([k, v]) => leaks(v, secrets, at ? `${at}.${k}` : k));
  return [];
}
