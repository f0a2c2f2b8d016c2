/**
 * Host hardening shared by the edge and the servers: sshd without passwords or root, unattended
 * security upgrades, and the nftables firewall applied so a bad ruleset can never lock the
 * operator out: it is checked, applied with a rollback timer, and kept only once a new SSH
 * connection (the next step) gets through.
 */
import { FIREWALL_PATHS, renderFirewall, renderNftablesConf, type FirewallPolicy } from "./firewall";
import type { RemoteHost, Step } from "./remoteHost";
import { sha256 } from "./stdin";
import { HEADER } from "../header";

/** Seconds before an unconfirmed ruleset is rolled back. */
export const FIREWALL_ROLLBACK_SECONDS = 120;

export const HARDENING_PATHS = {
  // Sorted first among the drop-ins: sshd keeps the first value it reads (cloud-init writes 50-…).
  sshd: "/etc/ssh/sshd_config.d/10-infernus.conf",
  autoUpgrades: "/etc/apt/apt.conf.d/20auto-upgrades",
  unattendedUpgrades: "/etc/apt/apt.conf.d/52infernus-unattended-upgrades",
} as const;

export interface SshdPolicy {
  /** Only these users may log in; everyone when absent (a machine the user also uses himself). */
  readonly allowUsers?: readonly string[];
}

/**
 * No MaxAuthTries below OpenSSH's 6: pulumi-command offers every key in the SSH agent in turn
 * (x/crypto's publicKeyCallback), so a lower bound would lock out an operator whose right key is
 * not among the first few. With passwords off it buys nothing an attacker cannot reconnect around.
 */
export function renderSshd(policy: SshdPolicy): string {
  return [
    HEADER,
    "PermitRootLogin no",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PubkeyAuthentication yes",
    "PermitEmptyPasswords no",
    "X11Forwarding no",
    "LoginGraceTime 20",
    ...(policy.allowUsers && policy.allowUsers.length > 0 ? [`AllowUsers ${policy.allowUsers.join(" ")}`] : []),
    "",
  ].join("\n");
}

export function renderAutoUpgrades(): string {
  return [HEADER, 'APT::Periodic::Update-Package-Lists "1";', 'APT::Periodic::Unattended-Upgrade "1";', 'APT::Periodic::AutocleanInterval "7";', ""].join("\n");
}

export interface UpgradePolicy {
  /** Local time for the reboot some upgrades need; none when absent. */
  readonly rebootTime?: string;
  /** Packages unattended-upgrades must never touch (e.g. the NVIDIA driver). */
  readonly hold?: readonly string[];
}

export function renderUnattendedUpgrades(policy: UpgradePolicy): string {
  const hold = policy.hold ?? [];
  return [
    HEADER,
    // Security updates only, on Ubuntu and on Debian (an edge may run either). Ubuntu's pocket is
    // its suite (noble-security); Debian's suite moves (stable-, oldstable-security) while its
    // codename stays (bookworm-security), so Allowed-Origins' origin:suite never matches Debian.
    "Unattended-Upgrade::Origins-Pattern {",
    '  "origin=Ubuntu,archive=${distro_codename}-security";',
    '  "origin=UbuntuESMApps,archive=${distro_codename}-apps-security";',
    '  "origin=UbuntuESM,archive=${distro_codename}-infra-security";',
    '  "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";',
    "};",
    `Unattended-Upgrade::Package-Blacklist { ${hold.map((p) => `"${p}";`).join(" ")} };`,
    'Unattended-Upgrade::Remove-Unused-Kernel-Packages "true";',
    `Unattended-Upgrade::Automatic-Reboot "${policy.rebootTime ? "true" : "false"}";`,
    ...(policy.rebootTime ? [`Unattended-Upgrade::Automatic-Reboot-Time "${policy.rebootTime}";`] : []),
    "",
  ].join("\n");
}

export interface HardeningArgs {
  readonly sshd: SshdPolicy;
  readonly upgrades: UpgradePolicy;
  readonly firewall: FirewallPolicy;
}

/** Adds the hardening, firewall and firewall-confirm steps to `host`. */
export function harden(host: RemoteHost, args: HardeningArgs): Step[] {
  const ruleset = renderFirewall(args.firewall);
  return [
    host.step("hardening", {
      script: "host/hardening.sh",
      params: { SSHD_DROP_IN: HARDENING_PATHS.sshd },
      files: [
        { path: HARDENING_PATHS.sshd, mode: "0644", content: renderSshd(args.sshd) },
        { path: HARDENING_PATHS.autoUpgrades, mode: "0644", content: renderAutoUpgrades() },
        { path: HARDENING_PATHS.unattendedUpgrades, mode: "0644", content: renderUnattendedUpgrades(args.upgrades) },
      ],
    }),
    host.step("firewall", {
      script: "host/firewall.sh",
      params: { NEXT: FIREWALL_PATHS.next, ACTIVE: FIREWALL_PATHS.active, ROLLBACK_SECONDS: String(FIREWALL_ROLLBACK_SECONDS) },
      files: [
        { path: FIREWALL_PATHS.next, mode: "0644", content: ruleset },
        { path: FIREWALL_PATHS.nftablesConf, mode: "0755", content: renderNftablesConf() },
      ],
    }),
    // A step of its own: it reaches the host over a new SSH connection, through the new ruleset.
    host.step("firewall-confirm", {
      script: "host/firewall-confirm.sh",
      params: { NEXT: FIREWALL_PATHS.next, ACTIVE: FIREWALL_PATHS.active, RULESET_SHA256: sha256(ruleset) },
    }),
  ];
}
