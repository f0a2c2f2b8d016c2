/** The self-check under mocks: last of all, re-run by any change it checks, its key secret. */
import { describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { resolve, type RecordedResource } from "../../render/runtime";
import { clone, runEstate, stackObject } from "../helpers";

const byName = (resources: readonly RecordedResource[], name: string) => resources.find((r) => r.name === name)!;
const triggerOf = (resources: readonly RecordedResource[]) => JSON.stringify(byName(resources, "edge-self-check").inputs.triggers);

/** Every resource `urn` waits for, directly or through others. */
function ancestors(resources: readonly RecordedResource[], urn: string): Set<string> {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const seen = new Set<string>();
  const queue = [urn];
  while (queue.length > 0) {
    for (const dep of byUrn.get(queue.pop()!)?.dependsOn ?? []) {
      if (!seen.has(dep)) {
        seen.add(dep);
        queue.push(dep);
      }
    }
  }
  return seen;
}

describe("the self-check step", () => {
  it.each(["home", "singapore"])("comes after every other step of every host (%s)", async (stack) => {
    const { resources } = await runEstate(stackObject(stack), stack);
    const check = byName(resources, "edge-self-check");
    const before = ancestors(resources, check.urn);
    const steps = resources.filter((r) => r.type === "command:remote:Command" && r.name !== "edge-self-check");
    expect(steps.length).toBeGreaterThan(20);
    for (const step of steps) expect(before.has(step.urn), step.name).toBe(true);
    // And nothing waits for it: it is the last thing `pulumi up` runs.
    expect(resources.filter((r) => r.dependsOn.includes(check.urn)).map((r) => r.name)).toEqual([]);
  });

  it("runs again when anything it checks changes, and not otherwise", async () => {
    const base = stackObject("home");
    // One program at a time: the mock runtime is process-wide.
    const same = triggerOf((await runEstate(base)).resources);
    expect(triggerOf((await runEstate(clone(base))).resources)).toBe(same);
    const edits: Record<string, (c: Record<string, any>) => void> = {
      "a model removed": (c) => c.servers[0].models.splice(1, 1),
      "a power limit": (c) => (c.servers[0].gpus[0].powerLimitW = 400),
      "a client device": (c) => c.clients.push({ name: "tablet" }),
      "an API key": (c) => c.apiKeys.push({ name: "cli" }),
      "an app": (c) => c.apps.pop(),
      "the edge's reboot time": (c) => (c.edge.rebootTime = "05:00"),
    };
    for (const [what, edit] of Object.entries(edits)) {
      const config = clone(base);
      edit(config);
      expect(triggerOf((await runEstate(config)).resources), what).not.toBe(same);
    }
  });

  it("carries its gateway key as a secret in a 0600 header file, and keeps it out of the users' keys", async () => {
    const { resources, result } = await runEstate(stackObject("home"));
    const check = byName(resources, "edge-self-check");
    expect(check.secretInputs).toContain("stdin");
    expect(String(check.inputs.stdin)).toMatch(/install_file '\/etc\/infernus\/check\.header' 0600/);
    expect(Object.keys(result.apiKeys)).toEqual(["ide", "obsidian", "n8n", "search", "chat"]);
    expect(Object.keys(result.gateway.apiKeys)).toContain("infernus-check");
  });

  it("gives npm run status the edge's SSH address, user and pinned host key, and no key of the operator's", async () => {
    const config: Record<string, any> = { ...stackObject("home"), sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----stand-in" };
    const { result } = await runEstate(config);
    expect(await pulumi.isSecret(result.edgeSsh)).toBe(false);
    const edgeSsh = (await resolve(result.edgeSsh)).value;
    expect(edgeSsh).toEqual({ host: "192.168.1.40", port: 22, user: "kirill", hostKey: config.edge.ssh.hostKey });
    expect(JSON.stringify(edgeSsh)).not.toContain("PRIVATE KEY");
  });

  it("refuses a user's API key named like the check's own", async () => {
    const config = stackObject("home");
    config.apiKeys.push({ name: "infernus-check" });
    await expect(runEstate(config)).rejects.toThrow(/apiKeys\[5\]\.name = infernus-check: also the name of the self-check's own key/);
  });
});
