/**
 * What `npm run clients` writes for the user's devices and tools, from the deployed stack's outputs
 * (`pulumi stack output --json --show-secrets`): each device's wg-quick file, and for each API
 * user the settings of the tools the user works with (the SDKs, curl, Continue, Cline, Copilot for
 * Obsidian, n8n), every one with the base URL and that user's key. Pure: the same outputs give the
 * same files.
 */
import { dump } from "js-yaml";
import { renderN8nCredential } from "../apps/files";

/** The header of every script and YAML file written: where it comes from, and how to bring it up to date. */
export const CLIENT_HEADER = "# Written by npm run clients from the stack's outputs: run it again after npm run up.";

/** The stack outputs the files are made from, as plain JSON. */
export interface DeployedOutputs {
  readonly apiBaseUrl: string;
  readonly apiBaseUrlAtHome?: string;
  readonly caCertificate?: string;
  readonly apiKeys: Readonly<Record<string, string>>;
  readonly clientConfigs: Readonly<Record<string, string>>;
  /** Per server, each name it serves with its kind (chat, embedding, rerank). */
  readonly serving: Readonly<Record<string, { readonly kinds: Readonly<Record<string, string>> }>>;
  /** Per app, the lines a client needs: its URL on the tunnel (and Qdrant's key). */
  readonly appSnippets?: Readonly<Record<string, string>>;
}

export interface ClientFile {
  /** Relative to the clients folder. */
  readonly path: string;
  readonly content: string;
}

/** The CA file beside the others, named in every snippet that needs it. */
export const CA_FILE = "ca.crt";

/** Every served name of a kind, in the servers' order. */
function servedOf(outputs: DeployedOutputs, kind: string): string[] {
  return Object.values(outputs.serving).flatMap((s) => Object.entries(s.kinds).filter(([, k]) => k === kind).map(([name]) => name));
}

/** Each device's wg-quick file. */
export function deviceFiles(outputs: DeployedOutputs): ClientFile[] {
  return Object.entries(outputs.clientConfigs).map(([device, config]) => ({ path: `wireguard/${device}.conf`, content: config }));
}

/** The apps' URLs on the tunnel, for any device that has joined it (the chat app's for the phone), and Qdrant's key. */
export function appFiles(outputs: DeployedOutputs): ClientFile[] {
  const snippets = Object.entries(outputs.appSnippets ?? {});
  if (snippets.length === 0) return [];
  return [{ path: "apps.env", content: [CLIENT_HEADER, ...snippets.map(([app, snippet]) => `# ${app}\n${snippet.trimEnd()}`), ""].join("\n") }];
}

/** For each API user, the tools' settings in a folder of the user's name. */
export function userFiles(outputs: DeployedOutputs, folder: string): ClientFile[] {
  // A first request and Cline need a chat model to name.
  const chat = servedOf(outputs, "chat");
  const embedding = servedOf(outputs, "embedding");
  const rerank = servedOf(outputs, "rerank");
  const ca = outputs.caCertificate ? `${folder}/${CA_FILE}` : undefined;
  return [
    ...(outputs.caCertificate ? [{ path: CA_FILE, content: outputs.caCertificate }] : []),
    ...Object.entries(outputs.apiKeys).flatMap(([user, key]) => {
      const api = { baseUrl: outputs.apiBaseUrl, key, ca };
      return [
        { path: `${user}/env.sh`, content: renderEnv(api, outputs.apiBaseUrlAtHome) },
        ...(chat[0] ? [{ path: `${user}/curl.sh`, content: renderCurl(api, chat[0]) }] : []),
        { path: `${user}/continue.yaml`, content: renderContinue(api, user, { chat, embedding, rerank }) },
        ...(chat[0] ? [{ path: `${user}/cline.sh`, content: renderCline(api, chat[0]) }] : []),
        { path: `${user}/obsidian-copilot.json`, content: renderObsidianCopilot(api, { chat, embedding }) },
        { path: `${user}/n8n-credential.json`, content: renderN8nCredential(api, user) },
      ];
    }),
  ];
}

interface Api {
  readonly baseUrl: string;
  readonly key: string;
  /** The CA file's path, where clients must trust the estate's own CA. */
  readonly ca?: string;
}

/** A value as one shell word, whatever it holds (a folder with spaces, quotes or $). */
export const shellWord = (value: string) => `'${value.replace(/'/g, "'\\''")}'`;

