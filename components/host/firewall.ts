/**
 * A host's nftables firewall: default drop in, a declared list of openings, default drop on
 * forwarding but for declared paths. It lives in its own table (`inet infernus`), replaced whole on
 * each apply, so tables of other programs (wg-quick's NAT, a container runtime) are left alone.
 */
import { HEADER } from "../header";

export interface Opening {
  readonly protocol: "tcp" | "udp";
  readonly port: number;
  /** Source networks (IPv4 CIDRs); any source when absent. */
  readonly from?: readonly string[];
  readonly comment: string;
  /** Reachable only through the tunnel: the host firewall admits it, a cloud firewall need not. */
  readonly internal?: boolean;
}

export interface ForwardPath {
  readonly in: string;
  /** Out interface; `!name` means any but that one. */
  readonly out: string;
  /** Source addresses (IPv4); any when absent. */
  readonly from?: readonly string[];
  readonly comment: string;
}

export interface FirewallPolicy {
  readonly openings: readonly Opening[];
  readonly forwards: readonly ForwardPath[];
}

export const FIREWALL_PATHS = {
  /** What the firewall step applies (with a rollback timer) and the confirm step promotes. */
  next: "/etc/infernus/firewall.next.nft",
  /** What boot loads: only ever a ruleset that let a new SSH connection in. */
  active: "/etc/infernus/firewall.nft",
  nftablesConf: "/etc/nftables.conf",
} as const;

function comment(text: string): string {
  return `comment "${text.replace(/"/g, "'")}"`;
}

function openingRule(opening: Opening): string {
  const from = opening.from && opening.from.length > 0 ? `ip saddr { ${opening.from.join(", ")} } ` : "";
  return `\t\t${from}${opening.protocol} dport ${opening.port} accept ${comment(opening.comment)}`;
}

function forwardRule(path: ForwardPath): string {
  const out = path.out.startsWith("!") ? `oifname != "${path.out.slice(1)}"` : `oifname "${path.out}"`;
  const from = path.from && path.from.length > 0 ? ` ip saddr { ${path.from.join(", ")} }` : "";
  return `\t\tiifname "${path.in}" ${out}${from} accept ${comment(path.comment)}`;
}

export function renderFirewall(policy: FirewallPolicy): string {
  return [
    "#!/usr/sbin/nft -f",
    HEADER,
    "table inet infernus",
    "delete table inet infernus",
    "table inet infernus {",
    "\tchain input {",
    "\t\ttype filter hook input priority filter; policy drop;",
    "\t\tct state established,related accept",
    "\t\tct state invalid drop",
    '\t\tiifname "lo" accept',
    "\t\t# Path MTU discovery and IPv6 neighbour discovery need ICMP; pings are rate-limited.",
    "\t\ticmp type echo-request limit rate 10/second accept",
    "\t\ticmp type echo-request drop",
    "\t\ticmpv6 type echo-request limit rate 10/second accept",
    "\t\ticmpv6 type echo-request drop",
    "\t\tmeta l4proto { icmp, ipv6-icmp } accept",
    "\t\tudp sport 67 udp dport 68 accept comment \"DHCP replies\"",
    ...policy.openings.map(openingRule),
    "\t}",
    "\tchain forward {",
    "\t\ttype filter hook forward priority filter; policy drop;",
    "\t\tct state established,related accept",
    ...policy.forwards.map(forwardRule),
    "\t}",
    "}",
    "",
  ].join("\n");
}

/** /etc/nftables.conf: boot loads the confirmed ruleset, without flushing anyone else's tables. */
export function renderNftablesConf(): string {
  return ["#!/usr/sbin/nft -f", HEADER, `include "${FIREWALL_PATHS.active}"`, ""].join("\n");
}
