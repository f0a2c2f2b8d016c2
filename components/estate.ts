/**
 * The estate: the edge, the tunnel between it, the GPU servers and the user's devices, and every
 * host's steps. Wiring only: what each part is comes from the validated config.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { App } from "./apps/app";
import { APP_CATALOGUE, gatewayKeyOf } from "./apps/catalogue";
import { PROBE_INTERVAL_SECONDS, searxngUnit } from "./apps/files";
import { appDataDir, appOpenings, searxngOwner, vectorStoreOf, webhookRoutes } from "./apps/placement";
import { CHECK_KEY_NAME } from "./check/files";
import { SelfCheck } from "./check/selfCheck";
import { peerRequests } from "./config/checks";
import { apiKeySchema, thresholdsSchema, type EstateConfig } from "./config/schema";
import { Edge } from "./edge/edge";
import { edgeFirewall, edgeOpenings } from "./edge/exposure";
import { Gateway } from "./gateway/gateway";
import { lanGatewayUrls, placeLanGateway, type LanGatewayPlace } from "./gateway/lan";
import { GpuServer } from "./gpu/gpuServer";
import { GATEWAY_PATHS } from "./gateway/nginx";
import { MONITORING_PATHS, PORTS, type ScrapedServer } from "./monitoring/files";
import { installExporters, Monitoring } from "./monitoring/monitoring";
import { nvidiaGpus } from "./gpu/files";
import { modelSpecOf, servedNames } from "./serving/models";
import { LOAD_TIMEOUT_SECONDS } from "./serving/files";
import { restoreInstructions } from "./storage/offsite";
import { OffsiteTarget } from "./storage/offsiteTarget";
import { sshConnection, type Credentials } from "./host/connection";
import { harden } from "./host/hardening";
import type { RemoteHost } from "./host/remoteHost";
import { planAddresses } from "./network/addressPlan";
import { WireGuard } from "./network/wireguard";

/** The edge's node_exporter: loopback only, read by the self-check and Prometheus on the edge itself. */
const EDGE_EXPORTER = `127.0.0.1:${PORTS.nodeExporter}`;

export interface EstateArgs {
  /** The whole validated stack config. */
  readonly config: EstateConfig;
  /** The operator's SSH credentials for every host. */
  readonly credentials: Credentials;
  /** Hugging Face token for model downloads (`infernus:hfToken`). Secret. */
  readonly hfToken?: pulumi.Output<string>;
  /** The Telegram bot's token, for alerts. Secret. */
  readonly telegramBotToken?: pulumi.Output<string>;
  /** Keys of a user-provided S3 bucket for the offsite copy. Secret. */
  readonly offsiteKeys?: { readonly accessKeyId?: pulumi.Output<string>; readonly secretAccessKey?: pulumi.Output<string> };
  /**
   * The operator's DigitalOcean Spaces keys (`infernus:spacesAccessKeyId`, `infernus:spacesSecretAccessKey`,
   * made in the control panel: API → Spaces Keys), for a `kind: spaces` offsite copy: the
   * DigitalOcean provider creates the bucket with them, the API token is not enough. Secret.
   */
  readonly spacesKeys?: { readonly accessKeyId: pulumi.Output<string>; readonly secretAccessKey: pulumi.Output<string> };
}

export class Estate extends pulumi.ComponentResource {
  /** The validated stack config it was declared from. */
  public readonly config: EstateConfig;
  /** Every host whose exporter is read (the edge first), with the models each serves. */
  public readonly watched: ScrapedServer[];
  public readonly edge: Edge;
  public readonly tunnel: WireGuard;
  /** Every host the program provisions, the edge first. */
  public readonly hosts: RemoteHost[];
  /** `host:port` that spokes dial. */
  public readonly tunnelEndpoint: pulumi.Output<string>;
  /** Each peer's tunnel address by name. */
  public readonly addresses: Record<string, string>;
  /** Each client device's wg-quick file, secret. */
  public readonly clientConfigs: Record<string, pulumi.Output<string>>;
  public readonly gateway: Gateway;
  /** The base URL at home, through the LAN gateway (with lan.gateway). */
  public readonly lanBaseUrl?: string;
  /** The GPU servers by name. */
  public readonly servers: Record<string, GpuServer>;
  /** Each user's API key, secret (the check's own key is not among them). */
  public readonly apiKeys: Record<string, pulumi.Output<string>>;
  /** Per API key, the lines an OpenAI client needs (base URL and key), secret. */
  public readonly apiSnippets: Record<string, pulumi.Output<string>>;
  public readonly offsite?: OffsiteTarget;
  public readonly monitoring?: Monitoring;
  public readonly selfCheck: SelfCheck;
  /** The user's apps by name, each on the host the stack names. */
  public readonly apps: Record<string, App>;
  /** How the operator reaches the edge over SSH (no key): what `npm run status` uses. */
  public readonly edgeSsh: pulumi.Output<{ host: string; port: number; user: string; hostKey?: string }>;
  /** Where the offsite copy is and how to restore it, with its password and salt. Secret. */
  public readonly offsiteSummary?: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: EstateArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infernus:estate:Estate", name, {}, opts);
    const { config, credentials } = args;
    this.config = config;
    const checkKey = apiKeySchema.parse({ name: CHECK_KEY_NAME });
    this.edge = new Edge(`${name}-edge`, { edge: config.edge, credentials, openings: edgeOpenings(config) }, { parent: this });

