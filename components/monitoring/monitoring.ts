/**
 * Watching the estate from the edge: Prometheus scrapes every host through the tunnel and probes
 * the public gateway, Alertmanager sends to Telegram, Grafana shows the dashboards. A power cut at
 * home is seen from outside.
 */
import * as pulumi from "@pulumi/pulumi";
import type { MonitoringConfig } from "../config/schema";
import type { RemoteHost, StepFile } from "../host/remoteHost";
import { asset } from "../host/stdin";
import { HEADER } from "../header";
import {
  alertRules,
  MONITORING_PATHS,
  PORTS,
  renderAlertmanagerConfig,
  renderBlackbox,
  renderDefaults,
  renderMetricsUnits,
  renderPrometheusConfig,
  renderRules,
  type ScrapedServer,
  type WatchedApp,
} from "./files";
import { Grafana } from "./grafana";

/** What infernus-metrics reads on a host: `GPU=1 UPS=apc DATASETS="…" MODELS_LIST=… WG=wg0`. */
export interface MetricsSources {
  readonly gpu?: boolean;
  readonly ups?: string;
  readonly datasets?: readonly string[];
  readonly modelsList?: string;
  readonly wireguard?: string;
  readonly auditLog?: string;
  /** The LAN gateway's /healthz on this host, the address it listens on, and the CA to trust for it (none with a public certificate). */
  readonly lanGateway?: { readonly healthUrl: string; readonly address: string; readonly caFile?: string };
}

export function renderMetricsConf(sources: MetricsSources): string {
  return [
    HEADER,
    `GPU=${sources.gpu ? 1 : 0}`,
    `UPS='${sources.ups ?? ""}'`,
    `DATASETS='${(sources.datasets ?? []).join(" ")}'`,
    `MODELS_LIST='${sources.modelsList ?? ""}'`,
    `WG='${sources.wireguard ?? ""}'`,
    `AUDIT_LOG='${sources.auditLog ?? ""}'`,
    `LAN_GATEWAY='${sources.lanGateway?.healthUrl ?? ""}'`,
    `LAN_GATEWAY_CA='${sources.lanGateway?.caFile ?? ""}'`,
    `LAN_GATEWAY_ADDRESS='${sources.lanGateway?.address ?? ""}'`,
    "",
  ].join("\n");
}

/** node_exporter and infernus-metrics on one host, listening on `listen`. */
export function installExporters(host: RemoteHost, listen: string, sources: MetricsSources): void {
  const units = renderMetricsUnits();
  const files: StepFile[] = [
    {
      path: MONITORING_PATHS.nodeExporterDefaults,
      mode: "0644",
      content: renderDefaults([`--web.listen-address=${listen}`, "--collector.systemd", "--collector.zfs", `--collector.textfile.directory=${MONITORING_PATHS.textfileDir}`]),
    },
    { path: "/etc/infernus/metrics.conf", mode: "0644", content: renderMetricsConf(sources) },
    { path: MONITORING_PATHS.metricsScript, mode: "0755", content: asset("monitoring/metrics.sh") },
    { path: MONITORING_PATHS.metricsService, mode: "0644", content: units.service },
    { path: MONITORING_PATHS.metricsTimer, mode: "0644", content: units.timer },
  ];
  host.step("exporters", { script: "monitoring/exporters.sh", params: { TEXTFILE_DIR: MONITORING_PATHS.textfileDir }, files });
}

export interface MonitoringArgs {
  readonly host: RemoteHost;
  readonly config: MonitoringConfig;
  /** The Telegram bot's token, with config.telegramChatId. Secret. */
  readonly botToken?: pulumi.Output<string>;
  /** Every host to scrape, the edge included. */
  readonly servers: readonly ScrapedServer[];
  /** The edge's tunnel address: Prometheus and Alertmanager listen there only. */
  readonly tunnelAddress: string;
  /** The gateway's public /healthz. */
  readonly healthUrl: pulumi.Input<string>;
  /** The private CA, when the gateway uses one. */
  readonly caFile?: string;
  /** The user's apps, with the key that reads the metrics of those that have them (secret). */
  readonly apps?: readonly (WatchedApp & { readonly metricsKey?: pulumi.Output<string> })[];
}