/** Environment for the OpenAI SDKs (Python and Node read OPENAI_BASE_URL and OPENAI_API_KEY) and the CA for each runtime. */
export function renderEnv(api: Api, atHome?: string): string {
  return [
    CLIENT_HEADER,
    `export OPENAI_BASE_URL=${shellWord(api.baseUrl)}`,
    `export OPENAI_API_KEY=${shellWord(api.key)}`,
    ...(api.ca ? [`# The estate's own CA: Node, and Python's httpx and requests.`, ...["NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"].map((name) => `export ${name}=${shellWord(api.ca!)}`)] : []),
    ...(atHome ? [`# At home with the internet down: the LAN gateway.`, `# export OPENAI_BASE_URL=${shellWord(atHome)}`] : []),
    "",
  ].join("\n");
}

/** A first request with curl, runnable as it is; the key reaches curl on its standard input, not its command line (which ps shows). */
export function renderCurl(api: Api, model: string): string {
  return [
    "#!/bin/sh",
    CLIENT_HEADER,
    `curl ${api.ca ? `--cacert ${shellWord(api.ca)} ` : ""}-sS ${shellWord(`${api.baseUrl}/chat/completions`)} \\`,
    `  -H @- -H 'Content-Type: application/json' \\`,
    `  -d ${shellWord(JSON.stringify({ model, messages: [{ role: "user", content: "Say OK." }] }))} <<'HEADER'`,
    `Authorization: Bearer ${api.key}`,
    "HEADER",
    "",
  ].join("\n");
}

/** Continue's config.yaml (~/.continue/config.yaml): each served model with its roles. */
export function renderContinue(api: Api, user: string, models: { chat: readonly string[]; embedding: readonly string[]; rerank: readonly string[] }): string {
  const entry = (model: string, provider: string, roles: string[]) => ({
    name: model,
    provider,
    model,
    apiBase: api.baseUrl,
    apiKey: api.key,
    roles,
    ...(api.ca ? { requestOptions: { caBundlePath: api.ca } } : {}),
  });
  const config = {
    name: `infernus (${user})`,
    version: "1.0.0",
    schema: "v1",
    models: [
      ...models.chat.map((m) => entry(m, "openai", ["chat", "edit", "apply"])),
      ...models.embedding.map((m) => entry(m, "openai", ["embed"])),
      // Continue's openai provider reads a rerank's data[]; vLLM answers results[], which its vllm provider reads (core/llm/llms/Vllm.ts).
      ...models.rerank.map((m) => entry(m, "vllm", ["rerank"])),
    ],
  };
  return `${CLIENT_HEADER}\n${dump(config, { lineWidth: -1, noRefs: true })}`;
}

/**
 * Cline's own way to set a provider, its CLI (apps/cli/src/commands/auth.ts): the OpenAI-compatible
 * provider at the gateway. Its flags take the key on the command line, so run it on a machine of
 * your own. In VS Code, the same provider is set in Cline's settings with these values; it trusts
 * the system's CAs, so install ca.crt there.
 */
export function renderCline(api: Api, model: string): string {
  return [
    "#!/bin/sh",
    CLIENT_HEADER,
    ...(api.ca ? [`export NODE_EXTRA_CA_CERTS=${shellWord(api.ca)}`] : []),
    `exec cline auth -p openai-compatible -k ${shellWord(api.key)} -m ${shellWord(model)} -b ${shellWord(api.baseUrl)}`,
    "",
  ].join("\n");
}

/** Copilot for Obsidian's provider name for an OpenAI-compatible server (src/constants.ts, OPENAI_FORMAT). */
export const OBSIDIAN_OPENAI_FORMAT = "3rd party (openai-format)";

/**
 * Settings for Copilot for Obsidian (logancyang/obsidian-copilot; .obsidian/plugins/copilot/data.json):
 * the chat and embedding models at the gateway, as its CustomModel entries (src/aiParams.ts), which
 * it migrates when it starts. No key: a 4.x install that began with no data.json keeps keys in
 * Obsidian's keychain and drops any found in the file (src/services/settingsPersistence.ts), so the
 * key is pasted in its settings.
 */
export function renderObsidianCopilot(api: Api, models: { chat: readonly string[]; embedding: readonly string[] }): string {
  const entry = (name: string, embedding: boolean) => ({ name, provider: OBSIDIAN_OPENAI_FORMAT, baseUrl: api.baseUrl, enabled: true, isEmbeddingModel: embedding });
  const settings = {
    activeModels: models.chat.map((m) => entry(m, false)),
    activeEmbeddingModels: models.embedding.map((m) => entry(m, true)),
    ...(models.chat[0] ? { defaultModelKey: `${models.chat[0]}|${OBSIDIAN_OPENAI_FORMAT}` } : {}),
    ...(models.embedding[0] ? { embeddingModelKey: `${models.embedding[0]}|${OBSIDIAN_OPENAI_FORMAT}` } : {}),
  };
  return `${JSON.stringify(settings, null, 2)}\n`;
}

