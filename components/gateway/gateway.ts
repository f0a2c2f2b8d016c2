/**
 * The API gateway on the edge: nginx in front of the model servers, one generated key per user,
 * TLS from Let's Encrypt (with a domain) or from a private CA made here (without one).
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import type { ApiKeyConfig, GatewayConfig } from "../config/schema";
import type { RemoteHost, Step, StepFile } from "../host/remoteHost";
import { asset } from "../host/stdin";
import { parseIpv4 } from "../network/ip";
import { GATEWAY_PATHS, renderApiKeyMap, renderAuditLogrotate, renderGatewayConfig, renderGatewaySysctl, renderLanCertificateConf, renderLanCertificateUnits, renderNginxMain, renderNginxUnitLimits, renderUpstreamAuth, type WebhookRoute } from "./nginx";

export interface GatewayArgs {
  readonly gateway: GatewayConfig;
  readonly apiKeys: readonly ApiKeyConfig[];
  /** `address:port` of each model server on the tunnel, preferred first. */
  readonly upstreams: readonly string[];
  /** The name or address clients use: the domain, or the edge's public address. */
  readonly publicHost: pulumi.Input<string>;
  /** The edge's tunnel address, also on the certificate (WireGuard clients use it). */
  readonly tunnelAddress: string;
  /** The key the gateway presents to the model servers; secret. */
  readonly upstreamKey: pulumi.Output<string>;
  /** With a domain: Let's Encrypt issues the certificate, and mails this address before expiry. */
  readonly acme?: { readonly domain: string; readonly email: string };
  /** A second gateway at home, on a server's LAN address (`lan.gateway`). */
  readonly lan?: LanGatewayArgs;
  /** Apps that take webhooks from the internet, through the edge's gateway only. */
  readonly webhooks?: readonly WebhookRoute[];
}

export interface LanGatewayArgs {
  /** The LAN address it listens on, also on its certificate. */
  readonly address: string;
  /** The home DNS name of that address, on its certificate too. */
  readonly name?: string;
  /** `address:port` of each model server, preferred first: its own server's llama-swap, then the others over the tunnel. */
  readonly upstreams: readonly string[];
  /** Its server's tunnel address: with a domain, the one peer the edge gives the certificate to. */
  readonly tunnelAddress: string;
}

const DAY = 24;

export class Gateway extends pulumi.ComponentResource {
  /** `https://host[:port]`, what clients reach. */
  public readonly origin: pulumi.Output<string>;
  /** `https://host[:port]/v1`, what OpenAI clients take as their base URL. */
  public readonly baseUrl: pulumi.Output<string>;
  /** `https://host[:port]/healthz`, answered without a key. */
  public readonly healthUrl: pulumi.Output<string>;
  /** The private CA's certificate for clients to trust; absent with Let's Encrypt. */
  public readonly caCertificate?: pulumi.Output<string>;
  /** Each user's key, secret. */
  public readonly apiKeys: Record<string, pulumi.Output<string>>;
  private readonly files: StepFile[];
  private readonly lanFiles: StepFile[] = [];
  private readonly acme?: GatewayArgs["acme"];
  private readonly lan?: LanGatewayArgs;

