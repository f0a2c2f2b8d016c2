/** The edge and the gateway under Pulumi's mocks. */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { stackOutputs } from "../../components/outputs";
import { resolve, type RecordedResource } from "../../render/runtime";
import { clone, runEstate, stackObject } from "../helpers";

const home = stackObject("home");
const singapore = stackObject("singapore");
const one = (resources: readonly RecordedResource[], type: string) => {
  const found = resources.filter((r) => r.type === type);
  expect(found, type).toHaveLength(1);
  return found[0];
};
const dropletInputs = async (config: Record<string, any>) => one((await runEstate(config)).resources, "digitalocean:index/droplet:Droplet").inputs;

describe("the DigitalOcean edge", () => {
  it("puts the droplet in its VPC and project, behind a protected reserved IP", async () => {
    const { resources } = await runEstate(singapore);
    const droplet = one(resources, "digitalocean:index/droplet:Droplet");
    const vpc = one(resources, "digitalocean:index/vpc:Vpc");
    expect(vpc.inputs).toMatchObject({ region: "sgp1" });
    expect(droplet.inputs.vpcUuid).toBe(vpc.id);
    expect(one(resources, "digitalocean:index/reservedIp:ReservedIp").protect).toBe(true);
    const project = one(resources, "digitalocean:index/project:Project");
    expect(project.inputs.resources).toEqual([expect.stringMatching(/^do:droplet:/), expect.stringMatching(/^do:reservedip:203\.0\.113\./)]);
    expect(droplet.secretInputs).toContain("userData");
  });

  it("admits in its cloud firewall exactly what the host firewall opens", async () => {
    const { resources } = await runEstate(singapore);
    const firewall = one(resources, "digitalocean:index/firewall:Firewall").inputs as { inboundRules: object[]; outboundRules: object[] };
    const anywhere = ["0.0.0.0/0", "::/0"];
    expect(firewall.inboundRules).toEqual([
      { protocol: "udp", portRange: "51820", sourceAddresses: anywhere },
      { protocol: "tcp", portRange: "443", sourceAddresses: anywhere },
      { protocol: "tcp", portRange: "22", sourceAddresses: ["203.0.113.7/32"] },
      { protocol: "icmp", sourceAddresses: anywhere },
    ]);
    expect(firewall.outboundRules).toHaveLength(3);
  });

  it("opens port 80 for Let's Encrypt only with a domain, and keeps its DNS record with a zone", async () => {
    const config = clone(singapore);
    Object.assign(config.edge, { domain: "llm.example.net", acmeEmail: "kirill@example.net", dnsZone: "example.net" });
    const { resources, result } = await runEstate(config);
    const firewall = one(resources, "digitalocean:index/firewall:Firewall").inputs as { inboundRules: { portRange?: string }[] };
    expect(firewall.inboundRules.map((r) => r.portRange)).toContain("80");
    expect(one(resources, "digitalocean:index/domain:Domain")).toMatchObject({ protect: true, inputs: { name: "example.net" } });
    expect(one(resources, "digitalocean:index/dnsRecord:DnsRecord").inputs).toMatchObject({ type: "A", name: "llm", value: expect.stringMatching(/^203\.0\.113\./) });
    expect((await resolve(result.gateway.baseUrl)).value).toBe("https://llm.example.net/v1");
    expect(resources.filter((r) => r.type.startsWith("tls:") && r.name.includes("gateway"))).toEqual([]);
  });

  it("keeps the droplet as it is when anything steps can apply changes", async () => {
    const before = await dropletInputs(singapore);
    const edits: ((c: Record<string, any>) => void)[] = [
      (c) => (c.tunnel.port = 51821),
      (c) => c.clients.push({ name: "tablet" }),
      (c) => c.apiKeys.push({ name: "new" }),
      (c) => (c.gateway = { maxRequestMiB: 64 }),
      (c) => c.edge.adminCidrs.push("198.51.100.0/24"),
      (c) => (c.edge.rebootTime = "03:00"),
    ];
    for (const edit of edits) {
      const config = clone(singapore);
      edit(config);
      expect(await dropletInputs(config)).toEqual(before);
    }
  });

  // What the engine then does (a new image replaces it, a new size resizes it in place, a new
  // region is refused) is in test/engine: mocks know no provider's diff.
  it("passes a new image, size or region on to the droplet", async () => {
    const before = await dropletInputs(singapore);
    for (const [key, value] of [["image", "ubuntu-26-04-x64"], ["size", "s-2vcpu-4gb"], ["region", "blr1"]]) {
      const config = clone(singapore);
      config.edge[key] = value;
      expect((await dropletInputs(config))[key]).toBe(value);
      expect(await dropletInputs(config)).not.toEqual(before);
    }
  });
});

