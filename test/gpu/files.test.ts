/** The GPU server's rendered files and scripts, checked by the real tools. */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseInventory } from "../../components/gpu/gpuServer";
import { renderStack } from "../../render/render";
import { tool } from "../helpers";

const ROOT = path.join(__dirname, "..", "..");
const REFERENCE = path.join(ROOT, "..", "shared", "reference", "nvidia-smi", "h100-driver-580");

function executable(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

describe("the GPU server's files", () => {
  it("has a power unit that systemd-analyze verify (real tool) accepts", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "infernus-units-"));
    const unit = String((await renderStack("home")).files.get("hosts/gpu1/etc/systemd/system/infernus-gpu-power.service"));
    expect(unit).toContain("ExecStart=/usr/bin/nvidia-smi -i 0 -pl 450");
    // The only change: nvidia-smi is not installed here, so the unit points at a stand-in.
    const nvidiaSmi = executable(dir, "nvidia-smi", "exit 0");
    writeFileSync(path.join(dir, "infernus-gpu-power.service"), unit.replaceAll("/usr/bin/nvidia-smi", nvidiaSmi));
    const check = tool("systemd-analyze", ["verify", path.join(dir, "infernus-gpu-power.service")]);
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
  });

  it("has sysctls that sysctl (real tool) parses, without static hugepages", async () => {
    const sysctl = String((await renderStack("home")).files.get("hosts/gpu1/etc/sysctl.d/60-infernus-gpu.conf"));
    expect(sysctl).toMatch(/^vm\.nr_hugepages = 0$/m);
    const keys = [...sysctl.matchAll(/^([a-z_.]+) = /gm)].map((m) => m[1]);
    for (const key of keys) expect(tool("sysctl", ["-n", key]).status, key).toBe(0);
  });
});

describe("the driver check on real nvidia-smi output", () => {
  it("prints an inventory the program reads back (H100, driver 580, captured)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "infernus-verify-"));
    const bin = path.join(dir, "bin");
    const root = path.join(dir, "root");
    mkdirSync(bin);
    mkdirSync(path.join(root, "proc/driver/nvidia"), { recursive: true });
    writeFileSync(path.join(root, "proc/driver/nvidia/version"), readFileSync(path.join(REFERENCE, "driver.txt"), "utf8").split("\n")[0]);
    executable(bin, "nvidia-smi", `cat ${path.join(REFERENCE, "query-noheader-nounits.csv")}`);
    executable(bin, "modinfo", 'echo "Dual MIT/GPL"');
    executable(bin, "systemctl", "exit 0");
    const run = tool("env", [
      `PATH=${bin}:${process.env.PATH}`,
      `INFERNUS_ROOT=${root}`,
      "GPUS=h100-80gb-hbm3|H100 80GB HBM3|9.0|80",
      "REBOOT_MARKER=/var/lib/infernus/reboot-pending",
      "REPORT=/var/lib/infernus/reports/nvidia-verify",
      "bash",
      path.join(ROOT, "assets/gpu/nvidia-verify.sh"),
    ]);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(parseInventory(run.stdout)).toEqual([
      { index: 0, name: "NVIDIA H100 80GB HBM3", bus: "00000000:00:06.0", driver: "580.159.04", computeCapability: "9.0", memoryMiB: 81559 },
    ]);
  });
});
