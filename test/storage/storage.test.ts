/** Storage and power under mocks, and the rendered sanoid config checked by the real sanoid. */
import * as pulumi from "@pulumi/pulumi";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { renderStack } from "../../render/render";
import { resolve } from "../../render/runtime";
import { runEstate, stackObject, tool } from "../helpers";

const home = stackObject("home");

describe("the rendered sanoid config", () => {
  function sanoid(config: string) {
    const dir = mkdtempSync(path.join(tmpdir(), "infernus-sanoid-"));
    mkdirSync(path.join(dir, "conf"));
    mkdirSync(path.join(dir, "bin"));
    writeFileSync(path.join(dir, "conf", "sanoid.conf"), config);
    copyFileSync("/usr/share/sanoid/sanoid.defaults.conf", path.join(dir, "conf", "sanoid.defaults.conf"));
    // zfs is not here: a stand-in that lists no snapshots, so sanoid plans what it would take.
    writeFileSync(path.join(dir, "bin", "zfs"), "#!/bin/sh\nexit 0\n");
    chmodSync(path.join(dir, "bin", "zfs"), 0o755);
    return tool("env", [`PATH=${path.join(dir, "bin")}:${process.env.PATH}`, "sanoid", "--configdir", path.join(dir, "conf"), "--readonly", "--cron", "--verbose"]);
  }

  it("is accepted by sanoid --readonly (real tool), which snapshots RAG, state and home, not models or replicas", async () => {
    const config = String((await renderStack("home")).files.get("hosts/gpu1/etc/sanoid/sanoid.conf"));
    const run = sanoid(config);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const taken = [...new Set([...run.stdout.matchAll(/^taking snapshot ([^@]+)@/gm)].map((m) => m[1]))].sort();
    expect(taken).toEqual(["tank/home", "tank/rag", "tank/state"]);
    expect(run.stdout).toMatch(/tank\/rag@autosnap_\S+_frequently/);
    expect(run.stdout).not.toMatch(/tank\/home@autosnap_\S+_frequently/);
  });

  it("is live: sanoid refuses a setting it does not know", async () => {
    const config = String((await renderStack("home")).files.get("hosts/gpu1/etc/sanoid/sanoid.conf")).replace("frequently = 4", "frequntly = 4");
    const run = sanoid(config);
    expect(run.status).not.toBe(0);
    expect(run.stdout + run.stderr).toContain("I don't understand the setting frequntly");
  });
});

