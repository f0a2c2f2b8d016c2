/**
 * What test/lab/machines.sh needs to provision the lab stack's edge and gpu1 as booted machines:
 * the operator's key and each machine's host key (pinned in the stack file, as the user pins his),
 * three renders of the lab stack (the first `up`, an edited stack, a wrong adminCidrs), which
 * steps run in which order, which the lab cannot run and why, and the packages they install.
 * Two things a render cannot hold are patched into its steps: the gateway's TLS certificate (made
 * at deploy time; the lab makes one for the same names) and the UPS on NUT's dummy-ups.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { estateInput, parseEstateConfig } from "../../../components/config/load";
import type { EstateConfig } from "../../../components/config/schema";
import { servingPlan } from "../../../components/serving/plan";
import { STEP_COMMAND } from "../../../components/host/remoteHost";
import { fileBlock } from "../../../components/host/stdin";
import { renderStack, writeTree } from "../../../render/render";
import { stackConfig } from "../../../render/stackFile";
import { STAND_IN_MS } from "../../serving/standInVllm";
import { dummyUps } from "../nut";
import { placeLanGateway } from "../../../components/gateway/lan";

export const MACHINES_SCRIPT = path.join(__dirname, "..", "machines.sh");

/** Where the UPS's state lives on the lab's gpu1 (dummy-ups reads it; the lab writes it). */
export const UPS_DEVICE = "/var/lib/infernus-lab/ups.dev";

/** Steps the lab's machines cannot run, and why: what they need is a card, Ubuntu's archive or ZFS. */
export const CANNOT_RUN: Readonly<Record<string, string>> = {
  preflight: "checks for Ubuntu 24.04 and reads the card: the lab's machines are Debian (Ubuntu's archive is out of reach) without a GPU",
  nvidia: "installs Canonical's NVIDIA driver from Ubuntu's archive and reboots into it",
  "nvidia-verify": "reads the loaded driver and the card with nvidia-smi",
  "gpu-power": "sets the card's power limit with nvidia-smi",
  zfs: "creates or imports the pools, with sanoid and syncoid: this kernel has no ZFS module",
  offsite: "copies ZFS snapshots to a bucket: no ZFS module, and no bucket within reach",
};

/** The edits the converge check makes after the first `up`: a new device, a rotated key, a model's context. */
export const EDITS = { client: "tablet", rotatedKey: "ide", model: "qwen3-coder-30b", maxModelLen: 65536 } as const;

/**
 * The releases the lab's machines boot: the edge Debian 13, gpu1 Debian 12, so that the steps both
 * run (tunnel, hardening, firewall, exporters) meet both. gpu1 is Ubuntu 24.04 on the user's side.
 */
export const SUITES = { edge: "trixie", gpu: "bookworm" } as const;

/** An address no operator connects from: the firewall step applies it, and must roll it back by itself. */
export const WRONG_ADMIN = "198.51.100.7/32";

type Config = Record<string, string>;
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- the stack file's sections, edited in place

export function edit(config: Config, key: string, change: (value: Json) => unknown): Config {
  const value = JSON.parse(config[`infernus:${key}`]) as Json;
  return { ...config, [`infernus:${key}`]: JSON.stringify(change(value) ?? value) };
}

function sshKeygen(file: string, comment: string): string {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
  return readFileSync(`${file}.pub`, "utf8").split(" ").slice(0, 2).join(" ");
}

/** A stdin with the file at `target` replaced (same mode and owner), as the program would have sent it. */
export function replaceFile(stdin: string, target: string, content: string): string {
  const block = new RegExp(`install_file '${target.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}' (0[0-7]{3}) (\\S+) <<'INFERNUS_FILE_END'\\n[A-Za-z0-9+/=\\n]*?\\nINFERNUS_FILE_END`);
  const found = block.exec(stdin);
  if (!found) throw new Error(`no file ${target} in this step`);
  return stdin.replace(block, () => fileBlock({ path: target, mode: found[1], owner: found[2], content }));
}

