/**
 * The WireGuard tunnel: a key pair per peer, a preshared key per spoke, and every peer's wg-quick
 * configuration, all secret. The edge is the hub; servers and client devices are spokes.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { TunnelConfig } from "../config/schema";
import type { RemoteHost, Step, StepFile } from "../host/remoteHost";
import type { PlannedPeer } from "./addressPlan";
import { clampPrivateKey, keyMaterial, publicKeyOf } from "./keys";
import {
  FORWARDING_SYSCTL_PATH,
  natRulesPath,
  renderForwardingSysctl,
  renderHubConfig,
  renderHubNat,
  renderSpokeConfig,
  type PeerKeys,
} from "./wgQuick";

export interface TunnelPeer extends PlannedPeer {
  readonly fullTunnel?: boolean;
}

export interface WireGuardArgs {
  /** The validated tunnel section of the stack config. */
  readonly tunnel: TunnelConfig;
  /** Every peer in address order: the edge (the hub) first, then servers, then clients. */
  readonly peers: readonly TunnelPeer[];
  /** The host or address spokes dial to reach the hub. */
  readonly hubEndpoint: pulumi.Input<string>;
}

export interface WireGuardPeer {
  readonly address: string;
  readonly publicKey: pulumi.Output<string>;
  /** Secret. */
  readonly privateKey: pulumi.Output<string>;
  /** Secret; shared with the hub. Absent on the hub. */
  readonly presharedKey?: pulumi.Output<string>;
  /** The peer's whole wg-quick configuration. Secret. */
  readonly config: pulumi.Output<string>;
}

export class WireGuard extends pulumi.ComponentResource {
  public readonly peers: Record<string, WireGuardPeer>;
  public readonly hub: string;
  private readonly tunnel: TunnelConfig;
  private readonly hubFiles: StepFile[];

  constructor(name: string, args: WireGuardArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infernus:network:WireGuard", name, {}, opts);
    const [hub, ...spokes] = args.peers;
    if (hub?.role !== "edge") throw new Error("WireGuard: the first peer must be the edge");
    this.hub = hub.name;
    this.tunnel = args.tunnel;

    // 64 letters and digits: 381 bits, hashed into the key's 256.
    const secretKey = (suffix: string) =>
      pulumi.secret(new random.RandomPassword(`${name}-${suffix}`, { length: 64, special: false }, { parent: this }).result.apply(keyMaterial));
    const keys = args.peers.map((peer) => {
      const privateKey = pulumi.secret(secretKey(`${peer.name}-key`).apply(clampPrivateKey));
      const presharedKey = peer.role === "edge" ? undefined : secretKey(`${peer.name}-psk`);
      return { peer, privateKey, presharedKey, publicKey: pulumi.unsecret(privateKey.apply(publicKeyOf)) };
    });
    // One Output per peer: a spoke's file waits only for its own keys and the hub's, so a new
    // client (its key unknown in a preview) does not make every other spoke's file look changed.
    const peerViews = keys.map((k) =>
      pulumi.all([k.publicKey, k.presharedKey]).apply(([publicKey, presharedKey]): PeerKeys => ({
        name: k.peer.name,
        role: k.peer.role,
        address: k.peer.address,
        fullTunnel: k.peer.fullTunnel,
        publicKey,
        presharedKey,
      })),
    );
    const hubView = peerViews[0];
    const spokeViews = pulumi.all(peerViews.slice(1));

    this.peers = Object.fromEntries(
      keys.map((k, i) => {
        const config =
          i === 0
            ? pulumi.all([k.privateKey, hubView, spokeViews]).apply(([privateKey, h, s]) => renderHubConfig(args.tunnel, h, privateKey, s))
            : pulumi.all([k.privateKey, peerViews[i], hubView, args.hubEndpoint]).apply(([privateKey, self, h, endpoint]) => renderSpokeConfig(args.tunnel, self, privateKey, h, endpoint));
        const peer: WireGuardPeer = { address: k.peer.address, publicKey: k.publicKey, privateKey: k.privateKey, presharedKey: k.presharedKey, config: pulumi.secret(config) };
        return [k.peer.name, peer];
      }),
    );

    const fullTunnel = spokes.filter((s) => s.fullTunnel);
    this.hubFiles = [
      { path: FORWARDING_SYSCTL_PATH, mode: "0644", content: renderForwardingSysctl() },
      ...(fullTunnel.length > 0 ? [{ path: natRulesPath(args.tunnel), mode: "0644", content: spokeViews.apply((s) => renderHubNat(args.tunnel, s)) }] : []),
    ];
    this.registerOutputs({ addresses: Object.fromEntries(args.peers.map((p) => [p.name, p.address])) });
  }

  /** Adds the step that puts `peer`'s configuration on `host` and brings the interface up. */
  public install(host: RemoteHost, peer: string): Step {
    const self = this.peers[peer];
    if (!self) throw new Error(`WireGuard: no peer named ${peer}`);
    const iface = this.tunnel.interface;
    return host.step("wireguard", {
      script: "network/wireguard.sh",
      params: { IFACE: iface },
      files: [{ path: `/etc/wireguard/${iface}.conf`, mode: "0600", content: self.config }, ...(peer === this.hub ? this.hubFiles : [])],
    });
  }
}