describe("the edge's steps", () => {
  it("run in order: tunnel, gateway, hardening, firewall, its confirmation, exporters, apps, monitoring, Grafana, then the self-check", async () => {
    const { result } = await runEstate(singapore);
    expect(result.edge.host.steps.map((s) => s.name)).toEqual(["cloud-init", "wireguard", "gateway", "hardening", "firewall", "firewall-confirm", "exporters", "monitoring", "grafana", "self-check"]);
    const { result: atHome } = await runEstate(home);
    expect(atHome.edge.host.steps.map((s) => s.name)).toEqual(["wireguard", "gateway", "hardening", "firewall", "firewall-confirm", "exporters", "app-search", "app-n8n", "monitoring", "grafana", "self-check"]);
  });

  it("re-run the firewall confirmation whenever the firewall changes, and only then", async () => {
    const triggers = async (config: Record<string, any>) =>
      Object.fromEntries(await Promise.all((await runEstate(config)).result.edge.host.steps.map(async (s) => [s.name, (await resolve(s.trigger)).value])));
    const before = await triggers(singapore);
    const moreAdmins = clone(singapore);
    moreAdmins.edge.adminCidrs.push("198.51.100.0/24");
    const after = await triggers(moreAdmins);
    expect(after.firewall).not.toBe(before.firewall);
    expect(after["firewall-confirm"]).not.toBe(before["firewall-confirm"]);
    expect(after.gateway).toBe(before.gateway);
    const newKey = clone(singapore);
    newKey.apiKeys.push({ name: "new" });
    const third = await triggers(newKey);
    expect(third.gateway).not.toBe(before.gateway);
    expect(third["firewall-confirm"]).toBe(before["firewall-confirm"]);
  });
});

describe("the gateway", () => {
  it("generates one secret key per user, and the snippets that carry them are secret", async () => {
    const { result, resources } = await runEstate(home);
    expect(Object.keys(result.apiKeys)).toEqual(["ide", "obsidian", "n8n", "search", "chat"]);
    // The self-check's own key is a gateway key like the others, and as secret.
    expect(Object.keys(result.gateway.apiKeys)).toEqual(["ide", "obsidian", "n8n", "search", "chat", "infernus-check"]);
    for (const key of Object.values(result.gateway.apiKeys)) {
      expect(await pulumi.isSecret(key)).toBe(true);
      expect((await resolve(key)).value).toMatch(/^sk-infernus-[A-Za-z0-9]{40}$/);
    }
    for (const snippet of Object.values(result.apiSnippets)) expect(await pulumi.isSecret(snippet)).toBe(true);
    const gatewayStep = resources.find((r) => r.name === "edge-gateway")!;
    expect(gatewayStep.secretInputs).toContain("stdin");
    const passwords = resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword" && r.name.startsWith("infernus-gateway-key-"));
    expect(passwords.map((p) => p.name)).toEqual(["infernus-gateway-key-ide", "infernus-gateway-key-obsidian", "infernus-gateway-key-n8n", "infernus-gateway-key-search", "infernus-gateway-key-chat", "infernus-gateway-key-infernus-check"]);
  });

  it("rotates one key by a config edit, leaving the others", async () => {
    const keepers = async (config: Record<string, any>) =>
      Object.fromEntries((await runEstate(config)).resources.filter((r) => r.type === "random:index/randomPassword:RandomPassword").map((r) => [r.name, r.inputs.keepers]));
    const before = await keepers(home);
    const config = clone(home);
    config.apiKeys[1].rotation = 1;
    const after = await keepers(config);
    expect(after["infernus-gateway-key-obsidian"]).not.toEqual(before["infernus-gateway-key-obsidian"]);
    for (const name of ["ide", "n8n", "search"]) expect(after[`infernus-gateway-key-${name}`]).toEqual(before[`infernus-gateway-key-${name}`]);
  });

  it("serves a private CA's certificate for the edge's address and tunnel address without a domain", async () => {
    const { result, resources } = await runEstate(singapore);
    expect(await pulumi.isSecret(result.gateway.caCertificate!)).toBe(false);
    const request = resources.find((r) => r.type === "tls:index/certRequest:CertRequest" && r.name === "infernus-gateway-tls-request")!;
    expect(request.inputs.ipAddresses).toEqual([expect.stringMatching(/^203\.0\.113\./), "10.66.0.1"]);
    expect(one(resources, "tls:index/selfSignedCert:SelfSignedCert").inputs).toMatchObject({ isCaCertificate: true });
    expect((await resolve(result.gateway.baseUrl)).value).toMatch(/^https:\/\/203\.0\.113\.\d+\/v1$/);
  });

  it("points at every serving server's tunnel address on the serving port", async () => {
    const config = clone(home);
    config.servers.push({ name: "gpu2", ssh: { host: "192.168.1.51", user: "kirill", insecureIgnoreHostKey: true }, gpus: [{ model: "rtx-pro-6000-blackwell-workstation" }], models: ["qwen3-coder-30b-fp8"] });
    const { result } = await runEstate(config);
    const files = (await resolve(result.edge.host.steps.find((s) => s.name === "gateway")!.files)).value;
    const nginx = files.find((f) => f.path === "/etc/nginx/conf.d/infernus-gateway.conf")!.content;
    expect(nginx).toContain(`server ${result.addresses.gpu1}:8080 max_fails=1 fail_timeout=5s;`);
    expect(nginx).toContain(`server ${result.addresses.gpu2}:8080 max_fails=1 fail_timeout=5s;`);
  });
});