function openssl(args: readonly string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

const P256 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/** A CA as the program's own (components/gateway), in DIR. */
function labCa(dir: string): string {
  openssl(["req", "-x509", ...P256, "-days", "2", "-subj", "/CN=infernus lab CA", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout", path.join(dir, "ca.key"), "-out", path.join(dir, "ca.crt")]);
  return readFileSync(path.join(dir, "ca.crt"), "utf8");
}

/** A gateway certificate from the lab CA for the addresses and names the program's own would carry. */
function labCertificate(dir: string, name: string, serial: number, addresses: readonly string[], dnsNames: readonly string[] = []): { cert: string; key: string } {
  const at = (file: string) => path.join(dir, `${name}.${file}`);
  openssl(["req", ...P256, "-subj", `/CN=${dnsNames[0] ?? addresses[0]}/O=infernus`, "-keyout", at("key"), "-out", at("csr")]);
  const names = [...addresses.map((a) => `IP:${a}`), ...dnsNames.map((d) => `DNS:${d}`)];
  writeFileSync(at("ext"), `subjectAltName=${names.join(",")}\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`);
  openssl(["x509", "-req", "-in", at("csr"), "-CA", path.join(dir, "ca.crt"), "-CAkey", path.join(dir, "ca.key"), "-set_serial", String(serial), "-days", "2", "-extfile", at("ext"), "-out", at("crt")]);
  return { cert: readFileSync(at("crt"), "utf8"), key: readFileSync(at("key"), "utf8") };
}

interface PlanStep {
  host: string;
  order: number;
  step: string;
  trigger: string;
  after?: string[];
}

/** The steps in the order the engine could run them one at a time: each host's chain, a step only after the other hosts' steps it waits for. */
export function feedOrder(steps: readonly PlanStep[]): PlanStep[] {
  const done = new Set<string>();
  const pending = [...steps];
  const order: PlanStep[] = [];
  while (pending.length > 0) {
    const next = pending.find((s) => !pending.some((p) => p.host === s.host && p.order < s.order) && (s.after ?? []).every((a) => done.has(a)));
    if (!next) throw new Error(`steps wait for each other in a cycle: ${pending.map((s) => `${s.host}/${s.step}`).join(", ")}`);
    order.push(next);
    done.add(`${next.host}/${next.step}`);
    pending.splice(pending.indexOf(next), 1);
  }
  return order;
}

/** Two models of the server that no resident set holds together, and the stand-in's simulated time for a swap between them. */
export function swapPair(server: EstateConfig["servers"][number]): { SWAP_MODELS: string; SWAP_SIMULATED_MS: string } {
  const plan = servingPlan(server, "servers[0]");
  const names = plan.models.map((m) => m.name);
  const pair = names.flatMap((a, i) => names.slice(i + 1).map((b) => [a, b])).find(([a, b]) => !plan.sets.some((set) => set.includes(a) && set.includes(b)));
  if (!pair) throw new Error(`${server.name}: every model fits beside every other; the swap lab needs two that do not`);
  // The one put to sleep, then the one woken, at their levels.
  const simulated = pair.map((m) => STAND_IN_MS.SLEEP + STAND_IN_MS.WAKE + (plan.memory.levels[m] === 2 ? STAND_IN_MS.RELOAD : 0));
  return { SWAP_MODELS: pair.join(" "), SWAP_SIMULATED_MS: String(Math.round((simulated[0] + simulated[1]) / 2)) };
}

const stepFile = (s: PlanStep) => `${String(s.order).padStart(2, "0")}-${s.step}.sh`;

export async function prepareMachines(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), "infernus-machines-"));
  const keys = path.join(dir, "keys");
  mkdirSync(keys);
  const labStack = stackConfig("lab", path.join(__dirname, ".."));
  const config = parseEstateConfig(estateInput(labStack));
  if (config.edge.kind !== "existing") throw new Error("the lab stack's edge is an existing machine at a lab address");
  const gpu1 = config.servers[0];
  const operator = sshKeygen(path.join(keys, "operator"), "infernus lab operator");
  const hostKeys = { edge: sshKeygen(path.join(keys, "edge_host_ed25519"), "edge"), gpu: sshKeygen(path.join(keys, "gpu_host_ed25519"), gpu1.name) };
  let first = edit(labStack, "edge", (edge) => void (edge.ssh.hostKey = hostKeys.edge));
  first = edit(first, "servers", (servers) => void (servers[0].ssh.hostKey = hostKeys.gpu));
  let edited = edit(first, "clients", (clients) => [...clients, { name: EDITS.client }]);
  edited = edit(edited, "apiKeys", (apiKeys) => void (apiKeys.find((k: Json) => k.name === EDITS.rotatedKey).rotation = 1));
  edited = edit(edited, "servers", (servers) => void (servers[0].models.find((m: Json) => m.name === EDITS.model).maxModelLen = EDITS.maxModelLen));
  const wrongAdmin = edit(first, "edge", (edge) => void (edge.adminCidrs = [WRONG_ADMIN]));

  const renders = { first, edited, "wrong-admin": wrongAdmin };
  const packages = new Set<string>();
  // Tunnel addresses follow from the peers' names, the same in every render: the first one's serve.
  let addresses: Record<string, string> | undefined;
  const ca = labCa(keys);
  const lanGateway = placeLanGateway(config).place;
  let tls: Record<"edge" | "lan", { cert: string; key: string }> | undefined;
  for (const [name, stack] of Object.entries(renders)) {
    const tree = await renderStack("lab", stack);
    const root = path.join(dir, name);
    writeTree(root, tree);
    const plan = JSON.parse(String(tree.files.get("plan.json"))) as { addresses: Record<string, string>; steps: PlanStep[] };
    addresses ??= plan.addresses;
    tls ??= {
      edge: labCertificate(keys, "gateway", 1, [config.edge.endpoint, addresses[config.edge.name]]),
      lan: labCertificate(keys, "lan-gateway", 2, lanGateway ? [lanGateway.address] : [], lanGateway?.name ? [lanGateway.name] : []),
    };
    const patch = (host: string, step: string, files: Record<string, string>) => {
      const found = plan.steps.find((s) => s.host === host && s.step === step);
      if (!found) return;
      const file = path.join(root, "steps", host, stepFile(found));
      writeFileSync(file, Object.entries(files).reduce((stdin, [target, content]) => replaceFile(stdin, target, content), readFileSync(file, "utf8")));
    };
    for (const [host, step, made] of [[config.edge.name, "gateway", tls.edge], [gpu1.name, "lan-gateway", tls.lan]] as const) {
      patch(host, step, { "/etc/infernus/tls/ca.crt": ca, "/etc/infernus/tls/gateway.crt": made.cert, "/etc/infernus/tls/gateway.key": made.key });
    }
    patch(gpu1.name, "ups", { "/etc/nut/ups.conf": dummyUps(String(tree.files.get(`hosts/${gpu1.name}/etc/nut/ups.conf`)), UPS_DEVICE) });
    const run = feedOrder(plan.steps).filter((s) => !(s.step in CANNOT_RUN));
    writeFileSync(path.join(root, "order"), run.map((s) => `${s.host} ${stepFile(s)} ${s.trigger}\n`).join(""));
    writeFileSync(path.join(root, "skipped"), plan.steps.filter((s) => s.step in CANNOT_RUN).map((s) => `${s.host} ${s.step}: ${CANNOT_RUN[s.step]}\n`).join(""));
    for (const s of run) {
      const stdin = readFileSync(path.join(root, "steps", s.host, stepFile(s)), "utf8");
      for (const line of stdin.matchAll(/^\s*apt_install ([^\n;]+)$/gm)) {
        for (const word of line[1].split(/\s+/)) if (/^[a-z0-9][a-z0-9.+-]+$/.test(word)) packages.add(word);
      }
    }
  }
  writeFileSync(path.join(dir, "packages"), [...packages].sort().join("\n") + "\n");
  writeFileSync(path.join(dir, "step-command"), STEP_COMMAND);
  writeFileSync(path.join(keys, "authorized_keys"), `${operator}\n`);
  writeFileSync(path.join(keys, "ca.crt"), ca);
  const env = {
    EDGE: config.edge.name,
    EDGE_USER: config.edge.ssh.user,
    EDGE_SUITE: SUITES.edge,
    GPU_SUITE: SUITES.gpu,
    EDGE_PUBLIC: config.edge.endpoint,
    ADMIN: config.edge.adminCidrs[0].replace(/\/32$/, ""),
    WRONG_ADMIN,
    LAN_CIDR: config.lan.cidrs[0],
    GPU: gpu1.name,
    GPU_USER: gpu1.ssh.user,
    GPU_LAN: gpu1.ssh.host,
    EDGE_TUNNEL: addresses![config.edge.name],
    GPU_TUNNEL: addresses![gpu1.name],
    UPS: gpu1.ups!.name,
    UPS_DEVICE,
    MODELS: gpu1.models.map((m) => m.name).join(" "),
    ...swapPair(gpu1),
    EDIT_CLIENT: EDITS.client,
    ROTATED_KEY: EDITS.rotatedKey,
    EDIT_MODEL: EDITS.model,
    EDIT_MAX_MODEL_LEN: String(EDITS.maxModelLen),
  };
  writeFileSync(path.join(dir, "lab.env"), Object.entries(env).map(([name, value]) => `${name}="${value}"\n`).join(""));
  return dir;
}
