/**
 * The DigitalOcean side of the singapore stack as the engine and the provider see it: the Spaces
 * bucket's credentials, the account's SSH keys, the droplet's first boot and a region change.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { fingerprintOf } from "../../components/edge/edge";
import { dialingSeconds } from "../helpers";
import { deploy, isSecret, plain, type Deployment, type ResourceState } from "./engine";
import { emptyAccount, stackInput } from "./stacks";

const STACK = "singapore";
const ADMIN_KEY = JSON.parse(stackInput(STACK).config["infernus:edge"]).sshAuthorizedKeys[0] as string;
const byName = (d: Deployment, name: string) => [...d.resources.values()].find((r) => r.name === name);
const ofType = (d: Deployment, type: string) => [...d.resources.values()].filter((r) => r.type === type);

/** An account that already holds the admin key, uploaded by hand under `name`. */
const accountWith = (name: string) => (token: string) => {
  emptyAccount(token);
  return { sshKeys: [{ id: 4242, name, fingerprint: fingerprintOf(ADMIN_KEY), publicKey: ADMIN_KEY }] };
};

describe("the singapore stack on DigitalOcean", () => {
  let preview: Deployment;
  let up: Deployment;
  beforeAll(async () => {
    preview = await deploy({ stack: STACK, ...stackInput(STACK), invoke: emptyAccount, preview: true });
    expect(preview.exitCode, preview.stderr).toBe(0);
    up = await deploy({ stack: STACK, ...stackInput(STACK), invoke: emptyAccount, preview: false });
    expect(up.exitCode, up.stderr).toBe(0);
  }, 120_000);

  it("makes the backup bucket with a provider that holds the operator's Spaces keys, as secrets", () => {
    const bucket = byName(preview, "infernus-offsite-bucket")!;
    const provider = [...preview.resources.values()].find((r) => bucket.provider.startsWith(`${r.urn}::`)) as ResourceState;
    expect(provider.type).toBe("pulumi:providers:digitalocean");
    for (const key of ["spacesAccessId", "spacesSecretKey"]) expect(isSecret(provider.inputs[key]), key).toBe(true);
    expect(plain(provider.inputs.spacesAccessId)).toBe(stackInput(STACK).config["infernus:spacesAccessKeyId"]);
  });

  it("grants the servers' Spaces key on the bucket only once the bucket exists", () => {
    const bucket = byName(preview, "infernus-offsite-bucket")!;
    const key = byName(preview, "infernus-offsite-key")!;
    expect(key.dependencies).toContain(bucket.urn);
    expect(key.provider).toBe("");
  });

  it("keeps dialing a new droplet for 5 minutes of its first boot, at the provider's backoff", () => {
    const limit = (plain(byName(up, "edge-cloud-init")!.inputs.connection) as { dialErrorLimit: number }).dialErrorLimit;
    expect(dialingSeconds(limit)).toBeGreaterThanOrEqual(300);
    expect(dialingSeconds(limit)).toBeLessThan(310);
  });

  it("makes the admin SSH key on an account that does not hold it", () => {
    expect(ofType(preview, "digitalocean:index/sshKey:SshKey").map((k) => plain(k.inputs.publicKey))).toEqual([ADMIN_KEY]);
  });

  it("uses an admin key the account already holds instead of uploading it again (the API refuses that with 422)", async () => {
    const held = await deploy({ stack: STACK, ...stackInput(STACK), invoke: accountWith("kirill-laptop"), preview: true });
    expect(held.exitCode, held.stderr).toBe(0);
    expect(ofType(held, "digitalocean:index/sshKey:SshKey")).toEqual([]);
    expect(plain(byName(held, "infernus-edge-droplet")!.inputs.sshKeys)).toEqual([fingerprintOf(ADMIN_KEY)]);
  }, 60_000);

  it("keeps the key it made on the next run, when the account lists it under its own name", async () => {
    const again = await deploy({ stack: STACK, ...stackInput(STACK), invoke: accountWith("infernus-edge-admin-0"), preview: true, state: up.state });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.steps.filter((s) => s.op !== "same")).toEqual([]);
  }, 90_000);

  // `pulumi up` previews first and stops at an error, so the preview is where the user meets it.
  it("refuses a region change with the reason, before anything is made in the new region", async () => {
    const edge = { ...JSON.parse(stackInput(STACK).config["infernus:edge"]), region: "nyc3" };
    const moved = await deploy({ stack: STACK, ...stackInput(STACK, { "infernus:edge": JSON.stringify(edge) }), invoke: emptyAccount, preview: true, state: up.state });
    expect(moved.exitCode).not.toBe(0);
    const said = moved.logs.filter((l) => l.severity === "error").map((l) => l.message).join("\n");
    expect(said).toContain("infernus: edge.region = nyc3: the edge's reserved IP lives in sgp1, and DigitalOcean cannot move a reserved IP to another region");
    expect(said).toContain("Keep region: sgp1");
    expect(moved.steps.filter((s) => s.op !== "same" && /vpc|droplet/.test(s.name))).toEqual([]);
  }, 120_000);
});
