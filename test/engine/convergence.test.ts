/**
 * Which steps a typical edit of the stack file runs, as the engine decides it: a step is replaced
 * (its `create` runs) when its triggers change, and updated on any other changed input, which runs
 * its `update` (pulumi-command's commandController.go). Each edit is previewed against the state of
 * one `up` of the singapore stack with monitoring, through the engine stand-in (./engine.ts).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { deploy, plain, type Deployment } from "./engine";
import { emptyAccount, stackInput } from "./stacks";

const STACK = "singapore";
const MONITORING = { "infernus:monitoring": JSON.stringify({ telegramChatId: "123456789" }) };
const base = stackInput(STACK, MONITORING).config;
const NEW_BOARD_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAHPI5zzYl9Odap5FOKEccA2cApNmitT3b5K9G46IV6J";

/** The stack file with one key's value edited. */
function edit(key: string, change: (value: any) => void): Record<string, string> {
  const value = JSON.parse(base[key]);
  change(value);
  return { ...MONITORING, [key]: JSON.stringify(value) };
}

const run = (d: Deployment) => d.steps.filter((s) => s.runs === "create").map((s) => s.name).sort();
const redialled = (d: Deployment) => d.steps.filter((s) => s.runs === "update").map((s) => s.name).sort();
const others = (d: Deployment) => d.steps.filter((s) => !s.type.startsWith("command:") && s.op !== "same").map((s) => `${s.op} ${s.name}`).sort();

describe("an edit of the singapore stack runs exactly the steps it changes", () => {
  let up: Deployment;
  let steps: { edge: string[]; gpu1: string[] };
  const previewOf = (edits: Record<string, string>) => deploy({ stack: STACK, ...stackInput(STACK, { ...MONITORING, ...edits }), invoke: emptyAccount, preview: true, state: up.state });

  beforeAll(async () => {
    up = await deploy({ stack: STACK, ...stackInput(STACK, MONITORING), invoke: emptyAccount, preview: false });
    expect(up.exitCode, up.stderr).toBe(0);
    const remote = [...up.state.values()].filter((r) => r.type === "command:remote:Command").map((r) => r.name);
    steps = { edge: remote.filter((n) => n.startsWith("edge-")).sort(), gpu1: remote.filter((n) => n.startsWith("gpu1-")).sort() };
  }, 120_000);

  const cases: [string, () => Record<string, string>, (s: typeof steps) => { run: string[]; redialled?: string[]; others?: string[] }][] = [
    ["nothing", () => ({}), () => ({ run: [] })],
    ["a client added", () => edit("infernus:clients", (v) => v.push({ name: "tablet" })), () => ({ run: ["edge-self-check", "edge-wireguard"], others: ["create infernus-tunnel-tablet-key", "create infernus-tunnel-tablet-psk"] })],
    ["an API key rotated", () => edit("infernus:apiKeys", (v) => (v[0].rotation = 1)), () => ({ run: ["edge-gateway", "edge-self-check", "gpu1-lan-gateway"], others: ["replace infernus-gateway-key-ide"] })],
    ["one model's context", () => edit("infernus:servers", (v) => (v[0].models[1].maxModelLen = 65536)), () => ({ run: ["edge-self-check", "gpu1-llama-swap"] })],
    ["a model added", () => edit("infernus:servers", (v) => v[0].models.push("qwen3-coder-30b-fp8")), () => ({ run: ["edge-monitoring", "edge-self-check", "gpu1-llama-swap", "gpu1-models"] })],
    ["a power limit", () => edit("infernus:servers", (v) => (v[0].gpus[0].powerLimitW = 400)), () => ({ run: ["edge-self-check", "gpu1-gpu-power"] })],
    [
      "the driver branch",
      () => edit("infernus:servers", (v) => (v[0].driver.branch = 590)),
      () => ({ run: ["edge-self-check", "gpu1-nvidia", "gpu1-nvidia-verify", "infernus-gpu1-reboot-grace"] }),
    ],
    ["an alert threshold", () => edit("infernus:monitoring", (v) => (v.thresholds = { gpuTemperatureC: 80 })), () => ({ run: ["edge-monitoring", "edge-self-check"] })],
    // resource_droplet.go: size is not ForceNew; the droplet is resized in place, and no step runs.
    ["the droplet's size", () => edit("infernus:edge", (v) => (v.size = "s-2vcpu-4gb")), () => ({ run: [], others: ["update infernus-edge-droplet"] })],
    ["the tunnel's MTU", () => edit("infernus:tunnel", (v) => (v.mtu = 1412)), () => ({ run: ["edge-self-check", "edge-wireguard", "gpu1-wireguard"] })],
    // The same machine reached another way: every gpu1 step only dials it anew.
    ["viaEdge", () => edit("infernus:servers", (v) => (v[0].ssh = { ...v[0].ssh, host: "10.66.0.2", viaEdge: true })), (s) => ({ run: [], redialled: s.gpu1 })],
    ["an SSH private key set", () => ({ "infernus:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nstand-in\n-----END OPENSSH PRIVATE KEY-----\n" }), (s) => ({ run: [], redialled: [...s.edge, ...s.gpu1].sort() })],
    // A new image replaces the droplet (ForceNew): the new one is bare, so every edge step runs on it.
    [
      "a droplet replacement",
      () => edit("infernus:edge", (v) => (v.image = "ubuntu-24-10-x64")),
      (s) => ({ run: s.edge, others: ["replace infernus-edge-droplet", "replace infernus-edge-ip-assignment", "update infernus-edge-firewall", "update infernus-edge-project"] }),
    ],
    // The server board: a new address and host key, more memory; its tunnel identity stays.
    [
      "a migration of gpu1",
      () => edit("infernus:servers", (v) => Object.assign(v[0], { ssh: { host: "192.168.1.60", user: "kirill", hostKey: NEW_BOARD_KEY }, memoryGiB: 512, numaNodes: 2 })),
      (s) => ({ run: [...s.gpu1, "edge-self-check", "infernus-gpu1-reboot-grace"].sort() }),
    ],
  ];

  it.each(cases)("%s", async (_name, edits, expected) => {
    const preview = await previewOf(edits());
    expect(preview.exitCode, preview.stderr).toBe(0);
    const want = expected(steps);
    expect(run(preview)).toEqual(want.run);
    expect(redialled(preview)).toEqual(want.redialled ?? []);
    expect(others(preview)).toEqual(want.others ?? []);
  }, 60_000);

  it("runs every edge step on the new droplet once it exists, with its id as their machine", async () => {
    const replaced = await deploy({ stack: STACK, ...stackInput(STACK, edit("infernus:edge", (v) => (v.image = "ubuntu-24-10-x64"))), invoke: emptyAccount, preview: false, state: up.state });
    expect(replaced.exitCode, replaced.stderr).toBe(0);
    const droplet = [...replaced.state.values()].find((r) => r.name === "infernus-edge-droplet")!;
    expect(droplet.id).not.toBe([...up.state.values()].find((r) => r.name === "infernus-edge-droplet")!.id);
    for (const name of steps.edge) {
      const step = [...replaced.state.values()].find((r) => r.name === name)!;
      expect((plain(step.inputs.triggers) as string[])[1], name).toBe(droplet.id);
    }
  }, 60_000);
});
