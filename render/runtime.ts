/**
 * Runs the real program under Pulumi's mock runtime: no CLI, no cloud, no network. Every resource
 * registration is recorded with its parent and options; values only a cloud (or a provider) could
 * give are deterministic stand-ins, and each resource lists which of its outputs are stand-ins.
 */
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { createHash, createPrivateKey, createPublicKey } from "node:crypto";

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  /** The id the (mock) provider gave a custom resource; empty for components. */
  readonly id: string;
  /** The parent's URN; empty for the stack itself. */
  readonly parent: string;
  readonly custom: boolean;
  readonly inputs: Record<string, unknown>;
  readonly retainOnDelete: boolean;
  readonly protect: boolean;
  /** URNs this resource waits for: its dependsOn and the resources its inputs come from. */
  readonly dependsOn: readonly string[];
  /** Top-level inputs that reached the engine as secrets (encrypted in state, hidden in the CLI). */
  readonly secretInputs: readonly string[];
  /** Outputs invented by the mock runtime (addresses, ids, generated keys): not what a deployment gets. */
  readonly standIns: readonly string[];
}

export interface StandIn {
  readonly state: Record<string, unknown>;
  readonly standIns: string[];
}

/** Deterministic bytes for a resource: never the deployed values, which live only in Pulumi state. */
function seed(name: string, purpose: string, length = 32): Buffer {
  return createHash("sha256").update(`infernus render stand-in:${purpose}:${name}`).digest().subarray(0, length);
}

/** An address in 203.0.113.0/24 (TEST-NET-3, reserved for documentation). */
function documentationAddress(name: string): string {
  return `203.0.113.${10 + (seed(name, "ip")[0] % 240)}`;
}

function ed25519StandIn(name: string): { publicKeyOpenssh: string; privateKeyOpenssh: string } {
  const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed(name, "ed25519")]);
  const publicRaw = Buffer.from(createPublicKey(createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" })).export({ format: "jwk" }).x!, "base64url");
  const field = (b: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(b.length);
    return Buffer.concat([length, b]);
  };
  const blob = Buffer.concat([field(Buffer.from("ssh-ed25519")), field(publicRaw)]);
  return {
    publicKeyOpenssh: `ssh-ed25519 ${blob.toString("base64")}\n`,
    privateKeyOpenssh: pemStandIn("OPENSSH PRIVATE KEY", name),
  };
}

/** PEM-framed text that says what it stands for; only the mock runtime makes these. */
function pemStandIn(label: string, name: string): string {
  return `-----BEGIN ${label}-----\n(render stand-in for ${name}: made at deploy time, kept in Pulumi state)\n-----END ${label}-----\n`;
}

/**
 * The random provider makes a new value when `keepers` change (a replacement): so does the render,
 * or a rotated key would render the same bytes. Without keepers, the name alone.
 */
function generation(name: string, inputs: Record<string, unknown>): string {
  return inputs.keepers === undefined ? name : `${name}:${JSON.stringify(inputs.keepers)}`;
}

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** What the mock provider answers for a new resource: its state, and which outputs in it are stand-ins. */
export function standIn(type: string, name: string, inputs: Record<string, unknown>): StandIn {
  switch (type) {
    case "random:index/randomPassword:RandomPassword": {
      const length = Number(inputs.length ?? 32);
      const current = generation(name, inputs);
      const bytes = Buffer.concat([seed(current, "password"), seed(current, "password-more")]);
      const result = Array.from({ length }, (_, i) => ALPHANUMERIC[bytes[i % bytes.length] % ALPHANUMERIC.length]).join("");
      return { state: { ...inputs, result }, standIns: ["result"] };
    }
    case "tls:index/privateKey:PrivateKey": {
      const openssh = inputs.algorithm === "ED25519" ? ed25519StandIn(name) : {};
      return { state: { ...inputs, ...openssh, privateKeyPem: pemStandIn("PRIVATE KEY", name), publicKeyPem: pemStandIn("PUBLIC KEY", name) }, standIns: [...Object.keys(openssh), "privateKeyPem", "publicKeyPem"] };
    }
    case "tls:index/selfSignedCert:SelfSignedCert":
    case "tls:index/locallySignedCert:LocallySignedCert":
      return { state: { ...inputs, certPem: pemStandIn("CERTIFICATE", name) }, standIns: ["certPem"] };
    case "tls:index/certRequest:CertRequest":
      return { state: { ...inputs, certRequestPem: pemStandIn("CERTIFICATE REQUEST", name) }, standIns: ["certRequestPem"] };
    case "digitalocean:index/reservedIp:ReservedIp": {
      const ipAddress = documentationAddress(name);
      return { state: { ...inputs, ipAddress, reservedIpUrn: `do:reservedip:${ipAddress}` }, standIns: ["ipAddress", "reservedIpUrn"] };
    }
    case "digitalocean:index/droplet:Droplet":
      return { state: { ...inputs, ipv4Address: documentationAddress(name), dropletUrn: `do:droplet:${standInId(type, name)}` }, standIns: ["id", "ipv4Address", "dropletUrn"] };
    case "digitalocean:index/spacesKey:SpacesKey": {
      const key = (purpose: string, length: number) => Array.from(seed(name, purpose, length), (b) => ALPHANUMERIC[b % ALPHANUMERIC.length]).join("");
      return { state: { ...inputs, accessKey: key("access", 20).toUpperCase(), secretKey: key("secret", 32) }, standIns: ["accessKey", "secretKey"] };
    }
    case "digitalocean:index/sshKey:SshKey": {
      const fingerprint = (seed(name, "fingerprint", 16).toString("hex").match(/../g) ?? []).join(":");
      return { state: { ...inputs, fingerprint }, standIns: ["id", "fingerprint"] };
    }
    default:
      return { state: { ...inputs }, standIns: [] };
  }
}

/** Resource ids a cloud would assign; numeric where the provider's are (DigitalOcean). */
function standInId(type: string, name: string): string {
  return type.startsWith("digitalocean:") ? String(100000000 + seed(name, "id").readUInt32BE(0) % 900000000) : `${name}-id`;
}

/** Records every registration the mock monitor answers, with the parts of the request mocks never see. */
function recordRegistrations(monitor: MockMonitor, recorded: RecordedResource[], standIns: ReadonlyMap<string, string[]>): void {
  const register = monitor.registerResource.bind(monitor);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  monitor.registerResource = (req: any, callback: (err: any, response: any) => void) =>
    register(req, (err: unknown, response: { getUrn(): string; getId(): string } | undefined) => {
      if (response) {
        const type: string = req.getType();
        const name: string = req.getName();
        recorded.push({
          type,
          name,
          urn: response.getUrn(),
          id: response.getId(),
          parent: req.getParent(),
          custom: req.getCustom(),
          inputs: revealSecrets(pulumi.runtime.deserializeProperties(req.getObject())) as Record<string, unknown>,
          secretInputs: secretKeys(req.getObject().toJavaScript()),
          retainOnDelete: req.getRetainondelete() === true,
          protect: req.getProtect() === true,
          dependsOn: [...req.getDependenciesList()].sort(),
          standIns: standIns.get(`${type}::${name}`) ?? [],
        });
      }
      callback(err, response);
    });
}

/** Resolves once every outstanding registration and apply has settled (internal to the SDK, not typed). */
const waitForRegistrations = (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs;

function isSecretValue(value: unknown): value is { value: unknown } {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig;
}

function secretKeys(serialized: Record<string, unknown>): string[] {
  return Object.keys(serialized).filter((key) => isSecretValue(serialized[key])).sort();
}

/** Inputs as plain values, for assertions and the render; which were secret is kept in secretInputs. */
function revealSecrets(value: unknown): unknown {
  if (isSecretValue(value)) return revealSecrets(value.value);
  if (Array.isArray(value)) return value.map(revealSecrets);
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revealSecrets(v)]));
  return value;
}

