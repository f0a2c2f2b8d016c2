/** Checks that span several keys of the stack config; each returns problems, never throws. */
import { planAddresses, type PeerRequest } from "../network/addressPlan";
import { overlaps, parseCidr } from "../network/ip";
import { GPU_CATALOGUE, gpuSpecOf } from "../gpu/catalogue";
import { servingPlan } from "../serving/plan";
import { CHECK_KEY_NAME } from "../check/files";
import { APP_CATALOGUE, appPort, gatewayKeyOf } from "../apps/catalogue";
import { SEARXNG } from "../apps/files";
import { vectorStoreOf } from "../apps/placement";
import type { ModelKind } from "../serving/catalogue";
import { article, modelProblems, modelSpecOf } from "../serving/models";
import { PORTS } from "../monitoring/files";
import { edgeSshPort } from "../edge/exposure";
import { placeLanGateway } from "../gateway/lan";
import type { Problem } from "./problems";
import type { EstateConfig } from "./schema";

/** Every WireGuard peer in address order: the edge, then servers, then clients. */
export function peerRequests(config: Pick<EstateConfig, "edge" | "servers" | "clients">): PeerRequest[] {
  return [
    { name: config.edge.name, role: "edge", configPath: "edge" },
    ...config.servers.map((s, i): PeerRequest => ({ name: s.name, role: "server", configPath: `servers[${i}]`, address: s.address })),
    ...config.clients.map((c, i): PeerRequest => ({ name: c.name, role: "client", configPath: `clients[${i}]`, address: c.address })),
  ];
}

type Sections = Partial<EstateConfig>;

/**
 * Runs `check` when every section it reads parsed; otherwise its input is not known, and it is
 * skipped. For sections with defaults: offsite and monitoring are also absent when not set.
 */
function when<K extends keyof EstateConfig>(sections: Sections, keys: readonly K[], check: (config: Pick<EstateConfig, K>) => readonly Problem[]): Problem[] {
  return keys.every((key) => sections[key] !== undefined) ? [...check(sections as Pick<EstateConfig, K>)] : [];
}

/**
 * Checks across keys, on the sections that parsed: a check that reads a section with a schema
 * problem is skipped (that problem is already listed, and the check's input is not known).
 */
export function crossChecks(sections: Sections): Problem[] {
  // Peer names are host names and resource names at once, so they are unique across roles.
  const peerNames = when(sections, ["edge", "servers", "clients"], (config) => duplicateNames(peerRequests(config), "names must be unique across the edge, servers and clients"));
  const apiKeyNames = when(sections, ["apiKeys"], (config) =>
    duplicateNames(
      [{ name: CHECK_KEY_NAME, configPath: "the self-check's own key" }, ...config.apiKeys.map((k, i) => ({ name: k.name, configPath: `apiKeys[${i}]` }))],
      "each API key names one user of the gateway",
    ),
  );
  return [
    ...peerNames,
    ...apiKeyNames,
    ...when(sections, ["tunnel", "lan"], lanChecks),
    ...when(sections, ["lan", "servers"], (config) => placeLanGateway(config).problems),
    ...when(sections, ["edge", "servers"], hostKeyChecks),
    ...when(sections, ["edge"], edgeChecks),
    ...when(sections, ["servers"], (config) => config.servers.flatMap((server, i) => serverChecks(server, `servers[${i}]`))),
    ...when(sections, ["servers"], servedTwice),
    ...when(sections, ["apps", "edge", "servers", "apiKeys", "gateway"], appChecks),
    ...when(sections, ["tunnel", "edge", "servers", "clients"], (config) => (peerNames.length === 0 ? planAddresses(config.tunnel.cidr, peerRequests(config)).problems : [])),
  ];
}

function duplicateNames(items: readonly { name: string; configPath: string }[], why: string): Problem[] {
  return duplicates(
    items.map((item) => ({ value: item.name, path: `${item.configPath}.name`, owner: item.configPath })),
    (first) => `also the name of ${first}; ${why}`,
  );
}