  constructor(name: string, args: GatewayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infernus:gateway:Gateway", name, {}, opts);
    this.acme = args.acme;
    const port = args.gateway.port === 443 ? "" : `:${args.gateway.port}`;
    this.origin = pulumi.interpolate`https://${args.publicHost}${port}`;
    this.baseUrl = pulumi.interpolate`${this.origin}/v1`;
    this.healthUrl = pulumi.interpolate`${this.origin}/healthz`;

    this.apiKeys = Object.fromEntries(
      args.apiKeys.map((key) => {
        // Bumping `rotation` in the stack file replaces this key alone.
        const secret = new random.RandomPassword(`${name}-key-${key.name}`, { length: 40, special: false, keepers: { rotation: String(key.rotation) } }, { parent: this });
        return [key.name, pulumi.secret(pulumi.interpolate`sk-infernus-${secret.result}`)];
      }),
    );
    const keyMap = pulumi.secret(
      pulumi.all(args.apiKeys.map((k) => this.apiKeys[k.name].apply((key) => ({ name: k.name, key })))).apply(renderApiKeyMap),
    );
    // The edge's and the LAN's gateway differ only in where they listen, their upstreams and their certificate.
    const common = (config: string, listen?: string): StepFile[] => [
      { path: GATEWAY_PATHS.main, mode: "0644", content: renderNginxMain(args.gateway) },
      { path: GATEWAY_PATHS.unitLimits, mode: "0644", content: renderNginxUnitLimits(args.gateway) },
      { path: GATEWAY_PATHS.config, mode: "0644", content: config },
      { path: GATEWAY_PATHS.keys, mode: "0600", content: keyMap },
      { path: GATEWAY_PATHS.usageScript, mode: "0644", content: asset("gateway/usage.js") },
      { path: GATEWAY_PATHS.upstreamAuth, mode: "0600", content: pulumi.secret(args.upstreamKey.apply(renderUpstreamAuth)) },
      { path: GATEWAY_PATHS.logrotate, mode: "0644", content: renderAuditLogrotate() },
      { path: GATEWAY_PATHS.sysctl, mode: "0644", content: renderGatewaySysctl(args.gateway, listen) },
    ];
    const view = { gateway: args.gateway, apiKeys: args.apiKeys };
    const lan = (this.lan = args.lan);
    this.files = common(renderGatewayConfig({ ...view, upstreams: args.upstreams, acmeDomain: args.acme?.domain, shareCertificateWith: lan?.tunnelAddress, webhooks: args.webhooks }));
    if (lan) {
      this.lanFiles = common(renderGatewayConfig({ ...view, upstreams: lan.upstreams, listen: lan.address }), lan.address);
      if (args.acme) {
        // The same name at home needs the same certificate: fetched from the edge over the tunnel, and kept when it cannot be.
        const units = renderLanCertificateUnits();
        this.lanFiles.push(
          { path: GATEWAY_PATHS.lanCertificateConf, mode: "0644", content: renderLanCertificateConf(args.acme.domain, args.tunnelAddress) },
          { path: GATEWAY_PATHS.lanCertificateScript, mode: "0755", content: asset("gateway/lan-certificate.sh") },
          { path: GATEWAY_PATHS.lanCertificateService, mode: "0644", content: units.service },
          { path: GATEWAY_PATHS.lanCertificateTimer, mode: "0644", content: units.timer },
        );
      }
    }
    if (!args.acme) {
      const ca = this.privateCa(name);
      this.caCertificate = ca.certificate;
      const host = pulumi.output(args.publicHost);
      const edgeCert = this.serverCertificate(name, ca, {
        commonName: host,
        ipAddresses: host.apply((h) => [...(parseIpv4(h) !== undefined ? [h] : []), args.tunnelAddress]),
        dnsNames: host.apply((h) => (parseIpv4(h) === undefined ? [h] : [])),
      });
      this.files.push(...certificateFiles(ca.certificate, edgeCert));
      if (lan) {
        const lanCert = this.serverCertificate(`${name}-lan`, ca, { commonName: lan.name ?? lan.address, ipAddresses: [lan.address], dnsNames: lan.name ? [lan.name] : [] });
        this.lanFiles.push(...certificateFiles(ca.certificate, lanCert));
      }
    }
    this.registerOutputs({ baseUrl: this.baseUrl, caCertificate: this.caCertificate, apiKeys: this.apiKeys });
  }