export class Monitoring extends pulumi.ComponentResource {
  public readonly prometheusUrl: string;
  public readonly alertmanagerUrl: string;
  public readonly grafana: Grafana;
  /** Each alert with its severity and what it means. */
  public readonly alerts: { alert: string; severity: string; expr: string; summary: string }[];

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("infernus:monitoring:Monitoring", name, {}, opts);
    const { config, tunnelAddress } = args;
    const listen = `${tunnelAddress}:${PORTS.prometheus}`;
    this.prometheusUrl = `http://${listen}`;
    this.alertmanagerUrl = `http://${tunnelAddress}:${PORTS.alertmanager}`;
    this.alerts = alertRules(config.thresholds, args.servers).map((r) => ({ alert: r.alert, severity: r.severity, expr: r.expr, summary: r.summary }));

    const apps = args.apps ?? [];
    const prometheus = pulumi.output(args.healthUrl).apply((healthUrl) => renderPrometheusConfig({ servers: args.servers, healthUrl, listen, apps }));
    const appKeys: StepFile[] = apps.flatMap((a) =>
      a.metrics && a.metricsKey ? [{ path: a.metrics.keyFile, mode: "0640", content: pulumi.secret(a.metricsKey) }] : [],
    );
    args.host.step("monitoring", {
      script: "monitoring/prometheus.sh",
      files: [
        { path: MONITORING_PATHS.prometheus, mode: "0644", content: prometheus },
        { path: MONITORING_PATHS.rules, mode: "0644", content: renderRules(config.thresholds, args.servers) },
        { path: MONITORING_PATHS.prometheusDefaults, mode: "0644", content: renderDefaults([`--web.listen-address=${listen}`, `--storage.tsdb.retention.time=${config.retentionDays}d`]) },
        { path: MONITORING_PATHS.alertmanager, mode: "0640", content: alertmanagerConfig(config.telegramChatId, args.botToken) },
        { path: MONITORING_PATHS.alertmanagerDefaults, mode: "0644", content: renderDefaults([`--web.listen-address=${tunnelAddress}:${PORTS.alertmanager}`, "--cluster.listen-address="]) },
        { path: MONITORING_PATHS.blackbox, mode: "0644", content: renderBlackbox(args.caFile) },
        { path: "/etc/default/prometheus-blackbox-exporter", mode: "0644", content: renderDefaults([`--web.listen-address=127.0.0.1:${PORTS.blackbox}`, `--config.file=${MONITORING_PATHS.blackbox}`]) },
        ...appKeys,
      ],
    });
    this.grafana = new Grafana(`${name}-grafana`, { host: args.host, tunnelAddress, prometheusUrl: this.prometheusUrl, keyFingerprint: config.grafanaKeyFingerprint }, { parent: this });
    this.registerOutputs({ prometheusUrl: this.prometheusUrl, alertmanagerUrl: this.alertmanagerUrl, alerts: this.alerts, grafanaUrl: this.grafana.url });
  }
}

/** Alertmanager's config: secret with the bot's token in it, plain without Telegram. */
function alertmanagerConfig(chatId: string | undefined, botToken: pulumi.Output<string> | undefined): pulumi.Input<string> {
  if (chatId === undefined) return renderAlertmanagerConfig({});
  // The stack config's check (components/config/secrets.ts) asked for the token before any resource.
  if (!botToken) throw new Error("Monitoring: telegramChatId needs args.botToken");
  return pulumi.secret(botToken.apply((token) => renderAlertmanagerConfig({ telegram: { chatId, botToken: token } })));
}
