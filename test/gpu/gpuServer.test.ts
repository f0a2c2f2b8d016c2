/** The GPU server under Pulumi's mocks: step order, what re-runs when, and the verified inventory. */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it, vi } from "vitest";
import { parseInventory } from "../../components/gpu/gpuServer";
import { resolve } from "../../render/runtime";
import { clone, dialingSeconds, runEstate, stackObject } from "../helpers";

const home = stackObject("home");

async function triggers(config: Record<string, any>): Promise<Record<string, string>> {
  const { result } = await runEstate(config);
  const steps = result.servers.gpu1.host.steps;
  return Object.fromEntries(await Promise.all(steps.map(async (s) => [s.name, (await resolve(s.trigger)).value])));
}

describe("the GPU server", () => {
  it("runs preflight first, then the tunnel, base, hardening, storage, the driver, its check, power limits, serving, the UPS, the exporters, then its apps", async () => {
    const { result } = await runEstate(home);
    expect(result.servers.gpu1.host.steps.map((s) => s.name)).toEqual([
      "preflight",
      "wireguard",
      "base",
      "hardening",
      "firewall",
      "firewall-confirm",
      "zfs",
      "nvidia",
      "nvidia-verify",
      "gpu-power",
      "vllm-runtime",
      "models",
      "llama-swap",
      "ups",
      "exporters",
      "app-memory",
      "app-chat",
    ]);
  });

  it("gives a reboot time to settle before the driver check, which waits long for the host", async () => {
    const { resources } = await runEstate(home);
    const grace = resources.find((r) => r.name === "infernus-gpu1-reboot-grace")!;
    expect(grace.type).toBe("command:local:Command");
    expect(grace.inputs.create).toBe("sleep 60");
    expect(grace.dependsOn).toContain(resources.find((r) => r.name === "gpu1-nvidia")!.urn);
    const verify = resources.find((r) => r.name === "gpu1-nvidia-verify")!;
    expect(verify.dependsOn).toContain(grace.urn);
    // Up to 15 minutes of refused connections at the provider's backoff (100 ms ×1.5, at most 5 s):
    // a server board with much RAM POSTs for minutes.
    expect(dialingSeconds((verify.inputs.connection as { dialErrorLimit: number }).dialErrorLimit)).toBeGreaterThanOrEqual(900);
  });

  it("re-runs only the power step when the power limit changes", async () => {
    const before = await triggers(home);
    const config = clone(home);
    config.servers[0].gpus[0].powerLimitW = 400;
    const after = await triggers(config);
    const changed = Object.keys(before).filter((step) => before[step] !== after[step]);
    expect(changed).toEqual(["gpu-power"]);
  });

  it("re-runs the driver and its check, not the base, when the driver branch changes", async () => {
    const before = await triggers(home);
    const config = clone(home);
    config.servers[0].driver.branch = 590;
    const after = await triggers(config);
    const changed = Object.keys(before).filter((step) => before[step] !== after[step]);
    expect(changed).toEqual(["nvidia", "nvidia-verify"]);
  });

  it("holds the driver and the kernel from unattended upgrades", async () => {
    const { result } = await runEstate(home);
    const hardening = result.servers.gpu1.host.steps.find((s) => s.name === "hardening")!;
    const files = (await resolve(hardening.files)).value;
    const unattended = files.find((f) => f.path.endsWith("52infernus-unattended-upgrades"))!.content;
    expect(unattended).toContain('Unattended-Upgrade::Package-Blacklist { "^nvidia-"; "^libnvidia-"; "^linux-modules-nvidia-"; "^linux-(image|headers|modules|generic|signed)"; };');
  });

  it("opens SSH to the tunnel and LAN, and the serving port to the tunnel only", async () => {
    const { result } = await runEstate(home);
    const firewall = result.servers.gpu1.host.steps.find((s) => s.name === "firewall")!;
    const rules = (await resolve(firewall.files)).value.find((f) => f.path === "/etc/infernus/firewall.next.nft")!.content;
    expect(rules).toContain('ip saddr { 10.66.0.0/24, 192.168.1.0/24 } tcp dport 22 accept comment "SSH from the tunnel and the LAN"');
    expect(rules).toContain('ip saddr { 10.66.0.0/24 } tcp dport 8080 accept comment "models, for the gateway"');
  });

  it("has no driver steps on a server without an NVIDIA GPU", async () => {
    const config = clone(home);
    config.servers[0].gpus = [{ model: "radeon-rx-9070-xt" }];
    config.servers[0].models = [];
    config.apps = [];
    const { result } = await runEstate(config);
    expect(result.servers.gpu1.host.steps.map((s) => s.name)).not.toContain("nvidia");
    expect((await resolve(result.servers.gpu1.gpuInventory)).value).toEqual([]);
  });

  it("reads no inventory before a run", () => {
    expect(parseInventory(undefined)).toEqual([]);
    expect(parseInventory("infernus[x]: nothing\n")).toEqual([]);
  });
});

describe("the escape hatch", () => {
  it("passes raw vLLM arguments on, with a warning on every run", async () => {
    const warn = vi.spyOn(pulumi.log, "warn");
    const config = clone(home);
    config.servers[0].models[2] = { name: "qwen3-embedding-8b", extraArgs: ["--enforce-eager"] };
    await runEstate(config);
    expect(warn.mock.calls.map((c) => c[0])).toContain("gpu1: qwen3-embedding-8b passes unchecked vLLM arguments: --enforce-eager");
    warn.mockRestore();
  });
});

describe("the Hugging Face token", () => {
  it("reaches the server only inside the secret stdin of the models step, as a 0600 file", async () => {
    const { result, resources } = await runEstate({ ...home, hfToken: "hf_standin_token_for_tests" });
    const step = result.servers.gpu1.host.steps.find((s) => s.name === "models")!;
    expect(await pulumi.isSecret(step.stdin)).toBe(true);
    expect(resources.find((r) => r.name === "gpu1-models")!.secretInputs).toContain("stdin");
    const file = (await resolve(step.files)).value.find((f) => f.path === "/etc/infernus/hf-token.env")!;
    expect(file).toMatchObject({ mode: "0600", content: "HF_TOKEN=hf_standin_token_for_tests\n" });
    for (const other of result.servers.gpu1.host.steps.filter((s) => s.name !== "models")) {
      expect((await resolve(other.stdin)).value).not.toContain("hf_standin_token_for_tests");
    }
  });
});

describe("the GPU server's parts", () => {
  it("are components of their own areas, children of the server", async () => {
    const { resources } = await runEstate(home);
    const parts = resources.filter((r) => ["infernus:storage:Storage", "infernus:serving:Serving", "infernus:power:Ups"].includes(r.type));
    expect(parts.map((p) => `${p.type} ${p.name}`).sort()).toEqual([
      "infernus:power:Ups infernus-gpu1-ups",
      "infernus:serving:Serving infernus-gpu1-serving",
      "infernus:storage:Storage infernus-gpu1-storage",
    ]);
    const server = resources.find((r) => r.name === "infernus-gpu1")!;
    for (const part of parts) expect(part.parent).toBe(server.urn);
    const password = resources.find((r) => r.name === "infernus-gpu1-ups-password")!;
    expect(password.parent).toBe(parts.find((p) => p.type === "infernus:power:Ups")!.urn);
  });
});
