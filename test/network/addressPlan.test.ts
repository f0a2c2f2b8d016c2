import { describe, expect, it } from "vitest";
import { derivedAddress, planAddresses, type PeerRequest } from "../../components/network/addressPlan";
import { formatIpv4, parseCidr } from "../../components/network/ip";

const edge: PeerRequest = { name: "edge", role: "edge", configPath: "edge" };
const server = (name: string, i: number, address?: string): PeerRequest => ({ name, role: "server", configPath: `servers[${i}]`, address });
const client = (name: string, i: number, address?: string): PeerRequest => ({ name, role: "client", configPath: `clients[${i}]`, address });
const addresses = (requests: PeerRequest[]) => Object.fromEntries(planAddresses("10.66.0.0/24", requests).peers.map((p) => [p.name, p.address]));

/** Two names whose derived addresses collide in a /24, found by search so the test needs no magic. */
function collidingNames(): [string, string] {
  const cidr = parseCidr("10.66.0.0/24")!;
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const name = `dev${i}`;
    const address = derivedAddress(cidr, name);
    const other = seen.get(address);
    if (other) return [other, name];
    seen.set(address, name);
  }
}

describe("the tunnel address plan", () => {
  it("gives the edge the first host address", () => {
    expect(addresses([edge, server("gpu1", 0)]).edge).toBe("10.66.0.1");
  });

  it("keeps existing addresses when a client is added in the middle of the list", () => {
    const before = addresses([edge, server("gpu1", 0), client("laptop", 0), client("phone", 1)]);
    const after = addresses([edge, server("gpu1", 0), client("laptop", 0), client("tablet", 1), client("phone", 2)]);
    expect(after).toMatchObject(before);
  });

  it("keeps existing addresses when a peer is removed or the list reordered", () => {
    const before = addresses([edge, server("gpu1", 0), server("gpu2", 1), client("laptop", 0), client("phone", 1)]);
    const after = addresses([edge, server("gpu2", 0), client("phone", 0), client("laptop", 1)]);
    expect(before).toMatchObject(after);
  });

  it("gives every peer a distinct host address inside the tunnel", () => {
    const names = ["gpu1", "gpu2", "aux", "laptop", "minipc", "phone", "tablet"];
    const plan = planAddresses("10.66.0.0/24", [edge, ...names.map((n, i) => client(n, i))]);
    expect(plan.problems).toEqual([]);
    const all = plan.peers.map((p) => p.address);
    expect(new Set(all).size).toBe(all.length);
    for (const address of all) expect(address).toMatch(/^10\.66\.0\.([1-9]|[1-9]\d|1\d\d|2[0-4]\d|25[0-4])$/);
  });

  it("uses a pinned address as given", () => {
    expect(addresses([edge, client("phone", 0, "10.66.0.77")]).phone).toBe("10.66.0.77");
  });

  it("names both peers and a free address when two names derive the same address", () => {
    const [first, second] = collidingNames();
    const plan = planAddresses("10.66.0.0/24", [edge, client(first, 0), client(second, 1)]);
    expect(plan.problems).toHaveLength(1);
    expect(plan.problems[0].path).toBe("clients[1].name");
    const taken = formatIpv4(derivedAddress(parseCidr("10.66.0.0/24")!, first));
    expect(plan.problems[0].message).toContain(`${taken} (derived from the name) is already clients[0]'s (${first}); pin one of them with address: 10.66.0.`);
  });

  it("lets a pinned address resolve a collision", () => {
    const [first, second] = collidingNames();
    const plan = planAddresses("10.66.0.0/24", [edge, client(first, 0), client(second, 1, "10.66.0.250")]);
    expect(plan.problems).toEqual([]);
  });
});
