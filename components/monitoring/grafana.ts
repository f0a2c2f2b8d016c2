/**
 * Grafana on the edge, on the tunnel only: from Grafana's own APT repository (its signing key
 * checked against the pinned fingerprint), Prometheus as its one datasource, the estate's
 * dashboards provisioned from files, anonymous access and sign-up off, the admin's password a
 * generated secret. Alerts stay in Alertmanager.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { HEADER, renderYaml as yaml } from "../header";
import type { RemoteHost } from "../host/remoteHost";
import { DATASOURCE, dashboards } from "./dashboards";

export const GRAFANA_PORT = 3030;
export const GRAFANA_ADMIN = "admin";

export const GRAFANA_PATHS = {
  ini: "/etc/grafana/grafana.ini",
  adminPassword: "/etc/grafana/infernus-admin-password",
  datasources: "/etc/grafana/provisioning/datasources/infernus.yaml",
  providers: "/etc/grafana/provisioning/dashboards/infernus.yaml",
  dashboards: "/etc/grafana/dashboards/infernus",
} as const;

/** Grafana's APT repository, as its install guide (docs/sources/setup-grafana/installation/debian) gives it. */
export const GRAFANA_APT = { repository: "https://apt.grafana.com", keyUrl: "https://apt.grafana.com/gpg-full.key" } as const;

export interface GrafanaView {
  /** The edge's tunnel address: Grafana listens there only. */
  readonly address: string;
  readonly port?: number;
}

type Ini = Record<string, Record<string, string | number | boolean>>;

function renderIni(sections: Ini): string {
  const body = Object.entries(sections).map(([section, keys]) => [`[${section}]`, ...Object.entries(keys).map(([k, v]) => `${k} = ${v}`)].join("\n"));
  return `${HEADER}\n${body.join("\n\n")}\n`;
}

/** grafana.ini: only what differs from Grafana's defaults.ini. */
export function renderGrafanaIni(view: GrafanaView): string {
  const port = view.port ?? GRAFANA_PORT;
  return renderIni({
    // The same paths the package's unit passes, so that `grafana cli` finds the same database.
    paths: { data: "/var/lib/grafana", logs: "/var/log/grafana", plugins: "/var/lib/grafana/plugins", provisioning: "/etc/grafana/provisioning" },
    server: { http_addr: view.address, http_port: port, domain: view.address, root_url: `http://${view.address}:${port}/` },
    security: {
      admin_user: GRAFANA_ADMIN,
      // Read at the first start only; grafana.sh sets it again whenever the secret changes.
      admin_password: `$__file{${GRAFANA_PATHS.adminPassword}}`,
      disable_gravatar: true,
      // Plain HTTP inside WireGuard: a secure-only cookie would never be sent back.
      cookie_secure: false,
    },
    "auth.anonymous": { enabled: false },
    users: { allow_sign_up: false, allow_org_create: false },
    snapshots: { external_enabled: false },
    analytics: { reporting_enabled: false, check_for_updates: false, check_for_plugin_updates: false, feedback_links_enabled: false },
    news: { news_feed_enabled: false },
  });
}

/** The Prometheus on the same edge, the dashboards' one datasource. */
export function renderDatasources(prometheusUrl: string, scrapeInterval = "15s"): string {
  return yaml({
    apiVersion: 1,
    datasources: [
      {
        name: "Prometheus",
        uid: DATASOURCE.uid,
        type: DATASOURCE.type,
        access: "proxy",
        url: prometheusUrl,
        isDefault: true,
        editable: false,
        // $__rate_interval is four scrapes: Grafana needs the scrape interval to know it.
        jsonData: { timeInterval: scrapeInterval, httpMethod: "POST" },
      },
    ],
  });
}

/** The file provider for the dashboards, read-only in the UI: the program owns them. */
export function renderDashboardProviders(): string {
  return yaml({
    apiVersion: 1,
    providers: [
      {
        name: "infernus",
        orgId: 1,
        folder: "infernus",
        folderUid: "infernus",
        type: "file",
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 60,
        options: { path: GRAFANA_PATHS.dashboards, foldersFromFilesStructure: false },
      },
    ],
  });
}

export interface GrafanaArgs {
  readonly host: RemoteHost;
  /** The edge's tunnel address: Grafana listens there only. */
  readonly tunnelAddress: string;
  /** Prometheus on the same edge. */
  readonly prometheusUrl: string;
  /** The primary key that must sign Grafana's repository (stack file: monitoring.grafanaKeyFingerprint). */
  readonly keyFingerprint: string;
}

export class Grafana extends pulumi.ComponentResource {
  public readonly url: string;
  /** Secret. */
  public readonly adminPassword: pulumi.Output<string>;
  /** Where and as whom to log in: the stack output (secret). */
  public readonly login: pulumi.Output<{ url: string; user: string; password: string }>;

  constructor(name: string, args: GrafanaArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infernus:monitoring:Grafana", name, {}, opts);
    this.url = `http://${args.tunnelAddress}:${GRAFANA_PORT}`;
    this.adminPassword = pulumi.secret(new random.RandomPassword(`${name}-admin`, { length: 32, special: false }, { parent: this }).result);
    this.login = pulumi.secret(this.adminPassword.apply((password) => ({ url: this.url, user: GRAFANA_ADMIN, password })));
    args.host.step("grafana", {
      script: "monitoring/grafana.sh",
      params: { REPOSITORY: GRAFANA_APT.repository, KEY_URL: GRAFANA_APT.keyUrl, KEY_FINGERPRINT: args.keyFingerprint, HEALTH_URL: `${this.url}/api/health` },
      files: [
        { path: GRAFANA_PATHS.ini, mode: "0640", content: renderGrafanaIni({ address: args.tunnelAddress }) },
        { path: GRAFANA_PATHS.adminPassword, mode: "0640", content: this.adminPassword },
        { path: GRAFANA_PATHS.datasources, mode: "0644", content: renderDatasources(args.prometheusUrl) },
        { path: GRAFANA_PATHS.providers, mode: "0644", content: renderDashboardProviders() },
        ...dashboards().map((d) => ({ path: `${GRAFANA_PATHS.dashboards}/${d.uid}.json`, mode: "0644", content: `${JSON.stringify(d.json, null, 2)}\n` })),
      ],
    });
    this.registerOutputs({ url: this.url, login: this.login });
  }
}
