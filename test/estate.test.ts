/** The estate's resources under Pulumi's mocks: tree, options, step order, triggers and secrets. */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it, vi } from "vitest";
import { sha256 } from "../components/host/stdin";
import { STEP_COMMAND } from "../components/host/remoteHost";
import { GATEWAY_PATHS } from "../components/gateway/nginx";
import { resolve, runUnderMocks, type RecordedResource } from "../render/runtime";
import { clone, pulumiConfig, runEstate, secretKeysOf, stackObject } from "./helpers";

const home = stackObject("home");
const singapore = stackObject("singapore");
const byName = (resources: readonly RecordedResource[], name: string) => resources.find((r) => r.name === name)!;
const parentOf = (resources: readonly RecordedResource[], name: string) => resources.find((r) => r.urn === byName(resources, name).parent)?.name;

async function triggers(config: Record<string, any>): Promise<Record<string, string>> {
  const { result } = await runEstate(config);
  const entries = await Promise.all(result.hosts.flatMap((h) => h.steps.map(async (s) => [`${s.host}/${s.name}`, (await resolve(s.trigger)).value])));
  return Object.fromEntries(entries);
}

describe("the estate under mocks", () => {
  it("builds the home tree: estate, edge, tunnel, hosts, keys, steps", async () => {
    const { resources } = await runEstate(home);
    expect(parentOf(resources, "infernus-edge")).toBe("infernus");
    expect(parentOf(resources, "infernus-tunnel")).toBe("infernus");
    expect(parentOf(resources, "edge")).toBe("infernus-edge");
    expect(parentOf(resources, "gpu1")).toBe("infernus-gpu1");
    expect(parentOf(resources, "infernus-gpu1")).toBe("infernus");
    expect(parentOf(resources, "edge-wireguard")).toBe("edge");
    expect(parentOf(resources, "gpu1-wireguard")).toBe("gpu1");
    for (const peer of ["edge", "gpu1", "laptop", "minipc", "phone"]) expect(parentOf(resources, `infernus-tunnel-${peer}-key`)).toBe("infernus-tunnel");
    const types = resources.map((r) => r.type);
    expect(types.filter((t) => t.startsWith("digitalocean:"))).toEqual([]);
    expect(resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword" && r.name.startsWith("infernus-tunnel-"))).toHaveLength(9);
    // pulumi-random makes these IDs from their values (computeRandomBytesID; random_id's is its
    // b64_url), and the engine never encrypts an ID: seen in the real engine's state file.
    expect(types.filter((t) => t === "random:index/randomBytes:RandomBytes" || t === "random:index/randomId:RandomId")).toEqual([]);
  });

  it("creates the droplet, its reserved IP (protected) and the pinned host key in the singapore stack", async () => {
    const { resources } = await runEstate(singapore);
    expect(byName(resources, "infernus-edge-droplet").inputs).toMatchObject({ region: "sgp1", size: "s-1vcpu-2gb", image: "ubuntu-24-04-x64" });
    expect(byName(resources, "infernus-edge-ip").protect).toBe(true);
    expect(byName(resources, "infernus-edge-host-key").inputs).toMatchObject({ algorithm: "ED25519" });
    const edgeConnection = byName(resources, "edge-wireguard").inputs.connection as Record<string, string>;
    expect(edgeConnection.hostKey).toMatch(/^ssh-ed25519 AAAA/);
    expect(edgeConnection.user).toBe("infernus");
  });

  it("runs every step with the fixed sudo command, its stdin, triggers on its sha256 and its machine, and retainOnDelete", async () => {
    const { result, resources } = await runEstate(singapore);
    const commands = resources.filter((r) => r.type === "command:remote:Command");
    const steps = result.hosts.flatMap((h) => h.steps);
    expect(commands.map((c) => c.name).sort()).toEqual(steps.map((s) => `${s.host}-${s.name}`).sort());
    expect(commands.length).toBeGreaterThan(10);
    for (const command of commands) {
      expect(command.retainOnDelete).toBe(true);
      expect(command.inputs.create).toBe(STEP_COMMAND);
      expect(command.inputs.delete).toBeUndefined();
      const machine = command.name.startsWith("edge-") ? byName(resources, "infernus-edge-droplet").id : singapore.servers[0].ssh.hostKey;
      expect(command.inputs.triggers).toEqual([sha256(command.inputs.stdin as string), machine]);
      // An Update (the connection alone changed) runs no script: it drains stdin.
      expect(command.inputs.update).toMatch(/^cat >\/dev\/null;/);
    }
    for (const host of result.hosts) expect(host.steps.map((s) => s.order)).toEqual(host.steps.map((_, i) => i + 1));
  });

  it("orders each host's steps: a step depends on the one before it", async () => {
    const { resources } = await runEstate(singapore);
    expect(byName(resources, "edge-wireguard").dependsOn).toContain(byName(resources, "edge-cloud-init").urn);
  });

  it("reaches a viaEdge server through the edge, after the edge's tunnel is up", async () => {
    const config = clone(singapore);
    config.servers[0].ssh = { ...config.servers[0].ssh, host: "10.66.0.135", viaEdge: true };
    const { resources } = await runEstate(config);
    const first = byName(resources, "gpu1-preflight");
    const connection = first.inputs.connection as Record<string, any>;
    expect(connection.host).toBe("10.66.0.135");
    expect(connection.proxy).toMatchObject({ user: "infernus", hostKey: expect.stringMatching(/^ssh-ed25519 /) });
    expect(first.dependsOn).toContain(byName(resources, "edge-wireguard").urn);
  });

  it("sends every step's stdin that holds a secret to the engine as a secret", async () => {
    const { resources } = await runEstate(home);
    for (const name of ["edge-wireguard", "gpu1-wireguard", "edge-gateway"]) expect(byName(resources, name).secretInputs, name).toContain("stdin");
  });

  it("keeps every key, preshared key, client config and step stdin secret, and public keys plain", async () => {
    const { result } = await runEstate(home);
    for (const peer of Object.values(result.tunnel.peers)) {
      expect(await pulumi.isSecret(peer.privateKey)).toBe(true);
      expect(await pulumi.isSecret(peer.config)).toBe(true);
      if (peer.presharedKey) expect(await pulumi.isSecret(peer.presharedKey)).toBe(true);
      expect(await pulumi.isSecret(peer.publicKey)).toBe(false);
    }
    for (const config of Object.values(result.clientConfigs)) expect(await pulumi.isSecret(config)).toBe(true);
    for (const step of result.hosts.flatMap((h) => h.steps.filter((s) => s.name === "wireguard"))) {
      expect(await pulumi.isSecret(step.stdin)).toBe(true);
      expect(await pulumi.isSecret(step.trigger)).toBe(false);
    }
  });

  it("keeps the SSH private key from config secret in every connection", async () => {
    const { result } = await runEstate({ ...home, sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nstand-in\n-----END OPENSSH PRIVATE KEY-----" });
    for (const host of result.hosts) expect(await pulumi.isSecret(host.connection)).toBe(true);
  });

  it("re-runs only the hub's step when a client is added", async () => {
    const before = await triggers(home);
    const config = clone(home);
    config.clients.push({ name: "tablet" });
    const after = await triggers(config);
    expect(after["edge/wireguard"]).not.toBe(before["edge/wireguard"]);
    expect(after["gpu1/wireguard"]).toBe(before["gpu1/wireguard"]);
  });

  it("re-runs nothing when the config is rendered again unchanged", async () => {
    expect(await triggers(home)).toEqual(await triggers(home));
  });

  it("re-runs every tunnel step when the MTU changes", async () => {
    const before = await triggers(home);
    const config = clone(home);
    config.tunnel.mtu = 1412;
    const after = await triggers(config);
    for (const step of ["edge/wireguard", "gpu1/wireguard"]) expect(after[step]).not.toBe(before[step]);
  });

  it("sends the gateway only to servers with models: one serving nothing runs no llama-swap", async () => {
    const config = clone(home);
    config.servers.push({ name: "nas", ssh: { host: "192.168.1.60", user: "kirill", insecureIgnoreHostKey: true } });
    const { result } = await runEstate(config);
    const files = (await Promise.all(result.edge.host.steps.map(async (s) => (await resolve(s.files)).value))).flat();
    const nginx = files.find((f) => f.path === GATEWAY_PATHS.config)!.content;
    const upstream = /upstream infernus_models \{\n([\s\S]*?)\n\s*\}/.exec(nginx)![1];
    expect(upstream.match(/^\s*server \S+/gm)).toEqual([`    server ${result.addresses.gpu1}:8080`]);
    expect(nginx).not.toContain(`${result.addresses.nas}:8080`);
  });

  it("tells how to restore the offsite copy of the servers with pools only", async () => {
    const config = clone(singapore);
    config.servers.push({ name: "nas", ssh: { host: "192.168.1.60", user: "kirill", insecureIgnoreHostKey: true } });
    const { result } = await runEstate(config);
    const summary = (await resolve(result.offsiteSummary!)).value;
    expect(summary.restore).toContain("The copy of gpu1 is in bucket kirill-infernus-backup");
    expect(summary.restore).not.toContain("nas");
  });

  it("exports the endpoint, every address, and client configs", async () => {
    const { result } = await runEstate(home);
    expect((await resolve(result.tunnelEndpoint)).value).toBe("kirill-home.duckdns.org:51820");
    expect(Object.keys(result.addresses)).toEqual(["edge", "gpu1", "laptop", "minipc", "phone"]);
    expect(Object.keys(result.clientConfigs)).toEqual(["laptop", "minipc", "phone"]);
  });
});

describe("index.ts", () => {
  it("runs under mocks and exports the endpoint, the addresses and the client configs (secret)", async () => {
    vi.resetModules();
    const { result } = await runUnderMocks(() => import("../index"), { config: pulumiConfig(home), stack: "home" });
    // Without an offsite copy or a LAN gateway, home has neither output.
    expect(Object.keys(result).filter((k) => k !== "default").sort()).toEqual(["apiBaseUrl", "apiKeys", "apiSnippets", "appSnippets", "apps", "caCertificate", "clientConfigs", "edgeSsh", "gpuInventory", "grafana", "monitoring", "selfCheck", "serving", "storage", "tunnelAddresses", "tunnelEndpoint", "usage"]);
    expect(await pulumi.isSecret(result.grafana!)).toBe(true);
    for (const secret of [result.clientConfigs, result.apiKeys, result.apiSnippets, result.appSnippets]) expect(await pulumi.isSecret(pulumi.output(secret))).toBe(true);
    expect(result.apps).toEqual({
      search: { kind: "perplexica", host: "edge", url: "http://10.66.0.1:3000" },
      memory: { kind: "qdrant", host: "gpu1", url: "http://10.66.0.135:6333" },
      chat: { kind: "open-webui", host: "gpu1", url: "http://10.66.0.135:3080" },
      n8n: { kind: "n8n", host: "edge", url: "http://10.66.0.1:5678" },
    });
    expect(await pulumi.isSecret(pulumi.output(result.caCertificate))).toBe(false);
    expect((await resolve(result.tunnelAddresses)).value).toMatchObject({ edge: "10.66.0.1" });
    expect((result.storage as unknown as Record<string, { datasets: object[] }>).gpu1.datasets).toContainEqual({ name: "tank/rag", mountpoint: "/srv/rag", snapshots: "frequent", replica: "vault/backup/rag" });
    expect(result.serving).toEqual({ gpu1: { models: ["gpt-oss-120b", "qwen3-coder-30b", "qwen3-embedding-8b"], residentSets: [["gpt-oss-120b", "qwen3-embedding-8b"], ["qwen3-coder-30b", "qwen3-embedding-8b"]], kinds: { "gpt-oss-120b": "chat", "qwen3-coder-30b": "chat", "qwen3-embedding-8b": "embedding" } } });
  });
});

const withDomain = { ...singapore, edge: { ...singapore.edge, domain: "llm.example.net", acmeEmail: "k@example.net" } };

describe.each([
  ["home", "home", home, ["caCertificate", "monitoring"]],
  ["singapore", "singapore", singapore, ["caCertificate", "offsite", "monitoring"]],
  ["singapore with a domain (Let's Encrypt)", "singapore", withDomain, ["offsite", "monitoring"]],
])("index.ts on the %s stack", (_title, stack, config, present) => {
  it("exports no output as undefined (the SDK would warn it will not show as a stack output)", async () => {
    // index.ts runs the program when imported: a fresh copy for this stack.
    vi.resetModules();
    const { result } = await runUnderMocks(() => import("../index"), { config: pulumiConfig(config), secretKeys: secretKeysOf(config), stack });
    const outputs = Object.entries(result).filter(([key]) => key !== "default");
    expect(outputs.filter(([, value]) => value === undefined).map(([key]) => key)).toEqual([]);
    const optional = ["caCertificate", "offsite", "monitoring"];
    expect(outputs.map(([key]) => key).filter((key) => optional.includes(key))).toEqual(present);
  });
});