/** A problem for each value seen before, told where it was first. */
function duplicates(items: readonly { value: string; path: string; owner?: string }[], message: (first: string) => string): Problem[] {
  const seen = new Map<string, string>();
  return items.flatMap((item): Problem[] => {
    const first = seen.get(item.value);
    if (first) return [{ path: item.path, value: item.value, message: message(first) }];
    seen.set(item.value, item.owner ?? item.path);
    return [];
  });
}

function edgeChecks(config: Pick<EstateConfig, "edge">): Problem[] {
  const edge = config.edge;
  const open = edge.allowAnyAdmin
    ? []
    : edge.adminCidrs.flatMap((c, i): Problem[] =>
        parseCidr(c)!.prefix === 0
          ? [{ path: `edge.adminCidrs[${i}]`, value: c, message: "opens SSH to the whole internet; list the networks you administer from, or set edge.allowAnyAdmin: true to mean it" }]
          : [],
      );
  const acme =
    edge.domain && !edge.acmeEmail
      ? [{ path: "edge.acmeEmail", value: undefined, message: `Let's Encrypt needs a contact address for the certificate of ${edge.domain}, e.g. acmeEmail: you@example.net` }]
      : [];
  const zone =
    edge.kind === "digitalocean" && edge.dnsZone && !(edge.domain ?? "").endsWith(`.${edge.dnsZone}`)
      ? [{ path: "edge.dnsZone", value: edge.dnsZone, message: edge.domain ? `${edge.domain} is not inside it; the record must be a name in the zone` : "set edge.domain to the name inside this zone the gateway answers at" }]
      : [];
  return [...open, ...acme, ...zone];
}

function lanChecks(config: Pick<EstateConfig, "tunnel" | "lan">): Problem[] {
  const tunnel = parseCidr(config.tunnel.cidr)!;
  const lans = config.lan.cidrs.map((c) => parseCidr(c)!);
  return lans.flatMap((lan, i): Problem[] => {
    const path = `lan.cidrs[${i}]`;
    const value = config.lan.cidrs[i];
    if (overlaps(lan, tunnel)) return [{ path, value, message: `overlaps tunnel.cidr ${config.tunnel.cidr}; pick a tunnel range unused at home, e.g. 10.66.0.0/24` }];
    const other = lans.findIndex((l, j) => j < i && overlaps(l, lan));
    if (other >= 0) return [{ path, value, message: `overlaps lan.cidrs[${other}] ${config.lan.cidrs[other]}; list each network once` }];
    return [];
  });
}

/** An existing machine's host key is pinned, or trusting any key is said out loud. */
function hostKeyChecks(config: Pick<EstateConfig, "edge" | "servers">): Problem[] {
  const hosts = [
    ...(config.edge.kind === "existing" ? [{ path: "edge.ssh", ssh: config.edge.ssh }] : []),
    ...config.servers.map((s, i) => ({ path: `servers[${i}].ssh`, ssh: s.ssh })),
  ];
  return hosts
    .filter(({ ssh }) => !ssh.hostKey && !ssh.insecureIgnoreHostKey)
    .map(({ path, ssh }) => ({
      path: `${path}.hostKey`,
      value: undefined,
      message: `pin the host's key, as \`ssh-keyscan -t ed25519 ${ssh.host}\` prints it without the host name, or set ${path}.insecureIgnoreHostKey: true to trust any key (a warning each run)`,
    }));
}