describe("the LAN gateway", () => {
  const atHome = () => {
    const config = clone(singapore);
    config.lan.gateway = { host: "gpu1", address: "192.168.1.50", name: "llm.home.arpa" };
    return config;
  };
  const gatewayFiles = async (result: Awaited<ReturnType<typeof runEstate>>["result"], host: "edge" | "gpu1", step: string) => {
    const steps = host === "edge" ? result.edge.host.steps : result.servers[host].host.steps;
    return Object.fromEntries((await resolve(steps.find((s) => s.name === step)!.files)).value.map((f) => [f.path, f.content]));
  };

  it("runs on gpu1 as its last step before the apps, on the LAN address alone, preferring gpu1's own llama-swap", async () => {
    const { result } = await runEstate(atHome());
    const names = result.servers.gpu1.host.steps.map((s) => s.name);
    expect(names.slice(names.indexOf("exporters"))).toEqual(["exporters", "lan-gateway", "app-memory", "app-search", "app-chat"]);
    const nginx = (await gatewayFiles(result, "gpu1", "lan-gateway"))["/etc/nginx/conf.d/infernus-gateway.conf"];
    expect(nginx.match(/^ *listen .*$/gm)).toEqual(["    listen 192.168.1.50:443 ssl http2 backlog=2000;"]);
    expect(nginx.match(/^ *server \S+:\d+ .*$/gm)).toEqual([`    server ${result.addresses.gpu1}:8080 max_fails=1 fail_timeout=5s;`]);
  });

  it("differs from the edge's gateway only where it listens: the same keys, limits, paths, audit log and TLS policy", async () => {
    const { result } = await runEstate(atHome());
    const edge = await gatewayFiles(result, "edge", "gateway");
    const lan = await gatewayFiles(result, "gpu1", "lan-gateway");
    const lines = (text: string) => text.split("\n");
    const edgeConfig = lines(edge["/etc/nginx/conf.d/infernus-gateway.conf"]);
    const lanConfig = lines(lan["/etc/nginx/conf.d/infernus-gateway.conf"]);
    expect(edgeConfig.filter((l) => !lanConfig.includes(l))).toEqual(["    listen 443 ssl http2 backlog=2000;", "    listen [::]:443 ssl http2 backlog=2000;"]);
    expect(lanConfig.filter((l) => !edgeConfig.includes(l))).toEqual(["    listen 192.168.1.50:443 ssl http2 backlog=2000;"]);
    for (const file of ["/etc/nginx/nginx.conf", "/etc/nginx/infernus/api-keys.map", "/etc/nginx/infernus/upstream-auth.conf", "/etc/logrotate.d/infernus-gateway", "/etc/systemd/system/nginx.service.d/infernus-limits.conf"]) {
      expect(lan[file], file).toBe(edge[file]);
    }
    // Bound to one address, nginx must start even before DHCP has given it.
    expect(lan["/etc/sysctl.d/60-infernus-gateway.conf"]).toContain("net.ipv4.ip_nonlocal_bind = 1");
    expect(edge["/etc/sysctl.d/60-infernus-gateway.conf"]).not.toContain("ip_nonlocal_bind");
  });

  it("has its own certificate from the estate's CA, for its LAN address and home name, and a secret key", async () => {
    const { resources } = await runEstate(atHome());
    const request = resources.find((r) => r.name === "infernus-gateway-lan-tls-request")!;
    expect(request.inputs).toMatchObject({ ipAddresses: ["192.168.1.50"], dnsNames: ["llm.home.arpa"], subject: { commonName: "llm.home.arpa" } });
    const signed = resources.find((r) => r.name === "infernus-gateway-lan-tls")!;
    const edge = resources.find((r) => r.name === "infernus-gateway-tls")!;
    expect(signed.inputs.caCertPem).toBeTruthy();
    expect(signed.inputs.caCertPem).toBe(edge.inputs.caCertPem);
    expect(resources.filter((r) => r.type === "tls:index/selfSignedCert:SelfSignedCert")).toHaveLength(1);
    expect(resources.find((r) => r.name === "gpu1-lan-gateway")!.secretInputs).toContain("stdin");
  });

  it("is open on gpu1 to the LAN alone", async () => {
    const { result } = await runEstate(atHome());
    const firewall = (await gatewayFiles(result, "gpu1", "firewall"))["/etc/infernus/firewall.next.nft"];
    expect(firewall.match(/^.*dport 443 .*$/gm)).toEqual(['\t\tip saddr { 192.168.1.0/24 } tcp dport 443 accept comment "the LAN gateway, for clients at home"']);
  });

  it("gives every client its URL at home, and the apps on gpu1 call it there", async () => {
    const { result } = await runEstate(atHome());
    const outputs = stackOutputs(result);
    expect(outputs.apiBaseUrlAtHome).toBe("https://llm.home.arpa/v1");
    const snippet = (await resolve(result.apiSnippets.ide)).value;
    expect(snippet).toMatch(/^OPENAI_BASE_URL=https:\/\/203\.0\.113\.\d+\/v1\nOPENAI_API_KEY=sk-infernus-\w+\n# at home, also when the internet is down:\n# OPENAI_BASE_URL=https:\/\/llm.home.arpa\/v1\n$/);
    const search = (await gatewayFiles(result, "gpu1", "app-search"));
    expect(Object.values(search).join("\n")).toContain("https://192.168.1.50/v1");
    expect(stackOutputs((await runEstate(home)).result).apiBaseUrlAtHome).toBeUndefined();
  });

  it("is probed on gpu1 by infernus-metrics, and the self-check reads its answer from there", async () => {
    const { result } = await runEstate(atHome());
    const metrics = (await gatewayFiles(result, "gpu1", "exporters"))["/etc/infernus/metrics.conf"];
    expect(metrics).toContain("LAN_GATEWAY='https://192.168.1.50/healthz'");
    expect(metrics).toContain("LAN_GATEWAY_CA='/etc/infernus/tls/ca.crt'");
    const check = (await gatewayFiles(result, "edge", "self-check"))["/etc/infernus/check.conf"];
    expect(check).toContain("lan gpu1 https://192.168.1.50/healthz");
  });

  it("with a domain: answers at home under the domain (split horizon), with the edge's certificate fetched over the tunnel after the edge has it", async () => {
    const config = atHome();
    Object.assign(config.edge, { domain: "llm.example.net", acmeEmail: "kirill@example.net" });
    const { result, resources } = await runEstate(config);
    expect(result.lanBaseUrl).toBe("https://llm.example.net/v1");
    const edge = await gatewayFiles(result, "edge", "gateway");
    const lan = await gatewayFiles(result, "gpu1", "lan-gateway");
    const share = edge["/etc/nginx/conf.d/infernus-gateway.conf"];
    expect(share).toContain("    listen 8444 ssl;");
    expect(share).toContain(`    allow ${result.addresses.gpu1};\n    deny all;`);
    expect(lan["/etc/infernus/lan-certificate.conf"]).toContain(`EDGE='${result.addresses.edge}'`);
    expect(lan["/etc/infernus/lan-certificate.conf"]).toContain("DOMAIN='llm.example.net'");
    expect(Object.keys(lan)).toEqual(expect.arrayContaining(["/usr/local/sbin/infernus-lan-certificate", "/etc/systemd/system/infernus-lan-certificate.timer"]));
    // No certificate of its own at home: the private CA is not made at all.
    expect(Object.keys(lan)).not.toContain("/etc/infernus/tls/gateway.key");
    expect(resources.filter((r) => r.type.startsWith("tls:") && r.name.includes("gateway"))).toEqual([]);
    const lanStep = resources.find((r) => r.name === "gpu1-lan-gateway")!;
    expect(lanStep.dependsOn).toContain(resources.find((r) => r.name === "edge-gateway")!.urn);
    // The share's port is open to the tunnel on the edge, never in the cloud firewall.
    const firewall = (await gatewayFiles(result, "edge", "firewall"))["/etc/infernus/firewall.next.nft"];
    expect(firewall).toMatch(/ip saddr \{ 10\.66\.0\.0\/24 \} tcp dport 8444 accept/);
    const cloud = resources.find((r) => r.type === "digitalocean:index/firewall:Firewall")!.inputs as { inboundRules: { portRange?: string }[] };
    expect(cloud.inboundRules.map((r) => r.portRange)).not.toContain("8444");
    const metrics = (await gatewayFiles(result, "gpu1", "exporters"))["/etc/infernus/metrics.conf"];
    expect(metrics).toContain("LAN_GATEWAY='https://llm.example.net/healthz'");
    expect(metrics).toContain("LAN_GATEWAY_ADDRESS='192.168.1.50'");
  });
});
