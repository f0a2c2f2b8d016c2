/**
 * Where the LAN gateway runs: a server at home, on its LAN address, so that home clients keep their
 * models when the internet (and with it the tunnel to the edge) is down. Pure.
 */
import type { EstateConfig, ServerConfig } from "../config/schema";
import type { Problem } from "../config/problems";
import { contains, parseCidr, parseIpv4 } from "../network/ip";
import { GATEWAY_PATHS } from "./nginx";

export interface LanGatewayPlace {
  /** The server it runs on. */
  readonly server: ServerConfig;
  /** Its LAN address: where it listens, and on its certificate. */
  readonly address: string;
  /** The home DNS name of that address, on its certificate too. */
  readonly name?: string;
}

/** The LAN gateway's server and address from `lan.gateway`, or every problem with them. */
export function placeLanGateway(config: Pick<EstateConfig, "lan" | "servers">): { place?: LanGatewayPlace; problems: Problem[] } {
  const wanted = config.lan.gateway;
  if (!wanted) return { problems: [] };
  if (config.lan.cidrs.length === 0) {
    return { problems: [{ path: "lan.gateway", value: wanted, message: "a gateway at home needs the home network: list it in lan.cidrs, e.g. [192.168.1.0/24]" }] };
  }
  const server = wanted.host ? config.servers.find((s) => s.name === wanted.host) : config.servers.find((s) => s.models.length > 0);
  if (!server) {
    return wanted.host
      ? { problems: [{ path: "lan.gateway.host", value: wanted.host, message: `not a server of this stack (${config.servers.map((s) => s.name).join(", ") || "none declared"}); name the one at home that runs it` }] }
      : { problems: [{ path: "lan.gateway.host", value: undefined, message: "no server serves models, so none is picked by default; name the server at home that runs it" }] };
  }
  const onLan = (address: string) => config.lan.cidrs.some((c) => contains(parseCidr(c)!, parseIpv4(address)!));
  const address = wanted.address ?? (parseIpv4(server.ssh.host) !== undefined ? server.ssh.host : undefined);
  if (address === undefined) {
    return { problems: [{ path: "lan.gateway.address", value: undefined, message: `${server.name}'s ssh.host ${server.ssh.host} is not an address; set its address on the LAN, e.g. 192.168.1.50` }] };
  }
  if (!onLan(address)) {
    const what = wanted.address ? "not on the LAN" : `${server.name}'s ssh.host, taken by default, is not on the LAN`;
    return { problems: [{ path: "lan.gateway.address", value: address, message: `${what} (${config.lan.cidrs.join(", ")}); set ${server.name}'s address on the home network` }] };
  }
  return { place: { server, address, name: wanted.name }, problems: [] };
}

/**
 * What clients at home call (the domain, answered at home by split horizon; else the home name;
 * else the address), and how its own server probes it: at its address, by the name its certificate
 * carries, trusting the estate's CA when there is no public certificate.
 */
export function lanGatewayUrls(config: Pick<EstateConfig, "edge" | "gateway">, place: LanGatewayPlace) {
  const port = config.gateway.port === 443 ? "" : `:${config.gateway.port}`;
  const domain = config.edge.domain;
  return {
    baseUrl: `https://${domain ?? place.name ?? place.address}${port}/v1`,
    probe: { healthUrl: `https://${domain ?? place.address}${port}/healthz`, address: place.address, caFile: domain ? undefined : GATEWAY_PATHS.caCertificate },
  };
}
