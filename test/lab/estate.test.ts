/**
 * The lab stack's render as a network (test/lab/estate.sh): every check, without the long load and
 * the figures (`npm run lab` adds those). Then a broken render: the script stops at the first step
 * that fails, and teardown still leaves nothing.
 */
import { appendFileSync, existsSync, rmSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LAB_SCRIPT, prepareLab } from "./estate/lab";
import { leftovers as leftBehind, runLabScript } from "./run";

const leftovers = (dir: string) => leftBehind("ie", dir);

// About 7 minutes on two cores, more when the run is slow: a CI run at 9e6ca6d passed every check
// and was cut at 420 s during its last ones.
const runLab = (dir: string) => runLabScript(LAB_SCRIPT, [dir, "checks"], 600);

describe("the estate in a lab (namespaces, wireguard-go, nftables, nginx, NUT, nmap)", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("passes every check: reach, TLS (testssl.sh), exposure, faults, reload under load, load, 1,000 streams, per-key limits", async () => {
    dir = await prepareLab();
    const result = runLab(dir);
    console.log(result.stdout);
    expect(result.stdout).not.toContain("FAIL");
    expect(result.stdout).toContain("\n0 failed");
    expect(result.status).toBe(0);
    expect(leftovers(dir)).toEqual([]);
  }, 660_000);

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
  }, 660_000);
});
