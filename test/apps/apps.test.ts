/** The user's apps under mocks and in the render: placement, ports, secrets, firewall, monitoring, invalid configs. */
import * as pulumi from "@pulumi/pulumi";
import { load } from "js-yaml";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseEstateConfig } from "../../components/config/load";
import { ConfigError } from "../../components/config/problems";
import { renderStack } from "../../render/render";
import { resolve, type RecordedResource } from "../../render/runtime";
import { clone, runEstate, stackObject, tool, verifyUnits } from "../helpers";

const home = stackObject("home");
const singapore = stackObject("singapore");
const monitored: Record<string, any> = { ...singapore, monitoring: { telegramChatId: "-1001234567890" }, telegramBotToken: "123456:stand-in-bot-token" };
const byName = (resources: readonly RecordedResource[], name: string) => resources.find((r) => r.name === name)!;

async function stepFiles(config: Record<string, unknown>, host: string, step: string) {
  const { result } = await runEstate(config);
  const found = result.hosts.find((h) => h.hostName === host)!.steps.find((s) => s.name === step)!;
  return (await resolve(found.files)).value;
}

describe("apps under mocks", () => {
  it("places each app on the host the stack names, after that host's own steps, before the self-check", async () => {
    const { result, resources } = await runEstate(home);
    const apps = resources.filter((r) => r.type === "infernus:apps:App");
    // The vector store first: Open WebUI is given its key.
    expect(apps.map((a) => a.name)).toEqual(["infernus-app-memory", "infernus-app-search", "infernus-app-chat", "infernus-app-n8n"]);
    for (const app of apps) expect(resources.find((r) => r.urn === app.parent)!.name).toBe("infernus");
    expect(result.edge.host.steps.map((s) => s.name).slice(-5)).toEqual(["app-search", "app-n8n", "monitoring", "grafana", "self-check"]);
    expect(result.servers.gpu1.host.steps.map((s) => s.name).slice(-2)).toEqual(["app-memory", "app-chat"]);
    expect(byName(resources, "gpu1-app-memory").dependsOn).toContain(byName(resources, "gpu1-exporters").urn);
  });

  it("keeps every app secret secret: keys, env files, Perplexica's provider entry, snippets", async () => {
    const { result, resources } = await runEstate(home);
    for (const step of ["edge-app-search", "gpu1-app-memory", "gpu1-app-chat", "edge-app-n8n"]) expect(byName(resources, step).secretInputs, step).toContain("stdin");
    const memory = result.apps.memory;
    for (const secret of [memory.apiKey!, memory.readOnlyKey!, ...Object.values(result.apps).map((a) => a.snippet)]) expect(await pulumi.isSecret(secret)).toBe(true);
    const key = (await resolve(memory.apiKey!)).value;
    expect((await resolve(memory.snippet)).value).toBe(`QDRANT_URL=http://10.66.0.135:6333\nQDRANT_API_KEY=${key}\n`);
    const files = await stepFiles(home, "gpu1", "app-memory");
    const env = files.find((f) => f.path === "/etc/infernus/apps/memory.env")!;
    expect(env.mode).toBe("0600");
    expect(env.content).toContain(`QDRANT__SERVICE__API_KEY=${key}\n`);
    // Only the env file holds it: not the unit, not the config.
    expect(files.filter((f) => f.content.includes(key)).map((f) => f.path)).toEqual(["/etc/infernus/apps/memory.env"]);
    const search = await stepFiles(home, "edge", "app-search");
    expect(search.filter((f) => f.mode === "0600").map((f) => f.path).sort()).toEqual(["/etc/infernus/apps/search.probe.json", "/etc/infernus/apps/search.provider.json", "/etc/infernus/apps/search.searxng.env"]);
  });

  it("listens on the host's tunnel address only, opened to the tunnel in nftables and never in the cloud firewall", async () => {
    const { files } = await renderStack("singapore");
    const gpu1 = (p: string) => String(files.get(`hosts/gpu1${p}`));
    const nft = gpu1("/etc/infernus/firewall.next.nft");
    expect(nft).toContain('ip saddr { 10.66.0.0/24 } tcp dport 6333 accept comment "Qdrant (RAG vector store), over the tunnel"');
    expect(nft).toContain('ip saddr { 10.66.0.0/24 } tcp dport 3000 accept comment "Perplexica (AI search), over the tunnel"');
    expect(load(gpu1("/etc/infernus/apps/memory.yaml"))).toMatchObject({ service: { host: "10.66.0.135", http_port: 6333, grpc_port: null }, telemetry_disabled: true });
    const search = gpu1("/etc/systemd/system/infernus-search.service");
    expect(search).toContain("--network=host");
    expect(search).toContain("--env HOSTNAME=10.66.0.135");
    expect(search).toContain("--env PORT=3000");
    expect(gpu1("/etc/systemd/system/infernus-search-searxng.service")).toContain("--env GRANIAN_HOST=127.0.0.1");
    const { resources } = await runEstate(singapore);
    const cloud = resources.find((r) => r.type === "digitalocean:index/firewall:Firewall")!.inputs as { inboundRules: { portRange?: string }[] };
    expect(cloud.inboundRules.map((r) => r.portRange)).not.toContain("6333");
    expect(cloud.inboundRules.map((r) => r.portRange)).not.toContain("3000");
  });

  it("lets Perplexica call the gateway with its own key, through the tunnel or at home the LAN gateway beside it, the private CA trusted or the public name pinned", async () => {
    const { result } = await runEstate(home);
    const files = await stepFiles(home, "edge", "app-search");
    const provider = JSON.parse(files.find((f) => f.path === "/etc/infernus/apps/search.provider.json")!.content);
    expect(provider).toMatchObject({
      id: "infernus",
      type: "openai",
      config: { baseURL: "https://10.66.0.1/v1", apiKey: (await resolve(result.apiKeys.search)).value },
      chatModels: [{ key: "gpt-oss-120b" }],
      embeddingModels: [{ key: "qwen3-embedding-8b" }],
    });
    expect(files.find((f) => f.path === "/etc/infernus/apps/gateway-ca.crt")!.content).toBe((await resolve(result.gateway.caCertificate!)).value);
    const named = clone(singapore);
    Object.assign(named.edge, { domain: "llm.example.net", acmeEmail: "kirill@example.net" });
    const public_ = await stepFiles(named, "gpu1", "app-search");
    const unit = public_.find((f) => f.path === "/etc/systemd/system/infernus-search.service")!.content;
    // On gpu1 beside the LAN gateway, it calls that one: it answers with the internet down.
    expect(unit).toContain("--add-host llm.example.net:192.168.1.50");
    expect(unit).not.toContain("NODE_EXTRA_CA_CERTS");
    expect(JSON.parse(public_.find((f) => f.path === "/etc/infernus/apps/search.provider.json")!.content).config.baseURL).toBe("https://llm.example.net/v1");
    delete named.lan.gateway;
    const away = (await stepFiles(named, "gpu1", "app-search")).find((f) => f.path === "/etc/systemd/system/infernus-search.service")!.content;
    expect(away).toContain("--add-host llm.example.net:10.66.0.1");
  });

  it("keeps the RAG store on the RAG dataset and other state on the state dataset, or the root disk without pools", async () => {
    const { files } = await renderStack("home");
    expect(String(files.get("hosts/gpu1/etc/systemd/system/infernus-memory.service"))).toMatch(/RequiresMountsFor=\/srv\/rag\/memory\n[\s\S]*--volume \/srv\/rag\/memory:\/qdrant\/data /);
    expect(String(files.get("hosts/edge/etc/systemd/system/infernus-n8n.service"))).toContain("--volume /var/lib/infernus/apps/n8n:/home/node/.n8n");
    const step = String(files.get("steps/gpu1/16-app-memory.sh"));
    expect(step).toContain("export DATA_DIR='/srv/rag/memory'");
    expect(step).toContain("export HEALTH='http://10.66.0.135:6333/healthz'");
  });

  it("watches each app: a blackbox probe of its health over the tunnel, Qdrant's metrics with its read-only key", async () => {
    const { result } = await runEstate(monitored);
    const files = await stepFiles(monitored, "edge", "monitoring");
    const prometheus = load(files.find((f) => f.path === "/etc/prometheus/prometheus.yml")!.content) as { scrape_configs: Record<string, any>[] };
    const apps = prometheus.scrape_configs.find((j) => j.job_name === "apps")!;
    expect(apps.params).toEqual({ module: ["http_200"] });
    expect(apps.static_configs).toEqual([
      { targets: ["http://10.66.0.135:3000/"], labels: { app: "search", server: "gpu1" } },
      { targets: ["http://10.66.0.135:6333/healthz"], labels: { app: "memory", server: "gpu1" } },
      { targets: ["http://10.66.0.135:3080/health"], labels: { app: "chat", server: "gpu1" } },
    ]);
    expect(prometheus.scrape_configs.find((j) => j.job_name === "app-memory")).toEqual({
      job_name: "app-memory",
      authorization: { type: "Bearer", credentials_file: "/etc/prometheus/keys/memory.key" },
      static_configs: [{ targets: ["10.66.0.135:6333"], labels: { app: "memory", server: "gpu1" } }],
    });
    const key = files.find((f) => f.path === "/etc/prometheus/keys/memory.key")!;
    expect(key.mode).toBe("0640");
    expect(key.content).toBe((await resolve(result.apps.memory.readOnlyKey!)).value);
    // promtool (real tool) accepts it, with the key file where it will be.
    const dir = mkdtempSync(path.join(tmpdir(), "infernus-apps-prometheus-"));
    writeFileSync(path.join(dir, "memory.key"), key.content);
    writeFileSync(path.join(dir, "rules.yml"), files.find((f) => f.path.endsWith("infernus.rules.yml"))!.content);
    const config = files
      .find((f) => f.path === "/etc/prometheus/prometheus.yml")!
      .content.replace("/etc/prometheus/keys/memory.key", path.join(dir, "memory.key"))
      .replace("/etc/prometheus/rules/infernus.rules.yml", path.join(dir, "rules.yml"));
    writeFileSync(path.join(dir, "prometheus.yml"), config);
    const check = tool("promtool", ["check", "config", path.join(dir, "prometheus.yml")]);
    expect(check.stdout + check.stderr).toContain("SUCCESS");
    expect(check.status).toBe(0);
    const blackbox = load(files.find((f) => f.path === "/etc/prometheus/blackbox.yml")!.content) as { modules: Record<string, object> };
    expect(blackbox.modules.http_200).toEqual({ prober: "http", timeout: "5s", http: { method: "GET", valid_status_codes: [200] } });
    const conf = (await stepFiles(monitored, "edge", "self-check")).find((f) => f.path === "/etc/infernus/check.conf")!.content;
    expect(conf).toContain("app search gpu1 http://10.66.0.135:3000/ 900\napp memory gpu1 http://10.66.0.135:6333/healthz -\napp chat gpu1 http://10.66.0.135:3080/health 900\n");
  });
});

