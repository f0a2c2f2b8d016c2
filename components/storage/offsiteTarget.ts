/**
 * Where the offsite copy goes: a Spaces bucket and key made here (singapore), or an S3 bucket the
 * user has, plus the generated encryption password and salt every server's copy uses.
 */
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { OffsiteConfig } from "../config/schema";
import { endpointOf } from "./offsite";

export interface OffsiteTargetArgs {
  readonly offsite: OffsiteConfig;
  /** For kind s3: the bucket's keys from the stack config (secrets). */
  readonly accessKeyId?: pulumi.Output<string>;
  readonly secretAccessKey?: pulumi.Output<string>;
  /**
   * For kind spaces: the operator's Spaces keys (secrets). The DigitalOcean provider makes a bucket
   * only with them; its API token is not enough (terraform-provider-digitalocean config.go:
   * "Spaces credentials not configured").
   */
  readonly spacesKeys?: { readonly accessKeyId: pulumi.Output<string>; readonly secretAccessKey: pulumi.Output<string> };
}

export class OffsiteTarget extends pulumi.ComponentResource {
  public readonly bucket: string;
  public readonly endpoint: string;
  /** Secret, all four. */
  public readonly accessKeyId: pulumi.Output<string>;
  public readonly secretAccessKey: pulumi.Output<string>;
  public readonly password: pulumi.Output<string>;
  public readonly salt: pulumi.Output<string>;

  constructor(name: string, args: OffsiteTargetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infernus:storage:OffsiteTarget", name, {}, opts);
    const { offsite } = args;
    this.bucket = offsite.bucket;
    this.endpoint = endpointOf(offsite);
    const secret = (suffix: string) => pulumi.secret(new random.RandomPassword(`${name}-${suffix}`, { length: 48, special: false }, { parent: this }).result);
    this.password = secret("password");
    this.salt = secret("salt");
    if (offsite.kind === "spaces") {
      if (!args.spacesKeys) throw new Error("OffsiteTarget: a spaces target needs the operator's Spaces keys (the config check asks for them)");
      const spaces = new digitalocean.Provider(
        `${name}-spaces`,
        { spacesAccessId: args.spacesKeys.accessKeyId, spacesSecretKey: args.spacesKeys.secretAccessKey },
        { parent: this },
      );
      // The backups themselves: never deleted by the program.
      const bucket = new digitalocean.SpacesBucket(
        `${name}-bucket`,
        { name: offsite.bucket, region: offsite.region, acl: "private", versioning: { enabled: true } },
        { parent: this, protect: true, provider: spaces },
      );
      // The servers' own key, limited to this bucket; granted once the bucket exists.
      const key = new digitalocean.SpacesKey(`${name}-key`, { name: `infernus-offsite-${offsite.bucket}`, grants: [{ bucket: bucket.name, permission: "readwrite" }] }, { parent: this });
      this.accessKeyId = pulumi.secret(key.accessKey);
      this.secretAccessKey = pulumi.secret(key.secretKey);
    } else {
      if (!args.accessKeyId || !args.secretAccessKey) {
        // The stack config's check asked the user for them before any resource.
        throw new Error("OffsiteTarget: offsite.kind s3 needs args.accessKeyId and args.secretAccessKey");
      }
      this.accessKeyId = pulumi.secret(args.accessKeyId);
      this.secretAccessKey = pulumi.secret(args.secretAccessKey);
    }
    this.registerOutputs({ bucket: this.bucket, endpoint: this.endpoint });
  }
}