    const fullTunnel = new Set(config.clients.filter((c) => c.fullTunnel).map((c) => c.name));
    const plan = planAddresses(config.tunnel.cidr, peerRequests(config));
    if (plan.problems.length > 0) throw new Error(`address plan: ${plan.problems.map((p) => p.message).join("; ")}`);
    const addressOf = (peer: string) => plan.peers.find((p) => p.name === peer)!.address;
    const edgeAddress = addressOf(config.edge.name);
    /** Where a server's llama-swap answers on the tunnel: for the gateway and for the other servers. */
    const servingAddressOf = (server: string) => `${addressOf(server)}:${config.gateway.upstreamPort}`;
    this.tunnel = new WireGuard(
      `${name}-tunnel`,
      { tunnel: config.tunnel, peers: plan.peers.map((p) => ({ ...p, fullTunnel: fullTunnel.has(p.name) })), hubEndpoint: this.edge.endpoint },
      { parent: this },
    );
    const hubStep = this.tunnel.install(this.edge.host, config.edge.name);
    // The gateway's own key for the model servers: llama-swap refuses anyone else.
    const upstreamKey = pulumi.secret(new random.RandomPassword(`${name}-upstream-key`, { length: 40, special: false }, { parent: this }).result);

    // The stack config's checks (components/config/checks.ts) refused a gateway at home that cannot be placed.
    const lanGateway = placeLanGateway(config).place;
    const servers = config.servers.filter((s) => s.models.length > 0);
    const lanUrls = lanGateway && lanGatewayUrls(config, lanGateway);
    this.lanBaseUrl = lanUrls?.baseUrl;

    this.offsite = config.offsite ? new OffsiteTarget(`${name}-offsite`, { offsite: config.offsite, ...args.offsiteKeys, spacesKeys: args.spacesKeys }, { parent: this }) : undefined;

    this.servers = Object.fromEntries(
      config.servers.map((server) => {
        const proxy = server.ssh.viaEdge ? this.edge.host.connection : undefined;
        const gpuServer = new GpuServer(
          `${name}-${server.name}`,
          {
            server,
            connection: sshConnection(server.name, server.ssh, credentials, proxy),
            after: server.ssh.viaEdge ? [hubStep.command] : [],
            tunnel: this.tunnel,
            tunnelConfig: config.tunnel,
            lanCidrs: config.lan.cidrs,
            servingPort: config.gateway.upstreamPort,
            tunnelAddress: addressOf(server.name),
            serving: config.serving,
            upstreamKey,
            hfToken: args.hfToken,
            servingPeers: config.servers
              .filter((other) => other !== server && other.models.length > 0)
              .map((other) => ({ name: other.name, url: `http://${servingAddressOf(other.name)}`, models: other.models.flatMap(servedNames) })),
            offsite: this.offsite && config.offsite ? { config: config.offsite, target: this.offsite } : undefined,
            watchedFrom: edgeAddress,
            lanGateway: lanGateway?.server === server ? lanUrls?.probe : undefined,
            openings: [
              ...appOpenings(config, server.name),
              ...(lanGateway?.server === server ? [{ protocol: "tcp" as const, port: config.gateway.port, from: config.lan.cidrs, comment: "the LAN gateway, for clients at home" }] : []),
            ],
            configPath: `servers[${config.servers.indexOf(server)}]`,
          },
          { parent: this },
        );
        return [server.name, gpuServer];
      }),
    );

