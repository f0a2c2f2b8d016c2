/**
 * What the providers this program uses do with a changed input, and which outputs they compute:
 * the rules the engine stand-in (./engine.ts) applies. Each rule names the source it was read from;
 * a resource type without a rule stops the run, so a new type gets its rule from its provider first.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";

/** Top-level inputs whose change makes the provider replace the resource (ForceNew / RequiresReplace). */
const FORCE_NEW: Readonly<Record<string, readonly string[]>> = {
  // pulumi-command v1.2.1 provider/pkg/provider/common/inputs.go: only `triggers` is replaceOnChanges,
  // and the SDK asks for it as `replaceOnChanges: ["triggers[*]"]`, which the request carries; any
  // other changed input is an Update, which runs `update` when set and `create` otherwise
  // (remote/commandController.go Update).
  "command:remote:Command": [],
  "command:local:Command": [],
  // terraform-provider-digitalocean v2.96 (what pulumi-digitalocean v4.76 bridges):
  // droplet/resource_droplet.go: image, region, ssh_keys, user_data, vpc_uuid, monitoring, droplet_agent,
  // public_networking, gpu_partition_mode are ForceNew; size resizes in place (power off, resize, power on).
  "digitalocean:index/droplet:Droplet": ["image", "region", "sshKeys", "userData", "vpcUuid", "monitoring", "dropletAgent", "publicNetworking", "gpuPartitionMode"],
  // reservedip/resource_reserved_ip.go: region ForceNew.
  "digitalocean:index/reservedIp:ReservedIp": ["region"],
  // reservedip/resource_reserved_ip_assignment.go: ip_address and droplet_id ForceNew.
  "digitalocean:index/reservedIpAssignment:ReservedIpAssignment": ["ipAddress", "dropletId"],
  // vpc/resource_vpc.go: region and ip_range ForceNew.
  "digitalocean:index/vpc:Vpc": ["region", "ipRange"],
  // sshkey/resource_ssh_key.go: public_key ForceNew; name updates in place.
  "digitalocean:index/sshKey:SshKey": ["publicKey"],
  // firewall/resource_firewall.go, project/resource_project.go: everything updates in place.
  "digitalocean:index/firewall:Firewall": [],
  "digitalocean:index/project:Project": [],
  // domain/resource_domain.go: name ForceNew; domain/resource_record.go: domain and type ForceNew.
  "digitalocean:index/domain:Domain": ["name"],
  "digitalocean:index/dnsRecord:DnsRecord": ["domain", "type"],
  // spaces/resource_spaces_bucket.go: name and region ForceNew; spaces/spaces_entities.go: a key's
  // name and grants update in place.
  "digitalocean:index/spacesBucket:SpacesBucket": ["name", "region"],
  "digitalocean:index/spacesKey:SpacesKey": [],
  // terraform-provider-random and -tls: every argument has RequiresReplace.
  "random:index/randomPassword:RandomPassword": ["*"],
  "tls:index/privateKey:PrivateKey": ["*"],
  "tls:index/selfSignedCert:SelfSignedCert": ["*"],
  "tls:index/locallySignedCert:LocallySignedCert": ["*"],
  "tls:index/certRequest:CertRequest": ["*"],
};

/** The inputs that make `type` replace on change; throws for a type no rule covers. */
export function forceNew(type: string): readonly string[] {
  if (type.startsWith("pulumi:providers:")) return [];
  const rule = FORCE_NEW[type];
  if (!rule) throw new Error(`engine stand-in: no diff rule for ${type}; read its provider's schema and add one to test/engine/providers.ts`);
  return rule;
}

/** Input changes that replace for a reason beyond ForceNew. */
export function replacesOn(type: string, key: string, before: unknown, after: unknown): boolean {
  // resource_droplet.go: customdiff.ForceNewIfChange("ipv6", old && !new).
  return type === "digitalocean:index/droplet:Droplet" && key === "ipv6" && before === true && after !== true;
}

const computedCache = new Map<string, readonly string[]>();

/**
 * The outputs a resource type always has (its generated Node SDK types them without `| undefined`):
 * those the program did not give are computed by the provider, unknown in a preview of a new one.
 */
export function computedOutputs(type: string): readonly string[] {
  const cached = computedCache.get(type);
  if (cached) return cached;
  const [pkg, module, name] = type.split(":");
  let outputs: string[] = [];
  if (!type.startsWith("pulumi:providers:")) {
    const file = module.includes("/") ? module.split("/")[1] : name.charAt(0).toLowerCase() + name.slice(1);
    const dir = module.startsWith("index") ? "" : module;
    const declarations = readFileSync(require.resolve(path.posix.join(`@pulumi/${pkg}`, dir, `${file}.d.ts`)), "utf8");
    const body = declarations.slice(declarations.indexOf(`export declare class ${name} `));
    outputs = [...body.slice(0, body.indexOf("constructor(")).matchAll(/^\s+readonly (\w+): pulumi\.Output<(.+)>;$/gm)].filter((m) => !m[2].includes("| undefined")).map((m) => m[1]);
  }
  computedCache.set(type, outputs);
  return outputs;
}
