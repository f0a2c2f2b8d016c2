/**
 * A step installs its files before its script installs the package that owns one of them as a
 * conffile (the exporters step writes /etc/default/prometheus-node-exporter, the UPS step
 * /etc/nut/*). Found on a booted bare Debian 12 machine: dpkg asked what to do, stdin was the
 * step, and the install failed. The real dpkg, on a package made here, with and without the
 * options apt_install (assets/lib.sh) gives it.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { tool } from "../helpers";

/** The dpkg options apt_install passes through apt-get, read from the library itself. */
function aptInstallDpkgOptions(): string[] {
  const library = readFileSync(path.join(__dirname, "..", "..", "assets", "lib.sh"), "utf8");
  const body = library.slice(library.indexOf("apt_install() {"), library.indexOf("\n}\n", library.indexOf("apt_install() {")));
  return [...body.matchAll(/-o Dpkg::Options::=(\S+)/g)].map((m) => m[1]);
}

describe("a package whose conffile a step already wrote", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "infernus-dpkg-"));
  const deb = path.join(dir, "probe.deb");

  beforeAll(() => {
    const pkg = path.join(dir, "pkg");
    mkdirSync(path.join(pkg, "DEBIAN"), { recursive: true });
    mkdirSync(path.join(pkg, "etc", "default"), { recursive: true });
    writeFileSync(path.join(pkg, "DEBIAN", "control"), "Package: infernus-conffile-probe\nVersion: 1.0\nArchitecture: all\nMaintainer: infernus tests <tests@invalid>\nDescription: one conffile\n");
    writeFileSync(path.join(pkg, "DEBIAN", "conffiles"), "/etc/default/probe\n");
    writeFileSync(path.join(pkg, "etc", "default", "probe"), 'ARGS=""\n');
    expect(tool("dpkg-deb", ["--root-owner-group", "--build", pkg, deb]).status).toBe(0);
  });

  /** Installs the probe with the real dpkg into a scratch root that already holds the step's file. */
  function install(options: readonly string[]): { status: number; file: string; output: string } {
    const root = mkdtempSync(path.join(dir, "root-"));
    for (const sub of ["var/lib/dpkg/info", "var/lib/dpkg/updates", "etc/default"]) mkdirSync(path.join(root, sub), { recursive: true });
    writeFileSync(path.join(root, "var/lib/dpkg/status"), "");
    writeFileSync(path.join(root, "etc/default/probe"), 'ARGS="--the-steps-own"\n');
    const run = tool("dpkg", [`--root=${root}`, "--force-script-chrootless", "--force-not-root", "--log=/dev/null", ...options, "-i", deb], "");
    return { status: run.status, file: readFileSync(path.join(root, "etc/default/probe"), "utf8"), output: run.stdout + run.stderr };
  }

  it("fails with no one to answer dpkg's question (real dpkg)", () => {
    const run = install([]);
    expect(run.status).not.toBe(0);
    expect(run.output).toContain("end of file on stdin at conffile prompt");
  });

  it("installs and keeps the step's file with the options apt_install passes (real dpkg)", () => {
    expect(aptInstallDpkgOptions()).toEqual(["--force-confdef", "--force-confold"]);
    const run = install(aptInstallDpkgOptions());
    expect(run.output).toContain("Keeping old config file as default");
    expect(run.status).toBe(0);
    expect(run.file).toBe('ARGS="--the-steps-own"\n');
  });
});
