/** The rendered tunnel carries real packets: wireguard-go in network namespaces (test/lab/tunnel.sh). */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { renderStack } from "../../render/render";
import { clone, pulumiConfig, stackObject, tool } from "../helpers";

function labConfig(clients: string[]) {
  const config = clone(stackObject("home"));
  config.clients = clients.map((name) => ({ name }));
  return pulumiConfig(config);
}

describe("the tunnel in a lab (real wireguard-go, wg-quick, ip netns)", () => {
  it("connects spokes through the hub and applies a new peer without losing a packet", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "infernus-lab-"));
    const now = await renderStack("lab", labConfig(["laptop"]));
    const next = await renderStack("lab", labConfig(["laptop", "tablet"]));
    const plan = JSON.parse(String(now.files.get("plan.json")));
    const files: Record<string, string | Buffer> = {
      "edge.conf": now.files.get("hosts/edge/etc/wireguard/wg0.conf")!,
      "gpu1.conf": now.files.get("hosts/gpu1/etc/wireguard/wg0.conf")!,
      "laptop.conf": now.files.get("clients/laptop.conf")!,
      "edge-next.conf": next.files.get("hosts/edge/etc/wireguard/wg0.conf")!,
      "forwarding.conf": now.files.get("hosts/edge/etc/sysctl.d/60-infernus-forwarding.conf")!,
      addresses: Object.entries(plan.addresses).map(([name, address]) => `${name} ${address}\n`).join(""),
    };
    for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content, { mode: 0o600 });

    const result = tool("timeout", ["120", "bash", path.join(__dirname, "tunnel.sh"), dir]);
    console.log(result.stdout);
    expect(result.stdout).toContain("0 failed");
    expect(result.stdout).not.toContain("FAIL");
    expect(result.status).toBe(0);
    expect(tool("ip", ["netns", "list"]).stdout).not.toMatch(/infernus-lab-/);
  }, 150_000);
});