  /** A CA that lives only in Pulumi state. */
  private privateCa(name: string) {
    const caKey = new tls.PrivateKey(`${name}-ca-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
    const caCert = new tls.SelfSignedCert(
      `${name}-ca`,
      {
        privateKeyPem: caKey.privateKeyPem,
        isCaCertificate: true,
        validityPeriodHours: 10 * 365 * DAY,
        allowedUses: ["cert_signing", "crl_signing"],
        subject: { commonName: "infernus private CA", organization: "infernus" },
      },
      { parent: this },
    );
    return { key: caKey.privateKeyPem, certificate: caCert.certPem };
  }

  /** A server certificate the private CA signs for the names clients call; renewed by `pulumi up` a month before expiry. */
  private serverCertificate(
    name: string,
    ca: { key: pulumi.Output<string>; certificate: pulumi.Output<string> },
    subject: { commonName: pulumi.Input<string>; ipAddresses: pulumi.Input<string[]>; dnsNames: pulumi.Input<string[]> },
  ) {
    const serverKey = new tls.PrivateKey(`${name}-tls-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
    const request = new tls.CertRequest(
      `${name}-tls-request`,
      {
        privateKeyPem: serverKey.privateKeyPem,
        subject: { commonName: subject.commonName, organization: "infernus" },
        ipAddresses: subject.ipAddresses,
        dnsNames: subject.dnsNames,
      },
      { parent: this },
    );
    const cert = new tls.LocallySignedCert(
      `${name}-tls`,
      {
        certRequestPem: request.certRequestPem,
        caPrivateKeyPem: ca.key,
        caCertPem: ca.certificate,
        // 397 days: the longest validity Apple and browsers accept for a server certificate.
        validityPeriodHours: 397 * DAY,
        earlyRenewalHours: 30 * DAY,
        allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
      },
      { parent: this },
    );
    return { certificate: cert.certPem, key: pulumi.secret(serverKey.privateKeyPem) };
  }

  /** Adds the step that installs nginx and this configuration on the edge. */
  public install(host: RemoteHost): Step {
    const share = this.acme && this.lan ? GATEWAY_PATHS.certificateBundle : "";
    return this.step(host, "gateway", this.files, { ACME_DOMAIN: this.acme?.domain ?? "", ACME_EMAIL: this.acme?.email ?? "", CERTIFICATE_BUNDLE: share });
  }

  /** Adds the step that installs the LAN gateway on its server at home; with a domain, after the edge's gateway has its certificate. */
  public installLan(host: RemoteHost, edgeGateway: Step): Step {
    if (!this.lan) throw new Error("Gateway.installLan: the gateway was declared without args.lan");
    return this.step(host, "lan-gateway", this.lanFiles, { LAN_CERTIFICATE: this.acme ? GATEWAY_PATHS.lanCertificateScript : "" }, this.acme ? [edgeGateway.command] : []);
  }

  private step(host: RemoteHost, name: string, files: StepFile[], params: Record<string, string>, after: pulumi.Resource[] = []): Step {
    return host.step(name, {
      script: "gateway/nginx.sh",
      after,
      params: {
        ...params,
        CERTIFICATE: GATEWAY_PATHS.certificate,
        CERTIFICATE_KEY: GATEWAY_PATHS.certificateKey,
        ACME_WEBROOT: GATEWAY_PATHS.acmeWebroot,
        AUDIT_LOG: GATEWAY_PATHS.auditLog,
        SYSCTL: GATEWAY_PATHS.sysctl,
        UNIT_LIMITS: GATEWAY_PATHS.unitLimits,
      },
      files,
    });
  }
}

/** The CA's certificate for clients, the server's, and its key. */
function certificateFiles(caCertificate: pulumi.Output<string>, server: { certificate: pulumi.Output<string>; key: pulumi.Output<string> }): StepFile[] {
  return [
    { path: GATEWAY_PATHS.caCertificate, mode: "0644", content: caCertificate },
    { path: GATEWAY_PATHS.certificate, mode: "0644", content: server.certificate },
    { path: GATEWAY_PATHS.certificateKey, mode: "0600", content: server.key },
  ];
}