    const edge = config.edge;
    this.gateway = new Gateway(
      `${name}-gateway`,
      {
        gateway: config.gateway,
        apiKeys: [...config.apiKeys, checkKey],
        // Only a server with models runs llama-swap: one serving nothing is no upstream.
        upstreams: servers.map((s) => servingAddressOf(s.name)),
        publicHost: edge.domain ?? this.edge.endpoint,
        tunnelAddress: edgeAddress,
        upstreamKey,
        acme: edge.domain && edge.acmeEmail ? { domain: edge.domain, email: edge.acmeEmail } : undefined,
        webhooks: webhookRoutes(config, addressOf),
        // Its own server's llama-swap first: on the same machine, it answers with the internet down.
        lan: lanGateway && {
          address: lanGateway.address,
          name: lanGateway.name,
          upstreams: [...servers.filter((s) => s === lanGateway.server), ...servers.filter((s) => s !== lanGateway.server)].map((s) => servingAddressOf(s.name)),
          tunnelAddress: addressOf(lanGateway.server.name),
        },
      },
      { parent: this },
    );
    const edgeGateway = this.gateway.install(this.edge.host);
    if (lanGateway) this.gateway.installLan(this.servers[lanGateway.server.name].host, edgeGateway);
    harden(this.edge.host, {
      sshd: { allowUsers: edge.kind === "digitalocean" ? [edge.adminUser] : undefined },
      upgrades: { rebootTime: edge.rebootTime },
      firewall: edgeFirewall(config, [...fullTunnel].map(addressOf)),
    });
    installExporters(this.edge.host, EDGE_EXPORTER, { wireguard: config.tunnel.interface, auditLog: GATEWAY_PATHS.auditLog });
    const caFile = edge.domain ? undefined : GATEWAY_PATHS.caCertificate;
    this.apps = this.placeApps(name, config, edgeAddress, addressOf, lanGateway);
    const exporterOf = (server: string) => `${addressOf(server)}:${PORTS.nodeExporter}`;
    this.watched = [
      { name: edge.name, target: EDGE_EXPORTER, serves: false },
      ...config.servers.map((s) => ({ name: s.name, target: exporterOf(s.name), serves: s.models.length > 0, models: s.models.map((m) => m.name) })),
    ];
    if (config.monitoring) {
      this.monitoring = new Monitoring(
        `${name}-monitoring`,
        {
          host: this.edge.host,
          config: config.monitoring,
          botToken: args.telegramBotToken,
          servers: this.watched,
          tunnelAddress: edgeAddress,
          healthUrl: this.gateway.healthUrl,
          caFile,
          apps: Object.values(this.apps).map((app) => ({
            name: app.name,
            host: app.host,
            healthUrl: app.healthUrl,
            metrics: app.readOnlyKey ? { target: app.address, keyFile: `${MONITORING_PATHS.appKeys}/${app.name}.key` } : undefined,
            metricsKey: app.readOnlyKey,
          })),
        },
        { parent: this },
      );
    }
    this.apiKeys = Object.fromEntries(config.apiKeys.map((k) => [k.name, this.gateway.apiKeys[k.name]]));
    // A client at home that can switch its base URL uses the LAN gateway's, which works with the internet down.
    const atHome = lanUrls ? `# at home, also when the internet is down:\n# OPENAI_BASE_URL=${lanUrls.baseUrl}\n` : "";
    this.apiSnippets = Object.fromEntries(
      Object.entries(this.apiKeys).map(([user, key]) => [user, pulumi.secret(pulumi.interpolate`OPENAI_BASE_URL=${this.gateway.baseUrl}\nOPENAI_API_KEY=${key}\n${atHome}`)]),
    );

