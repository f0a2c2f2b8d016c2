/**
 * n8n wired to the models: its OpenAI credential for the gateway (checked against what n8n's own
 * source accepts), the gateway's CA in its container, the import at install, and its webhooks
 * from the internet through the edge's real nginx to a stand-in, with nothing else of n8n reachable.
 */
import Ajv from "ajv";
import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiKeyConfig } from "../../components/config/schema";
import { webhookPrefix } from "../../components/gateway/nginx";
import type { RemoteHost } from "../../components/host/remoteHost";
import { resolve } from "../../render/runtime";
import { request, startGateway, type Gateway } from "../gateway/lab";
import { clone, runEstate, stackObject } from "../helpers";

const home = stackObject("home");
const fixture = (name: string) => JSON.parse(readFileSync(path.join(__dirname, "fixtures/n8n", name), "utf8"));

async function edgeStep(config: Record<string, unknown>, step: string) {
  const { result } = await runEstate(config);
  const found = result.edge.host.steps.find((s) => s.name === step)!;
  return { result, files: (await resolve(found.files)).value, stdin: (await resolve(found.stdin)).value };
}

const withWebhooks = () => {
  const config = clone(home);
  config.apps.find((a: { kind: string }) => a.kind === "n8n").webhooks = { requestsPerMinute: 60, burst: 3 };
  return config;
};

describe("n8n's credential for the gateway", () => {
  it("is an openAiApi credential n8n's import takes and n8n's own schema of its data accepts, with n8n's key and the gateway as the edge reaches it", async () => {
    const { result, files } = await edgeStep(home, "app-n8n");
    const file = files.find((f) => f.path === "/etc/infernus/apps/n8n.credential.json")!;
    expect(file.mode).toBe("0600");
    const credentials = JSON.parse(file.content);
    const ajv = new Ajv({ allErrors: true, strict: false });
    const importable = ajv.compile(fixture("credentials-import.schema.json"));
    expect(importable(credentials), ajv.errorsText(importable.errors)).toBe(true);
    const data = ajv.compile(fixture("openAiApi.schema.json"));
    expect(data(credentials[0].data), ajv.errorsText(data.errors)).toBe(true);
    expect(credentials[0]).toMatchObject({ type: "openAiApi", name: "infernus (n8n)", data: { apiKey: (await resolve(result.apiKeys.n8n)).value, url: "https://10.66.0.1/v1" } });
  });

  it("is refused by n8n's schema when it would carry a custom header's name without the header (the schema bites)", () => {
    const data = new Ajv({ strict: false }).compile(fixture("openAiApi.schema.json"));
    expect(data({ apiKey: "k", url: "https://x/v1", header: false, headerName: "X" })).toBe(false);
    expect(data({ url: "https://x/v1" })).toBe(false);
  });

  it("keeps the key in the step's secret stdin and the 0600 file alone, and trusts the gateway's CA through NODE_EXTRA_CA_CERTS", async () => {
    const { result, files } = await edgeStep(home, "app-n8n");
    const key = (await resolve(result.apiKeys.n8n)).value;
    expect(files.filter((f) => f.content.includes(key)).map((f) => [f.path, f.mode])).toEqual([
      ["/etc/infernus/apps/n8n.credential.json", "0600"],
      ["/etc/infernus/apps/n8n.probe.json", "0600"],
    ]);
    const unit = files.find((f) => f.path === "/etc/systemd/system/infernus-n8n.service")!.content;
    expect(unit).toContain("--env NODE_EXTRA_CA_CERTS=/etc/infernus/apps/gateway-ca.crt");
    expect(unit).toContain("--volume /etc/infernus/apps/gateway-ca.crt:/etc/infernus/apps/gateway-ca.crt:ro");
    expect(files.find((f) => f.path === "/etc/infernus/apps/gateway-ca.crt")!.content).toBe((await resolve(result.gateway.caCertificate!)).value);
  });

  it("is refused without its API key, naming the fix", async () => {
    const config = clone(home);
    config.apiKeys = config.apiKeys.filter((k: { name: string }) => k.name !== "n8n");
    await expect(runEstate(config)).rejects.toThrow(/apps\[3\]\.name = n8n: the app calls the gateway with the API key n8n: add \{ name: n8n \} to infernus:apiKeys/);
  });
});

