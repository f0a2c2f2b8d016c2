/**
 * npm run clients against stack outputs made by the mock runtime (the program run as index.ts runs
 * it, every output resolved as `pulumi stack output --json --show-secrets` prints it): every file,
 * its mode, each device's QR code decoded back to its config, and every tool's settings parsed,
 * with the gateway's base URL and the user's own key.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { load } from "js-yaml";
import { configYamlSchema } from "@continuedev/config-yaml";
import jsQR from "jsqr";
import { PNG } from "pngjs";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { renderN8nCredential } from "../../components/apps/files";
import { CLIENT_HEADER, renderCline, renderContinue, renderCurl, renderEnv, renderObsidianCopilot, type DeployedOutputs } from "../../components/clients/files";
import { filesBelow, writeClients } from "../../clients/main";
import { resolve, runUnderMocks } from "../../render/runtime";
import { pulumiConfig, secretKeysOf, tool } from "../helpers";
import { chosen } from "../serving/chosen";
import { README_EXAMPLE } from "./readme";


describe("npm run clients from the deployed stack's outputs", () => {
  let outputs: DeployedOutputs;
  let dir: string;
  let written: string[];
  const shown: Record<string, string> = {};

  beforeAll(async () => {
    vi.resetModules();
    const { result } = await runUnderMocks(() => import("../../index"), { config: pulumiConfig(chosen), secretKeys: secretKeysOf(chosen), stack: "home" });
    outputs = (await resolve(pulumi.output(result as unknown as Record<string, unknown>))).value as unknown as DeployedOutputs;
    // A folder whose name needs quoting in every script written.
    dir = path.join(mkdtempSync(path.join(tmpdir(), "infernus-clients-")), "Kirill's $HOME clients");
    written = await writeClients(JSON.parse(JSON.stringify(outputs)) as DeployedOutputs, dir, (device, qr) => (shown[device] = qr));
  });

  it("writes a wg-quick file and a QR code per device, and every API user's settings, and nothing else", () => {
    const users = Object.keys(outputs.apiKeys);
    expect(users).toEqual(expect.arrayContaining(["ide", "obsidian", "n8n", "search"]));
    const expected = [
      ...["laptop", "minipc", "phone"].flatMap((d) => [`wireguard/${d}.conf`, `wireguard/${d}.png`]),
      "ca.crt",
      "apps.env",
      ...users.flatMap((u) => ["env.sh", "curl.sh", "continue.yaml", "cline.sh", "obsidian-copilot.json", "n8n-credential.json"].map((f) => `${u}/${f}`)),
    ].sort();
    expect(filesBelow(dir)).toEqual(expected);
    expect([...written].sort()).toEqual(expected);
  });

  it("lists every app's URL on the tunnel, the chat app's for the phone among them, and Qdrant's key", () => {
    const apps = readFileSync(path.join(dir, "apps.env"), "utf8");
    expect(apps.split("\n")[0]).toBe(CLIENT_HEADER);
    for (const [app, snippet] of Object.entries(outputs.appSnippets!)) expect(apps, app).toContain(`# ${app}\n${snippet.trimEnd()}\n`);
    expect(apps).toContain("OPEN_WEBUI_URL=http://10.66.0.135:3080\n");
    expect(apps).toMatch(/^QDRANT_API_KEY=[A-Za-z0-9]{40}$/m);
  });

  it("lets only the user read them: files 0600, folders 0700", () => {
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const file of filesBelow(dir)) {
      expect(statSync(path.join(dir, file)).mode & 0o777, file).toBe(0o600);
      expect(statSync(path.dirname(path.join(dir, file))).mode & 0o777, file).toBe(0o700);
    }
  });

  it("draws each device's QR code from its deployed config (decoded with jsQR), and shows it in the terminal", () => {
    for (const device of ["laptop", "minipc", "phone"]) {
      const conf = readFileSync(path.join(dir, `wireguard/${device}.conf`), "utf8");
      expect(conf).toBe(outputs.clientConfigs[device]);
      expect(conf).toMatch(/^\[Interface\]$/m);
      const image = PNG.sync.read(readFileSync(path.join(dir, `wireguard/${device}.png`)));
      expect(jsQR(new Uint8ClampedArray(image.data), image.width, image.height)?.data, device).toBe(conf);
      expect(shown[device]).toMatch(/[▀▄█]/);
    }
  });

  it("gives the OpenAI SDKs and curl the base URL, the user's own key and the estate's CA", () => {
    for (const [user, key] of Object.entries(outputs.apiKeys)) {
      const env = execFileSync("bash", ["-c", `. "$1" && printf '%s\\n' "$OPENAI_BASE_URL" "$OPENAI_API_KEY" "$NODE_EXTRA_CA_CERTS" "$SSL_CERT_FILE"`, "_", path.join(dir, user, "env.sh")], { encoding: "utf8" }).split("\n");
      expect(env.slice(0, 4)).toEqual([outputs.apiBaseUrl, key, path.join(dir, "ca.crt"), path.join(dir, "ca.crt")]);
      expect(execFileSync("sh", ["-n", path.join(dir, user, "curl.sh")], { encoding: "utf8" })).toBe("");
    }
    expect(readFileSync(path.join(dir, "ca.crt"), "utf8")).toBe(outputs.caCertificate);
  });

  it("writes a curl.sh that really asks the API: the key on curl's standard input, not its command line", async () => {
    const seen: { authorization?: string; body: string; url?: string }[] = [];
    const server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        seen.push({ authorization: req.headers.authorization, body, url: req.url });
        res.end("{}");
      });
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    try {
      const port = (server.address() as AddressInfo).port;
      const script = path.join(dir, "curl-test.sh");
      writeFileSync(script, renderCurl({ baseUrl: `http://127.0.0.1:${port}/v1`, key: "sk-infernus-curl-test" }, "gpt-oss-120b"));
      const out = await new Promise<string>((done, fail) => execFile("sh", [script], { encoding: "utf8" }, (error, stdout) => (error ? fail(error) : done(stdout))));
      expect(out).toBe("{}");
      expect(seen).toEqual([{ authorization: "Bearer sk-infernus-curl-test", url: "/v1/chat/completions", body: JSON.stringify({ model: "gpt-oss-120b", messages: [{ role: "user", content: "Say OK." }] }) }]);
      expect(readFileSync(script, "utf8")).not.toMatch(/^curl .*sk-infernus-curl-test/m);
    } finally {
      server.close();
      rmSync(path.join(dir, "curl-test.sh"));
    }
  });

  it("removes what an earlier run wrote that the outputs no longer have: a removed device's key", async () => {
    const again = path.join(path.dirname(dir), "again");
    await writeClients(outputs, again);
    const fewer = { ...outputs, clientConfigs: { laptop: outputs.clientConfigs.laptop } };
    await writeClients(fewer, again);
    expect(filesBelow(again).filter((f) => f.startsWith("wireguard/"))).toEqual(["wireguard/laptop.conf", "wireguard/laptop.png"]);
  });

  it("writes a Continue config that Continue's own schema accepts (@continuedev/config-yaml, configYamlSchema)", () => {
    const config = load(readFileSync(path.join(dir, "ide/continue.yaml"), "utf8"));
    const parsed = configYamlSchema.safeParse(config);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    // The same schema refuses what Continue refuses: a number for its version.
    expect(configYamlSchema.safeParse({ ...(config as object), version: 1 }).success).toBe(false);
  });

  it("sets Continue up with every served model in its role: chat models and adapters, the embedder, the reranker", () => {
    const config = load(readFileSync(path.join(dir, "ide/continue.yaml"), "utf8")) as { name: string; version: string; schema: string; models: { name: string; provider: string; model: string; apiBase: string; apiKey: string; roles: string[]; requestOptions?: { caBundlePath: string } }[] };
    expect(config).toMatchObject({ name: "infernus (ide)", version: "1.0.0", schema: "v1" });
    const roles = Object.fromEntries(config.models.map((m) => [m.model, m.roles]));
    expect(roles).toMatchObject({ "gpt-oss-120b": ["chat", "edit", "apply"], "notes-sql": ["chat", "edit", "apply"], "qwen3-embedding-8b": ["embed"], "qwen3-reranker-0.6b": ["rerank"] });
    for (const m of config.models) expect(m).toMatchObject({ apiBase: outputs.apiBaseUrl, apiKey: outputs.apiKeys.ide, requestOptions: { caBundlePath: path.join(dir, "ca.crt") } });
    // Its vllm provider reads vLLM's rerank answer (results[]); its openai one would look for data[].
    expect(Object.fromEntries(config.models.map((m) => [m.model, m.provider]))).toMatchObject({ "gpt-oss-120b": "openai", "qwen3-embedding-8b": "openai", "qwen3-reranker-0.6b": "vllm" });
  });

  it("sets Cline up with its own command: the OpenAI-compatible provider at the gateway, with the CA", () => {
    const script = readFileSync(path.join(dir, "ide/cline.sh"), "utf8");
    expect(script).toContain(`exec cline auth -p openai-compatible -k '${outputs.apiKeys.ide}' -m 'gpt-oss-120b' -b '${outputs.apiBaseUrl}'`);
    // The folder's name quoted as one word, apostrophe and $ kept.
    expect(execFileSync("sh", ["-c", `${script.split("\n").find((l) => l.startsWith("export "))!}; printf %s "$NODE_EXTRA_CA_CERTS"`], { encoding: "utf8" })).toBe(path.join(dir, "ca.crt"));
    // Infos aside: the folder's literal $ in single quotes is what is meant.
    expect(tool("shellcheck", ["-S", "warning", "-s", "sh", path.join(dir, "ide/cline.sh"), path.join(dir, "ide/curl.sh")]).stdout).toBe("");
  });

  it("gives Copilot for Obsidian the chat and embedding models at the gateway, and no key (it keeps keys in the keychain)", () => {
    const settings = JSON.parse(readFileSync(path.join(dir, "obsidian/obsidian-copilot.json"), "utf8")) as { activeModels: Record<string, unknown>[]; activeEmbeddingModels: Record<string, unknown>[]; embeddingModelKey: string };
    expect(settings.activeModels.map((m) => m.name)).toEqual(["gpt-oss-120b", "qwen3-coder-30b", "kirill-qwen3-8b", "notes-sql", "notes-ru"]);
    for (const m of [...settings.activeModels, ...settings.activeEmbeddingModels]) expect(m).toMatchObject({ provider: "3rd party (openai-format)", baseUrl: outputs.apiBaseUrl, enabled: true });
    expect(settings.activeEmbeddingModels).toEqual([expect.objectContaining({ name: "qwen3-embedding-8b", isEmbeddingModel: true })]);
    expect(settings.embeddingModelKey).toBe("qwen3-embedding-8b|3rd party (openai-format)");
    expect(JSON.stringify(settings)).not.toContain(outputs.apiKeys.obsidian);
  });

  it("writes n8n's OpenAI credential as its import reads it: an array, type openAiApi, the key and the gateway's URL", () => {
    const [credential, ...rest] = JSON.parse(readFileSync(path.join(dir, "n8n/n8n-credential.json"), "utf8")) as { id: string; name: string; type: string; data: Record<string, unknown> }[];
    expect(rest).toEqual([]);
    // Its id is the user's own (the import upserts on it): a hash of the name, so long or dashed names never collide.
    expect(credential.id).toMatch(/^infernus[0-9a-f]{8}$/);
    expect(credential).toEqual({ id: credential.id, name: "infernus (n8n)", type: "openAiApi", data: { apiKey: outputs.apiKeys.n8n, organizationId: "", url: outputs.apiBaseUrl, header: false } });
  });
});

describe("the README's Using the API", () => {
  it("shows each tool's file as npm run clients writes it", () => {
    const readme = readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
    const e = README_EXAMPLE;
    for (const text of [renderEnv(e.api, e.atHome), renderCurl(e.api, e.chat[0]), renderContinue(e.api, "ide", e), renderCline(e.api, e.chat[0]), renderObsidianCopilot(e.api, e), renderN8nCredential(e.api, "n8n")]) {
      expect(readme).toContain(text);
    }
  });
});
