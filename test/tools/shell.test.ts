/** Every host script passes shellcheck (real tool), and the bats suites for them pass. */
import { readdirSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { tool } from "../helpers";

const ROOT = path.join(__dirname, "..", "..");

function shellFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) return shellFiles(relative);
    return /\.(sh|bash|bats)$/.test(entry.name) ? [relative] : [];
  });
}

describe("host scripts", () => {
  const scripts = [...shellFiles("assets"), ...shellFiles("scripts"), ...shellFiles("test"), ".ci/run"];

  it.each(scripts)("%s passes shellcheck (real tool)", (script) => {
    const result = tool("shellcheck", ["-x", "--source-path=SCRIPTDIR", "--source-path=.", path.join(ROOT, script)]);
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  // About a minute alone on two cores; longer beside the other test files.
  it("pass their bats suites (real tool)", () => {
    const result = tool("bats", ["--tap", path.join(ROOT, "test/scripts")], undefined, 300_000);
    expect(result.stdout.split("\n").filter((line) => line.startsWith("not ok"))).toEqual([]);
    expect(result.status).toBe(0);
  }, 300_000);
});
