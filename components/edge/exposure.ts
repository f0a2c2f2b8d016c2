/**
 * What the edge shows the internet, declared once: the cloud firewall and the host's nftables
 * are both made from this list, so they cannot drift apart.
 */
import type { EdgeConfig, EstateConfig } from "../config/schema";
import type { FirewallPolicy, Opening } from "../host/firewall";
import { PORTS } from "../monitoring/files";
import { GRAFANA_PORT } from "../monitoring/grafana";
import { appOpenings } from "../apps/placement";
import { CERTIFICATE_SHARE_PORT } from "../gateway/nginx";

/** The edge's SSH port: a droplet's is 22, an existing machine's is in its entry. */
export function edgeSshPort(edge: EdgeConfig): number {
  return edge.kind === "existing" ? edge.ssh.port : 22;
}

export function edgeOpenings(config: EstateConfig): Opening[] {
  const edge = config.edge;
  const sshPort = edgeSshPort(edge);
  return [
    { protocol: "udp", port: config.tunnel.port, comment: "WireGuard" },
    { protocol: "tcp", port: config.gateway.port, comment: "API gateway (HTTPS)" },
    ...(edge.domain ? [{ protocol: "tcp" as const, port: 80, comment: "Let's Encrypt HTTP-01 challenge" }] : []),
    ...(edge.domain && config.lan.gateway
      ? [{ protocol: "tcp" as const, port: CERTIFICATE_SHARE_PORT, from: [config.tunnel.cidr], comment: "the domain's certificate, for the LAN gateway, over the tunnel", internal: true }]
      : []),
    { protocol: "tcp", port: sshPort, from: edge.adminCidrs, comment: "SSH from adminCidrs" },
    ...(config.monitoring
      ? [
          { protocol: "tcp" as const, port: PORTS.prometheus, from: [config.tunnel.cidr], comment: "Prometheus, over the tunnel", internal: true },
          { protocol: "tcp" as const, port: PORTS.alertmanager, from: [config.tunnel.cidr], comment: "Alertmanager, over the tunnel", internal: true },
          { protocol: "tcp" as const, port: GRAFANA_PORT, from: [config.tunnel.cidr], comment: "Grafana, over the tunnel", internal: true },
        ]
      : []),
    ...appOpenings(config, edge.name),
  ];
}

/** The edge forwards between spokes, and out to the internet for full-tunnel clients only. */
export function edgeFirewall(config: EstateConfig, fullTunnelAddresses: readonly string[]): FirewallPolicy {
  const wg = config.tunnel.interface;
  return {
    openings: edgeOpenings(config),
    forwards: [
      { in: wg, out: wg, comment: "spoke to spoke through the hub" },
      ...(fullTunnelAddresses.length > 0 ? [{ in: wg, out: `!${wg}`, from: fullTunnelAddresses, comment: "full-tunnel clients to the internet" }] : []),
    ],
  };
}