describe("the credential's import at install (app.sh, podman stubbed)", () => {
  it("hands the file to n8n import:credentials in the container on stdin, never on a command line", async () => {
    const { files, stdin } = await edgeStep(home, "app-n8n");
    const dir = mkdtempSync(path.join(tmpdir(), "infernus-n8n-import-"));
    const root = path.join(dir, "root");
    const credential = files.find((f) => f.path === "/etc/infernus/apps/n8n.credential.json")!;
    mkdirSync(path.join(root, "etc/infernus/apps"), { recursive: true });
    writeFileSync(path.join(root, credential.path), credential.content);
    const stubs = path.join(dir, "bin");
    mkdirSync(stubs);
    // podman records each call and what reached its stdin; curl answers the health wait.
    const stub = {
      podman: `echo "$*" >>${dir}/podman.args\nif [ "$1" = exec ]; then cat >${dir}/podman.stdin; fi\nexit 0`,
      curl: "exit 0",
      "dpkg-query": 'echo "install ok installed"',
      systemctl: "exit 0",
    };
    for (const [name, body] of Object.entries(stub)) {
      writeFileSync(path.join(stubs, name), `#!/bin/sh\n${body}\n`);
      chmodSync(path.join(stubs, name), 0o755);
    }
    const param = (name: string) => stdin.match(new RegExp(`^export ${name}='([^']*)'$`, "m"))![1];
    const run = await promisify(execFile)("bash", [path.join(__dirname, "../../assets/apps/app.sh")], {
      encoding: "utf8",
      timeout: 30_000,
      env: {
        ...process.env,
        PATH: `${stubs}:${process.env.PATH}`,
        INFERNUS_ROOT: root,
        UNITS: param("UNITS"),
        IMAGES: param("IMAGES"),
        DATA_DIR: param("DATA_DIR"),
        DATA_UID: "0",
        HEALTH: param("HEALTH"),
        N8N_CREDENTIAL: param("N8N_CREDENTIAL"),
      },
    });
    expect(run.stdout).toContain("infernus-n8n has its OpenAI credential for the gateway");
    const calls = readFileSync(`${dir}/podman.args`, "utf8");
    expect(calls).toMatch(/^exec -i infernus-n8n sh -c .*n8n import:credentials --input="\$f"/m);
    expect(calls).not.toContain("sk-infernus-");
    expect(readFileSync(`${dir}/podman.stdin`, "utf8")).toBe(credential.content);
  });
});

describe("n8n's webhooks from the internet", () => {
  it("get a public URL on the edge and n8n trusts the edge as its one proxy; without webhooks n8n knows only its tunnel URL", async () => {
    const { result, files } = await edgeStep(withWebhooks(), "app-n8n");
    const unit = files.find((f) => f.path === "/etc/systemd/system/infernus-n8n.service")!.content;
    const origin = (await resolve(result.gateway.origin)).value;
    expect(unit).toContain(`--env WEBHOOK_URL=${origin}/hooks/n8n/`);
    expect(unit).toContain("--env N8N_PROXY_HOPS=1");
    expect((await resolve(result.apps.n8n.snippet)).value).toBe(`N8N_URL=http://10.66.0.1:5678\n# its OpenAI credential "infernus (n8n)" calls the gateway\n# webhooks from the internet: ${origin}/hooks/n8n/webhook/<path>\n`);
    const plain = (await edgeStep(home, "app-n8n")).files.find((f) => f.path === "/etc/systemd/system/infernus-n8n.service")!.content;
    expect(plain).toContain("--env WEBHOOK_URL=http://10.66.0.1:5678/");
    expect(plain).not.toContain("N8N_PROXY_HOPS");
  });

  it("are routed by the edge's gateway only, with their own zone, to n8n on the tunnel", async () => {
    const { files } = await edgeStep(withWebhooks(), "gateway");
    const conf = files.find((f) => f.path === "/etc/nginx/conf.d/infernus-gateway.conf")!.content;
    expect(conf).toContain('limit_req_zone "n8n" zone=infernus_hooks_n8n:1m rate=60r/m;');
    expect(conf).toContain("location ~ ^/hooks/n8n/(webhook|webhook-test|webhook-waiting)/ {");
    expect(conf).toContain("proxy_pass http://10.66.0.1:5678;");
    // The LAN gateway at home (singapore's, on gpu1) takes none: only the edge faces the internet.
    const singapore = clone(stackObject("singapore"));
    singapore.apiKeys.push({ name: "flows" });
    singapore.apps.push({ name: "flows", kind: "n8n", host: "gpu1", webhooks: {} });
    const { result } = await runEstate(singapore);
    const gatewayConf = async (host: RemoteHost, step: string) =>
      (await resolve(host.steps.find((s) => s.name === step)!.files)).value.find((f) => f.path === "/etc/nginx/conf.d/infernus-gateway.conf")!.content;
    expect(await gatewayConf(result.edge.host, "gateway")).toContain("location ~ ^/hooks/flows/(webhook|webhook-test|webhook-waiting)/ {");
    expect(await gatewayConf(result.servers.gpu1.host, "lan-gateway")).not.toContain("/hooks/");
  });
});

