/** Reads a stack file (Pulumi.<stack>.yaml) into the flat string map Pulumi's runtime holds. */
import { load } from "js-yaml";
import { readFileSync } from "node:fs";
import * as path from "node:path";

export const PROJECT_ROOT = path.join(__dirname, "..");

/** Encrypted values stay encrypted: the render never sees a deployed secret. */
export const SECURE_STAND_IN = "(secure value from the stack file: not decrypted by the render)";

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

function isSecure(value: unknown): boolean {
  return typeof value === "object" && value !== null && Object.keys(value).length === 1 && "secure" in value;
}
