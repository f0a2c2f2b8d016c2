/**
 * The edge: the estate's one public face and the WireGuard hub. Either a DigitalOcean droplet
 * made here (with a reserved IP that outlives it, a cloud firewall and a VPC) or a machine the
 * user already has.
 */
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { createHash } from "node:crypto";
import type { EdgeConfig } from "../config/schema";
import { dialAttemptsFor, machineOf, sshConnection, type Credentials } from "../host/connection";
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

/** How long a new droplet may take from "active" to accepting SSH (boot, cloud-init's user and keys). */
const FIRST_BOOT_SECONDS = 300;

export class Edge extends pulumi.ComponentResource {
  /** The address or name spokes dial for the tunnel. */
  public readonly endpoint: pulumi.Output<string>;
  public readonly host: RemoteHost;

  constructor(name: string, args: EdgeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infernus:edge:Edge", name, {}, opts);
    const edge = args.edge;
    if (edge.kind === "existing") {
      this.endpoint = pulumi.output(edge.endpoint);
      this.host = new RemoteHost(edge.name, { connection: sshConnection(edge.name, edge.ssh, args.credentials), machine: machineOf(edge.ssh) }, { parent: this });
    } else {
      const droplet = this.droplet(name, edge, args.openings);
      this.endpoint = droplet.address;
      this.host = new RemoteHost(
        edge.name,
        {
          connection: sshConnection(edge.name, { host: droplet.address, port: 22, user: edge.adminUser, hostKey: droplet.hostKey }, args.credentials),
          // The host key and the reserved IP outlive a replaced droplet; its id does not.
          machine: droplet.id,
        },
        { parent: this },
      );
      // A new droplet answers SSH only once it has booted and cloud-init has set the user up.
      this.host.step("cloud-init", { script: "edge/cloud-init-wait.sh", dialAttempts: dialAttemptsFor(FIRST_BOOT_SECONDS) });
    }
    this.registerOutputs({ endpoint: this.endpoint });
  }

  private droplet(name: string, edge: DigitalOceanEdge, openings: readonly Opening[]) {
    const hostKey = new tls.PrivateKey(`${name}-host-key`, { algorithm: "ED25519" }, { parent: this });
    const sshKeys = this.accountKeys(name, edge);
    const userData = pulumi.secret(
      pulumi.all([hostKey.privateKeyOpenssh, hostKey.publicKeyOpenssh]).apply(([hostKeyPrivate, hostKeyPublic]) =>
        renderCloudConfig({ adminUser: edge.adminUser, authorizedKeys: edge.sshAuthorizedKeys, hostKeyPrivate, hostKeyPublic }),
      ),
    );
    // The address clients and servers know; it stays when the droplet is replaced. DigitalOcean
    // cannot move it to another region (region is ForceNew), and it is protected: a region change is
    // refused here, with the reason, before anything is made in the new region.
    const reservedIp = new digitalocean.ReservedIp(`${name}-ip`, { region: edge.region }, { parent: this, protect: true, ignoreChanges: ["region"] });
    const region = reservedIp.region.apply((kept) => {
      if (kept !== edge.region) {
        throw new pulumi.RunError(
          `infernus: edge.region = ${edge.region}: the edge's reserved IP lives in ${kept}, and DigitalOcean cannot move a reserved IP to another region. ` +
            `Every server and client dials that address, so the program keeps it (it is protected). Keep region: ${kept}; ` +
            `or, to move on purpose to a new address (every client config changes), unprotect it first: npm run pulumi -- state unprotect '<its URN from npm run pulumi -- stack --show-urns>'`,
        );
      }
      return kept;
    });
    const vpc = new digitalocean.Vpc(`${name}-vpc`, { name: `infernus-${edge.name}-${edge.region}`, region, description: "infernus edge" }, { parent: this });
    // Replaced on a new image, VPC, user-data (first-boot keys and user), SSH keys or monitoring
    // (ForceNew in resource_droplet.go); a new size resizes it in place (off, resize, on). Steps
    // apply everything else, and all of them run again on a new droplet (its id is the machine).
    const droplet = new digitalocean.Droplet(
      `${name}-droplet`,
      {
        name: `infernus-${edge.name}`,
        region,
        size: edge.size,
        image: edge.image,
        vpcUuid: vpc.id,
        sshKeys,
        userData,
        ipv6: true,
        monitoring: true,
        tags: ["infernus"],
      },
      { parent: this, ignoreChanges: ["sshKeys"] },
    );
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
    return { address: assignment.ipAddress, id: droplet.id, hostKey: pulumi.unsecret(hostKey.publicKeyOpenssh).apply((k) => k.trim()) };
  }

  /**
   * The fingerprints of the admin keys on the DigitalOcean account. A key the account already holds
   * under another name is used as it is: the API refuses a second copy (422 "SSH Key is already in
   * use on your account"). Others are made here, and kept on later runs because they carry our name.
   * The lookup's answer decides which resources exist, so they are declared inside it; it is known
   * in a preview too (a data source, read at once).
   */
  private accountKeys(name: string, edge: DigitalOceanEdge): pulumi.Output<string[]> {
    const ours = (i: number) => `infernus-${edge.name}-admin-${i}`;
    const wanted = edge.sshAuthorizedKeys.map(fingerprintOf);
    const found = digitalocean.getSshKeysOutput({ filters: [{ key: "fingerprint", values: wanted }] }, { parent: this });
    return found.apply((result) =>
      pulumi.all(
        edge.sshAuthorizedKeys.map((key, i) => {
          const held = (result.sshKeys ?? []).find((k) => k.fingerprint === wanted[i]);
          if (held && held.name !== ours(i)) return pulumi.output(held.fingerprint);
          return new digitalocean.SshKey(`${name}-admin-key-${i}`, { name: ours(i), publicKey: key }, { parent: this }).fingerprint;
        }),
      ),
    );
  }
}

/** DigitalOcean's fingerprint of an OpenSSH public key: the MD5 of its key blob, colon-separated. */
export function fingerprintOf(publicKey: string): string {
  const blob = Buffer.from(publicKey.trim().split(/\s+/)[1] ?? "", "base64");
  return (createHash("md5").update(blob).digest("hex").match(/../g) ?? []).join(":");
}
