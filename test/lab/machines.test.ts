/**
 * The lab stack's edge and gpu1 as booted machines (test/lab/machines.sh): provisioned from bare
 * by the rendered steps over real SSH, every step run again, an edited stack, a wrong adminCidrs,
 * a power cut. Then a step that fails: the run stops there with its message. Either way nothing
 * is left behind.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MACHINES_SCRIPT, prepareMachines, replaceFile } from "./machines/prepare";
import { leftovers as leftBehind, runLabScript } from "./run";

const runMachines = (dir: string, seconds: number) => runLabScript(MACHINES_SCRIPT, [dir], seconds);
const leftovers = (dir: string) => leftBehind("im", dir);

describe("the estate on booted machines (systemd-nspawn, debootstrap, sshd, the rendered steps)", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("provisions from bare, changes nothing when run again, takes an edit, undoes a wrong firewall, comes back after a power cut", async () => {
    dir = await prepareMachines();
    const result = runMachines(dir, 1200);
    console.log(result.stdout);
    expect(result.stdout).not.toContain("FAIL");
    expect(result.stdout).toContain("ok   the converge check catches a step that appends to a file and restarts a service on every run");
    expect(result.stdout).toContain("ok   edge: infernus-check reports all ok, from this boot's figures");
    expect(result.stdout).toContain("\n0 failed");
    expect(result.status).toBe(0);
    expect(leftovers(dir)).toEqual([]);
  }, 1_300_000);

  it("stops at the first step that fails, with its message, and leaves nothing behind", async () => {
    dir = await prepareMachines();
    const order = readFileSync(path.join(dir, "first", "order"), "utf8");
    const firewall = /^edge (\d+-firewall\.sh) /m.exec(order)![1];
    const file = path.join(dir, "first", "steps", "edge", firewall);
    writeFileSync(file, replaceFile(readFileSync(file, "utf8"), "/etc/infernus/firewall.next.nft", "table inet infernus { bogus }\n"));
    const result = runMachines(dir, 600);
    expect(result.status).not.toBe(0);
    expect(result.stdout).toMatch(/FAIL first: step edge\/\d+-firewall failed: .*nft rejected \/etc\/infernus\/firewall\.next\.nft, so the running firewall stays/);
    expect(result.stdout).not.toMatch(/ran {2}edge\/\d+-firewall-confirm/);
    expect(leftovers(dir)).toEqual([]);
    expect(existsSync(path.join(dir, "logs"))).toBe(true);
  }, 700_000);
});