function serverChecks(server: EstateConfig["servers"][number], path: string): Problem[] {
  const problems: Problem[] = [];
  const known = server.gpus.map((gpu, g) => {
    if (gpu.specs || GPU_CATALOGUE[gpu.model]) return gpu;
    problems.push({
      path: `${path}.gpus[${g}].model`,
      value: gpu.model,
      message: `not in the catalogue (${Object.keys(GPU_CATALOGUE).join(", ")}); describe the card with specs: { vendor, marketingName, memoryGiB, computeCapability, powerW }`,
    });
    return undefined;
  });
  known.forEach((gpu, g) => {
    if (!gpu || gpu.powerLimitW === undefined) return;
    const spec = gpuSpecOf(gpu);
    const at = `${path}.gpus[${g}].powerLimitW`;
    if (!spec.powerW) problems.push({ path: at, value: gpu.powerLimitW, message: `the ${spec.marketingName} is not driven by infernus; remove the power limit` });
    else if (gpu.powerLimitW < spec.powerW.min || gpu.powerLimitW > spec.powerW.max) {
      problems.push({ path: at, value: gpu.powerLimitW, message: `the ${spec.marketingName} accepts ${spec.powerW.min}–${spec.powerW.max} W` });
    }
  });
  const nvidia = known.filter((gpu) => gpu && gpuSpecOf(gpu).vendor === "nvidia").map((gpu) => gpuSpecOf(gpu!));
  const oldest = nvidia.filter((spec) => spec.minDriverBranch !== undefined && server.driver.branch < spec.minDriverBranch);
  if (oldest.length > 0) {
    const spec = oldest[0];
    problems.push({ path: `${path}.driver.branch`, value: server.driver.branch, message: `the ${spec.marketingName} needs branch ${spec.minDriverBranch} or newer; use 580` });
  }
  const openOnly = nvidia.find((spec) => spec.openModulesOnly);
  if (openOnly && !server.driver.flavour.endsWith("open")) {
    problems.push({
      path: `${path}.driver.flavour`,
      value: server.driver.flavour,
      message: `the ${openOnly.marketingName} runs only with the open kernel modules (the proprietary ones find no devices); use open or server-open`,
    });
  }
  problems.push(...duplicates(server.disks.map((disk, d) => ({ value: disk, path: `${path}.disks[${d}]` })), (first) => `already listed as ${first}; list each disk once`));
  problems.push(...poolChecks(server, path));
  const models = duplicates(servedNamesOf(server, path), (first) => `already served as ${first}; requests name what they want, so each name is served once`);
  // The plan needs known GPUs and distinct models to say anything useful.
  if (problems.length === 0 && models.length === 0) problems.push(...servingPlan(server, path).problems);
  return [...problems, ...models];
}

/** Every name a server serves, with where it stands: its models, and their LoRA adapters. */
function servedNamesOf(server: EstateConfig["servers"][number], path: string): { value: string; path: string }[] {
  return server.models.flatMap((m, j) => [{ value: m.name, path: `${path}.models[${j}].name` }, ...m.loras.map((l, k) => ({ value: l.name, path: `${path}.models[${j}].loras[${k}].name` }))]);
}

/** A name served by two servers: the gateway sends a request to either, and each llama-swap passes the other's names on. */
function servedTwice(config: Pick<EstateConfig, "servers">): Problem[] {
  const owner = new Map<string, string>();
  return config.servers.flatMap((server, i) => {
    const names = servedNamesOf(server, `servers[${i}]`);
    const problems = names.filter((n) => owner.has(n.value) && owner.get(n.value) !== server.name).map((n) => ({ path: n.path, value: n.value, message: `${owner.get(n.value)} serves it too; serve each name on one server` }));
    for (const n of names) if (!owner.has(n.value)) owner.set(n.value, server.name);
    return problems;
  });
}

function poolChecks(server: EstateConfig["servers"][number], path: string): Problem[] {
  const problems: Problem[] = [];
  const owner = new Map<string, { at: string; pool: number }>();
  server.pools.forEach((pool, p) =>
    pool.vdevs.forEach((vdev, v) =>
      vdev.forEach((device, d) => {
        const at = `${path}.pools[${p}].vdevs[${v}][${d}]`;
        const first = owner.get(device.path);
        if (!first) owner.set(device.path, { at, pool: p });
        else if (device.wipe && first.pool !== p) problems.push({ path: `${at}.wipe`, value: true, message: `${device.path} is also in ${first.at}: wiping it would destroy that pool` });
        else problems.push({ path: at, value: device.path, message: `also in ${first.at}; a disk belongs to one vdev` });
      }),
    ),
  );
  problems.push(...duplicates(server.pools.map((pool, p) => ({ value: pool.name, path: `${path}.pools[${p}].name` })), (first) => `already the name of ${first}`));
  const primaries = server.pools.filter((pool) => pool.role === "primary");
  if (primaries.length > 1) problems.push({ path: `${path}.pools`, value: primaries.map((pool) => pool.name), message: "one pool is primary (models, RAG, state, home); mark the others role: backup" });
  if (primaries.length === 0 && server.pools.length > 0) problems.push({ path: `${path}.pools`, value: server.pools.map((pool) => pool.name), message: "a backup pool needs a primary pool to back up; mark one role: primary" });
  if (server.ups && server.ups.offDelaySeconds >= server.ups.onDelaySeconds) {
    problems.push({ path: `${path}.ups.offDelaySeconds`, value: server.ups.offDelaySeconds, message: `must be less than onDelaySeconds (${server.ups.onDelaySeconds}), or the UPS may not restore power to the outlets` });
  }
  return problems;
}

