/**
 * The edge: the estate's one public face and the WireGuard hub. Either a DigitalOcean droplet
 * made here (with a reserved IP that outlives it, a cloud firewall and a VPC) or a machine the
 * user already has.
 */
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { EdgeConfig } from "../config/schema";
import { sshConnection, type Credentials } from "../host/connection";
import type { Opening } from "../host/firewall";
import { RemoteHost } from "../host/remoteHost";
import { renderCloudConfig } from "./cloudInit";

type DigitalOceanEdge = Extract<EdgeConfig, { kind: "digitalocean" }>;

export interface EdgeArgs {
  /** The validated edge section of the stack config. */
  readonly edge: EdgeConfig;
  /** The operator's SSH credentials. */
  readonly credentials: Credentials;
  /** What the edge exposes; the cloud firewall admits exactly this. */
  readonly openings: readonly Opening[];
}

const ANYWHERE = ["0.0.0.0/0", "::/0"];

export class Edge extends pulumi.ComponentResource {
  /** The address or name spokes dial for the tunnel. */
  public readonly endpoint: pulumi.Output<string>;
  public readonly host: RemoteHost;

  constructor(name: string, args: EdgeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infernus:edge:Edge", name, {}, opts);
    const edge = args.edge;
    if (edge.kind === "existing") {
      this.endpoint = pulumi.output(edge.endpoint);
      this.host = new RemoteHost(edge.name, { connection: sshConnection(edge.name, edge.ssh, args.credentials) }, { parent: this });
    } else {
      const droplet = this.droplet(name, edge, args.openings);
      this.endpoint = droplet.address;
      this.host = new RemoteHost(
        edge.name,
        { connection: sshConnection(edge.name, { host: droplet.address, port: 22, user: edge.adminUser, hostKey: droplet.hostKey }, args.credentials) },
        { parent: this },
      );
      this.host.step("cloud-init", { script: "edge/cloud-init-wait.sh" });
    }
    this.registerOutputs({ endpoint: this.endpoint });
  }

  private droplet(name: string, edge: DigitalOceanEdge, openings: readonly Opening[]) {
    const hostKey = new tls.PrivateKey(`${name}-host-key`, { algorithm: "ED25519" }, { parent: this });
    const sshKeys = edge.sshAuthorizedKeys.map(
      (key, i) => new digitalocean.SshKey(`${name}-admin-key-${i}`, { name: `infernus-${edge.name}-admin-${i}`, publicKey: key }, { parent: this }),
    );
    const userData = pulumi.secret(
      pulumi.all([hostKey.privateKeyOpenssh, hostKey.publicKeyOpenssh]).apply(([hostKeyPrivate, hostKeyPublic]) =>
        renderCloudConfig({ adminUser: edge.adminUser, authorizedKeys: edge.sshAuthorizedKeys, hostKeyPrivate, hostKeyPublic }),
      ),
    );
    const vpc = new digitalocean.Vpc(`${name}-vpc`, { name: `infernus-${edge.name}-${edge.region}`, region: edge.region, description: "infernus edge" }, { parent: this });
    // Only image, size and region (and the first-boot user-data) replace the droplet; steps apply the rest.
    const droplet = new digitalocean.Droplet(
      `${name}-droplet`,
      {
        name: `infernus-${edge.name}`,
        region: edge.region,
        size: edge.size,
        image: edge.image,
        vpcUuid: vpc.id,
        sshKeys: sshKeys.map((k) => k.fingerprint),
        userData,
        ipv6: true,
        monitoring: true,
        tags: ["infernus"],
      },
      { parent: this, ignoreChanges: ["sshKeys"] },
    );
    // The address clients and servers know; it stays when the droplet is replaced.
    const reservedIp = new digitalocean.ReservedIp(`${name}-ip`, { region: edge.region }, { parent: this, protect: true });
    const assignment = new digitalocean.ReservedIpAssignment(`${name}-ip-assignment`, { ipAddress: reservedIp.ipAddress, dropletId: droplet.id.apply(Number) }, { parent: this });
    new digitalocean.Firewall(
      `${name}-firewall`,
      {
        name: `infernus-${edge.name}`,
        dropletIds: [droplet.id.apply(Number)],
        inboundRules: [
          ...openings.filter((o) => !o.internal).map((o) => ({ protocol: o.protocol, portRange: String(o.port), sourceAddresses: o.from ? [...o.from] : ANYWHERE })),
          { protocol: "icmp", sourceAddresses: ANYWHERE },
        ],
        outboundRules: [
          { protocol: "tcp", portRange: "1-65535", destinationAddresses: ANYWHERE },
          { protocol: "udp", portRange: "1-65535", destinationAddresses: ANYWHERE },
          { protocol: "icmp", destinationAddresses: ANYWHERE },
        ],
      },
      { parent: this },
    );
    new digitalocean.Project(
      `${name}-project`,
      { name: "infernus", purpose: "Private LLM estate", environment: "Production", resources: [droplet.dropletUrn, reservedIp.reservedIpUrn] },
      { parent: this },
    );
    if (edge.dnsZone && edge.domain) {
      const zone = new digitalocean.Domain(`${name}-zone`, { name: edge.dnsZone }, { parent: this, protect: true });
      new digitalocean.DnsRecord(
        `${name}-dns`,
        { domain: zone.id, type: "A", name: edge.domain.slice(0, -(edge.dnsZone.length + 1)), value: reservedIp.ipAddress, ttl: 300 },
        { parent: this },
      );
    }
    return { address: assignment.ipAddress, hostKey: pulumi.unsecret(hostKey.publicKeyOpenssh).apply((k) => k.trim()) };
  }
}
