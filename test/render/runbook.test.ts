/** RUNBOOK.md for each stack: rendered from the estate, and every command in it exists. */
import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { renderStack } from "../../render/render";
import { renderRunbook } from "../../render/runbook";
import { clone, runEstate, stackObject } from "../helpers";

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
    for (const heading of ["First deployment", "BIOS of each server", "Add a client device", "Rotate an API key", "Change the models", "Migrate a server to new hardware", "Restore", "Alerts"]) {
      expect(runbook).toContain(`## ${heading}`);
    }
    expect(runbook).toContain("Restore on AC power loss: **Power On**");
    expect(runbook).toContain("Above 4G Decoding: **Enabled**");
    expect(runbook).toMatch(/\*\*gpu1\*\*: preflight → wireguard → .* → exporters( → lan-gateway)?( → app-[a-z]+)+\n/);
    for (const alert of ["ServerDown", "TunnelHandshakeStale", "GpuHot", "ModelUnavailable", "UpsOnBattery", "ZfsPoolNotOnline", "SnapshotTooOld"]) {
      expect(runbook.match(new RegExp(`^\\| ${alert} \\|`, "gm")), alert).not.toBeNull();
    }
    if (stack === "singapore") expect(runbook).toContain("The copy of gpu1 is in bucket kirill-infernus-backup");
  });

  it("says what each client sees when the home link or the power fails, and what comes back by itself", () => {
    const outages = runbook.slice(runbook.indexOf("## When the internet or the power is down"), runbook.indexOf("## Migrate"));
    expect(outages).toContain("the edge answers every API call with a 503 within a second");
    expect(outages).toContain("nothing needs a restart: gpu1 shakes hands with the edge again within 25 s");
    expect(outages).toContain("gpu1 runs on its UPS; at low battery each stops llama-swap");
    if (stack === "singapore") expect(outages).toContain("the LAN gateway on gpu1 (`https://192.168.1.50/v1`) keeps answering with the same keys (ide, obsidian, n8n, search, chat)");
    else expect(outages).toContain("Add `lan.gateway` to the stack for a gateway at home");
  });

  it("shows each alert as it fires here: labels filled in, one line per host, model and app, no template left", () => {
    const alerts = runbook.slice(runbook.indexOf("## Alerts"));
    expect(alerts).not.toMatch(/\{\{|\$labels|\$value|<model>|<server>/);
    expect(alerts).toContain("| ServerDown | page | edge is unreachable over the tunnel |");
    expect(alerts).toContain("| ServerDown | page | gpu1 is unreachable over the tunnel |");
    for (const model of ["gpt-oss-120b", "qwen3-coder-30b", "qwen3-embedding-8b"]) {
      expect(alerts).toContain(`| ModelUnavailable | warning | ${model} on gpu1 cannot be served: its weights are not complete | \`max(infernus_model_weights_complete{server="gpu1",model="${model}"})`);
      expect(alerts).toContain(`| ModelOverloaded | warning | more than 8 requests wait for ${model} on gpu1 |`);
    }
    expect(alerts).toContain("| GpuHot | page | GPU 0 on gpu1 at over 85 °C |");
    expect(alerts.match(/^\| AppDown \|/gm)).toHaveLength(stack === "home" ? 4 : 3);
    expect(alerts).toContain("| AppDown | warning | the app memory on gpu1 does not answer over the tunnel |");
    expect(alerts).toContain("systemctl status infernus-memory; journalctl -u infernus-memory -n 50");
  });

  it("names only commands that exist: npm scripts, tools the steps install, infernus commands on the hosts", () => {
    const blocks = [...runbook.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1].trim().split("\n"));
    expect(blocks.length).toBeGreaterThan(10);
    for (const line of blocks) {
      const [tool, sub, script] = line.replace(/^sudo /, "").split(/\s+/);
      // An infernus command on a host must be one a step installs there.
      if (tool.startsWith("infernus-")) expect(installed, line).toContain(tool);
      else expect(Object.keys(TOOLS), line).toContain(tool);
      if (tool === "npm" && sub === "run") expect(scripts, line).toContain(script);
      if (tool === "npm") expect(["run", "ci"], line).toContain(sub);
      if (TOOLS[tool]) expect(assets, `${tool}: a step installs ${TOOLS[tool]}`).toMatch(new RegExp(`apt_install .*\\b${TOOLS[tool]}\\b`));
    }
    const commands = [...new Set([...runbook.matchAll(/`(infernus-[a-z-]+)`/g)].map((m) => m[1]))];
    expect(commands.sort()).toEqual(["infernus-check", "infernus-models"]);
    for (const command of commands) expect(installed, command).toContain(command);
  });
});

describe("the runbook of an estate with a second server without GPU, pools or models", () => {
  let runbook: string;
  beforeAll(async () => {
    const config = clone(stackObject("singapore"));
    config.servers.push({ name: "nas", ssh: { host: "192.168.1.60", user: "kirill", insecureIgnoreHostKey: true } });
    const { result: estate } = await runEstate(config);
    runbook = renderRunbook({
      stack: "singapore",
      config: estate.config,
      steps: estate.hosts.map((h) => ({ host: h.hostName, names: h.steps.map((s) => s.name) })),
      watched: estate.watched,
      storage: Object.fromEntries(Object.entries(estate.servers).map(([name, s]) => [name, s.storageSummary])),
    });
  });
  const section = (heading: string) => runbook.slice(runbook.indexOf(`## ${heading}`), runbook.indexOf("\n## ", runbook.indexOf(`## ${heading}`) + 1));

  it("gives every server its BIOS settings, the GPU ones only to the GPU server", () => {
    const bios = section("BIOS of each server");
    const nas = bios.slice(bios.indexOf("**nas**"));
    expect(bios).toContain("**gpu1** (on a UPS):");
    expect(nas).toContain("Restore on AC power loss: **Power On**");
    expect(nas).not.toContain("Above 4G Decoding");
    expect(bios.slice(bios.indexOf("**gpu1**"), bios.indexOf("**nas**"))).toContain("Above 4G Decoding: **Enabled**");
  });

  it("has no snapshot or offsite restore for the server without pools", () => {
    const restore = section("Restore");
    expect(restore).toContain("The copy of gpu1 is in bucket kirill-infernus-backup");
    expect(restore).not.toMatch(/\bnas\b/);
  });

  it("watches the server without models for what it has: reachability, tunnel, CPU and NVMe heat, root disk", () => {
    const rows = section("Alerts").split("\n").filter((line) => /^\| \w+ \| \w+ \| .*\bnas\b/.test(line)).map((line) => line.split(" | ")[0].slice(2));
    expect(rows).toEqual(["ServerDown", "TunnelHandshakeStale", "CpuHot", "NvmeHot", "DiskAlmostFull"]);
  });
});
