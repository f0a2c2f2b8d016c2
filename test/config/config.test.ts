import { describe, expect, it } from "vitest";
import { parseEstateConfig } from "../../components/config/load";
import { ProgramFailed } from "../../render/runtime";
import { clone, problemsOf, runEstate, stackObject } from "../helpers";

const home = stackObject("home");
const singapore = stackObject("singapore");
const ED25519_BLOB = home.edge.ssh.hostKey.split(" ")[1];


type Case = [title: string, base: Record<string, any>, edit: (c: Record<string, any>) => void, path: string, says: RegExp];
const invalid: Case[] = [
  ["a client named like another client", home, (c) => (c.clients[1].name = "laptop"), "clients[1].name", /also the name of clients\[0\]/],
  ["a client named like a server", home, (c) => (c.clients[0].name = "gpu1"), "clients[0].name", /unique across the edge, servers and clients/],
  ["a tunnel network with prefix 33", home, (c) => (c.tunnel.cidr = "10.66.0.0/33"), "tunnel.cidr", /not an IPv4 network/],
  ["a tunnel network with host bits set", home, (c) => (c.tunnel.cidr = "10.66.0.5/24"), "tunnel.cidr", /host bits zero/],
  ["a LAN that overlaps the tunnel", home, (c) => (c.lan.cidrs = ["10.66.0.0/16"]), "lan.cidrs[0]", /overlaps tunnel.cidr/],
  ["two LANs that overlap", home, (c) => (c.lan.cidrs = ["192.168.1.0/24", "192.168.0.0/16"]), "lan.cidrs[1]", /overlaps lan.cidrs\[0\]/],
  ["a LAN gateway without a LAN", home, (c) => (c.lan = { gateway: {} }), "lan.gateway", /needs the home network: list it in lan.cidrs/],
  ["a LAN gateway on a server the stack lacks", home, (c) => (c.lan.gateway = { host: "gpu9" }), "lan.gateway.host", /not a server of this stack \(gpu1\)/],
  ["a LAN gateway off the LAN", home, (c) => (c.lan.gateway = { address: "10.1.2.3" }), "lan.gateway.address", /not on the LAN \(192.168.1.0\/24\)/],
  ["a LAN gateway whose server's ssh.host is off the LAN", home, (c) => ((c.servers[0].ssh.host = "10.66.0.20"), (c.lan.gateway = {})), "lan.gateway.address", /gpu1's ssh.host, taken by default, is not on the LAN/],
  ["a LAN gateway whose server is reached by name", home, (c) => ((c.servers[0].ssh.host = "gpu1.lan"), (c.lan.gateway = {})), "lan.gateway.address", /ssh.host gpu1.lan is not an address; set its address on the LAN/],
  ["a LAN gateway with no server serving models to pick", home, (c) => ((c.servers[0].models = []), (c.lan.gateway = {})), "lan.gateway.host", /no server serves models/],
  ["a tunnel too small for the peers", home, (c) => (c.tunnel.cidr = "10.66.0.0/30"), "tunnel.cidr", /2 host addresses cannot hold 5 peers \(1 edges, 1 servers, 3 clients\); use a \/24/],
  ["a WireGuard port above 65535", home, (c) => (c.tunnel.port = 70000), "tunnel.port", /ports are 1–65535/],
  ["an SSH port of 0", home, (c) => (c.servers[0].ssh.port = 0), "servers[0].ssh.port", /ports are 1–65535/],
  ["a misspelt SSH key", home, (c) => (c.servers[0].ssh.hots = "192.168.1.51"), "servers[0].ssh.hots", /unknown key; did you mean host\?/],
  ["a misspelt section", home, (c) => ((c.tunel = c.tunnel), delete c.tunnel), "tunel", /unknown key; did you mean tunnel\?/],
  ["a server without an SSH user", home, (c) => delete c.servers[0].ssh.user, "servers[0].ssh.user", /passwordless sudo/],
  ["an existing edge without an SSH host", home, (c) => delete c.edge.ssh.host, "edge.ssh.host", /host name or IPv4 address/],
  ["a host key that is not base64", home, (c) => (c.servers[0].ssh.hostKey = "ssh-ed25519 not*base64"), "servers[0].ssh.hostKey", /not base64/],
  ["a host key whose data is another type", home, (c) => (c.servers[0].ssh.hostKey = `ssh-rsa ${ED25519_BLOB}`), "servers[0].ssh.hostKey", /does not hold a ssh-rsa key/],
  ["a host key line of an unknown type", home, (c) => (c.edge.ssh.hostKey = `ssh-dss ${ED25519_BLOB}`), "edge.ssh.hostKey", /key type ssh-dss/],
  ["a server with neither a host key nor insecureIgnoreHostKey", home, (c) => delete c.servers[0].ssh.hostKey, "servers[0].ssh.hostKey", /insecureIgnoreHostKey: true/],
  ["a pinned address outside the tunnel", home, (c) => (c.clients[0].address = "10.67.0.5"), "clients[0].address", /not a host address inside the tunnel/],
  ["a pinned address that is the edge's", home, (c) => (c.clients[0].address = "10.66.0.1"), "clients[0].address", /already the address of edge/],
  ["a peer name with capitals", home, (c) => (c.servers[0].name = "GPU_1"), "servers[0].name", /lowercase letters/],
  ["an edge of an unknown kind", home, (c) => (c.edge.kind = "aws"), "edge.kind", /digitalocean .* or existing/],
  ["an unknown DigitalOcean region", singapore, (c) => (c.edge.region = "sgp2"), "edge.region", /region slug: .*sgp1/],
  ["a droplet size that is no slug", singapore, (c) => (c.edge.size = "2cpu"), "edge.size", /droplet size slug/],
  ["an MTU above jumbo frames", home, (c) => (c.tunnel.mtu = 9999), "tunnel.mtu", /at most 8920/],
  ["a droplet nobody can log into", singapore, (c) => (c.edge.sshAuthorizedKeys = []), "edge.sshAuthorizedKeys", /at least one key/],
  ["SSH open to the whole internet", singapore, (c) => c.edge.adminCidrs.push("0.0.0.0/0"), "edge.adminCidrs[1]", /whole internet; .*edge\.allowAnyAdmin: true/],
  ["a domain without an ACME email", singapore, (c) => (c.edge.domain = "llm.example.net"), "edge.acmeEmail", /contact address for the certificate of llm.example.net/],
  ["a domain that is not fully qualified", singapore, (c) => (c.edge.domain = "llm"), "edge.domain", /fully qualified domain name/],
  ["a DNS zone that does not hold the domain", singapore, (c) => Object.assign(c.edge, { domain: "llm.example.net", acmeEmail: "k@example.net", dnsZone: "example.org" }), "edge.dnsZone", /llm.example.net is not inside it/],
  ["two API keys with one name", home, (c) => c.apiKeys.push({ name: "ide" }), "apiKeys[5].name", /also the name of apiKeys\[0\]/],
  ["an API key rate of zero", home, (c) => (c.apiKeys[0].requestsPerMinute = 0), "apiKeys[0].requestsPerMinute", /at least 1/],
  ["a reboot time that is no time", home, (c) => (c.edge.rebootTime = "25:00"), "edge.rebootTime", /a time of day like 04:30/],
  ["an existing edge without adminCidrs", home, (c) => delete c.edge.adminCidrs, "edge.adminCidrs", /networks allowed to SSH/],
  ["driver branch 560 on Blackwell", home, (c) => (c.servers[0].driver.branch = 560), "servers[0].driver.branch", /RTX PRO 6000 Blackwell Workstation Edition needs branch 570 or newer; use 580/],
  ["the proprietary modules on Blackwell", home, (c) => (c.servers[0].driver.flavour = "proprietary"), "servers[0].driver.flavour", /only with the open kernel modules .*; use open or server-open/],
  ["a power limit above the card's range", home, (c) => (c.servers[0].gpus[0].powerLimitW = 700), "servers[0].gpus[0].powerLimitW", /accepts 150–600 W/],
  ["a power limit below the card's range", home, (c) => (c.servers[0].gpus[0].powerLimitW = 100), "servers[0].gpus[0].powerLimitW", /accepts 150–600 W/],
  ["a power limit on a card infernus does not drive", home, (c) => (c.servers[0].gpus[1].powerLimitW = 200), "servers[0].gpus[1].powerLimitW", /Radeon RX 9070 XT is not driven/],
  ["a disk not under /dev/disk/by-id", home, (c) => (c.servers[0].pools[0].vdevs[0][0] = "/dev/nvme0n1"), "servers[0].pools[0].vdevs[0][0].path", /\/dev\/disk\/by-id\/…, which stays the same/],
  ["a disk listed twice", home, (c) => (c.servers[0].disks = ["/dev/disk/by-id/usb-A", "/dev/disk/by-id/usb-A"]), "servers[0].disks[1]", /already listed as servers\[0\].disks\[0\]/],
  ["a device in two vdevs", home, (c) => c.servers[0].pools[1].vdevs.push([c.servers[0].pools[0].vdevs[0][0]]), "servers[0].pools[1].vdevs[1][0]", /also in servers\[0\].pools\[0\].vdevs\[0\]\[0\]; a disk belongs to one vdev/],
  ["wipe on a disk another pool uses", home, (c) => c.servers[0].pools[1].vdevs.push([{ path: c.servers[0].pools[0].vdevs[0][0], wipe: true }]), "servers[0].pools[1].vdevs[1][0].wipe", /wiping it would destroy that pool/],
  ["a pool without devices", home, (c) => (c.servers[0].pools[1].vdevs = []), "servers[0].pools[1].vdevs", /a pool needs at least one vdev of disks/],
  ["a vdev without disks", home, (c) => (c.servers[0].pools[1].vdevs = [[]]), "servers[0].pools[1].vdevs[0]", /a vdev needs at least one disk/],
  ["two primary pools", home, (c) => (c.servers[0].pools[1].role = "primary"), "servers[0].pools", /one pool is primary/],
  ["an offsite copy of an unknown kind", singapore, (c) => (c.offsite.kind = "dropbox"), "offsite.kind", /spaces \(a bucket made here\) or s3/],
  ["an offsite bucket name with capitals", singapore, (c) => (c.offsite.bucket = "Kirill_Backup"), "offsite.bucket", /3–63 lowercase letters/],
  ["a UPS that cuts power after restoring it", home, (c) => (c.servers[0].ups.offDelaySeconds = 40), "servers[0].ups.offDelaySeconds", /less than onDelaySeconds \(30\)/],
  ["a GPU model neither in the catalogue nor described", home, (c) => (c.servers[0].gpus[0].model = "rtx-9090"), "servers[0].gpus[0].model", /not in the catalogue .*rtx-pro-6000-blackwell-workstation.*; describe the card with specs/],
  ["a time zone that is no zone name", home, (c) => (c.servers[0].timezone = "GMT+7 Bangkok"), "servers[0].timezone", /IANA time zone/],
  ["--enable-flash-attention from the notes", home, (c) => (c.servers[0].models[1].enableFlashAttention = true), "servers[0].models[1].enableFlashAttention", /does not exist\): it picks its attention backend itself/],
  ["--speculative-decoding from the notes", home, (c) => (c.servers[0].models[1].speculativeDecoding = true), "servers[0].models[1].speculativeDecoding", /use speculativeConfig: \{ method, num_speculative_tokens \}/],
  ["--max-concurrent-requests from the notes", home, (c) => (c.servers[0].models[1].maxConcurrentRequests = 64), "servers[0].models[1].maxConcurrentRequests", /use maxNumSeqs/],
  ["VLLM_ENABLE_FP8 from the notes", home, (c) => (c.servers[0].models[1].env = { VLLM_ENABLE_FP8: "true" }), "servers[0].models[1].env.VLLM_ENABLE_FP8", /vLLM does not read VLLM_ENABLE_FP8; use kvCacheDtype: fp8/],
  ["a model not in the catalogue", home, (c) => c.servers[0].models.push("llama-3.1-70b"), "servers[0].models[3].name", /not in the model catalogue \(gpt-oss-120b, /],
  ["a model served twice", home, (c) => c.servers[0].models.push("gpt-oss-120b"), "servers[0].models[3].name", /already served as servers\[0\].models\[0\].name/],
  ["a context longer than the model's", home, (c) => (c.servers[0].models[1].maxModelLen = 1048576), "servers[0].models[1].maxModelLen", /supports at most 262144 tokens/],
  ["Qwen3-235B in BF16 on one 96 GB card", home, (c) => c.servers[0].models.push("qwen3-235b"), "servers[0].models[3]", /437\.7 GiB of weights.*its weights alone do not fit/],
  ["models on a server without an NVIDIA GPU", home, (c) => (c.servers[0].gpus = [{ model: "radeon-rx-9070-xt" }]), "servers[0].models[0]", /declares no NVIDIA GPU/],
  ["an unpinned vLLM version", home, (c) => (c.serving = { vllmVersion: "latest" }), "serving.vllmVersion", /a release like 0\.21\.0/],
];

describe("the stack config", () => {
  it.each([["home"], ["singapore"]])("accepts the %s stack file", (stack) => {
    expect(problemsOf(stackObject(stack))).toEqual([]);
  });

  it("fills defaults for what the stack file leaves out", () => {
    const config = parseEstateConfig({ edge: home.edge, servers: home.servers });
    expect(config.tunnel).toEqual({ cidr: "10.66.0.0/24", port: 51820, mtu: 1420, interface: "wg0", keepaliveSeconds: 25, clientDns: ["9.9.9.9", "1.1.1.1"] });
    expect(config.clients).toEqual([]);
    expect(config.servers[0].ssh).toMatchObject({ port: 22, viaEdge: false, insecureIgnoreHostKey: false });
  });

  it.each(invalid)("rejects %s, naming the key", (_title, base, edit, path, says) => {
    const config = clone(base);
    edit(config);
    const problems = problemsOf(config);
    expect(problems.map((p) => p.path)).toContain(path);
    expect(problems.find((p) => p.path === path)!.message).toMatch(says);
  });

  it.each(invalid)("registers no resource for %s", async (_title, base, edit, path) => {
    const config = clone(base);
    edit(config);
    const failure = await runEstate(config).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ProgramFailed);
    expect((failure as ProgramFailed).message).toContain(`  ${path}`);
    expect((failure as ProgramFailed).resources).toEqual([]);
  });

  it("reports every problem at once, one line each", () => {
    const config = clone(home);
    config.tunnel.port = 0;
    config.servers[0].ssh.user = "Kirill";
    config.clients[0].fullTunel = true;
    let message = "";
    try {
      parseEstateConfig(config);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split("\n")).toEqual([
      "infernus: the stack config has 3 problems",
      "  tunnel.port = 0: ports are 1–65535",
      "  clients[0].fullTunel = true: unknown key; did you mean fullTunnel?",
      "  servers[0].ssh.user = Kirill: not a Linux user name",
    ]);
  });

  it("accepts a GPU the catalogue does not know when its specs are given", () => {
    const config = clone(home);
    config.servers[0].gpus.push({ model: "rtx-5090", specs: { vendor: "nvidia", marketingName: "GeForce RTX 5090", computeCapability: "12.0", memoryGiB: 32, powerW: { min: 400, max: 600 }, minDriverBranch: 570, openModulesOnly: true }, powerLimitW: 450 });
    expect(problemsOf(config)).toEqual([]);
  });

  it("accepts SSH from anywhere only when told so", () => {
    const config = clone(singapore);
    config.edge.adminCidrs = ["0.0.0.0/0"];
    config.edge.allowAnyAdmin = true;
    expect(problemsOf(config)).toEqual([]);
  });

  it("accepts a host it may not verify only when told so", () => {
    const config = clone(home);
    delete config.servers[0].ssh.hostKey;
    config.servers[0].ssh.insecureIgnoreHostKey = true;
    expect(problemsOf(config)).toEqual([]);
  });
});

describe("an empty stack config", () => {
  it("asks for the edge and points at the example stacks", () => {
    expect(problemsOf({})).toEqual([
      { path: "edge", value: undefined, message: expect.stringMatching(/^the edge, with kind: digitalocean .* or existing .*; Pulumi.home.yaml and Pulumi.singapore.yaml show both$/) },
    ]);
  });
});
