/**
 * Moving gpu1 to the server motherboard: a new SSH host and host key, a new hardware profile. The
 * tunnel identity (key, preshared key, address) belongs to the name, so nothing but gpu1's own
 * steps changes, and no resource could ever run a command against the old machine on delete.
 */
import { describe, expect, it } from "vitest";
import { resolve, type RecordedResource } from "../render/runtime";
import { clone, runEstate, stackObject } from "./helpers";

const before = stackObject("home");
const after = clone(before);
Object.assign(after.servers[0], {
  ssh: { host: "192.168.1.60", user: "kirill", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAHPI5zzYl9Odap5FOKEccA2cApNmitT3b5K9G46IV6J" },
  memoryGiB: 512,
  numaNodes: 2,
});

const inputsOf = (resources: readonly RecordedResource[]) => new Map(resources.map((r) => [r.urn, JSON.stringify(r.inputs)]));

describe("migrating gpu1 to a new machine", () => {
  it("keeps its WireGuard keys, preshared key and address, and every client config", async () => {
    // One program at a time: the mock runtime is process-wide.
    const old = await runEstate(before);
    const moved = await runEstate(after);
    expect(moved.result.addresses).toEqual(old.result.addresses);
    for (const peer of ["edge", "gpu1", "laptop", "phone"]) {
      expect((await resolve(moved.result.tunnel.peers[peer].config)).value).toBe((await resolve(old.result.tunnel.peers[peer].config)).value);
    }
  });

  it("changes only gpu1's steps (and re-runs the self-check after them), and creates or removes nothing", async () => {
    // One program at a time: the mock runtime is process-wide.
    const old = await runEstate(before);
    const moved = await runEstate(after);
    const a = inputsOf(old.resources);
    const b = inputsOf(moved.resources);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    const changed = [...b.keys()].filter((urn) => a.get(urn) !== b.get(urn)).map((urn) => urn.split("::").pop()!);
    // The new machine is provisioned from scratch: every gpu1 step runs against it, with the
    // reboot grace after its driver step; then the self-check on the edge confirms it works.
    const steps = old.result.servers.gpu1.host.steps.map((s) => `gpu1-${s.name}`);
    expect(changed.sort()).toEqual([...steps, "infernus-gpu1-reboot-grace", "edge-self-check"].sort());
  });

  it("has no resource that runs a command on delete", async () => {
    const { resources } = await runEstate(after);
    for (const command of resources.filter((r) => r.type.startsWith("command:"))) {
      expect(command.inputs.delete, command.name).toBeUndefined();
      if (command.type === "command:remote:Command") expect(command.retainOnDelete, command.name).toBe(true);
    }
  });
});
