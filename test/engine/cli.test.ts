/**
 * The real Pulumi CLI, built from its Go module by toolchain/build.sh: what the project hands it
 * is what it takes. (The Node.js language host and the providers are not served by the module
 * proxy here, toolchain/probe.sh shows which; what needs them stays in ./engine.ts.)
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../render/stackFile";
import { pulumiCli, tool } from "../helpers";

/** Every place that tells the user, or a script, what to type into the CLI. */
const SOURCES = ["README.md", "scripts/pulumi.sh", "scripts/status.sh", "scripts/clients.sh", "render/runbook.ts", "render/main.ts", "clients/main.ts", "components/edge/edge.ts"];

interface Invocation {
  readonly source: string;
  readonly command: readonly string[];
  readonly flags: readonly string[];
}

/**
 * The CLI invocations a text shows: `npm run pulumi -- …`, `pulumi.sh run …`, `pulumi …` and
 * `npm run preview|up|refresh|destroy -- [stack] …`, as the command's words and its long flags.
 */
function invocations(source: string, text: string): Invocation[] {
  const found: Invocation[] = [];
  const rest = "((?:(?!npm run)[^\\n`|;)])*)"; // to the end of the command, or the next one quoted inside it
  const pattern = new RegExp(`(?:npm run pulumi --|pulumi\\.sh"? run|\\bpulumi(?=\\s+[a-z]))\\s+${rest}|npm run (preview|up|refresh|destroy) --\\s+${rest}`, "g");
  for (const match of text.matchAll(pattern)) {
    const words = (match[1] ?? `${match[2]} ${match[3]}`).trim().split(/\s+/);
    const command: string[] = [];
    for (const word of words) {
      if (!/^[a-z][a-z-]*$/.test(word) || (match[2] && command.length === 1)) break;
      command.push(word);
    }
    const flags = words.flatMap((w) => /^--[a-z][a-z-]*/.exec(w)?.[0] ?? []);
    if (command.length > 0 && flags.length > 0) found.push({ source, command, flags });
  }
  return found;
}

describe("the real Pulumi CLI (toolchain/build.sh)", () => {
  const cli = pulumiCli();

  it("is the version the npm pulumi package runs, built from the Go module toolchain/go.mod names", () => {
    const npmPulumi = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "node_modules/pulumi/package.json"), "utf8")).version;
    const declared = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")).devDependencies.pulumi;
    const built = tool("go", ["-C", path.join(PROJECT_ROOT, "toolchain"), "list", "-m", "-f", "{{.Version}}", "github.com/pulumi/pulumi/pkg/v3"]);
    expect(declared).toBe(npmPulumi);
    expect(built.stdout.trim()).toBe(`v${npmPulumi}`);
    expect(tool(cli, ["version"]).stdout.trim()).toBe(`v${npmPulumi}`);
  });

  const all = SOURCES.flatMap((source) => invocations(source, readFileSync(path.join(PROJECT_ROOT, source), "utf8")));

  it("finds the invocations it checks in the README and the scripts", () => {
    const shown = all.map((i) => `${i.command.join(" ")} ${i.flags.join(" ")}`);
    expect(shown).toContain("stack output --stack --json --show-secrets");
    expect(shown).toContain("stack select --create");
    expect(shown).toContain("up --yes");
    expect(shown).toContain("state unprotect --stack");
  });

  it("takes every command and flag the README and the scripts hand it", () => {
    const refused: string[] = [];
    const help = new Map<string, string>();
    for (const { source, command, flags } of all) {
      const key = command.join(" ");
      if (!help.has(key)) {
        // Positional words after the command (a stack output's name) are left to cobra, as when run.
        const result = tool(cli, [...command, "--help"]);
        help.set(key, result.status === 0 && result.stdout.includes(`pulumi ${command[0]}`) ? result.stdout : "");
      }
      const text = help.get(key)!;
      if (!text) refused.push(`${source}: pulumi ${key} is no command`);
      for (const flag of flags) if (!new RegExp(`\\s${flag}[\\s=]`).test(text)) refused.push(`${source}: pulumi ${key} has no ${flag}`);
    }
    expect(refused).toEqual([]);
  });
});