export interface RunResult<T> {
  readonly result: T;
  readonly resources: readonly RecordedResource[];
}

export interface RunOptions {
  /** Full config keys (`infernus:edge`) to string values (objects and lists as JSON). */
  readonly config: Readonly<Record<string, string>>;
  /**
   * The full keys of `config` (`infernus:hfToken`) that hold secrets, as the language host lists
   * them in PULUMI_CONFIG_SECRET_KEYS for values set with `--secret`; none by default.
   */
  readonly secretKeys?: readonly string[];
  readonly stack: string;
  readonly project?: string;
}

/** The program threw: its error, and whatever it registered before (nothing, for a config error). */
export class ProgramFailed extends Error {
  constructor(
    readonly cause: unknown,
    readonly resources: readonly RecordedResource[],
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = "ProgramFailed";
  }
}

/**
 * Runs `program` with `config` under mocks and waits until every resource is registered.
 * A program that throws rejects with ProgramFailed.
 */
export async function runUnderMocks<T>(program: () => T | Promise<T>, options: RunOptions): Promise<RunResult<T>> {
  // Pulumi's runtime is process-wide: two programs at once would record each other's resources.
  if (running) throw new Error("runUnderMocks: one program at a time; await the previous run first");
  running = true;
  try {
    return await run(program, options);
  } finally {
    running = false;
  }
}

let running = false;

async function run<T>(program: () => T | Promise<T>, options: RunOptions): Promise<RunResult<T>> {
  const project = options.project ?? "infernus";
  const recorded: RecordedResource[] = [];
  const standIns = new Map<string, string[]>();
  const mocks: pulumi.runtime.Mocks = {
    newResource: (args) => {
      const made = standIn(args.type, args.name, args.inputs);
      standIns.set(`${args.type}::${args.name}`, made.standIns);
      return { id: args.custom ? standInId(args.type, args.name) : undefined, state: made.state };
    },
    call: (args) => args.inputs,
  };
  await pulumi.runtime.setMocks(mocks, project, options.stack, false);
  recordRegistrations(settings.getMonitor() as unknown as MockMonitor, recorded, standIns);
  pulumi.runtime.setAllConfig({ ...options.config }, [...(options.secretKeys ?? [])]);
  let result: T;
  try {
    result = await program();
  } catch (error) {
    await waitForRegistrations();
    throw new ProgramFailed(error, recorded);
  }
  await waitForRegistrations();
  return { result, resources: recorded };
}

/** The value of an Output (or plain value) and whether it is secret. */
export async function resolve<T>(value: pulumi.Input<T>): Promise<{ value: T; secret: boolean }> {
  const output = pulumi.output(value);
  const secret = await pulumi.isSecret(output);
  const resolved = await new Promise<T>((done) => output.apply((v) => done(v as T)));
  return { value: resolved, secret };
}
