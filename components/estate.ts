/**
 * The estate: the edge, the tunnel between it, the GPU servers and the user's devices, and every
 * host's steps. Wiring only: what each part is comes from the validated config.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { peerRequests } from "./config/checks";
import type { EstateConfig } from "./config/schema";
import { Edge } from "./edge/edge";
import { edgeFirewall, edgeOpenings } from "./edge/exposure";
import { Gateway } from "./gateway/gateway";
import { GpuServer } from "./gpu/gpuServer";
import { GATEWAY_PATHS } from "./gateway/nginx";
import { PORTS } from "./monitoring/files";
import { Monitoring } from "./monitoring/monitoring";
import { restoreInstructions } from "./storage/offsite";
import { OffsiteTarget } from "./storage/offsiteTarget";
import { sshConnection, type Credentials } from "./host/connection";
import { harden } from "./host/hardening";
import type { RemoteHost } from "./host/remoteHost";
import { planAddresses } from "./network/addressPlan";
import { WireGuard } from "./network/wireguard";

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
}

export class Estate extends pulumi.ComponentResource {
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
  /** The GPU servers by name. */
  public readonly servers: Record<string, GpuServer>;
  /** Per API key, the lines an OpenAI client needs (base URL and key), secret. */
  public readonly apiSnippets: Record<string, pulumi.Output<string>>;
  public readonly offsite?: OffsiteTarget;
  public readonly monitoring?: Monitoring;
  /** Where the offsite copy is and how to restore it, with its password and salt. Secret. */
  public readonly offsiteSummary?: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: EstateArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infernus:estate:Estate", name, {}, opts);
    const { config, credentials } = args;
    this.edge = new Edge(`${name}-edge`, { edge: config.edge, credentials, openings: edgeOpenings(config) }, { parent: this });

    const fullTunnel = new Set(config.clients.filter((c) => c.fullTunnel).map((c) => c.name));
    const plan = planAddresses(config.tunnel.cidr, peerRequests(config));
    if (plan.problems.length > 0) throw new Error(`address plan: ${plan.problems.map((p) => p.message).join("; ")}`);
    const addressOf = (peer: string) => plan.peers.find((p) => p.name === peer)!.address;
    const edgeAddress = addressOf(config.edge.name);
    this.tunnel = new WireGuard(
      `${name}-tunnel`,
      { tunnel: config.tunnel, peers: plan.peers.map((p) => ({ ...p, fullTunnel: fullTunnel.has(p.name) })), hubEndpoint: this.edge.endpoint },
      { parent: this },
    );
    const hubStep = this.tunnel.install(this.edge.host, config.edge.name);
    // The gateway's own key for the model servers: llama-swap refuses anyone else.
    const upstreamKey = pulumi.secret(new random.RandomPassword(`${name}-upstream-key`, { length: 40, special: false }, { parent: this }).result);

    this.offsite = config.offsite ? new OffsiteTarget(`${name}-offsite`, { offsite: config.offsite, ...args.offsiteKeys }, { parent: this }) : undefined;

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
            offsite: this.offsite && config.offsite ? { config: config.offsite, target: this.offsite } : undefined,
            monitoredFrom: config.monitoring ? edgeAddress : undefined,
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
        apiKeys: config.apiKeys,
        upstreams: config.servers.map((s) => `${addressOf(s.name)}:${config.gateway.upstreamPort}`),
        publicHost: edge.domain ?? this.edge.endpoint,
        tunnelAddress: edgeAddress,
        upstreamKey,
        acme: edge.domain && edge.acmeEmail ? { domain: edge.domain, email: edge.acmeEmail } : undefined,
      },
      { parent: this },
    );
    this.gateway.install(this.edge.host);
    harden(this.edge.host, {
      sshd: { allowUsers: edge.kind === "digitalocean" ? [edge.adminUser] : undefined },
      upgrades: { rebootTime: edge.rebootTime },
      firewall: edgeFirewall(config, [...fullTunnel].map(addressOf)),
    });
    if (config.monitoring) {
      if (!args.telegramBotToken) {
        throw new pulumi.RunError("infernus: monitoring sends alerts through a Telegram bot: pulumi config set --secret infernus:telegramBotToken <token from @BotFather>");
      }
      this.monitoring = new Monitoring(
        `${name}-monitoring`,
        {
          host: this.edge.host,
          config: config.monitoring,
          botToken: args.telegramBotToken,
          servers: [
            { name: edge.name, target: `127.0.0.1:${PORTS.nodeExporter}`, serves: false },
            ...config.servers.map((s) => ({ name: s.name, target: `${addressOf(s.name)}:${PORTS.nodeExporter}`, serves: s.models.length > 0, models: s.models.map((m) => m.name) })),
          ],
          tunnelAddress: edgeAddress,
          healthUrl: this.gateway.healthUrl,
          caFile: edge.domain ? undefined : GATEWAY_PATHS.caCertificate,
          wireguardInterface: config.tunnel.interface,
        },
        { parent: this },
      );
    }
    this.apiSnippets = Object.fromEntries(
      Object.entries(this.gateway.apiKeys).map(([user, key]) => [user, pulumi.secret(pulumi.interpolate`OPENAI_BASE_URL=${this.gateway.baseUrl}\nOPENAI_API_KEY=${key}\n`)]),
    );

    if (this.offsite && config.offsite) {
      const offsite = config.offsite;
      this.offsiteSummary = pulumi.secret(
        pulumi.all([this.offsite.password, this.offsite.salt]).apply(([password, salt]): Record<string, string> => ({
          bucket: offsite.bucket,
          endpoint: this.offsite!.endpoint,
          password,
          salt,
          restore: config.servers.map((s) => restoreInstructions(offsite, s.name)).join("\n\n"),
        })),
      );
    }
    this.hosts = [this.edge.host, ...Object.values(this.servers).map((s) => s.host)];
    this.tunnelEndpoint = pulumi.interpolate`${this.edge.endpoint}:${config.tunnel.port}`;
    this.addresses = Object.fromEntries(plan.peers.map((p) => [p.name, p.address]));
    this.clientConfigs = Object.fromEntries(config.clients.map((c) => [c.name, this.tunnel.peers[c.name].config]));
    this.registerOutputs({
      tunnelEndpoint: this.tunnelEndpoint,
      addresses: this.addresses,
      clientConfigs: this.clientConfigs,
      baseUrl: this.gateway.baseUrl,
      apiSnippets: this.apiSnippets,
      gpuInventory: Object.fromEntries(Object.entries(this.servers).map(([n, s]) => [n, s.gpuInventory])),
    });
  }
}
