/** A power drill with NUT's dummy-ups and the rendered NUT configs (test/lab/power.sh). */
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { renderStack } from "../../render/render";
import { tool } from "../helpers";
import { dummyUps } from "./nut";

const ROOT = path.join(__dirname, "..", "..");

describe("the UPS in a lab (real upsd, upsmon, dummy-ups, ip netns)", () => {
  it("ignores a blip, and on low battery stops serving, snapshots, then powers off, once", async () => {
    const { files } = await renderStack("home");
    const dir = mkdtempSync(path.join(tmpdir(), "infernus-power-"));
    mkdirSync(path.join(dir, "etc"));
    mkdirSync(path.join(dir, "bin"));
    const nut = (name: string) => String(files.get(`hosts/gpu1/etc/nut/${name}`));
    // The only changes: the driver section becomes dummy-ups, and the drain and flag paths point into the lab.
    const ups = dummyUps(nut("ups.conf"), `${dir}/ups.dev`);
    const upsmon = nut("upsmon.conf")
      .replace(/^SHUTDOWNCMD .*$/m, `SHUTDOWNCMD "${path.join(ROOT, "assets/power/drain.sh")}"`)
      .replace(/^POWERDOWNFLAG .*$/m, `POWERDOWNFLAG ${dir}/killpower`);
    const write = (name: string, content: string) => writeFileSync(path.join(dir, "etc", name), content, { mode: 0o600 });
    write("nut.conf", nut("nut.conf"));
    write("ups.conf", ups);
    write("upsd.conf", nut("upsd.conf"));
    write("upsd.users", nut("upsd.users"));
    write("upsmon.conf", upsmon);
    const drainConf = String(files.get("hosts/gpu1/etc/infernus/drain.conf"));
    writeFileSync(path.join(dir, "drain.conf"), drainConf);
    for (const command of ["systemctl", "zfs", "shutdown", "logger"]) {
      writeFileSync(path.join(dir, "bin", command), `#!/bin/sh\necho "${command} $*" >> ${dir}/calls\n`);
      chmodSync(path.join(dir, "bin", command), 0o755);
    }
    const datasets = /^DATASETS="(.*)"$/m.exec(drainConf)![1];
    expect(datasets).toBe("tank/rag tank/state tank/home");
    const result = tool("env", [`UPS=apc`, `DATASETS=${datasets}`, `DRAIN=${path.join(ROOT, "assets/power/drain.sh")}`, "timeout", "150", "bash", path.join(__dirname, "power.sh"), dir]);
    console.log(result.stdout);
    expect(result.stdout).not.toContain("FAIL");
    expect(result.stdout).toContain("0 failed");
    expect(result.status).toBe(0);
    expect(tool("ip", ["netns", "list"]).stdout).not.toMatch(/infernus-power-/);
  }, 180_000);
});