describe("the rendered app files", () => {
  let files: ReadonlyMap<string, string | Buffer>;
  beforeAll(async () => {
    files = (await renderStack("home")).files;
  });
  const units = () => [...files.keys()].filter((f) => /\/etc\/systemd\/system\/infernus-(search|search-searxng|memory|chat|chat-searxng|n8n)\.service$/.test(f));

  it("has container units that systemd-analyze verify (real tool) accepts", () => {
    expect(units().map((u) => path.basename(u)).sort()).toEqual(["infernus-chat-searxng.service", "infernus-chat.service", "infernus-memory.service", "infernus-n8n.service", "infernus-search-searxng.service", "infernus-search.service"]);
    const check = verifyUnits(units().map((u) => ({ name: path.basename(u), text: String(files.get(u)) })));
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
  });

  it("has probe units, a template service and timer, that systemd-analyze verify (real tool) accepts as each app's instance", () => {
    const edge = (p: string) => String(files.get(`hosts/edge${p}`));
    const service = edge("/etc/systemd/system/infernus-app-probe@.service");
    const timer = edge("/etc/systemd/system/infernus-app-probe@.timer");
    const check = verifyUnits(["search", "chat", "n8n"].flatMap((app) => [
      { name: `infernus-app-probe@${app}.service`, text: service },
      { name: `infernus-app-probe@${app}.timer`, text: timer },
    ]));
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
    expect(String(files.get("hosts/edge/usr/local/sbin/infernus-app-probe"))).toBe(readFileSync(path.join(__dirname, "../../assets/apps/app-probe.sh"), "utf8"));
    // Qdrant calls no models, so has no probe; the chat app beside it has one.
    expect(files.has("hosts/gpu1/etc/infernus/apps/memory.probe.json")).toBe(false);
    expect(files.has("hosts/gpu1/etc/infernus/apps/chat.probe.json")).toBe(true);
  });

  it("starts each container with flags that podman run (real tool) knows, and a pinned image", () => {
    const help = tool("podman", ["run", "--help"]).stdout;
    for (const unit of units()) {
      const run = String(files.get(unit)).match(/^ExecStart=(\/usr\/bin\/podman run(?:.*\\\n)*.*)$/m)![1].replace(/\\\n/g, " ");
      const words = run.split(/\s+/);
      for (const flag of words.filter((w) => w.startsWith("--"))) expect(help, `${unit}: ${flag}`).toContain(`${flag.split("=")[0]} `);
      expect(words.at(-1), unit).toMatch(/^(docker\.io|docker\.n8n\.io|ghcr\.io)\/[a-z0-9/._-]+:[A-Za-z0-9._-]*\d[A-Za-z0-9._-]*$/);
    }
  });

  it("has run lines that podman create (real tool) takes as they are: every flag, the env file, each bind mount, host networking", () => {
    // podman with its own storage in a scratch folder; each pinned image stood in for by an empty
    // one of the same name (no registry here), the host's paths made below the scratch folder, and
    // the journald log driver by none: podman opens journald's socket at create, and this machine
    // runs no systemd (the flag itself is checked against podman run --help above).
    const dir = mkdtempSync(path.join(tmpdir(), "infernus-podman-"));
    const podman = (args: string[]) => tool("podman", ["--root", `${dir}/storage`, "--runroot", `${dir}/run`, "--storage-driver", "vfs", ...args]);
    const root = path.join(dir, "host");
    const onHost = (host: string, p: string) => {
      const local = path.join(root, p);
      mkdirSync(path.dirname(local), { recursive: true });
      const rendered = files.get(`hosts/${host}${p}`);
      if (rendered !== undefined) writeFileSync(local, rendered);
      else if (path.basename(p).includes(".")) writeFileSync(local, "made by app.sh on the host\n");
      else mkdirSync(local, { recursive: true });
      return local;
    };
    writeFileSync(path.join(dir, "empty.tar"), Buffer.alloc(1024));
    try {
      for (const unit of units()) {
        const host = unit.split("/")[1];
        const words = String(files.get(unit)).match(/^ExecStart=\/usr\/bin\/podman run((?:.*\\\n)*.*)$/m)![1].replace(/\\\n/g, " ").trim().split(/\s+/);
        const image = words.at(-1)!;
        expect(podman(["import", "-q", "--change", 'CMD ["/stand-in"]', path.join(dir, "empty.tar"), image]).status, image).toBe(0);
        const args = words.map((word, i) => {
          if (words[i - 1] === "--env-file") return onHost(host, word);
          if (words[i - 1] === "--volume") {
            const [source, ...rest] = word.split(":");
            return [onHost(host, source), ...rest].join(":");
          }
          return word === "--log-driver=journald" ? "--log-driver=none" : word;
        });
        const created = podman(["create", ...args]);
        expect(created.stderr, unit).toBe("");
        const [inspected] = JSON.parse(podman(["inspect", words[words.indexOf("--name") + 1]]).stdout) as { Config: { Env: string[] }; HostConfig: { NetworkMode: string } }[];
        expect(inspected.HostConfig.NetworkMode, unit).toBe("host");
        for (const pair of words.filter((_, i) => words[i - 1] === "--env")) expect(inspected.Config.Env, `${unit}: ${pair}`).toContain(pair);
      }
    } finally {
      podman(["rm", "--all", "--force"]);
      podman(["rmi", "--all", "--force"]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("gives SearxNG JSON answers for Perplexica and no secret in its settings", () => {
    const settings = load(String(files.get("hosts/edge/etc/infernus/apps/search.searxng.yml"))) as { use_default_settings: boolean; search: { formats: string[] }; server: { secret_key: string; limiter: boolean } };
    expect(settings.use_default_settings).toBe(true);
    expect(settings.search.formats).toContain("json");
    expect(settings.server.limiter).toBe(false);
    expect(String(files.get("hosts/edge/etc/infernus/apps/search.searxng.env"))).toMatch(/^SEARXNG_SECRET=[A-Za-z0-9]{40}$/m);
  });
});

describe("an auxiliary host (the old board)", () => {
  it("runs n8n over the tunnel with no NVIDIA or serving steps, and is watched like any server", async () => {
    const config = clone(monitored);
    config.servers.push({
      name: "aux",
      ssh: { host: "192.168.1.40", user: "kirill", insecureIgnoreHostKey: true },
      gpus: [{ model: "radeon-rx-9070-xt" }],
      memoryGiB: 64,
      timezone: "Asia/Bangkok",
    });
    config.apps.push({ name: "n8n", kind: "n8n", host: "aux", timezone: "Asia/Bangkok" });
    const { result } = await runEstate(config);
    const aux = result.servers.aux.host.steps.map((s) => s.name);
    expect(aux).toEqual(["preflight", "wireguard", "base", "hardening", "firewall", "firewall-confirm", "exporters", "app-n8n"]);
    expect(result.apps.n8n.url).toBe("http://10.66.0.192:5678");
    const firewall = (await stepFiles(config, "aux", "firewall")).find((f) => f.path === "/etc/infernus/firewall.next.nft")!.content;
    expect(firewall).toContain('ip saddr { 10.66.0.0/24 } tcp dport 5678 accept comment "n8n (workflows), over the tunnel"');
    const unit = (await stepFiles(config, "aux", "app-n8n")).find((f) => f.path === "/etc/systemd/system/infernus-n8n.service")!.content;
    expect(unit).toContain("--env N8N_LISTEN_ADDRESS=10.66.0.192");
    expect(unit).toContain("--volume /var/lib/infernus/apps/n8n:/home/node/.n8n");
    expect(unit).toContain("--env-file /etc/infernus/apps/n8n.env");
    const prometheus = load((await stepFiles(config, "edge", "monitoring")).find((f) => f.path === "/etc/prometheus/prometheus.yml")!.content) as { scrape_configs: Record<string, any>[] };
    expect(prometheus.scrape_configs.find((j) => j.job_name === "node")!.static_configs).toContainEqual({ targets: ["10.66.0.192:9100"], labels: { server: "aux" } });
    expect(prometheus.scrape_configs.find((j) => j.job_name === "apps")!.static_configs).toContainEqual({ targets: ["http://10.66.0.192:5678/healthz/readiness"], labels: { app: "n8n", server: "aux" } });
  });
});

describe("invalid app configs", () => {
  const problems = (edit: (c: Record<string, any>) => void) => {
    const config = clone(home);
    edit(config);
    try {
      parseEstateConfig(config);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems.map((p) => `${p.path}: ${p.message}`);
      throw error;
    }
    return [];
  };

  it.each<[string, (c: Record<string, any>) => void, RegExp]>([
    ["an app on a host that does not exist", (c) => (c.apps[1].host = "gpu9"), /^apps\[1\]\.host: no such host; name the edge or a server: edge, gpu1$/],
    ["an app without a key exposed beyond the tunnel", (c) => (c.apps[0].serveLan = true), /^apps\[0\]\.serveLan: Perplexica \(AI search\) has no key or login of its own: anyone on the LAN could use your models through it/],
    ["an embedding model no server serves", (c) => (c.apps[0].embeddingModel = "bge-m3"), /^apps\[0\]\.embeddingModel: no server serves it; the embedding models served: qwen3-embedding-8b/],
    ["a chat model used for embeddings", (c) => (c.apps[0].embeddingModel = "gpt-oss-120b"), /^apps\[0\]\.embeddingModel: a chat model; the embedding models served: qwen3-embedding-8b/],
    ["a catalogue model no server declares", (c) => (c.apps[0].chatModel = "qwen3-coder-30b-fp8"), /^apps\[0\]\.chatModel: no server serves it; the chat models served: gpt-oss-120b, qwen3-coder-30b/],
    ["Perplexica without its API key", (c) => (c.apiKeys = c.apiKeys.filter((k: { name: string }) => k.name !== "search")), /^apps\[0\]\.name: the app calls the gateway with the API key search: add \{ name: search \} to infernus:apiKeys$/],
    ["the RAG store off the pools", (c) => (c.apps[1].host = "edge"), /^apps\[1\]\.host: Qdrant \(RAG vector store\) keeps the RAG memory, which must live on a server's primary ZFS pool/],
    ["an app on a port its host uses", (c) => (c.apps[1].port = 8080), /^apps\[1\]\.port: gpu1 already uses port 8080 for the models \(llama-swap\)/],
    ["two apps on one port", (c) => (c.apps[3].port = 3000), /^apps\[3\]\.port: the same host and port as apps\[0\]/],
    ["two Perplexicas on one host (one SearxNG port)", (c) => c.apps.push({ name: "search2", kind: "perplexica", host: "edge", port: 3001, chatModel: "gpt-oss-120b", embeddingModel: "qwen3-embedding-8b", apiKey: "search" }), /^apps\[4\]\.host: each Perplexica runs its SearxNG on 127\.0\.0\.1:8888, and edge runs apps\[0\]'s already: place this one on another host$/],
    ["an unknown kind", (c) => (c.apps[0].kind = "librechat"), /^apps\[0\]\.kind: kind must be perplexica, qdrant, n8n or open-webui$/],
  ])("refuses %s", (_what, edit, message) => {
    expect(problems(edit).some((p) => message.test(p)), problems(edit).join("\n")).toBe(true);
  });

  it("refuses Perplexica on a droplet too small for it", () => {
    const config = clone(singapore);
    config.apps[0].host = "edge";
    config.apps[2].webSearch = false;
    expect(() => parseEstateConfig(config)).toThrow(/apps\[0\]\.host = "?edge"?: the droplet \(s-1vcpu-2gb\) has 2 GB; Perplexica with SearxNG needs 4 GB/);
    config.edge.size = "s-2vcpu-4gb";
    expect(() => parseEstateConfig(config)).not.toThrow();
  });
});
