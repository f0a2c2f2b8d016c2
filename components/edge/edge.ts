/**
 * The edge: the estate's one public face and the WireGuard hub. Either a DigitalOcean droplet
 * made here (with a reserved IP that outlives it) or a machine the user already has.
 */
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { EdgeConfig } from "../config/schema";
import { sshConnection, type Credentials } from "../host/connection";
import { RemoteHost } from "../host/remoteHost";
import { renderCloudConfig } from "./cloudInit";

export interface EdgeArgs {
  /** The validated edge section of the stack config. */
  readonly edge: EdgeConfig;
  /** The operator's SSH credentials. */
  readonly credentials: Credentials;
}

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
      const droplet = this.droplet(name, edge);
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

  private droplet(name: string, edge: Extract<EdgeConfig, { kind: "digitalocean" }>) {
    const hostKey = new tls.PrivateKey(`${name}-host-key`, { algorithm: "ED25519" }, { parent: this });
    const sshKeys = edge.sshAuthorizedKeys.map(
      (key, i) => new digitalocean.SshKey(`${name}-admin-key-${i}`, { name: `infernus-${edge.name}-admin-${i}`, publicKey: key }, { parent: this }),
    );
    const userData = pulumi.secret(
      pulumi.all([hostKey.privateKeyOpenssh, hostKey.publicKeyOpenssh]).apply(([hostKeyPrivate, hostKeyPublic]) =>
        renderCloudConfig({ adminUser: edge.adminUser, authorizedKeys: edge.sshAuthorizedKeys, hostKeyPrivate, hostKeyPublic }),
      ),
    );
    const droplet = new digitalocean.Droplet(
      `${name}-droplet`,
      {
        name: `infernus-${edge.name}`,
        region: edge.region,
        size: edge.size,
        image: edge.image,
        sshKeys: sshKeys.map((k) => k.fingerprint),
        userData,
        ipv6: true,
        monitoring: true,
        tags: ["infernus"],
      },
      { parent: this },
    );
    // The address clients and servers know; it stays when the droplet is replaced.
    const reservedIp = new digitalocean.ReservedIp(`${name}-ip`, { region: edge.region }, { parent: this, protect: true });
    const assignment = new digitalocean.ReservedIpAssignment(
      `${name}-ip-assignment`,
      { ipAddress: reservedIp.ipAddress, dropletId: droplet.id.apply(Number) },
      { parent: this },
    );
    return { address: assignment.ipAddress, hostKey: pulumi.unsecret(hostKey.publicKeyOpenssh).apply((k) => k.trim()) };
  }
}
