/** RUNBOOK.md for each stack: rendered from the estate, and every command in it exists. */
import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { renderStack } from "../../render/render";

const ROOT = path.join(__dirname, "..", "..");
const scripts = Object.keys((JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts);
const assets = readdirSync(path.join(ROOT, "assets"), { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".sh"))
  .map((f) => readFileSync(path.join(ROOT, "assets", f), "utf8"))
  .join("\n");

/** The tools a command line may start with, and the Debian package a step installs them from ("" = the operator's machine or base Ubuntu). */
const TOOLS: Record<string, string> = { npm: "", ls: "", "ssh-keyscan": "", systemctl: "", journalctl: "", zfs: "zfsutils-linux", rclone: "rclone", podman: "podman" };

describe.each([["home"], ["singapore"]])("the %s runbook", (stack) => {
  let runbook: string;
  let installed: string[];
  beforeAll(async () => {
    const { files } = await renderStack(stack);
    runbook = String(files.get("RUNBOOK.md"));
    installed = [...files.keys()].filter((f) => f.startsWith("hosts/")).map((f) => path.basename(f));
  });

  it("covers deployment, BIOS, clients, keys, models, migration, restores and every alert", () => {
    for (const heading of ["First deployment", "BIOS of each GPU server", "Add a client device", "Rotate an API key", "Change the models", "Migrate a server to new hardware", "Restore", "Alerts"]) {
      expect(runbook).toContain(`## ${heading}`);
    }
    expect(runbook).toContain("Restore on AC power loss: **Power On**");
    expect(runbook).toContain("Above 4G Decoding: **Enabled**");
    expect(runbook).toMatch(/\*\*gpu1\*\*: preflight → wireguard → .* → exporters( → app-[a-z]+)+\n/);
    for (const alert of ["ServerDown", "TunnelHandshakeStale", "GpuHot", "ModelUnavailable", "UpsOnBattery", "ZfsPoolNotOnline", "SnapshotTooOld"]) {
      expect(runbook.match(new RegExp(`^\\| ${alert} \\|`, "gm")), alert).toHaveLength(1);
    }
    if (stack === "singapore") expect(runbook).toContain("The copy of gpu1 is in bucket kirill-infernus-backup");
  });

  it("names only commands that exist: npm scripts, tools the steps install, infernus commands on the hosts", () => {
    const blocks = [...runbook.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1].trim().split("\n"));
    expect(blocks.length).toBeGreaterThan(10);
    for (const line of blocks) {
      const [tool, sub, script] = line.replace(/^sudo /, "").split(/\s+/);
      expect(Object.keys(TOOLS), line).toContain(tool);
      if (tool === "npm" && sub === "run") expect(scripts, line).toContain(script);
      if (tool === "npm") expect(["run", "ci"], line).toContain(sub);
      if (TOOLS[tool]) expect(assets, `${tool}: a step installs ${TOOLS[tool]}`).toMatch(new RegExp(`apt_install .*\\b${TOOLS[tool]}\\b`));
    }
    const commands = [...new Set([...runbook.matchAll(/`(infernus-[a-z-]+)`/g)].map((m) => m[1]))];
    expect(commands.sort()).toEqual(["infernus-check", "infernus-models"]);
    for (const command of commands) expect(installed, command).toContain(command);
  });
});
