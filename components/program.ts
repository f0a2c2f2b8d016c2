/** The program: read and check the stack config, then declare the estate. index.ts only exports. */
import * as pulumi from "@pulumi/pulumi";
import { estateInput, parseEstateConfig, PROJECT } from "./config/load";
import { ConfigError } from "./config/problems";
import { Estate } from "./estate";

export function declareEstate(): Estate {
  let config;
  try {
    config = parseEstateConfig(estateInput(pulumi.runtime.allConfig()));
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
    spacesKeys: config.offsite?.kind === "spaces" ? { accessKeyId: secrets.requireSecret("spacesAccessKeyId"), secretAccessKey: secrets.requireSecret("spacesSecretAccessKey") } : undefined,
  });
}
