/** Running a lab script from a test, and what it may not leave behind. */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { tool } from "../helpers";

/** Runs a lab script with a time bound, without blocking the event loop's timers. */
export function runLabScript(script: string, args: readonly string[], seconds: number): { status: number; stdout: string } {
  try {
    const stdout = execFileSync("timeout", [String(seconds), "bash", script, ...args], { encoding: "utf8", timeout: (seconds + 30) * 1000, stdio: ["ignore", "pipe", "pipe"] });
    return { status: 0, stdout };
  } catch (error) {
    const failed = error as { status: number; stdout: string; stderr: string };
    return { status: failed.status, stdout: `${failed.stdout}\n${failed.stderr}` };
  }
}

/** Namespaces and links named `<prefix><pid>-…`, mounts and processes naming `dir`, and its run/ folder, if any outlived the script. */
export function leftovers(prefix: string, dir: string): string[] {
  const namespaces = tool("ip", ["netns", "list"]).stdout.split("\n").filter((line) => new RegExp(`^${prefix}\\d+-`).test(line));
  const links = tool("ip", ["-o", "link", "show"]).stdout.split("\n").filter((line) => new RegExp(`: ${prefix}\\d+-`).test(line));
  const mounts = readFileSync("/proc/mounts", "utf8").split("\n").filter((line) => line.includes(dir));
  const processes = tool("pgrep", ["-af", dir]).stdout.split("\n").filter(Boolean);
  const files = readdirSync(dir).filter((name) => name === "run");
  return [...namespaces, ...links, ...mounts, ...processes, ...files];
}
