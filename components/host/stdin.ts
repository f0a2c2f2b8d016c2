/**
 * A step's stdin: its parameters, its files and its script, in that order, as one bash program fed
 * to `sudo -n bash -s`. Pure: the same step gives the same bytes, and the trigger is their sha256.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";

export interface ResolvedFile {
  /** Absolute path on the host. */
  readonly path: string;
  /** Octal mode, e.g. "0600". */
  readonly mode: string;
  /** user:group; root:root when absent. */
  readonly owner?: string;
  readonly content: string;
}

export interface ResolvedStep {
  readonly host: string;
  readonly step: string;
  readonly params: Readonly<Record<string, string>>;
  readonly files: readonly ResolvedFile[];
  /** The script's text (an asset). */
  readonly script: string;
}

const ASSETS = path.join(__dirname, "..", "..", "assets");

/** The text of a file under assets/, e.g. `asset("network/wireguard.sh")`. */
export function asset(relativePath: string): string {
  return readFileSync(path.join(ASSETS, relativePath), "utf8");
}

const FILE_END = "INFERNUS_FILE_END";

export function composeStdin(step: ResolvedStep): string {
  for (const key of Object.keys(step.params)) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(key)) throw new Error(`step ${step.host}/${step.step}: parameter ${key} is not an UPPER_CASE shell name`);
  }
  for (const file of step.files) {
    if (!path.posix.isAbsolute(file.path) || path.posix.normalize(file.path) !== file.path) throw new Error(`step ${step.host}/${step.step}: ${file.path} is not a normalized absolute path`);
    if (!/^0[0-7]{3}$/.test(file.mode)) throw new Error(`step ${step.host}/${step.step}: mode ${file.mode} of ${file.path} is not like 0644`);
  }
  const where = `${step.host}/${step.step}`;
  const params = Object.entries({ INFERNUS_HOST: step.host, INFERNUS_STEP: step.step, ...step.params }).sort(([a], [b]) => a.localeCompare(b));
  return [
    `# infernus step ${where}. Rendered: the same config gives the same bytes; the step re-runs when they change.`,
    "set -Eeuo pipefail",
    // Names the host, step, line and the command as written (unexpanded: secrets live only in files).
    `trap 'echo "infernus: step ${where} failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR`,
    ...params.map(([key, value]) => `export ${key}=${shellQuote(value)}`),
    asset("lib.sh"),
    ...step.files.map(fileBlock),
    step.script,
  ].join("\n");
}

/** The stdin lines that install one file: its bytes as base64 in a quoted here-document. */
export function fileBlock(file: ResolvedFile): string {
  return `install_file ${shellQuote(file.path)} ${file.mode} ${file.owner ?? "root:root"} <<'${FILE_END}'\n${base64Lines(file.content)}\n${FILE_END}`;
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function base64Lines(content: string): string {
  return (Buffer.from(content, "utf8").toString("base64").match(/.{1,76}/g) ?? [""]).join("\n");
}
