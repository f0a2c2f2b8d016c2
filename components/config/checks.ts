/** Checks that span several keys of the stack config; each returns problems, never throws. */
import { planAddresses, type PeerRequest } from "../network/addressPlan";
import { overlaps, parseCidr } from "../network/ip";
import type { Problem } from "./problems";
import type { EstateConfig } from "./schema";

/** Every WireGuard peer in address order: the edge, then servers, then clients. */
export function peerRequests(config: EstateConfig): PeerRequest[] {
  return [
    { name: config.edge.name, role: "edge", configPath: "edge" },
    ...config.servers.map((s, i): PeerRequest => ({ name: s.name, role: "server", configPath: `servers[${i}]`, address: s.address })),
    ...config.clients.map((c, i): PeerRequest => ({ name: c.name, role: "client", configPath: `clients[${i}]`, address: c.address })),
  ];
}

export function crossChecks(config: EstateConfig): Problem[] {
  const names = uniqueNames(config);
  return [...names, ...lanChecks(config), ...hostKeyChecks(config), ...(names.length === 0 ? planAddresses(config.tunnel.cidr, peerRequests(config)).problems : [])];
}

/** Names are peer names, host names and resource names at once, so they are unique across roles. */
function uniqueNames(config: EstateConfig): Problem[] {
  const seen = new Map<string, string>();
  const problems: Problem[] = [];
  for (const peer of peerRequests(config)) {
    const first = seen.get(peer.name);
    if (first) {
      problems.push({ path: `${peer.configPath}.name`, value: peer.name, message: `also the name of ${first}; names must be unique across the edge, servers and clients` });
    } else seen.set(peer.name, peer.configPath);
  }
  return problems;
}

function lanChecks(config: EstateConfig): Problem[] {
  const tunnel = parseCidr(config.tunnel.cidr)!;
  const lans = config.lan.cidrs.map((c) => parseCidr(c)!);
  return lans.flatMap((lan, i): Problem[] => {
    const path = `lan.cidrs[${i}]`;
    const value = config.lan.cidrs[i];
    if (overlaps(lan, tunnel)) return [{ path, value, message: `overlaps tunnel.cidr ${config.tunnel.cidr}; pick a tunnel range unused at home, e.g. 10.66.0.0/24` }];
    const other = lans.findIndex((l, j) => j < i && overlaps(l, lan));
    if (other >= 0) return [{ path, value, message: `overlaps lan.cidrs[${other}] ${config.lan.cidrs[other]}; list each network once` }];
    return [];
  });
}

/** An existing machine's host key is pinned, or trusting any key is said out loud. */
function hostKeyChecks(config: EstateConfig): Problem[] {
  const hosts = [
    ...(config.edge.kind === "existing" ? [{ path: "edge.ssh", ssh: config.edge.ssh }] : []),
    ...config.servers.map((s, i) => ({ path: `servers[${i}].ssh`, ssh: s.ssh })),
  ];
  return hosts
    .filter(({ ssh }) => !ssh.hostKey && !ssh.insecureIgnoreHostKey)
    .map(({ path, ssh }) => ({
      path: `${path}.hostKey`,
      value: undefined,
      message: `pin the host's key, as \`ssh-keyscan -t ed25519 ${ssh.host}\` prints it without the host name, or set ${path}.insecureIgnoreHostKey: true to trust any key (a warning each run)`,
    }));
}
