/** The offsite copy, round trip: the rendered rclone config (real rclone), a local folder for the bucket. */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { rcloneObscure } from "../../components/storage/offsite";
import { renderStack } from "../../render/render";
import { resolve } from "../../render/runtime";
import { runEstate, stackObject, tool } from "../helpers";

const ROOT = path.join(__dirname, "..", "..");

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe("the offsite copy", () => {
  // An obscured value is base64url and may begin with "-": `--` keeps rclone from reading it as flags.
  it("obscures passwords the way rclone reveal (real tool) reads them", () => {
    for (const secret of ["correct horse battery staple", "secret-33", randomBytes(24).toString("base64url")]) {
      expect(tool("rclone", ["reveal", "--", rcloneObscure(secret)]).stdout.trim()).toBe(secret);
    }
  });

  it("copies the latest snapshot encrypted at rest, and restores it byte-identical", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "infernus-offsite-"));
    const { files } = await renderStack("singapore");
    // The only change: the bucket is a local folder instead of S3.
    const conf = String(files.get("hosts/gpu1/etc/infernus/rclone.conf")).replace(/\[offsite\]\n(?:.+\n)+/, `[offsite]\ntype = local\n`);
    writeFileSync(path.join(dir, "rclone.conf"), conf, { mode: 0o600 });
    // The generated password is in the config, obscured: what the stack output holds.
    const { result } = await runEstate(stackObject("singapore"));
    const password = (await resolve(result.offsite!.password)).value;
    expect(tool("rclone", ["reveal", "--", /^password = (\S+)$/m.exec(conf)![1]]).stdout.trim()).toBe(password);

    const snapshot = path.join(dir, "srv/rag/.zfs/snapshot/autosnap_2026-11-22_00:00:00_hourly");
    mkdirSync(path.join(snapshot, "collection"), { recursive: true });
    const original = { "collection/segment.bin": randomBytes(200_000), "notes.txt": Buffer.from("the RAG memory must never be lost\n") };
    for (const [name, content] of Object.entries(original)) writeFileSync(path.join(snapshot, name), content);
    writeFileSync(path.join(dir, "datasets"), `tank/rag ${path.join(dir, "srv/rag")}\n`);
    mkdirSync(path.join(dir, "bin"));
    writeFileSync(path.join(dir, "bin", "zfs"), "#!/bin/sh\necho tank/rag@autosnap_2026-11-22_00:00:00_hourly\n");
    chmodSync(path.join(dir, "bin", "zfs"), 0o755);

    const copy = tool("env", [
      `PATH=${path.join(dir, "bin")}:${process.env.PATH}`,
      `RCLONE_CONFIG=${path.join(dir, "rclone.conf")}`,
      `INFERNUS_OFFSITE_METRICS=${path.join(dir, "offsite.prom")}`,
      "bash",
      "-c",
      `cd ${dir} && bash ${path.join(ROOT, "assets/storage/offsite.sh")} ${path.join(dir, "datasets")}`,
    ]);
    expect(copy.stderr).toBe("");
    expect(copy.status).toBe(0);
    expect(copy.stdout).toContain("tank/rag@autosnap_2026-11-22_00:00:00_hourly copied");
    expect(readFileSync(path.join(dir, "offsite.prom"), "utf8")).toMatch(/^infernus_offsite_last_success_timestamp_seconds \d+$/m);

    // At rest: two files under the bucket, neither name nor content readable.
    const stored = listFiles(path.join(dir, "kirill-infernus-backup", "gpu1"));
    expect(stored).toHaveLength(2);
    for (const file of stored) {
      expect(file).not.toMatch(/collection|segment|notes|rag/);
      const bytes = readFileSync(file);
      for (const content of Object.values(original)) expect(bytes.includes(content.subarray(0, 32))).toBe(false);
    }

    const restored = path.join(dir, "restored");
    const back = tool("bash", ["-c", `cd ${dir} && rclone --config rclone.conf copy offsite-crypt:tank/rag ${restored}`]);
    expect(back.status).toBe(0);
    for (const [name, content] of Object.entries(original)) expect(readFileSync(path.join(restored, name)).equals(content), name).toBe(true);
  });
});
