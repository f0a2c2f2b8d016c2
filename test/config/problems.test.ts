/** Every problem of a stack config in one list, before any resource: schema, cross-field and secrets. */
import { describe, expect, it } from "vitest";
import { loadEstateConfig, parseEstateConfig } from "../../components/config/load";
import { ConfigError } from "../../components/config/problems";
import { missingSecretProblems } from "../../components/config/secrets";
import { declareEstate } from "../../components/program";
import { ProgramFailed, runUnderMocks } from "../../render/runtime";
import { flattenConfig, MISSING_SECRET_STAND_IN, renderInput, SECURE_STAND_IN, stackConfig } from "../../render/stackFile";
import { clone, pulumiConfig, runEstate, stackObject } from "../helpers";

const home = stackObject("home");
const singapore = stackObject("singapore");
const TOKEN_LINE = "telegramBotToken: missing; monitoring sends alerts through a Telegram bot: pulumi config set --secret infernus:telegramBotToken <token from @BotFather>";

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  return "";
}

async function failure(run: Promise<unknown>): Promise<ProgramFailed> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProgramFailed);
  return error as ProgramFailed;
}

describe("a stack config with problems in several sections", () => {
  it("lists a schema problem and a cross-field problem of another section together", () => {
    const config = clone(home);
    config.tunnel.port = 0;
    config.clients[1].name = "laptop";
    expect(messageOf(() => parseEstateConfig(config)).split("\n")).toEqual([
      "infernus: the stack config has 2 problems",
      "  tunnel.port = 0: ports are 1–65535",
      "  clients[1].name = laptop: also the name of clients[0]; names must be unique across the edge, servers and clients",
    ]);
  });

  it("skips a cross-field check that reads a section with a schema problem, and runs the others", () => {
    const config = clone(home);
    config.servers[0].ssh.port = 0;
    config.clients[1].name = "laptop";
    config.lan.cidrs = ["10.66.0.0/16"];
    const problems = (() => {
      try {
        parseEstateConfig(config);
      } catch (error) {
        return (error as ConfigError).problems;
      }
      return [];
    })();
    // The duplicate client name is a check across edge, servers and clients: servers did not parse.
    expect(problems.map((p) => p.path)).toEqual(["servers[0].ssh.port", "lan.cidrs[0]"]);
  });
});

describe("the secrets a stack needs", () => {
  it("asks for the bot token with monitoring, before any resource", async () => {
    const error = await failure(runEstate({ ...home, monitoring: { telegramChatId: "-1001234567890" } }));
    expect(error.message.split("\n")).toEqual(["infernus: the stack config has 1 problem", `  ${TOKEN_LINE}`]);
    expect(error.resources).toEqual([]);
  });

  it("asks for the Spaces keys with a spaces offsite copy, before any resource", async () => {
    const { spacesAccessKeyId: _id, spacesSecretAccessKey: _secret, ...withoutKeys } = singapore;
    const error = await failure(runEstate(withoutKeys));
    const why = "offsite.kind is spaces: the DigitalOcean provider makes the bucket with Spaces keys (control panel: API → Spaces Keys), the API token is not enough";
    expect(error.message.split("\n")).toEqual([
      "infernus: the stack config has 2 problems",
      `  spacesAccessKeyId: missing; ${why}: pulumi config set --secret infernus:spacesAccessKeyId <Spaces access key>`,
      `  spacesSecretAccessKey: missing; ${why}: pulumi config set --secret infernus:spacesSecretAccessKey <Spaces secret key>`,
    ]);
    expect(error.resources).toEqual([]);
  });

  it("asks for an s3 bucket's keys before any resource", async () => {
    const { spacesAccessKeyId: _id, spacesSecretAccessKey: _secret, ...config } = clone(singapore);
    config.offsite = { kind: "s3", endpoint: "s3.eu-central-003.backblazeb2.com", bucket: "kirill-infernus-backup" };
    const error = await failure(runEstate({ ...config, offsiteAccessKeyId: "AKIASTANDIN" }));
    expect(error.message).toContain("  offsiteSecretAccessKey: missing; offsite.kind is s3, so the bucket's keys are needed: pulumi config set --secret infernus:offsiteSecretAccessKey <secret access key>");
    expect(error.message).not.toContain("offsiteAccessKeyId: missing");
    expect(error.resources).toEqual([]);
  });

  it("is told by the set of secret keys present, as a pure function", () => {
    const sections = parseEstateConfig({ ...home, monitoring: { telegramChatId: "1" } });
    expect(missingSecretProblems(sections, new Set(["telegramBotToken"]))).toEqual([]);
    expect(missingSecretProblems(sections, new Set()).map((p) => p.path)).toEqual(["telegramBotToken"]);
    expect(missingSecretProblems(parseEstateConfig(home), new Set())).toEqual([]);
  });

  it("accepts the secrets when they are set with --secret", async () => {
    const { resources } = await runEstate({ ...home, monitoring: { telegramChatId: "-1001234567890" }, telegramBotToken: "123456:stand-in-bot-token" });
    expect(resources.some((r) => r.type === "infernus:monitoring:Monitoring")).toBe(true);
  });
});