describe("storage and power under mocks", () => {
  it("replicates every irreplaceable dataset to the backup pool hourly", async () => {
    const { files } = await renderStack("home");
    const service = String(files.get("hosts/gpu1/etc/systemd/system/infernus-syncoid.service"));
    expect([...service.matchAll(/^ExecStart=(.*)$/gm)].map((m) => m[1])).toEqual([
      "/usr/sbin/syncoid --quiet --no-sync-snap tank/rag vault/backup/rag",
      "/usr/sbin/syncoid --quiet --no-sync-snap tank/state vault/backup/state",
      "/usr/sbin/syncoid --quiet --no-sync-snap tank/home vault/backup/home",
    ]);
    expect(String(files.get("hosts/gpu1/etc/modprobe.d/zfs.conf"))).toContain("options zfs zfs_arc_max=34359738368");
  });

  it("keeps the UPS monitor password secret, in 0640 files only", async () => {
    const { result, resources } = await runEstate(home);
    const ups = result.servers.gpu1.host.steps.find((s) => s.name === "ups")!;
    expect(await pulumi.isSecret(ups.stdin)).toBe(true);
    expect(resources.find((r) => r.name === "gpu1-ups")!.secretInputs).toContain("stdin");
    const files = (await resolve(ups.files)).value;
    const users = files.find((f) => f.path === "/etc/nut/upsd.users")!;
    const password = /password = (\S+)/.exec(users.content)![1];
    expect(files.find((f) => f.path === "/etc/nut/upsmon.conf")!.content).toContain(`MONITOR apc@localhost 1 upsmon-infernus ${password} primary`);
    for (const file of files.filter((f) => f.content.includes(password))) expect(file.mode).toBe("0640");
  });

  it("drains serving and snapshots exactly the irreplaceable datasets", async () => {
    const { files } = await renderStack("home");
    expect(String(files.get("hosts/gpu1/etc/infernus/drain.conf"))).toContain('SERVICES="infernus-llama-swap.service"\nDATASETS="tank/rag tank/state tank/home"');
    expect(String(files.get("hosts/gpu1/etc/nut/ups.conf"))).toMatch(/\[apc\]\n\tdriver = usbhid-ups\n\tport = auto\n\tvendorid = 051d\n\toffdelay = 20\n\tondelay = 30/);
    expect(readFileSync(path.join(__dirname, "..", "..", "assets/power/drain.sh"), "utf8")).toContain("shutdown -h +0");
  });

  it("refuses a pool on the OS disk in the preflight and in the ZFS step: both carry the pools and the check", async () => {
    const { result } = await runEstate(home);
    const steps = result.servers.gpu1.host.steps;
    const preflight = (await resolve(steps.find((s) => s.name === "preflight")!.stdin)).value;
    const zfs = (await resolve(steps.find((s) => s.name === "zfs")!.stdin)).value;
    const pools = /^export POOLS='[^']*'$/m.exec(zfs)![0];
    expect(pools).toContain("vault|");
    expect(preflight).toContain(pools);
    for (const stdin of [preflight, zfs]) expect(stdin).toContain("os_disk_problem() {");
  });

  it("checks every pool disk in the preflight", async () => {
    const { result } = await runEstate(home);
    const stdin = (await resolve(result.servers.gpu1.host.steps[0].stdin)).value;
    expect(stdin).toContain("export DISKS='/dev/disk/by-id/nvme-Samsung_SSD_990_PRO_2TB_S7DNNJ0W200002Y /dev/disk/by-id/ata-WDC_WD101EFBX-68B0AN0_VCJ3000Z'");
  });
});

describe("the offsite target", () => {
  const singapore = stackObject("singapore");

  it("makes a protected, private, versioned Spaces bucket and a key that can use only it", async () => {
    const { resources } = await runEstate(singapore);
    const bucket = resources.find((r) => r.type === "digitalocean:index/spacesBucket:SpacesBucket")!;
    expect(bucket).toMatchObject({ protect: true, inputs: { name: "kirill-infernus-backup", region: "sgp1", acl: "private", versioning: { enabled: true } } });
    const key = resources.find((r) => r.type === "digitalocean:index/spacesKey:SpacesKey")!;
    expect(key.inputs.grants).toEqual([{ bucket: "kirill-infernus-backup", permission: "readwrite" }]);
  });

  it("keeps the password, salt and keys secret, and the rclone config only in a secret 0600 file", async () => {
    const { result, resources } = await runEstate(singapore);
    const target = result.offsite!;
    for (const secret of [target.password, target.salt, target.accessKeyId, target.secretAccessKey]) expect(await pulumi.isSecret(secret)).toBe(true);
    expect(await pulumi.isSecret(result.offsiteSummary!)).toBe(true);
    expect(resources.find((r) => r.name === "gpu1-offsite")!.secretInputs).toContain("stdin");
    const files = (await resolve(result.servers.gpu1.host.steps.find((s) => s.name === "offsite")!.files)).value;
    expect(files.find((f) => f.path === "/etc/infernus/rclone.conf")!.mode).toBe("0600");
    expect((await resolve(result.offsiteSummary!)).value.restore).toContain("rclone --config rclone.conf copy offsite-crypt:tank/rag /srv/rag-restored");
  });

  it("asks for the keys of a bucket the user brings", async () => {
    const config = { ...stackObject("home"), offsite: { kind: "s3", endpoint: "s3.example.net", bucket: "kirill-backup" } };
    await expect(runEstate(config)).rejects.toThrow(/offsite.kind is s3, so the bucket's keys are needed: pulumi config set --secret infernus:offsiteAccessKeyId/);
    const withKeys = await runEstate({ ...config, offsiteAccessKeyId: "AKIASTANDIN", offsiteSecretAccessKey: "standin-secret" });
    expect(withKeys.resources.filter((r) => r.type.startsWith("digitalocean:"))).toEqual([]);
  });
});
