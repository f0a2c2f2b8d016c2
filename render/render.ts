/**
 * The offline render: runs the real program under mocks and writes what a deployment would put
 * where. Deterministic: the same stack file gives the same bytes.
 *
 *   out/<stack>/hosts/<host>/<absolute path>   every file a step installs
 *   out/<stack>/steps/<host>/<NN>-<step>.sh    every step's stdin
 *   out/<stack>/clients/<client>.conf every WireGuard client, marked as the stand-in it is (no QR
 *     code: a phone must never scan a stand-in's keys; npm run clients writes the real ones)
 *   out/<stack>/cloud/<resource>.user-data.yaml the first-boot user-data of each cloud machine
 *   out/<stack>/plan.json                      resources, steps and trigger hashes, stand-ins marked
 *   out/<stack>/serving.md                     each server's VRAM plan
 *   out/<stack>/topology.md                    a Mermaid diagram of the estate
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { renderRunbook } from "./runbook";
import * as path from "node:path";
import { declareEstate } from "../components/program";
import type { Estate } from "../components/estate";
import type { Step } from "../components/host/remoteHost";
import { renderServingPlan } from "../components/serving/plan";
import { resolve, runUnderMocks, type RecordedResource } from "./runtime";
import { renderInput, stackConfig } from "./stackFile";

/** The first line of a rendered client config: its keys are the render's stand-ins. */
export const STAND_IN_CLIENT = "# STAND-IN rendered offline: its keys are not the deployed ones. For the device's real config and QR code: npm run clients -- <stack>";

export interface RenderedTree {
  /** Relative path (under out/<stack>/) to content. */
  readonly files: ReadonlyMap<string, string | Buffer>;
  /** The `pulumi config set --secret` lines for secrets the stack needs and its file lacks (the render used stand-ins). */
  readonly missingSecrets: readonly string[];
}

/**
 * `config` is the stack file's flat map; its `secure:` values count as set with `--secret`, and so
 * do the full keys in `secretKeys` (for a config given with plain values, as tests do).
 */
export async function renderStack(stack: string, config = stackConfig(stack), secretKeys: readonly string[] = []): Promise<RenderedTree> {
  const input = renderInput(config, secretKeys);
  const { result: estate, resources } = await runUnderMocks(declareEstate, { config: input.config, secretKeys: input.secretKeys, stack });
  const files = new Map<string, string | Buffer>();
  const steps = [];
  const waitsFor = crossHostWaits(estate, resources);
  for (const host of estate.hosts) {
    for (const step of host.steps) {
      const [stdin, installed, trigger] = await Promise.all([resolve(step.stdin), resolve(step.files), resolve(step.trigger)]);
      files.set(`steps/${step.host}/${String(step.order).padStart(2, "0")}-${step.name}.sh`, stdin.value);
      for (const file of installed.value) files.set(`hosts/${step.host}${file.path}`, file.content);
      const after = waitsFor.get(`${step.host}/${step.name}`) ?? [];
      steps.push({ host: step.host, order: step.order, step: step.name, trigger: trigger.value, ...(after.length > 0 ? { after } : {}), files: installed.value.map((f) => ({ path: f.path, mode: f.mode })) });
    }
  }
  for (const [client, config] of Object.entries(estate.clientConfigs)) {
    const text = (await resolve(config)).value;
    files.set(`clients/${client}.conf`, `${STAND_IN_CLIENT}\n${text}`);
  }
  for (const resource of resources.filter((r) => typeof r.inputs.userData === "string")) {
    files.set(`cloud/${resource.name}.user-data.yaml`, resource.inputs.userData as string);
  }
  const plans = Object.entries(estate.servers).filter(([, server]) => server.plan.models.length > 0);
  if (plans.length > 0) {
    files.set("serving.md", [`# ${stack}: serving plan`, "", ...plans.map(([name, server]) => renderServingPlan(name, server.plan))].join("\n"));
  }
  const endpoint = (await resolve(estate.tunnelEndpoint)).value;
  files.set("plan.json", JSON.stringify(plan(stack, resources, steps, endpoint, estate.addresses), null, 2) + "\n");
  files.set("topology.md", topology(stack, estate, endpoint));
  files.set(
    "RUNBOOK.md",
    renderRunbook({
      stack,
      config: estate.config,
      steps: estate.hosts.map((h) => ({ host: h.hostName, names: h.steps.map((s) => s.name) })),
      watched: estate.watched,
      storage: Object.fromEntries(Object.entries(estate.servers).map(([name, s]) => [name, s.storageSummary])),
    }),
  );
  return { files, missingSecrets: input.missing.map((secret) => `pulumi config set --secret infernus:${secret.key} ${secret.value}   # ${secret.why}`) };
}

