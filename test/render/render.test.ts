import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { renderStack, STAND_IN_CLIENT, writeTree } from "../../render/render";
import { stackConfig } from "../../render/stackFile";
import { tool } from "../helpers";

function listTree(dir: string, prefix = ""): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const full = path.join(dir, entry);
      return statSync(full).isDirectory() ? listTree(full, `${prefix}${entry}/`) : [`${prefix}${entry}`];
    });
}

describe.each([["home"], ["singapore"]])("npm run render -- %s", (stack) => {
  it("writes the layout of DESIGN.md: hosts, steps, clients, cloud, plan and topology, and the runbook", async () => {
    const files = new Set((await renderStack(stack)).files.keys());
    const plan = JSON.parse(String((await renderStack(stack)).files.get("plan.json")));
    const fromSteps = new Set<string>();
    for (const step of plan.steps) {
      const stdin = `steps/${step.host}/${String(step.order).padStart(2, "0")}-${step.step}.sh`;
      expect(files, stdin).toContain(stdin);
      fromSteps.add(stdin);
      for (const file of step.files) fromSteps.add(`hosts/${step.host}${file.path}`);
    }
    const clients = ["laptop", "minipc", "phone"].map((c) => `clients/${c}.conf`);
    const cloud = stack === "singapore" ? ["cloud/infernus-edge-droplet.user-data.yaml"] : [];
    expect([...files].sort()).toEqual([...fromSteps, ...clients, ...cloud, "RUNBOOK.md", "plan.json", "serving.md", "topology.md"].sort());
    expect(files).toContain("hosts/gpu1/etc/wireguard/wg0.conf");
  });

  it("writes byte-identical trees twice", async () => {
    const [a, b] = [mkdtempSync(path.join(tmpdir(), "infernus-a-")), mkdtempSync(path.join(tmpdir(), "infernus-b-"))];
    writeTree(a, await renderStack(stack));
    writeTree(b, await renderStack(stack));
    const files = listTree(a);
    expect(listTree(b)).toEqual(files);
    for (const file of files) expect(readFileSync(path.join(b, file)).equals(readFileSync(path.join(a, file))), file).toBe(true);
  });

  it("marks the values only a deployment can give as stand-ins in plan.json", async () => {
    const plan = JSON.parse(String((await renderStack(stack)).files.get("plan.json")));
    const keys = plan.resources.filter((r: { type: string; name: string }) => r.type === "random:index/randomPassword:RandomPassword" && r.name.startsWith("infernus-tunnel-"));
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key.standIns).toEqual(["result"]);
    if (stack === "singapore") {
      const ip = plan.resources.find((r: { name: string }) => r.name === "infernus-edge-ip");
      expect(ip).toMatchObject({ protect: true, standIns: ["ipAddress", "reservedIpUrn"] });
      expect(plan.tunnelEndpoint).toMatch(/^203\.0\.113\.\d+:51820$/);
    }
    for (const step of plan.steps) expect(step.trigger).toMatch(/^[0-9a-f]{64}$/);
  });

  it("marks each client config as the stand-in it is, and draws no QR code a phone could scan", async () => {
    const { files } = await renderStack(stack);
    for (const device of ["laptop", "minipc", "phone"]) {
      expect(String(files.get(`clients/${device}.conf`)).split("\n")[0]).toBe(STAND_IN_CLIENT);
      expect(files.has(`clients/${device}.png`)).toBe(false);
    }
    // wg-quick (real tool) takes it as it is: the mark is a comment.
    const file = path.join(mkdtempSync(path.join(tmpdir(), "infernus-client-")), "phone.conf");
    writeFileSync(file, String(files.get("clients/phone.conf")), { mode: 0o600 });
    const strip = tool("wg-quick", ["strip", file]);
    expect(strip.stderr).toBe("");
    expect(strip.status).toBe(0);
    expect(strip.stdout).toMatch(/^\[Interface\]\nPrivateKey = /m);
  });

  it("renders a hub NAT ruleset that nft -c (real tool) accepts", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "infernus-nft-"));
    const tree = await renderStack(stack);
    writeTree(dir, tree);
    const result = tool("nft", ["-c", "-f", path.join(dir, "hosts/edge/etc/wireguard/wg0-nat.nft")]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });
});

describe("the render follows the stack's edits as a deployment would", () => {
  const keyMap = async (config: Record<string, string>) => String((await renderStack("home", config)).files.get("hosts/edge/etc/nginx/infernus/api-keys.map"));
  const keyOf = (map: string, name: string) => new RegExp(`^"Bearer (.*)" ${name};$`, "m").exec(map)![1];

  it("renders a new key for an API key whose rotation was raised, and the same bytes for the others", async () => {
    const config = stackConfig("home");
    const apiKeys = JSON.parse(config["infernus:apiKeys"]) as { name: string; rotation?: number }[];
    const rotated = { ...config, "infernus:apiKeys": JSON.stringify(apiKeys.map((k, i) => (i === 0 ? { ...k, rotation: 1 } : k))) };
    const [before, after] = [await keyMap(config), await keyMap(rotated)];
    expect(keyOf(after, apiKeys[0].name)).not.toBe(keyOf(before, apiKeys[0].name));
    for (const other of apiKeys.slice(1)) expect(keyOf(after, other.name)).toBe(keyOf(before, other.name));
  });

  it("says in plan.json which steps wait for another host's: the self-check for each server's last step", async () => {
    const plan = JSON.parse(String((await renderStack("home")).files.get("plan.json"))) as { steps: { host: string; step: string; after?: string[] }[] };
    const lastOf = (host: string) => plan.steps.filter((s) => s.host === host).at(-1)!.step;
    const servers = [...new Set(plan.steps.map((s) => s.host))].filter((h) => h !== "edge");
    expect(plan.steps.find((s) => s.step === "self-check")!.after).toEqual(expect.arrayContaining(servers.map((h) => `${h}/${lastOf(h)}`)));
    for (const step of plan.steps) for (const other of step.after ?? []) expect(other.startsWith(`${step.host}/`)).toBe(false);
  });
});
