/** Config problems: where (key path), what (the value), why and how to fix; all reported at once. */
import type { z } from "zod";

export interface Problem {
  /** Key path in the stack config without the project prefix: `servers[0].ssh.host`. */
  readonly path: string;
  readonly value: unknown;
  readonly message: string;
  /** About a secret key: its value is never printed, and the message follows the full key (`infernus:hfToken is …`). */
  readonly secret?: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly Problem[]) {
    super(formatProblems(problems));
    this.name = "ConfigError";
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`)).join("");
}

export function formatProblems(problems: readonly Problem[]): string {
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  return [`infernus: the stack config has ${count}`, ...problems.map((p) => `  ${formatProblem(p)}`)].join("\n");
}

function formatProblem(problem: Problem): string {
  if (problem.secret) return `infernus:${problem.path} ${problem.message}`;
  if (problem.value === undefined) return `${problem.path}: missing; ${problem.message}`;
  return `${problem.path} = ${formatValue(problem.value)}: ${problem.message}`;
}

function formatValue(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * One problem per zod issue, and one per key for unknown keys (see strictObject in ./schema).
 * `at` is where the parsed value sits in `input` (a section's key when one section was parsed).
 */
export function zodProblems(error: z.ZodError, input: unknown, at: readonly PropertyKey[] = []): Problem[] {
  return error.issues.flatMap((issue) => {
    const issuePath = [...at, ...issue.path];
    if (issue.code === "unrecognized_keys") {
      const lines = issue.message.split("\n");
      return issue.keys.map((key, i) => {
        const path = [...issuePath, key];
        return { path: formatPath(path), value: valueAt(input, path), message: lines[i] ?? issue.message };
      });
    }
    return [{ path: formatPath(issuePath), value: valueAt(input, issuePath), message: issue.message }];
  });
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const part of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}
