/** Reading the stack config: the `infernus:*` keys, parsed and checked before any resource exists. */
import { crossChecks } from "./checks";
import { ConfigError, zodProblems } from "./problems";
import { estateSchema, type EstateConfig } from "./schema";

export const PROJECT = "infernus";
/** Config keys read as Pulumi secrets, never through the schema (their values must not be copied around). */
export const SECRET_KEYS = ["sshPrivateKey", "hfToken", "offsiteAccessKeyId", "offsiteSecretAccessKey", "spacesAccessKeyId", "spacesSecretAccessKey", "telegramBotToken"] as const;

/** Validates a whole stack config; throws one ConfigError listing every problem. */
export function parseEstateConfig(input: unknown): EstateConfig {
  const parsed = estateSchema.safeParse(input);
  if (!parsed.success) throw new ConfigError(zodProblems(parsed.error, input));
  const problems = crossChecks(parsed.data);
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed.data;
}

/**
 * The `infernus:*` entries of a Pulumi config map (values are strings; objects and lists are JSON),
 * without the project prefix and without the secret keys.
 */
export function estateInput(all: Readonly<Record<string, string>>): Record<string, unknown> {
  const prefix = `${PROJECT}:`;
  const entries = Object.entries(all)
    .filter(([key]) => key.startsWith(prefix) && !(SECRET_KEYS as readonly string[]).includes(key.slice(prefix.length)))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => [key.slice(prefix.length), parseValue(value)]);
  return Object.fromEntries(entries);
}

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