type AppInputs = Pick<EstateConfig, "apps" | "edge" | "servers" | "apiKeys" | "gateway">;

/** The smallest droplet that holds Perplexica beside nginx and Prometheus. */
const PERPLEXICA_EDGE_MIN_GB = 4;

function appChecks(config: AppInputs): Problem[] {
  const hosts = [config.edge.name, ...config.servers.map((s) => s.name)];
  const served = servedKinds(config.servers);
  const problems = duplicateNames(config.apps.map((app, i) => ({ name: app.name, configPath: `apps[${i}]` })), "each app names its unit, data folder and outputs");
  config.apps.forEach((app, i) => {
    const at = `apps[${i}]`;
    const spec = APP_CATALOGUE[app.kind];
    if (!hosts.includes(app.host)) {
      problems.push({ path: `${at}.host`, value: app.host, message: `no such host; name the edge or a server: ${hosts.join(", ")}` });
      return;
    }
    const server = config.servers.find((s) => s.name === app.host);
    if (app.serveLan && spec.guard === "none") {
      problems.push({ path: `${at}.serveLan`, value: true, message: `${spec.title} has no key or login of its own: anyone on the LAN could use your models through it; reach it from a WireGuard client instead` });
    }
    if (spec.ragStore && !server?.pools.some((p) => p.role === "primary")) {
      problems.push({ path: `${at}.host`, value: app.host, message: `${spec.title} keeps the RAG memory, which must live on a server's primary ZFS pool (snapshots, replica, offsite copy); place it on a server with pools` });
    }
    if (spec.runtime) {
      const key = gatewayKeyOf(app);
      if (!config.apiKeys.some((k) => k.name === key)) {
        problems.push({ path: key !== app.name ? `${at}.apiKey` : `${at}.name`, value: key, message: `the app calls the gateway with the API key ${key}: add { name: ${key} } to infernus:apiKeys` });
      }
    }
    if (app.kind === "perplexica" || app.kind === "open-webui") {
      problems.push(...modelUse(app.chatModel, "chat", `${at}.chatModel`, served), ...modelUse(app.embeddingModel, "embedding", `${at}.embeddingModel`, served));
    }
    if (app.kind === "open-webui") {
      if (app.rerankModel !== undefined) problems.push(...modelUse(app.rerankModel, "rerank", `${at}.rerankModel`, served));
      problems.push(...vectorStoreProblems(config.apps, app, `${at}.vectorStore`));
    }
    if (app.kind === "perplexica") {
      const first = config.apps.findIndex((other) => other.kind === "perplexica" && other.host === app.host);
      if (first < i) {
        problems.push({ path: `${at}.host`, value: app.host, message: `each Perplexica runs its SearxNG on ${SEARXNG.listen}, and ${app.host} runs apps[${first}]'s already: place this one on another host` });
      }
      const edge = config.edge;
      const gb = edge.kind === "digitalocean" ? Number(/-(\d+)gb/.exec(edge.size)?.[1]) : undefined;
      if (app.host === edge.name && gb !== undefined && gb < PERPLEXICA_EDGE_MIN_GB) {
        problems.push({ path: `${at}.host`, value: app.host, message: `the droplet (${(edge as { size: string }).size}) has ${gb} GB; Perplexica with SearxNG needs ${PERPLEXICA_EDGE_MIN_GB} GB beside nginx and Prometheus: size s-2vcpu-4gb, or place it on a home server` });
      }
    }
  });
  const taken = config.apps.flatMap((app, i) => {
    const used = hostPorts(config, app.host).find((p) => p.port === appPort(app));
    return used ? [{ path: config.apps[i].port === undefined ? `apps[${i}]` : `apps[${i}].port`, value: appPort(app), message: `${app.host} already uses port ${used.port} for ${used.what}; give the app another port` }] : [];
  });
  const clashes = duplicates(
    config.apps.map((app, i) => ({ value: `${app.host}:${appPort(app)}`, path: `apps[${i}].port`, owner: `apps[${i}]` })),
    (first) => `the same host and port as ${first}; give one of them another port`,
  );
  return [...problems, ...taken, ...clashes];
}