    if (this.offsite && config.offsite) {
      const offsite = config.offsite;
      this.offsiteSummary = pulumi.secret(
        pulumi.all([this.offsite.password, this.offsite.salt]).apply(([password, salt]): Record<string, string> => ({
          bucket: offsite.bucket,
          endpoint: this.offsite!.endpoint,
          password,
          salt,
          // Only a server with pools has datasets to copy offsite.
          restore: config.servers.filter((s) => s.pools.length > 0).map((s) => restoreInstructions(offsite, s.name)).join("\n\n"),
        })),
      );
    }
    this.hosts = [this.edge.host, ...Object.values(this.servers).map((s) => s.host)];
    const thresholds = config.monitoring?.thresholds ?? thresholdsSchema.parse({});
    this.selfCheck = new SelfCheck(
      `${name}-self-check`,
      {
        host: this.edge.host,
        hosts: this.hosts,
        key: this.gateway.apiKeys[CHECK_KEY_NAME],
        view: pulumi.all([this.gateway.origin, this.monitoring?.prometheusUrl]).apply(([gatewayOrigin, prometheus]) => ({
          gatewayOrigin,
          // The edge reaches its own public name on loopback: no hairpin through the cloud or the router.
          connectTo: "127.0.0.1",
          caFile,
          edgeMetrics: `http://${EDGE_EXPORTER}/metrics`,
          handshakeMaxSeconds: thresholds.handshakeStaleSeconds,
          prometheus,
          timeouts: { probe: 5, answer: 60, load: LOAD_TIMEOUT_SECONDS },
          peers: config.servers.map((s) => s.name),
          servers: config.servers.map((s) => ({
            name: s.name,
            exporter: exporterOf(s.name),
            gpus: nvidiaGpus(s).length,
            driverBranch: s.driver.branch,
            pools: s.pools.map((p) => p.name),
            ups: s.ups?.name,
          })),
          models: config.servers.flatMap((s) =>
            s.models.flatMap((m) => [{ name: m.name, server: s.name, kind: modelSpecOf(m).kind }, ...m.loras.map((l) => ({ name: l.name, server: s.name, kind: "chat", base: m.name }))]),
          ),
          edge: edge.name,
          // A finding may miss two of the timer's runs before it counts as stale.
          apps: Object.values(this.apps).map((app) => ({ name: app.name, host: app.host, healthUrl: app.healthUrl, probeMaxAgeSeconds: app.probed ? 3 * PROBE_INTERVAL_SECONDS : undefined })),
          lanGateway: lanGateway && lanUrls && { server: lanGateway.server.name, healthUrl: lanUrls.probe.healthUrl },
        })),
      },
      { parent: this },
    );
    this.edgeSsh = pulumi.unsecret(
      this.edge.host.connection.apply((c) => ({ host: String(c.host), port: Number(c.port ?? 22), user: String(c.user), hostKey: c.hostKey === undefined ? undefined : String(c.hostKey) })),
    );
    this.tunnelEndpoint = pulumi.interpolate`${this.edge.endpoint}:${config.tunnel.port}`;
    this.addresses = Object.fromEntries(plan.peers.map((p) => [p.name, p.address]));
    this.clientConfigs = Object.fromEntries(config.clients.map((c) => [c.name, this.tunnel.peers[c.name].config]));
    this.registerOutputs({
      tunnelEndpoint: this.tunnelEndpoint,
      addresses: this.addresses,
      clientConfigs: this.clientConfigs,
      baseUrl: this.gateway.baseUrl,
      apiSnippets: this.apiSnippets,
      selfCheck: this.selfCheck.report,
      gpuInventory: Object.fromEntries(Object.entries(this.servers).map(([n, s]) => [n, s.gpuInventory])),
    });
  }

  /**
   * Each app on its host, after that host's own steps, the vector stores and searches first. An
   * app that calls the models calls the LAN gateway on the same machine (it answers with the
   * internet down), else the edge's through the tunnel, with its own key.
   */
  private placeApps(name: string, config: EstateConfig, edgeAddress: string, addressOf: (peer: string) => string, lanGateway?: LanGatewayPlace): Record<string, App> {
    const domain = config.edge.domain;
    const port = config.gateway.port === 443 ? "" : `:${config.gateway.port}`;
    // With a public certificate the app uses the public name, resolved to the gateway's address;
    // with the private CA it calls that address, which the certificate names too.
    const gatewayAddress = (host: string) => (lanGateway?.server.name === host ? lanGateway.address : edgeAddress);
    const hostOf = (host: string) => (host === config.edge.name ? this.edge.host : this.servers[host].host);
    const placed: Record<string, App> = {};
    // Open WebUI after what it uses: a Qdrant's key, and the SearxNG a Perplexica on its host installs.
    const first = (app: EstateConfig["apps"][number]) => (app.kind === "qdrant" ? 0 : app.kind === "perplexica" ? 1 : 2);
    const ordered = [...config.apps].sort((a, b) => first(a) - first(b));
    for (const app of ordered) {
      const callsModels = APP_CATALOGUE[app.kind].runtime !== undefined;
      const store = app.kind === "open-webui" ? placed[vectorStoreOf(config.apps, app)!] : undefined;
      const search = app.kind === "open-webui" && app.webSearch ? searxngOwner(config, app.host) : undefined;
      placed[app.name] = new App(
        `${name}-app-${app.name}`,
        {
          app,
          host: hostOf(app.host),
          listen: addressOf(app.host),
          tunnelInterface: config.tunnel.interface,
          dataDir: appDataDir(config, app),
          gateway: callsModels
            ? {
                baseUrl: `https://${domain ?? gatewayAddress(app.host)}${port}/v1`,
                hosts: domain ? [`${domain}:${gatewayAddress(app.host)}`] : [],
                caCertificate: domain ? undefined : this.gateway.caCertificate,
                apiKey: this.gateway.apiKeys[gatewayKeyOf(app)],
                publicOrigin: this.gateway.origin,
              }
            : undefined,
          vectorStore: store && { url: store.url, apiKey: store.apiKey! },
          searxngUnit: search && search !== app ? searxngUnit(search.name) : undefined,
        },
        { parent: this },
      );
    }
    return Object.fromEntries(config.apps.map((app) => [app.name, placed[app.name]]));
  }
}
