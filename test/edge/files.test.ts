/** The edge's rendered files, each handed to the real tool that will read it. */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { fingerprintOf } from "../../components/edge/edge";
import { renderStack, writeTree } from "../../render/render";
import { tool } from "../helpers";

describe.each([["home"], ["singapore"]])("the %s edge's files", (stack) => {
  let dir: string;
  const edge = (file: string) => path.join(dir, "hosts/edge", file);
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), `infernus-${stack}-`));
    writeTree(dir, await renderStack(stack));
  });

  it("has a firewall that nft -c (real tool) accepts, and a boot file that loads it", () => {
    const check = tool("nft", ["-c", "-f", edge("etc/infernus/firewall.next.nft")]);
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
    const boot = readFileSync(edge("etc/nftables.conf"), "utf8").replace("/etc/infernus/firewall.nft", edge("etc/infernus/firewall.next.nft"));
    writeFileSync(path.join(dir, "nftables.conf"), boot);
    expect(tool("nft", ["-c", "-f", path.join(dir, "nftables.conf")]).status).toBe(0);
    expect(boot).not.toContain("flush ruleset");
  });

  it("has an sshd drop-in that sshd -t (real tool) accepts", () => {
    mkdirSync("/run/sshd", { recursive: true }); // sshd -t insists on its privilege separation directory
    const hostKey = path.join(dir, "host_key");
    expect(tool("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]).status).toBe(0);
    const config = path.join(dir, "sshd_config");
    writeFileSync(config, `Include ${edge("etc/ssh/sshd_config.d/10-infernus.conf")}\nHostKey ${hostKey}\n`);
    const check = tool("/usr/sbin/sshd", ["-t", "-f", config]);
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
    const effective = tool("/usr/sbin/sshd", ["-T", "-f", config, "-C", "user=kirill,host=x,addr=192.0.2.1"]).stdout;
    expect(effective).toMatch(/^permitrootlogin no$/m);
    expect(effective).toMatch(/^passwordauthentication no$/m);
    expect(effective).toMatch(/^kbdinteractiveauthentication no$/m);
    // pulumi-command offers each agent key in turn: a low MaxAuthTries locks out a full agent.
    expect(Number(/^maxauthtries (\d+)$/m.exec(effective)?.[1])).toBeGreaterThanOrEqual(6);
  });

  it("has unattended-upgrades settings that apt-config (real tool) parses", () => {
    for (const file of ["20auto-upgrades", "52infernus-unattended-upgrades"]) {
      const dump = tool("apt-config", ["-c", edge(`etc/apt/apt.conf.d/${file}`), "dump"]);
      expect(dump.stderr).toBe("");
      expect(dump.status).toBe(0);
    }
  });

  it("lets unattended-upgrade (real tool) take security updates on Ubuntu 24.04 and Debian 12/13, and nothing else", () => {
    // Release fields as the archives' InRelease files give them (Debian's from this machine's lists).
    const release = (origin: string, archive: string, codename: string, label: string) => ({ origin, archive, codename, label });
    const cases = [
      { distroId: "Ubuntu", codename: "noble", origin: release("Ubuntu", "noble-security", "noble", "Ubuntu"), allowed: true },
      { distroId: "Ubuntu", codename: "noble", origin: release("UbuntuESMApps", "noble-apps-security", "noble", "Ubuntu"), allowed: true },
      { distroId: "Ubuntu", codename: "noble", origin: release("Ubuntu", "noble-updates", "noble", "Ubuntu"), allowed: false },
      { distroId: "Ubuntu", codename: "noble", origin: release("Ubuntu", "noble", "noble", "Ubuntu"), allowed: false },
      { distroId: "Debian", codename: "bookworm", origin: release("Debian", "oldstable-security", "bookworm-security", "Debian-Security"), allowed: true },
      { distroId: "Debian", codename: "bookworm", origin: release("Debian", "oldstable-updates", "bookworm-updates", "Debian"), allowed: false },
      { distroId: "Debian", codename: "trixie", origin: release("Debian", "stable-security", "trixie-security", "Debian-Security"), allowed: true },
      { distroId: "Debian", codename: "trixie", origin: release("Debian", "stable", "trixie", "Debian"), allowed: false },
    ];
    const probe = path.join(__dirname, "..", "tools", "fixtures", "uu-origins.py");
    const run = tool("/usr/bin/python3", [probe, edge("etc/apt/apt.conf.d/52infernus-unattended-upgrades")], JSON.stringify(cases));
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual(cases.map((c) => c.allowed));
  });

  it("has gateway sysctls that sysctl -p (real tool) applies, in a namespace of their own", () => {
    const ns = `infernus-sysctl-${process.pid}`;
    expect(tool("ip", ["netns", "add", ns]).status).toBe(0);
    try {
      const apply = tool("ip", ["netns", "exec", ns, "sysctl", "-p", edge("etc/sysctl.d/60-infernus-gateway.conf")]);
      expect(apply.stderr).toBe("");
      expect(apply.status).toBe(0);
      const now = tool("ip", ["netns", "exec", ns, "sysctl", "-n", "net.ipv4.tcp_retries2", "net.ipv4.tcp_keepalive_time"]).stdout;
      expect(now.split("\n").filter(Boolean)).toEqual(["6", "20"]);
    } finally {
      tool("ip", ["netns", "del", ns]);
    }
    expect(readFileSync(edge("etc/nginx/conf.d/infernus-gateway.conf"), "utf8")).toContain("proxy_socket_keepalive on;");
  });

  it("has nginx's own limits: connections for its streams in each worker, open files for them in nginx.conf and in the unit (systemd-analyze verify, the real tool)", () => {
    const main = readFileSync(edge("etc/nginx/nginx.conf"), "utf8");
    const connections = Number(/^\s*worker_connections (\d+);$/m.exec(main)?.[1]);
    const files = Number(/^worker_rlimit_nofile (\d+);$/m.exec(main)?.[1]);
    // The default 2,000 streams, each a client's and an upstream's connection, in any one worker.
    expect(connections).toBeGreaterThanOrEqual(2 * 2000);
    expect(files).toBeGreaterThanOrEqual(connections);
    expect(main).toMatch(/^worker_processes auto;$/m);
    expect(main).not.toMatch(/TLSv1(\.1)? /);
    const dropIn = readFileSync(edge("etc/systemd/system/nginx.service.d/infernus-limits.conf"), "utf8");
    expect(dropIn).toMatch(new RegExp(`^LimitNOFILE=${files}$`, "m"));
    // The drop-in beside a unit like the distribution's, where systemd looks for it.
    const units = mkdtempSync(path.join(tmpdir(), "infernus-nginx-unit-"));
    mkdirSync(path.join(units, "nginx.service.d"));
    writeFileSync(path.join(units, "nginx.service"), "[Unit]\nDescription=nginx\n[Service]\nType=forking\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n");
    writeFileSync(path.join(units, "nginx.service.d", "infernus-limits.conf"), dropIn);
    const verify = spawnSync("systemd-analyze", ["verify", path.join(units, "nginx.service")], { encoding: "utf8", env: { ...process.env, SYSTEMD_UNIT_PATH: `${units}:` } });
    expect(verify.stderr).toBe("");
    expect(verify.status).toBe(0);
  });

  it("has an audit log rotation that logrotate -d (real tool) accepts", () => {
    const check = tool("logrotate", ["-d", "-s", path.join(dir, "logrotate.state"), edge("etc/logrotate.d/infernus-gateway")]);
    expect(check.stderr + check.stdout).not.toMatch(/error/i);
    expect(check.status).toBe(0);
  });
});

describe("the droplet's user-data", () => {
  it("passes cloud-init schema (real tool)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "infernus-cloud-"));
    writeTree(dir, await renderStack("singapore"));
    const check = tool("cloud-init", ["schema", "-c", path.join(dir, "cloud/infernus-edge-droplet.user-data.yaml")]);
    expect(check.stdout + check.stderr).toContain("Valid cloud-config");
    expect(check.status).toBe(0);
  });
});

describe("an admin key on DigitalOcean", () => {
  it("has the fingerprint DigitalOcean lists it under: ssh-keygen -l -E md5 (real tool)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "infernus-fingerprint-"));
    expect(tool("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "kirill@laptop", "-f", path.join(dir, "key")]).status).toBe(0);
    const publicKey = readFileSync(path.join(dir, "key.pub"), "utf8");
    const listed = tool("ssh-keygen", ["-l", "-E", "md5", "-f", path.join(dir, "key.pub")]).stdout.split(" ")[1];
    expect(`MD5:${fingerprintOf(publicKey)}`).toBe(listed);
  });
});
