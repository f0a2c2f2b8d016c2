/** The program: read and check the stack config, then declare the estate. index.ts only exports. */
import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { loadEstateConfig, PROJECT } from "./config/load";
import { ConfigError } from "./config/problems";
import { Estate } from "./estate";

/**
 * Whether a full config key was set with `--secret`: the language host lists those keys in
 * PULUMI_CONFIG_SECRET_KEYS and the SDK keeps them (internal to the SDK, not typed).
 */
const isConfigSecret = (runtimeConfig as unknown as { isConfigSecret(key: string): boolean }).isConfigSecret;

/** Whether the engine holds this config key as a secret: listed as `infernus:hfToken`, or in the older `infernus:config:hfToken` form. */
function storedAsSecret(fullKey: string): boolean {
  const [namespace, name] = fullKey.split(":");
  return isConfigSecret(fullKey) || isConfigSecret(`${namespace}:config:${name}`);
}

/** Checks the whole stack config, secrets included, before the first resource; then declares the estate. */
export function declareEstate(): Estate {
  let config;
  try {
    config = loadEstateConfig(pulumi.runtime.allConfig(), storedAsSecret);
  } catch (error) {
    // RunError prints the message alone, without a stack trace: the problems are the whole story.
    if (error instanceof ConfigError) throw new pulumi.RunError(error.message);
    throw error;
  }
  const secrets = new pulumi.Config(PROJECT);
  return new Estate(PROJECT, {
    config,
    credentials: { privateKey: secrets.getSecret("sshPrivateKey") },
    hfToken: secrets.getSecret("hfToken"),
    telegramBotToken: secrets.getSecret("telegramBotToken"),
    offsiteKeys: { accessKeyId: secrets.getSecret("offsiteAccessKeyId"), secretAccessKey: secrets.getSecret("offsiteSecretAccessKey") },
    // Checked above: a spaces offsite copy has both.
    spacesKeys:
      config.offsite?.kind === "spaces"
        ? { accessKeyId: secrets.requireSecret("spacesAccessKeyId"), secretAccessKey: secrets.requireSecret("spacesSecretAccessKey") }
        : undefined,
  });
}