/**
 * Per step ("host/step"), the steps on other hosts it waits for: what orders the hosts' chains
 * against each other (the lab feeds them in that order, as the engine would schedule them).
 */
function crossHostWaits(estate: Estate, resources: readonly RecordedResource[]): Map<string, string[]> {
  const stepOf = new Map<string, Step>(estate.hosts.flatMap((h) => h.steps.map((s): [string, Step] => [`${s.host}-${s.name}`, s])));
  const nameOf = new Map(resources.map((r) => [r.urn, r.name]));
  const waits = new Map<string, string[]>();
  for (const resource of resources) {
    const step = stepOf.get(resource.name);
    if (resource.type !== "command:remote:Command" || !step) continue;
    const others = resource.dependsOn
      .map((urn) => stepOf.get(nameOf.get(urn) ?? ""))
      .filter((other) => other !== undefined && other.host !== step.host)
      .map((other) => `${other!.host}/${other!.name}`);
    waits.set(`${step.host}/${step.name}`, [...new Set(others)].sort());
  }
  return waits;
}

function plan(stack: string, resources: readonly RecordedResource[], steps: readonly object[], tunnelEndpoint: string, addresses: Record<string, string>) {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  return {
    stack,
    note: "Rendered under Pulumi's mock runtime. Outputs listed in a resource's standIns are invented here (documentation addresses, deterministic keys); a deployment gets real ones and keeps generated secrets only in Pulumi state.",
    tunnelEndpoint,
    addresses,
    resources: [...resources].sort((a, b) => a.urn.localeCompare(b.urn)).map((r) => ({
      type: r.type,
      name: r.name,
      parent: byUrn.get(r.parent)?.name ?? null,
      ...(r.retainOnDelete ? { retainOnDelete: true } : {}),
      ...(r.protect ? { protect: true } : {}),
      ...(r.standIns.length > 0 ? { standIns: r.standIns } : {}),
    })),
    steps,
  };
}

function topology(stack: string, estate: Estate, endpoint: string): string {
  const peers = Object.entries(estate.addresses);
  const hub = peers[0][0];
  const hosts = new Set(estate.hosts.map((h) => h.hostName));
  const node = (name: string, address: string) => `  ${mermaidId(name)}["${name}<br/>${address}"]`;
  const lines = [
    `# ${stack}: topology`,
    "",
    `WireGuard hub \`${hub}\` at \`${endpoint}\`; spokes keep the tunnel open from behind NAT.`,
    "",
    "```mermaid",
    "flowchart LR",
    ...peers.map(([name, address]) => node(name, address)),
    ...peers.slice(1).map(([name]) => `  ${mermaidId(name)} ${hosts.has(name) ? "==>" : "-.->"}|WireGuard| ${mermaidId(hub)}`),
    "```",
    "",
    "Thick arrows: servers provisioned by this stack. Dotted: client devices (configs in `clients/`).",
    "",
  ];
  return lines.join("\n");
}

function mermaidId(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, "_");
}

export function writeTree(outDir: string, tree: RenderedTree): void {
  rmSync(outDir, { recursive: true, force: true });
  for (const [relative, content] of [...tree.files].sort(([a], [b]) => a.localeCompare(b))) {
    const target = path.join(outDir, relative);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
}
