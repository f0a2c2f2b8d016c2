/** IPv4 arithmetic for the address plan and the config checks. Addresses are unsigned 32-bit numbers. */

export interface Cidr {
  /** The network address (host bits cleared). */
  readonly network: number;
  readonly prefix: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Parses a dotted quad; undefined when it is not one. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIpv4(ip: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(ip / 2 ** shift) % 256).join(".");
}

/** Parses `a.b.c.d/n`; undefined when malformed. Host bits must be zero, as a network is meant. */
export function parseCidr(text: string): Cidr | undefined {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!match) return undefined;
  const ip = parseIpv4(match[1]);
  const prefix = Number(match[2]);
  if (ip === undefined || prefix > 32) return undefined;
  if (ip % blockSize(prefix) !== 0) return undefined;
  return { network: ip, prefix };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.network)}/${cidr.prefix}`;
}

export function blockSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

export function contains(cidr: Cidr, ip: number): boolean {
  return ip >= cidr.network && ip < cidr.network + blockSize(cidr.prefix);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return contains(a, b.network) || contains(b, a.network);
}

/** Host addresses a peer may use: the block minus its network and broadcast addresses. */
export function usableHosts(cidr: Cidr): number {
  return Math.max(0, blockSize(cidr.prefix) - 2);
}
