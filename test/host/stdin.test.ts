/** A step's stdin, run by the real bash against a scratch root. */
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { STEP_COMMAND } from "../../components/host/remoteHost";
import { composeStdin, type ResolvedStep } from "../../components/host/stdin";
import { tool } from "../helpers";

const SECRET = "PrivateKey = c2VjcmV0LXN0YW5kLWluLWZvci10aGUtdGVzdHMtb25seQ==";

function step(script: string, content = `[Interface]\n${SECRET}\n`): ResolvedStep {
  return {
    host: "gpu1",
    step: "wireguard",
    params: { IFACE: "wg0", NOTE: "it's quoted" },
    files: [
      { path: "/etc/wireguard/wg0.conf", mode: "0600", content },
      { path: "/etc/sysctl.d/60-infernus-forwarding.conf", mode: "0644", content: "" },
    ],
    script,
  };
}

function runStdin(stdin: string, root: string) {
  return tool("bash", ["-c", `INFERNUS_ROOT=${root} bash -s`], stdin);
}

describe("a step's stdin", () => {
  it("writes each file with its mode, exports the params, then runs the script", () => {
    const root = mkdtempSync(path.join(tmpdir(), "infernus-root-"));
    const result = runStdin(composeStdin(step('echo "iface=$IFACE note=$NOTE host=$INFERNUS_HOST"')), root);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("iface=wg0 note=it's quoted host=gpu1");
    expect(readFileSync(path.join(root, "etc/wireguard/wg0.conf"), "utf8")).toBe(`[Interface]\n${SECRET}\n`);
    expect(statSync(path.join(root, "etc/wireguard/wg0.conf")).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(root, "etc/sysctl.d/60-infernus-forwarding.conf"), "utf8")).toBe("");
    expect(statSync(path.join(root, "etc/sysctl.d/60-infernus-forwarding.conf")).mode & 0o777).toBe(0o644);
  });

  it("rewrites nothing on a second run and never prints file content", () => {
    const root = mkdtempSync(path.join(tmpdir(), "infernus-root-"));
    const stdin = composeStdin(step("true"));
    const first = runStdin(stdin, root);
    expect(first.stdout).toContain("wrote /etc/wireguard/wg0.conf");
    const second = runStdin(stdin, root);
    expect(second.status).toBe(0);
    expect(second.stdout).not.toContain("wrote");
    expect(first.stdout + first.stderr + second.stdout + second.stderr).not.toContain("c2VjcmV0");
  });

  it("names the host, step and line when the script fails, and no secret", () => {
    const root = mkdtempSync(path.join(tmpdir(), "infernus-root-"));
    const result = runStdin(composeStdin(step('secret=$(base64 -d < "$INFERNUS_ROOT/etc/wireguard/wg0.conf" 2>/dev/null || cat "$INFERNUS_ROOT/etc/wireguard/wg0.conf")\ntest "$secret" = other\necho unreachable')), root);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^infernus: step gpu1\/wireguard failed \(exit 1\) at line \d+: test "\$secret" = other$/m);
    expect(result.stdout).not.toContain("unreachable");
    expect(result.stdout + result.stderr).not.toContain("c2VjcmV0");
  });

  it("refuses relative paths, odd modes and lowercase parameters", () => {
    expect(() => composeStdin({ ...step("true"), files: [{ path: "etc/x", mode: "0644", content: "" }] })).toThrow(/absolute path/);
    expect(() => composeStdin({ ...step("true"), files: [{ path: "/etc/x", mode: "644", content: "" }] })).toThrow(/mode 644/);
    expect(() => composeStdin({ ...step("true"), params: { iface: "wg0" } })).toThrow(/UPPER_CASE/);
  });

  it("is the same bytes for the same step", () => {
    expect(composeStdin(step("true"))).toBe(composeStdin(step("true")));
    expect(composeStdin(step("true", "a"))).not.toBe(composeStdin(step("true", "b")));
  });
});

describe("the step command", () => {
  function withSudo(stub: string) {
    const bin = mkdtempSync(path.join(tmpdir(), "infernus-bin-"));
    writeFileSync(path.join(bin, "sudo"), `#!/bin/sh\n${stub}\n`);
    chmodSync(path.join(bin, "sudo"), 0o755);
    return bin;
  }

  it("explains how to grant passwordless sudo when sudo would ask for a password", () => {
    const bin = withSudo('echo "sudo: a password is required" >&2; exit 1');
    const result = tool("sh", ["-c", `PATH=${bin}:$PATH; ${STEP_COMMAND}`], "echo ran\n");
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/has no passwordless sudo, which every step needs; add it with: echo '\S+ ALL=\(ALL\) NOPASSWD:ALL' \| sudo tee \/etc\/sudoers.d\/infernus/);
  });

  it("hands stdin to a root bash when sudo works", () => {
    const bin = withSudo('shift; exec "$@"');
    const result = tool("sh", ["-c", `PATH=${bin}:$PATH; ${STEP_COMMAND}`], "echo ran as bash $BASH_VERSION\n");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^ran as bash \d/);
  });
});
