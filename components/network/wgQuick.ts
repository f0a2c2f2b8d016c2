/**
 * wg-quick configurations: the edge is the hub, servers and clients are spokes. Pure functions:
 * peers in the order given (address order), no timestamps, so the same input gives the same bytes.
 */
import type { TunnelConfig } from "../config/schema";
import type { PeerRole } from "./addressPlan";
import { HEADER } from "../header";

/** What a config says about one peer. Keys are base64; private and preshared keys are secrets. */
export interface PeerKeys {
  readonly name: string;
  readonly role: PeerRole;
  readonly address: string;
  readonly publicKey: string;
  /** Shared between this peer and the hub; absent on the hub itself. */
  readonly presharedKey?: string;
  readonly fullTunnel?: boolean;
}

export function prefixOf(cidr: string): string {
  return cidr.split("/")[1];
}

/** The hub's wg0.conf: listens on the tunnel port, knows every spoke as a /32. */
export function renderHubConfig(tunnel: TunnelConfig, hub: PeerKeys, privateKey: string, spokes: readonly PeerKeys[]): string {
  const nat = spokes.some((s) => s.fullTunnel) ? [`PostUp = nft -f ${natRulesPath(tunnel)}`, `PreDown = nft delete table ip ${natTable(tunnel)}`] : [];
  const lines = [
    HEADER,
    `# ${hub.name}: the hub. Spokes reach each other through it.`,
    "[Interface]",
    `Address = ${hub.address}/${prefixOf(tunnel.cidr)}`,
    `ListenPort = ${tunnel.port}`,
    `MTU = ${tunnel.mtu}`,
    `PrivateKey = ${privateKey}`,
    ...nat,
    ...spokes.flatMap((spoke) => [
      "",
      `# ${spoke.name} (${spoke.role}${spoke.fullTunnel ? ", full tunnel" : ""})`,
      "[Peer]",
      `PublicKey = ${spoke.publicKey}`,
      `PresharedKey = ${required(spoke.presharedKey, spoke.name)}`,
      `AllowedIPs = ${spoke.address}/32`,
    ]),
  ];
  return lines.join("\n") + "\n";
}

/** A spoke's config (a server or a client device): one peer, the hub, reached at its endpoint. */
export function renderSpokeConfig(tunnel: TunnelConfig, self: PeerKeys, privateKey: string, hub: PeerKeys, hubEndpoint: string): string {
  const full = self.fullTunnel === true;
  const lines = [
    HEADER,
    `# ${self.name} (${self.role}): ${full ? "all traffic" : `only ${tunnel.cidr}`} goes through ${hub.name}.`,
    "[Interface]",
    `Address = ${self.address}/${prefixOf(tunnel.cidr)}`,
    `MTU = ${tunnel.mtu}`,
    `PrivateKey = ${privateKey}`,
    ...(full ? [`DNS = ${tunnel.clientDns.join(", ")}`] : []),
    "",
    `# ${hub.name} (hub)`,
    "[Peer]",
    `PublicKey = ${hub.publicKey}`,
    `PresharedKey = ${required(self.presharedKey, self.name)}`,
    `Endpoint = ${formatEndpoint(hubEndpoint, tunnel.port)}`,
    // IPv6 is routed into the tunnel too on a full tunnel, where it ends: nothing leaks around it.
    `AllowedIPs = ${full ? "0.0.0.0/0, ::/0" : tunnel.cidr}`,
    `PersistentKeepalive = ${tunnel.keepaliveSeconds}`,
  ];
  return lines.join("\n") + "\n";
}

export function natRulesPath(tunnel: TunnelConfig): string {
  return `/etc/wireguard/${tunnel.interface}-nat.nft`;
}

function natTable(tunnel: TunnelConfig): string {
  return `infernus_${tunnel.interface.replace(/[^a-zA-Z0-9_]/g, "_")}_nat`;
}

/** Masquerade for full-tunnel clients leaving the hub by any interface but the tunnel. Re-applying replaces it whole. */
export function renderHubNat(tunnel: TunnelConfig, spokes: readonly PeerKeys[]): string {
  const sources = spokes.filter((s) => s.fullTunnel).map((s) => s.address);
  const table = natTable(tunnel);
  return [
    "#!/usr/sbin/nft -f",
    HEADER,
    `table ip ${table}`,
    `delete table ip ${table}`,
    `table ip ${table} {`,
    "\tchain postrouting {",
    "\t\ttype nat hook postrouting priority srcnat; policy accept;",
    `\t\tip saddr { ${sources.join(", ")} } oifname != "${tunnel.interface}" masquerade`,
    "\t}",
    "}",
    "",
  ].join("\n");
}

/** Lets the hub forward between spokes (and out, for full-tunnel clients). */
export const FORWARDING_SYSCTL_PATH = "/etc/sysctl.d/60-infernus-forwarding.conf";
export function renderForwardingSysctl(): string {
  return `${HEADER}\nnet.ipv4.ip_forward = 1\n`;
}

function formatEndpoint(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function required(value: string | undefined, peer: string): string {
  if (value === undefined) throw new Error(`WireGuard: ${peer} has no preshared key`);
  return value;
}