describe("a secret key in plain text", () => {
  const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nplain-text-stand-in\n-----END OPENSSH PRIVATE KEY-----";

  it("is refused with the config set line to use instead, its value never shown", async () => {
    const error = await failure(runUnderMocks(declareEstate, { config: pulumiConfig({ ...home, sshPrivateKey: key, hfToken: "hf_plain" }), stack: "test" }));
    expect(error.message.split("\n")).toEqual([
      "infernus: the stack config has 2 problems",
      "  infernus:sshPrivateKey is in the stack file in plain text; remove it and run: pulumi config set --secret infernus:sshPrivateKey < ~/.ssh/id_ed25519",
      "  infernus:hfToken is in the stack file in plain text; remove it and run: pulumi config set --secret infernus:hfToken <value>",
    ]);
    expect(error.message).not.toContain("plain-text-stand-in");
    expect(error.resources).toEqual([]);
  });

  it("is accepted as a secret when the language host lists it in PULUMI_CONFIG_SECRET_KEYS", async () => {
    const { resources } = await runUnderMocks(declareEstate, { config: pulumiConfig({ ...home, sshPrivateKey: key }), secretKeys: ["infernus:sshPrivateKey"], stack: "test" });
    expect(resources.length).toBeGreaterThan(0);
  });
});

describe("all problems of a stack file", () => {
  it("come in one list: schema, cross-field, plain-text and missing secrets", () => {
    const config = clone(home);
    config.tunnel.mtu = 9999;
    config.apiKeys.push({ name: "ide" });
    config.monitoring = { telegramChatId: "-1001234567890" };
    const all = { ...pulumiConfig(config), "infernus:hfToken": "hf_plain" };
    expect(messageOf(() => loadEstateConfig(all, () => false)).split("\n")).toEqual([
      "infernus: the stack config has 4 problems",
      "  tunnel.mtu = 9999: at most 8920 (a 9000-byte jumbo link)",
      "  apiKeys[5].name = ide: also the name of apiKeys[0]; each API key names one user of the gateway",
      "  infernus:hfToken is in the stack file in plain text; remove it and run: pulumi config set --secret infernus:hfToken <value>",
      `  ${TOKEN_LINE}`,
    ]);
  });
});

describe("a stack file's secure values", () => {
  it("count as secret keys for the render, which never decrypts them", () => {
    const config = flattenConfig({ ...pulumiConfig(home), "infernus:hfToken": { secure: "v1:c3RhbmQtaW4=" } });
    expect(config["infernus:hfToken"]).toBe(SECURE_STAND_IN);
    expect(renderInput(config).secretKeys).toEqual(["infernus:hfToken"]);
  });

  it("leave the render of a stack that lacks a secret working: stand-ins, and what to set", () => {
    const input = renderInput(stackConfig("singapore"));
    expect(input.missing.map((m) => m.key)).toEqual(["spacesAccessKeyId", "spacesSecretAccessKey"]);
    expect(input.secretKeys).toEqual(["infernus:spacesAccessKeyId", "infernus:spacesSecretAccessKey"]);
    expect(input.config["infernus:spacesAccessKeyId"]).toBe(MISSING_SECRET_STAND_IN);
  });
});
