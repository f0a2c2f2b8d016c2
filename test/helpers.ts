/** Shared test fixtures: the user's stacks as plain objects, and running them under mocks. */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseEstateConfig } from "../components/config/load";
import { ConfigError, type Problem } from "../components/config/problems";
import { isSecretKey } from "../components/config/secrets";
import { declareEstate } from "../components/program";
import { runUnderMocks } from "../render/runtime";
import { renderInput, stackConfig } from "../render/stackFile";

/**
 * A stack's `infernus:*` config as plain objects, without the prefix, for tests to edit: as the
 * render runs it, with stand-ins for the secrets the stack needs (the singapore Spaces keys).
 */
export function stackObject(stack: string): Record<string, any> {
  return Object.fromEntries(
    Object.entries(renderInput(stackConfig(stack)).config)
      .filter(([key]) => key.startsWith("infernus:"))
      .map(([key, value]) => [key.slice("infernus:".length), isSecretKey(key.slice("infernus:".length)) ? value : JSON.parse(value)]),
  );
}

/** Every problem the config checks find in `config`; none when it parses. */
export function problemsOf(config: Record<string, any>): readonly Problem[] {
  try {
    parseEstateConfig(config);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

/** The inverse of stackObject: the flat string map Pulumi's runtime holds. */
export function pulumiConfig(config: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(config).map(([key, value]) => [`infernus:${key}`, typeof value === "string" ? value : JSON.stringify(value)]));
}

/** The full keys of `config`'s secret keys (sshPrivateKey, hfToken …), as the language host lists those set with `--secret`. */
export function secretKeysOf(config: Record<string, unknown>): string[] {
  return Object.keys(config)
    .filter(isSecretKey)
    .map((key) => `infernus:${key}`);
}

/** Runs the program on `config`; its secret keys are set as secrets, as with `pulumi config set --secret`. */
export function runEstate(config: Record<string, unknown>, stack = "test") {
  return runUnderMocks(declareEstate, { config: pulumiConfig(config), secretKeys: secretKeysOf(config), stack });
}

/** Runs a real tool; a missing tool fails the test (CI installs every one). */
export function tool(command: string, args: readonly string[], input?: string, timeoutMs = 60_000): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { input, encoding: "utf8", timeout: timeoutMs });
  if (result.error) throw new Error(`${command} could not run (${result.error.message}); .ci/run installs it`);
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/**
 * The real Pulumi CLI that toolchain/build.sh built (npm test builds it first; a second call finds
 * it in the cache at once). Fails, never skips, when it cannot be built.
 */
export function pulumiCli(): string {
  const folder = execFileSync("bash", [path.join(__dirname, "..", "toolchain", "build.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  return path.join(folder, "pulumi");
}

export function toolOutput(command: string, args: readonly string[], input?: string): string {
  return execFileSync(command, args, { input, encoding: "utf8", timeout: 60_000 });
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

/**
 * systemd-analyze verify (the real tool) on rendered units. The binaries they start are not
 * installed here: each Exec line points at a stand-in, and each runs as root (no service users).
 */
export function verifyUnits(units: readonly { name: string; text: string }[]): { status: number; stdout: string; stderr: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "infernus-units-"));
  const standIn = path.join(dir, "stand-in");
  writeFileSync(standIn, "#!/bin/sh\nexit 0\n");
  chmodSync(standIn, 0o755);
  const paths = units.map((unit) => {
    const target = path.join(dir, unit.name);
    // Continuation lines of an Exec command go with the command the stand-in replaces.
    writeFileSync(target, unit.text.replace(/^(Exec\w+)=(?:.*\\\n)*.*$/gm, `$1=${standIn}`).replace(/^(User|Group)=.*$/gm, "$1=root"));
    return target;
  });
  return tool("systemd-analyze", ["verify", ...paths]);
}

/**
 * How long pulumi-command keeps dialing a host that refuses connections, for a dialErrorLimit:
 * remote/connection.go retries with the SDK's retry.Until (100 ms, ×1.5 a time, at most 5 s apart).
 * Written from that source, not from the program's dialAttemptsFor, so the two check each other.
 */
export function dialingSeconds(limit: number): number {
  let waited = 0;
  for (let attempt = 0, delay = 0.1; attempt < limit; attempt++, delay = Math.min(delay * 1.5, 5)) waited += delay;
  return waited;
}
