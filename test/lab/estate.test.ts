/**
 * The lab stack's render as a network (test/lab/estate.sh): every check, without the long load and
 * the figures (`npm run lab` adds those). Then a broken render: the script stops at the first step
 * that fails, and teardown still leaves nothing.
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, readdirSync, rmSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tool } from "../helpers";
import { LAB_SCRIPT, prepareLab } from "./estate/lab";

/** Namespaces, links, processes and files the lab made, if any outlived it. */
function leftovers(dir: string): string[] {
  const namespaces = tool("ip", ["netns", "list"]).stdout.split("\n").filter((line) => /^ie\d+-/.test(line));
  const links = tool("ip", ["-o", "link", "show"]).stdout.split("\n").filter((line) => /: ie\d+-/.test(line));
  const processes = tool("pgrep", ["-af", dir]).stdout.split("\n").filter(Boolean);
  const files = readdirSync(dir).filter((name) => name === "run");
  return [...namespaces, ...links, ...processes, ...files];
}

/** Runs estate.sh with a time bound, without blocking the event loop's timers. */
function runLab(dir: string): { status: number; stdout: string } {
  try {
    return { status: 0, stdout: execFileSync("timeout", ["420", "bash", LAB_SCRIPT, dir, "checks"], { encoding: "utf8", timeout: 450_000, stdio: ["ignore", "pipe", "pipe"] }) };
  } catch (error) {
    const failed = error as { status: number; stdout: string; stderr: string };
    return { status: failed.status, stdout: `${failed.stdout}\n${failed.stderr}` };
  }
}

describe("the estate in a lab (namespaces, wireguard-go, nftables, nginx, NUT, nmap)", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("passes every check: reach, exposure, faults, reload under load, load, per-key limits", async () => {
    dir = await prepareLab();
    const result = runLab(dir);
    console.log(result.stdout);
    expect(result.stdout).not.toContain("FAIL");
    expect(result.stdout).toContain("\n0 failed");
    expect(result.status).toBe(0);
    expect(leftovers(dir)).toEqual([]);
  }, 480_000);

  it("leaves no namespace, link, process or file behind when bring-up fails half way", async () => {
    dir = await prepareLab();
    // nginx refuses this, after the namespaces, the tunnel and the firewalls are up.
    appendFileSync(path.join(dir, "render/hosts/edge/etc/nginx/conf.d/infernus-gateway.conf"), "bogus_directive on;\n");
    const result = runLab(dir);
    expect(result.status).not.toBe(0);
    expect(result.stdout).toContain("ok   the edge has a handshake");
    expect(result.stdout).toContain("FAIL nginx -t accepts the rendered gateway");
    expect(leftovers(dir)).toEqual([]);
    expect(existsSync(path.join(dir, "render"))).toBe(true);
  }, 480_000);
});
