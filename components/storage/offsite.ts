/**
 * The offsite copy: the latest snapshot of each irreplaceable dataset, encrypted by rclone (crypt
 * over S3) before it leaves the house. The encryption password is generated here and kept as a
 * secret output: without it the copy is useless.
 */
import { createCipheriv, createHash } from "node:crypto";
import type { OffsiteConfig } from "../config/schema";
import { HEADER } from "../header";

export const OFFSITE_PATHS = {
  rcloneConf: "/etc/infernus/rclone.conf",
  script: "/usr/local/sbin/infernus-offsite",
  service: "/etc/systemd/system/infernus-offsite.service",
  timer: "/etc/systemd/system/infernus-offsite.timer",
  datasets: "/etc/infernus/offsite.datasets",
  metrics: "/var/lib/node_exporter/textfile/infernus_offsite.prom",
} as const;

// rclone's fixed key for "obscuring" passwords in its config (lib/obscure): not encryption, just
// how rclone.conf stores them. The real protection is the config file's mode, 0600.
const RCLONE_OBSCURE_KEY = Buffer.from("9c935b48730a554d6bfd7c63c886a92bd390198eb8128afbf4de162b8b95f638", "hex");

/** `rclone obscure`, with an IV derived from the value so the same password renders the same bytes. */
export function rcloneObscure(plain: string): string {
  const iv = createHash("sha256").update(plain).digest().subarray(0, 16);
  const cipher = createCipheriv("aes-256-ctr", RCLONE_OBSCURE_KEY, iv);
  return Buffer.concat([iv, cipher.update(plain, "utf8"), cipher.final()]).toString("base64url");
}

export interface OffsiteCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The crypt password and salt, in clear (obscured here for the file). */
  readonly password: string;
  readonly salt: string;
}

export function endpointOf(offsite: OffsiteConfig): string {
  return offsite.kind === "spaces" ? `${offsite.region}.digitaloceanspaces.com` : offsite.endpoint;
}

/** rclone.conf: `offsite` is the bucket, `offsite-crypt` encrypts names and contents into it, per server. */
export function renderRcloneConf(offsite: OffsiteConfig, server: string, credentials: OffsiteCredentials): string {
  return [
    HEADER,
    "[offsite]",
    "type = s3",
    `provider = ${offsite.kind === "spaces" ? "DigitalOcean" : "Other"}`,
    `access_key_id = ${credentials.accessKeyId}`,
    `secret_access_key = ${credentials.secretAccessKey}`,
    `endpoint = ${endpointOf(offsite)}`,
    `region = ${offsite.region}`,
    "acl = private",
    "",
    "[offsite-crypt]",
    "type = crypt",
    `remote = offsite:${offsite.bucket}/${server}`,
    "filename_encryption = standard",
    "directory_name_encryption = true",
    `password = ${rcloneObscure(credentials.password)}`,
    `password2 = ${rcloneObscure(credentials.salt)}`,
    "",
  ].join("\n");
}

export function renderOffsiteUnits(offsite: OffsiteConfig): { service: string; timer: string } {
  return {
    service: [
      HEADER,
      "[Unit]",
      "Description=infernus: encrypted offsite copy of the latest snapshots",
      "After=network-online.target zfs.target",
      "Wants=network-online.target",
      "",
      "[Service]",
      "Type=oneshot",
      `ExecStart=${OFFSITE_PATHS.script} ${OFFSITE_PATHS.datasets}`,
      "Nice=10",
      "IOSchedulingClass=idle",
      "TimeoutStartSec=infinity",
      "",
    ].join("\n"),
    timer: [HEADER, "[Unit]", "Description=infernus: daily offsite copy", "", "[Timer]", `OnCalendar=${offsite.schedule}`, "RandomizedDelaySec=30m", "Persistent=true", "", "[Install]", "WantedBy=timers.target", ""].join("\n"),
  };
}

/** How to get the data back, for the stack outputs and the README. */
export function restoreInstructions(offsite: OffsiteConfig, server: string): string {
  return [
    `The copy of ${server} is in bucket ${offsite.bucket} at ${endpointOf(offsite)}, under ${server}/, encrypted by rclone crypt.`,
    "1. Get the password and salt: pulumi stack output --show-secrets offsite",
    `2. Write an rclone.conf like /etc/infernus/rclone.conf on ${server} (rclone obscure <password> for the password lines), or copy that file.`,
    "3. List: rclone --config rclone.conf lsd offsite-crypt:",
    "4. Restore a dataset: rclone --config rclone.conf copy offsite-crypt:tank/rag /srv/rag-restored",
  ].join("\n");
}
