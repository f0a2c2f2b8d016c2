/** Reads a stack file (Pulumi.<stack>.yaml) into the flat string map Pulumi's runtime holds. */
import { load } from "js-yaml";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { checkSections, estateInput, PROJECT } from "../components/config/load";
import { requiredSecrets, type RequiredSecret } from "../components/config/secrets";

export const PROJECT_ROOT = path.join(__dirname, "..");

/** Encrypted values stay encrypted: the render never sees a deployed secret. */
export const SECURE_STAND_IN = "(secure value from the stack file: not decrypted by the render)";

/** What the render puts for a secret the stack needs and its file does not hold yet. */
export const MISSING_SECRET_STAND_IN = "(render stand-in: not in the stack file yet; pulumi up asks for it)";

export function stackConfig(stack: string, root = PROJECT_ROOT): Record<string, string> {
  const file = path.join(root, `Pulumi.${stack}.yaml`);
  const doc = (load(readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  return flattenConfig(doc.config ?? {});
}

export function flattenConfig(config: Readonly<Record<string, unknown>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => {
      if (isSecure(value)) return [key, SECURE_STAND_IN];
      return [key, typeof value === "string" ? value : JSON.stringify(value)];
    }),
  );
}

/** The full keys whose values were `secure:` in the stack file: set with `--secret`, as the language host would list them. */
export function secureKeys(config: Readonly<Record<string, string>>): string[] {
  return Object.keys(config)
    .filter((key) => config[key] === SECURE_STAND_IN)
    .sort();
}

/** A stack file's config as the render runs it. */
export interface RenderInput {
  readonly config: Record<string, string>;
  /** Full keys held as secrets: the `secure:` ones and the stand-ins below. */
  readonly secretKeys: string[];
  /** Secrets the stack needs that the file lacks, each given a stand-in: `pulumi up` stops on them. */
  readonly missing: RequiredSecret[];
}

/**
 * The render never reads a secret's value, so a secret the stack needs but the file does not hold
 * yet gets a stand-in: the render goes on and says what to set (the program itself refuses).
 */
export function renderInput(config: Readonly<Record<string, string>>, secretKeys: readonly string[] = []): RenderInput {
  const { sections } = checkSections(estateInput(config));
  const missing = requiredSecrets(sections).filter((secret) => config[`${PROJECT}:${secret.key}`] === undefined);
  const standIns = Object.fromEntries(missing.map((secret) => [`${PROJECT}:${secret.key}`, MISSING_SECRET_STAND_IN]));
  return { config: { ...config, ...standIns }, secretKeys: [...new Set([...secureKeys(config), ...secretKeys, ...Object.keys(standIns)])].sort(), missing };
}

function isSecure(value: unknown): boolean {
  return typeof value === "object" && value !== null && Object.keys(value).length === 1 && "secure" in value;
}