describe("n8n's webhooks through the rendered gateway on real nginx", () => {
  const seen: { method: string; path: string; forwardedFor?: string; body: string }[] = [];
  let n8n: http.Server;
  let gateway: Gateway;
  const apiKeys: ApiKeyConfig[] = [{ name: "ide", requestsPerMinute: 600, burst: 50, rotation: 0 }];
  const key = "sk-infernus-ide0000000000000000000000000000000000";

  beforeAll(async () => {
    // A stand-in for n8n's own routes (abstract-server.js): /webhook/*, /webhook-test/*, /webhook-waiting/*, and the rest of n8n beside them.
    n8n = http.createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        seen.push({ method: req.method ?? "", path: req.url ?? "", forwardedFor: req.headers["x-forwarded-for"] as string | undefined, body });
        res.writeHead(200, { "content-type": "application/json" }).end('{"message":"Workflow was started"}');
      });
    });
    await new Promise<void>((done) => n8n.listen(0, "127.0.0.1", done));
    const upstream = `127.0.0.1:${(n8n.address() as AddressInfo).port}`;
    gateway = startGateway({
      gateway: { port: 18453, upstreamPort: 0, maxRequestMiB: 1, generationTimeoutSeconds: 60, maxStreams: 64 },
      apiKeys,
      keys: { ide: key },
      upstreams: ["127.0.0.1:9"],
      webhooks: [{ app: "n8n", paths: ["webhook", "webhook-test", "webhook-waiting"], upstream, requestsPerMinute: 60, burst: 3 }],
    });
  });
  afterAll(() => {
    gateway?.stop();
    n8n?.close();
  });

  it("passes n8n's production, test and waiting webhooks to n8n without the prefix, with the sender's address", async () => {
    const prefix = webhookPrefix("n8n");
    for (const hook of ["webhook/telegram-in", "webhook-test/telegram-in", "webhook-waiting/123"]) {
      const reply = await request(gateway.port, "POST", `${prefix}${hook}`, { body: { text: "hi" } });
      expect(reply.status, hook).toBe(200);
    }
    expect(seen.map((s) => [s.method, s.path, s.forwardedFor, s.body])).toEqual([
      ["POST", "/webhook/telegram-in", "127.0.0.1", '{"text":"hi"}'],
      ["POST", "/webhook-test/telegram-in", "127.0.0.1", '{"text":"hi"}'],
      ["POST", "/webhook-waiting/123", "127.0.0.1", '{"text":"hi"}'],
    ]);
  });

  it("lets no other path of n8n through: its editor, REST API, login, health, forms, or a path that only starts like a webhook", async () => {
    const before = seen.length;
    for (const p of ["/hooks/n8n/", "/hooks/n8n/rest/login", "/hooks/n8n/rest/credentials", "/hooks/n8n/healthz", "/hooks/n8n/form/x", "/hooks/n8n/webhooks/x", "/hooks/n8n/../rest/login", "/webhook/telegram-in", "/rest/login", "/hooks/other/webhook/x"]) {
      const reply = await request(gateway.port, "GET", p, { key });
      expect(reply.status, p).toBe(404);
    }
    expect(seen.slice(before)).toEqual([]);
  });

  it("answers 429 past the webhooks' own limit while the API keys go on", async () => {
    // The burst (3) has been used above in part; a quick run of requests passes it.
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await request(gateway.port, "POST", "/hooks/n8n/webhook/flood", { body: {} })).status);
    expect(statuses).toContain(429);
    expect((await request(gateway.port, "GET", "/healthz")).status).toBe(200);
  });
});
