/** Reading the stack config: the `infernus:*` keys, parsed and checked before any resource exists. */
import { crossChecks } from "./checks";
import { ConfigError, zodProblems, type Problem } from "./problems";
import { estateSchema, unknownKeyMessage, type EstateConfig } from "./schema";
import { isSecretKey, missingSecretProblems, plainTextSecretProblems, SECRET_KEYS } from "./secrets";

export const PROJECT = "infernus";
export { SECRET_KEYS };

/** What a stack config gave: each section that parsed, and every problem found. */
export interface CheckedSections {
  /** The sections that parsed (with their defaults); a section with a problem is absent. */
  readonly sections: Partial<EstateConfig>;
  readonly problems: readonly Problem[];
}

/**
 * Parses each top-level section with its own schema, so that a bad section does not hide the
 * problems of the others, then runs the cross-field checks on what parsed.
 */
export function checkSections(input: unknown): CheckedSections {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { sections: {}, problems: zodProblems(estateSchema.safeParse(input).error!, input) };
  }
  const record = input as Record<string, unknown>;
  const shape = estateSchema.shape;
  const known = Object.keys(shape) as (keyof typeof shape)[];
  const sections: Record<string, unknown> = {};
  const problems: Problem[] = [];
  for (const key of known) {
    const parsed = shape[key].safeParse(record[key]);
    if (parsed.success) sections[key] = parsed.data;
    else problems.push(...zodProblems(parsed.error, input, [key]));
  }
  for (const key of Object.keys(record)) {
    // Secret keys are stack config keys too, read as secrets rather than through the schema.
    if (!(known as string[]).includes(key) && !isSecretKey(key)) problems.push({ path: key, value: record[key], message: unknownKeyMessage(key, known) });
  }
  const parsed = sections as Partial<EstateConfig>;
  return { sections: parsed, problems: [...problems, ...crossChecks(parsed)] };
}

/** Validates a whole stack config (schema and cross-field checks, not secrets); throws one ConfigError listing every problem. */
export function parseEstateConfig(input: unknown): EstateConfig {
  const { sections, problems } = checkSections(input);
  if (problems.length > 0) throw new ConfigError(problems);
  return sections as EstateConfig;
}

/**
 * Validates the `infernus:*` keys of a Pulumi config map with its secrets: the schema, the
 * cross-field checks, the secrets the stack needs, and that secrets are stored as secrets.
 * `isSecret` tells whether a full key (`infernus:hfToken`) was set with `--secret`.
 * Throws one ConfigError listing every problem.
 */
export function loadEstateConfig(all: Readonly<Record<string, string>>, isSecret: (fullKey: string) => boolean): EstateConfig {
  const { sections, problems } = checkSections(estateInput(all));
  const present = SECRET_KEYS.filter((key) => `${PROJECT}:${key}` in all);
  const secrets = [...plainTextSecretProblems(present, (key) => isSecret(`${PROJECT}:${key}`)), ...missingSecretProblems(sections, new Set(present))];
  if (problems.length + secrets.length > 0) throw new ConfigError([...problems, ...secrets]);
  return sections as EstateConfig;
}

/**
 * The `infernus:*` entries of a Pulumi config map (values are strings; objects and lists are JSON),
 * without the project prefix and without the secret keys.
 */
export function estateInput(all: Readonly<Record<string, string>>): Record<string, unknown> {
  const prefix = `${PROJECT}:`;
  const entries = Object.entries(all)
    .filter(([key]) => key.startsWith(prefix) && !isSecretKey(key.slice(prefix.length)))
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
