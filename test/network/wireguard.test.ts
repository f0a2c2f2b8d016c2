/** The rendered WireGuard files, checked with the real wg and wg-quick. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { clampPrivateKey, publicKeyOf } from "../../components/network/keys";
import { renderStack } from "../../render/render";
import { tool, toolOutput } from "../helpers";

interface Parsed {
  interface: Record<string, string>;
  peers: Record<string, string>[];
}

function parseWgQuick(text: string): Parsed {
  const sections: Record<string, string>[] = [];
  for (const line of text.split("\n")) {
    if (/^\[(Interface|Peer)\]$/.test(line)) sections.push({});
    const match = /^(\w+) = (.*)$/.exec(line);
    if (match) sections.at(-1)![match[1]] = match[2];
  }
  const [first, ...peers] = sections;
  return { interface: first, peers };
}

describe.each([["home"], ["singapore"]])("the %s tunnel", (stack) => {
  let configs: Map<string, string>;
  beforeAll(async () => {
    const { files } = await renderStack(stack);
    configs = new Map(
      [...files]
        .filter(([file]) => file.endsWith("/etc/wireguard/wg0.conf") || /^clients\/.*\.conf$/.test(file))
        .map(([file, content]) => [file.startsWith("clients/") ? path.basename(file, ".conf") : file.split("/")[1], String(content)]),
    );
  });

  it("renders a config for the edge, each server and each client", () => {
    expect([...configs.keys()].sort()).toEqual(["edge", "gpu1", "laptop", "minipc", "phone"]);
  });

  it("passes wg-quick strip (real tool) for every config", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "infernus-wg-"));
    for (const [peer, text] of configs) {
      const file = path.join(dir, `${peer}.conf`);
      writeFileSync(file, text, { mode: 0o600 });
      const result = tool("wg-quick", ["strip", file]);
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
      expect(result.stdout).toContain("PrivateKey = ");
    }
  });

  it("lists each peer under the public key that wg pubkey (real tool) derives from its private key", () => {
    const hub = parseWgQuick(configs.get("edge")!);
    const hubPublic = toolOutput("wg", ["pubkey"], hub.interface.PrivateKey + "\n").trim();
    for (const [peer, text] of configs) {
      if (peer === "edge") continue;
      const spoke = parseWgQuick(text);
      const spokePublic = toolOutput("wg", ["pubkey"], spoke.interface.PrivateKey + "\n").trim();
      const onHub = hub.peers.find((p) => p.AllowedIPs === `${spoke.interface.Address.split("/")[0]}/32`)!;
      expect(onHub.PublicKey).toBe(spokePublic);
      expect(spoke.peers).toHaveLength(1);
      expect(spoke.peers[0].PublicKey).toBe(hubPublic);
      expect(spoke.peers[0].PresharedKey).toBe(onHub.PresharedKey);
    }
  });

  it("gives every peer its own address and its own preshared key", () => {
    const parsed = [...configs.values()].map(parseWgQuick);
    const addresses = parsed.map((p) => p.interface.Address);
    expect(new Set(addresses).size).toBe(addresses.length);
    const psks = parseWgQuick(configs.get("edge")!).peers.map((p) => p.PresharedKey);
    expect(new Set(psks).size).toBe(psks.length);
  });

  it("keeps spokes behind NAT alive and routes only the tunnel unless asked for all traffic", () => {
    for (const [peer, text] of configs) {
      if (peer === "edge") continue;
      const spoke = parseWgQuick(text);
      expect(spoke.peers[0].PersistentKeepalive).toBe("25");
      expect(spoke.peers[0].AllowedIPs).toBe(peer === "phone" ? "0.0.0.0/0, ::/0" : "10.66.0.0/24");
      expect(spoke.interface.MTU).toBe("1420");
    }
  });
});

describe("WireGuard keys made in Node", () => {
  it("match wg pubkey (real tool) for keys from wg genkey and for clamped random bytes", () => {
    for (let i = 0; i < 8; i++) {
      const generated = toolOutput("wg", ["genkey"]).trim();
      expect(publicKeyOf(generated)).toBe(toolOutput("wg", ["pubkey"], generated + "\n").trim());
      const random = clampPrivateKey(Buffer.from(toolOutput("wg", ["genpsk"]).trim(), "base64").toString("base64"));
      expect(publicKeyOf(random)).toBe(toolOutput("wg", ["pubkey"], random + "\n").trim());
    }
  });

  it("clamps like wg genkey: a clamped key is its own clamp", () => {
    const generated = toolOutput("wg", ["genkey"]).trim();
    expect(clampPrivateKey(generated)).toBe(generated);
  });
});
