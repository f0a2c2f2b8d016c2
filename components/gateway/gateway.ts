/**
 * The API gateway on the edge: nginx in front of the model servers, one generated key per user,
 * TLS from Let's Encrypt (with a domain) or from a private CA made here (without one).
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import type { ApiKeyConfig, GatewayConfig } from "../config/schema";
import type { RemoteHost, Step, StepFile } from "../host/remoteHost";
import { parseIpv4 } from "../network/ip";
import { GATEWAY_PATHS, renderApiKeyMap, renderAuditLogrotate, renderGatewayConfig, renderGatewaySysctl, renderNginxMain, renderNginxUnitLimits, renderUpstreamAuth } from "./nginx";

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
  private readonly acme?: GatewayArgs["acme"];

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
    const config = renderGatewayConfig({ gateway: args.gateway, apiKeys: args.apiKeys, upstreams: args.upstreams, acmeDomain: args.acme?.domain });

    this.files = [
      { path: GATEWAY_PATHS.main, mode: "0644", content: renderNginxMain(args.gateway) },
      { path: GATEWAY_PATHS.unitLimits, mode: "0644", content: renderNginxUnitLimits(args.gateway) },
      { path: GATEWAY_PATHS.config, mode: "0644", content: config },
      { path: GATEWAY_PATHS.keys, mode: "0600", content: keyMap },
      { path: GATEWAY_PATHS.upstreamAuth, mode: "0600", content: pulumi.secret(args.upstreamKey.apply(renderUpstreamAuth)) },
      { path: GATEWAY_PATHS.logrotate, mode: "0644", content: renderAuditLogrotate() },
      { path: GATEWAY_PATHS.sysctl, mode: "0644", content: renderGatewaySysctl(args.gateway) },
    ];
    if (!args.acme) {
      const ca = this.privateCa(name, args);
      this.caCertificate = ca.caCertificate;
      this.files.push(
        { path: GATEWAY_PATHS.caCertificate, mode: "0644", content: ca.caCertificate },
        { path: GATEWAY_PATHS.certificate, mode: "0644", content: ca.certificate },
        { path: GATEWAY_PATHS.certificateKey, mode: "0600", content: ca.key },
      );
    }
    this.registerOutputs({ baseUrl: this.baseUrl, caCertificate: this.caCertificate, apiKeys: this.apiKeys });
  }

  /** A CA that lives only in Pulumi state, and a server certificate it signs; renewed by `pulumi up` a month before expiry. */
  private privateCa(name: string, args: GatewayArgs) {
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
    const serverKey = new tls.PrivateKey(`${name}-tls-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
    const host = pulumi.output(args.publicHost);
    const request = new tls.CertRequest(
      `${name}-tls-request`,
      {
        privateKeyPem: serverKey.privateKeyPem,
        subject: { commonName: host, organization: "infernus" },
        ipAddresses: host.apply((h) => [...(parseIpv4(h) !== undefined ? [h] : []), args.tunnelAddress]),
        dnsNames: host.apply((h) => (parseIpv4(h) === undefined ? [h] : [])),
      },
      { parent: this },
    );
    const cert = new tls.LocallySignedCert(
      `${name}-tls`,
      {
        certRequestPem: request.certRequestPem,
        caPrivateKeyPem: caKey.privateKeyPem,
        caCertPem: caCert.certPem,
        // 397 days: the longest validity Apple and browsers accept for a server certificate.
        validityPeriodHours: 397 * DAY,
        earlyRenewalHours: 30 * DAY,
        allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
      },
      { parent: this },
    );
    return { caCertificate: caCert.certPem, certificate: cert.certPem, key: pulumi.secret(serverKey.privateKeyPem) };
  }

  /** Adds the step that installs nginx and this configuration on the edge. */
  public install(host: RemoteHost): Step {
    return host.step("gateway", {
      script: "gateway/nginx.sh",
      params: {
        ACME_DOMAIN: this.acme?.domain ?? "",
        ACME_EMAIL: this.acme?.email ?? "",
        CERTIFICATE: GATEWAY_PATHS.certificate,
        CERTIFICATE_KEY: GATEWAY_PATHS.certificateKey,
        ACME_WEBROOT: GATEWAY_PATHS.acmeWebroot,
        AUDIT_LOG: GATEWAY_PATHS.auditLog,
        SYSCTL: GATEWAY_PATHS.sysctl,
        UNIT_LIMITS: GATEWAY_PATHS.unitLimits,
      },
      files: this.files,
    });
  }
}
