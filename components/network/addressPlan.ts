/**
 * The tunnel's address plan. The edge takes the first host address; every other peer's address
 * follows from its name alone (or is pinned in config), so adding, removing or reordering peers
 * never renumbers the others, and a server keeps its address when it moves to new hardware.
 */
import { createHash } from "node:crypto";
import type { Problem } from "../config/problems";
import { blockSize, formatCidr, formatIpv4, parseCidr, parseIpv4, usableHosts, type Cidr } from "./ip";

export type PeerRole = "edge" | "server" | "client";

export interface PeerRequest {
  readonly name: string;
  readonly role: PeerRole;
  /** Where the peer stands in the stack config, for messages: `servers[0]`. */
  readonly configPath: string;
  /** A pinned address from config. */
  readonly address?: string;
}

export interface PlannedPeer {
  readonly name: string;
  readonly role: PeerRole;
  readonly address: string;
}

export interface AddressPlan {
  /** Every peer, the edge first, then servers and clients in config order. */
  readonly peers: readonly PlannedPeer[];
  readonly problems: readonly Problem[];
}

/** The address a name maps to: a slot among the hosts after the edge's, from sha256 of the name. */
export function derivedAddress(cidr: Cidr, name: string): number {
  const slots = usableHosts(cidr) - 1;
  const hash = createHash("sha256").update(name).digest().readUInt32BE(0);
  return cidr.network + 2 + (hash % slots);
}

export function planAddresses(tunnelCidr: string, requests: readonly PeerRequest[]): AddressPlan {
  const cidr = parseCidr(tunnelCidr);
  if (!cidr) throw new Error(`planAddresses: ${tunnelCidr} is not a network (the schema should have refused it)`);
  const problems: Problem[] = [];
  const hosts = usableHosts(cidr);
  if (hosts < requests.length) {
    const counts = (["edge", "server", "client"] as const).map((role) => `${requests.filter((r) => r.role === role).length} ${role}s`);
    problems.push({
      path: "tunnel.cidr",
      value: tunnelCidr,
      message: `${hosts} host addresses cannot hold ${requests.length} peers (${counts.join(", ")}); use a /24 such as ${formatCidr({ network: cidr.network - (cidr.network % blockSize(24)), prefix: 24 })}`,
    });
    return { peers: [], problems };
  }

  const edgeAddress = cidr.network + 1;
  const taken = new Map<number, PeerRequest>();
  const chosen = new Map<PeerRequest, number>();
  const claim = (request: PeerRequest, address: number, describe: (holder: PeerRequest) => string) => {
    const holder = taken.get(address);
    if (holder) problems.push({ path: `${request.configPath}.${request.address ? "address" : "name"}`, value: request.address ?? request.name, message: describe(holder) });
    else taken.set(address, request);
    chosen.set(request, address);
  };

  // The edge, then pinned addresses, so a derived address never takes a pinned one.
  for (const edge of requests.filter((r) => r.role === "edge")) {
    taken.set(edgeAddress, edge);
    chosen.set(edge, edgeAddress);
  }
  for (const request of requests) {
    if (request.role !== "edge" && request.address !== undefined) {
      const address = parseIpv4(request.address)!;
      const path = `${request.configPath}.address`;
      if (address <= cidr.network || address >= cidr.network + blockSize(cidr.prefix) - 1) {
        problems.push({ path, value: request.address, message: `not a host address inside the tunnel ${tunnelCidr}` });
      } else {
        claim(request, address, (holder) => `already the address of ${holder.configPath} (${holder.name}); pin another one`);
      }
    }
  }
  for (const request of requests) {
    if (request.role === "edge" || request.address !== undefined) continue;
    const address = derivedAddress(cidr, request.name);
    claim(request, address, (holder) => {
      const free = nextFree(cidr, address, taken);
      return `its address ${formatIpv4(address)} (derived from the name) is already ${holder.configPath}'s (${holder.name}); pin one of them with address: ${free}`;
    });
  }
  const peers = requests.map((r) => ({ name: r.name, role: r.role, address: formatIpv4(chosen.get(r)!) }));
  return { peers, problems };
}

function nextFree(cidr: Cidr, from: number, taken: ReadonlyMap<number, unknown>): string {
  const first = cidr.network + 2;
  const slots = usableHosts(cidr) - 1;
  for (let i = 1; i <= slots; i++) {
    const candidate = first + ((from - first + i) % slots);
    if (!taken.has(candidate)) return formatIpv4(candidate);
  }
  return "(none left: use a larger tunnel.cidr)";
}
