/**
 * `npm run lab`: the `lab` stack (test/lab/Pulumi.lab.yaml) rendered, built into network
 * namespaces and driven by test/lab/estate.sh: every check, the long load and the figures. Then
 * the same stack on booted machines (test/lab/machines.sh): provisioned from bare, converged,
 * edited, a wrong firewall undone, a power cut, with its figures. The CI tests
 * (test/lab/estate.test.ts, test/lab/machines.test.ts) run the checks.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { estateInput, parseEstateConfig } from "../../../components/config/load";
import { renderStack, writeTree } from "../../../render/render";
import { stackConfig } from "../../../render/stackFile";
import { placeLanGateway } from "../../../components/gateway/lan";
import { labMain } from "../../gateway/lab";
import { MACHINES_SCRIPT, prepareMachines } from "../machines/prepare";
import { dummyUps } from "../nut";

export const LAB_SCRIPT = path.join(__dirname, "..", "estate.sh");

/**
 * Writes the lab stack's render into a new folder, with what estate.sh needs beside it: the UPS on
 * dummy-ups (ups.dev says "on line"), lab.env, the addresses and names the config gives, and
 * edge-nginx.conf and lan-nginx.conf, the edge's and the LAN gateway's nginx.conf as deployed with
 * their paths in the run's folder (estate.sh puts the servers each runs in run/edge/nginx/servers/
 * and run/gpu/nginx/servers/).
 */
export async function prepareLab(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), "infernus-estate-"));
  // nginx's workers (www-data) reach their temporary files below it.
  chmodSync(dir, 0o711);
  const pulumiConfig = stackConfig("lab", path.join(__dirname, ".."));
  const config = parseEstateConfig(estateInput(pulumiConfig));
  const tree = await renderStack("lab", pulumiConfig);
  writeTree(path.join(dir, "render"), tree);
  const plan = JSON.parse(String(tree.files.get("plan.json"))) as { addresses: Record<string, string> };
  if (config.edge.kind !== "existing") throw new Error("the lab stack's edge is an existing machine at a lab address");
  const gpu1 = config.servers[0];
  const upsConf = String(tree.files.get(`hosts/${gpu1.name}/etc/nut/ups.conf`));
  writeFileSync(path.join(dir, "render", "hosts", gpu1.name, "etc", "nut", "ups.conf"), dummyUps(upsConf, path.join(dir, "ups.dev")));
  writeFileSync(path.join(dir, "ups.dev"), "ups.status: OL\nbattery.charge: 100\n");
  // Each gateway's nginx.conf as deployed: the edge's, and the LAN gateway's on its server.
  const lanGateway = placeLanGateway(config).place;
  if (!lanGateway) throw new Error("the lab stack has a LAN gateway (lan.gateway)");
  for (const [host, file] of [["edge", "edge-nginx.conf"], [lanGateway.server.name, "lan-nginx.conf"]]) {
    const nginxDir = path.join(dir, "run", host === "edge" ? "edge" : "gpu", "nginx");
    writeFileSync(path.join(dir, file), labMain(String(tree.files.get(`hosts/${host}/etc/nginx/nginx.conf`)), nginxDir, path.join(nginxDir, "servers", "*.conf")));
  }
  const env = {
    EDGE_PUBLIC: config.edge.endpoint,
    ADMIN_CIDR: config.edge.adminCidrs[0],
    LAN_CIDR: config.lan.cidrs[0],
    GPU: gpu1.name,
    GPU_LAN: gpu1.ssh.host,
    CLIENT: config.clients[0].name,
    TUNNEL_CIDR: config.tunnel.cidr,
    EDGE_TUNNEL: plan.addresses.edge,
    GPU_TUNNEL: plan.addresses[gpu1.name],
    CLIENT_TUNNEL: plan.addresses[config.clients[0].name],
    WG_PORT: String(config.tunnel.port),
    KEEPALIVE: String(config.tunnel.keepaliveSeconds),
    UPS: gpu1.ups!.name,
    MODELS: gpu1.models.map((model) => model.name).join(" "),
    LAN_GATEWAY: lanGateway.address,
    LAN_GATEWAY_NAME: lanGateway.name ?? "",
  };
  writeFileSync(path.join(dir, "lab.env"), Object.entries(env).map(([name, value]) => `${name}="${value}"\n`).join(""));
  return dir;
}

/** Runs one lab script on a freshly prepared folder, then removes the folder; its exit status. */
async function runIn(prepare: () => Promise<string>, script: string, args: readonly string[]): Promise<number> {
  const dir = await prepare();
  try {
    return spawnSync("bash", [script, dir, ...args], { stdio: "inherit", timeout: 1_500_000 }).status ?? 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const network = await runIn(prepareLab, LAB_SCRIPT, ["all"]);
  const machines = await runIn(prepareMachines, MACHINES_SCRIPT, []);
  process.exitCode = network === 0 && machines === 0 ? 0 : 1;
}

if (require.main === module) {
  main().catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