/** Open WebUI's Qdrant (placement.ts: vectorStoreOf) must be one. */
function vectorStoreProblems(apps: EstateConfig["apps"], app: Extract<EstateConfig["apps"][number], { kind: "open-webui" }>, path: string): Problem[] {
  const stores = apps.filter((a) => a.kind === "qdrant").map((a) => a.name);
  const chosen = vectorStoreOf(apps, app);
  if (chosen !== undefined && stores.includes(chosen)) return [];
  if (app.vectorStore !== undefined) {
    return [{ path, value: app.vectorStore, message: `no Qdrant app has that name; ${stores.length > 0 ? `the Qdrant apps: ${stores.join(", ")}` : "add one ({ name: memory, kind: qdrant, host: <a server with pools> })"}` }];
  }
  return [
    stores.length === 0
      ? { path, value: undefined, message: "Open WebUI keeps its documents and memories in Qdrant, and the estate runs none: add { name: memory, kind: qdrant, host: <a server with pools> } to infernus:apps" }
      : { path, value: undefined, message: `the estate runs ${stores.length} Qdrant apps (${stores.join(", ")}): name the one Open WebUI uses` },
  ];
}

/** Each name the servers serve, with its kind (an adapter's is chat); undefined where the entry has problems of its own, reported where it stands. */
function servedKinds(servers: EstateConfig["servers"]): ReadonlyMap<string, ModelKind | undefined> {
  return new Map(
    servers.flatMap((s) =>
      s.models.flatMap((m) => {
        const kind = modelProblems(m, "").length === 0 ? modelSpecOf(m).kind : undefined;
        return [[m.name, kind] as const, ...m.loras.map((l) => [l.name, "chat" as const] as const)];
      }),
    ),
  );
}

function modelUse(name: string, kind: ModelKind, path: string, served: ReadonlyMap<string, ModelKind | undefined>): Problem[] {
  const ofKind = [...served].filter(([, k]) => k === kind).map(([n]) => n);
  const choose = ofKind.length > 0 ? `the ${kind} models served: ${ofKind.join(", ")}` : `no server serves ${article(kind)} ${kind} model yet; add one to a server's models`;
  if (!served.has(name)) return [{ path, value: name, message: `no server serves it; ${choose}` }];
  const has = served.get(name);
  return has === undefined || has === kind ? [] : [{ path, value: name, message: `${article(has)} ${has} model; ${choose}` }];
}

/** The ports a host's own services hold (apps excluded). */
function hostPorts(config: AppInputs, host: string): { port: number; what: string }[] {
  const server = config.servers.find((s) => s.name === host);
  if (server) {
    return [
      { port: server.ssh.port, what: "SSH" },
      { port: config.gateway.upstreamPort, what: "the models (llama-swap)" },
      { port: PORTS.nodeExporter, what: "node_exporter" },
    ];
  }
  const edge = config.edge;
  return [
    { port: edgeSshPort(edge), what: "SSH" },
    { port: config.gateway.port, what: "the gateway" },
    { port: 80, what: "Let's Encrypt" },
    { port: PORTS.nodeExporter, what: "node_exporter" },
    { port: PORTS.prometheus, what: "Prometheus" },
    { port: PORTS.alertmanager, what: "Alertmanager" },
    { port: PORTS.blackbox, what: "the blackbox exporter" },
  ];
}
