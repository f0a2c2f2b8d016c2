/**
 * Monitoring files: Prometheus on the edge scraping every server through the tunnel, the alert
 * rules (thresholds from the stack file), Alertmanager sending to Telegram. Pure renderers.
 */
import { PROBE_INTERVAL_SECONDS } from "../apps/files";
import type { MonitoringConfig } from "../config/schema";
import { HEADER, renderYaml as yaml } from "../header";

export const MONITORING_PATHS = {
  prometheus: "/etc/prometheus/prometheus.yml",
  rules: "/etc/prometheus/rules/infernus.rules.yml",
  prometheusDefaults: "/etc/default/prometheus",
  alertmanager: "/etc/prometheus/alertmanager.yml",
  alertmanagerDefaults: "/etc/default/prometheus-alertmanager",
  blackbox: "/etc/prometheus/blackbox.yml",
  /** Keys Prometheus reads apps' metrics with, one file per app (prometheus.sh gives them to its group). */
  appKeys: "/etc/prometheus/keys",
  nodeExporterDefaults: "/etc/default/prometheus-node-exporter",
  textfileDir: "/var/lib/node_exporter/textfile",
  metricsScript: "/usr/local/sbin/infernus-metrics",
  metricsService: "/etc/systemd/system/infernus-metrics.service",
  metricsTimer: "/etc/systemd/system/infernus-metrics.timer",
} as const;

export const PORTS = { prometheus: 9090, alertmanager: 9093, nodeExporter: 9100, blackbox: 9115 } as const;

export type Thresholds = MonitoringConfig["thresholds"];

export interface ScrapedServer {
  readonly name: string;
  /** `address:port` of its node exporter. */
  readonly target: string;
  /** Whether it serves models (then llama-swap must be up). */
  readonly serves: boolean;
  /** The models it serves: each gets an alert of its own. */
  readonly models?: readonly string[];
}

/** An app Prometheus watches: its health URL through the blackbox exporter, and its own metrics where it has them. */
export interface WatchedApp {
  readonly name: string;
  readonly host: string;
  readonly healthUrl: string;
  /** `address:port` of an app that serves Prometheus metrics, and the file with the key to read them. */
  readonly metrics?: { readonly target: string; readonly keyFile: string };
}

export interface PrometheusView {
  readonly apps?: readonly WatchedApp[];
  readonly servers: readonly ScrapedServer[];
  /** The gateway's public health URL, probed over HTTPS. */
  readonly healthUrl?: string;
  /** Where Prometheus itself listens (the edge's tunnel address). */
  readonly listen: string;
  readonly scrapeInterval?: string;
  readonly alertmanager?: string;
  readonly blackbox?: string;
  readonly rulesPath?: string;
}

export function renderPrometheusConfig(view: PrometheusView): string {
  const interval = view.scrapeInterval ?? "15s";
  return yaml({
    global: { scrape_interval: interval, evaluation_interval: interval },
    rule_files: [view.rulesPath ?? MONITORING_PATHS.rules],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [view.alertmanager ?? `127.0.0.1:${PORTS.alertmanager}`] }] }] },
    scrape_configs: [
      { job_name: "prometheus", static_configs: [{ targets: [view.listen] }] },
      { job_name: "node", static_configs: view.servers.map((s) => ({ targets: [s.target], labels: { server: s.name } })) },
      ...(view.healthUrl
        ? [
            {
              job_name: "gateway",
              metrics_path: "/probe",
              params: { module: ["https_healthz"] },
              static_configs: [{ targets: [view.healthUrl] }],
              relabel_configs: [
                { source_labels: ["__address__"], target_label: "__param_target" },
                { source_labels: ["__param_target"], target_label: "instance" },
                { target_label: "__address__", replacement: view.blackbox ?? `127.0.0.1:${PORTS.blackbox}` },
              ],
            },
          ]
        : []),
      ...appJobs(view.apps ?? [], view.blackbox ?? `127.0.0.1:${PORTS.blackbox}`),
    ],
  });
}

function appJobs(apps: readonly WatchedApp[], blackbox: string): object[] {
  if (apps.length === 0) return [];
  const metered = apps.filter((a) => a.metrics);
  return [
    {
      job_name: "apps",
      metrics_path: "/probe",
      params: { module: ["http_200"] },
      static_configs: apps.map((a) => ({ targets: [a.healthUrl], labels: { app: a.name, server: a.host } })),
      relabel_configs: [
        { source_labels: ["__address__"], target_label: "__param_target" },
        { source_labels: ["__param_target"], target_label: "instance" },
        { target_label: "__address__", replacement: blackbox },
      ],
    },
    ...metered.map((a) => ({
      job_name: `app-${a.name}`,
      authorization: { type: "Bearer", credentials_file: a.metrics!.keyFile },
      static_configs: [{ targets: [a.metrics!.target], labels: { app: a.name, server: a.host } }],
    })),
  ];
}

interface Rule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly severity: "page" | "warning";
  /** Labels that tell apart rules of one alert (one per model). */
  readonly labels?: Readonly<Record<string, string>>;
  readonly summary: string;
  /** What it means and what to do; the runbook repeats it. */
  readonly action: string;
}

const minutes = (m: number) => `${m}m`;
/** hwmon drivers of CPU package sensors: AMD's k10temp (and zenpower), Intel's coretemp. */
const CPU_SENSORS = "k10temp|zenpower|coretemp";

/** Every alert with its threshold, in one place: the rules file and the stack output are made from it. */
export function alertRules(t: Thresholds, servers: readonly ScrapedServer[]): Rule[] {
  const serving = servers.filter((s) => s.serves).map((s) => s.name);
  return [
    {
      alert: "ServerDown",
      expr: 'up{job="node"} == 0',
      for: minutes(t.serverDownMinutes),
      severity: "page",
      summary: "{{ $labels.server }} is unreachable over the tunnel",
      action: "A power cut at home, the tunnel, or the machine: check the UPS alerts, then the WireGuard handshake.",
    },
    {
      alert: "TunnelHandshakeStale",
      expr: `infernus_wireguard_handshake_age_seconds > ${t.handshakeStaleSeconds}`,
      for: "1m",
      severity: "page",
      summary: "no WireGuard handshake from {{ $labels.peer }} for {{ $value | humanizeDuration }}",
      action: "The peer is offline or its link is down; on the peer: systemctl status wg-quick@wg0.",
    },
    {
      alert: "GpuHot",
      expr: `infernus_gpu_temperature_celsius > ${t.gpuTemperatureC}`,
      for: "5m",
      severity: "page",
      summary: "GPU {{ $labels.gpu }} on {{ $labels.server }} at {{ $value }} °C",
      action: "Check airflow and the room; lower the GPU's powerLimitW in the stack file.",
    },
    {
      alert: "CpuHot",
      // node_exporter names a hwmon chip by its device path; the chip's own name comes in node_hwmon_chip_names.
      expr: `max by (server) (node_hwmon_temp_celsius * on (instance, chip) group_left (chip_name) node_hwmon_chip_names{chip_name=~"${CPU_SENSORS}"}) > ${t.cpuTemperatureC}`,
      for: "5m",
      severity: "page",
      summary: "the CPU of {{ $labels.server }} at {{ $value }} °C",
      action: "Check the CPU cooler, the case fans and the room; a long generation at full power heats the case for the CPU too.",
    },
    {
      alert: "NvmeHot",
      expr: `max by (server, chip) (node_hwmon_temp_celsius * on (instance, chip) group_left (chip_name) node_hwmon_chip_names{chip_name="nvme"}) > ${t.nvmeTemperatureC}`,
      for: "10m",
      severity: "warning",
      summary: "an NVMe drive of {{ $labels.server }} at {{ $value }} °C",
      action: "The drive slows its writes when hot: give it airflow or a heatsink; the GPU's exhaust often blows on the M.2 slots (nvme smart-log shows each drive).",
    },
    {
      alert: "GpuThrottling",
      expr: "infernus_gpu_thermal_throttle == 1",
      for: "10m",
      severity: "warning",
      summary: "GPU {{ $labels.gpu }} on {{ $labels.server }} slows down for heat",
      action: "The card is too hot to hold its clocks: improve cooling or lower powerLimitW.",
    },
    {
      alert: "GpuMemoryErrors",
      expr: "increase(infernus_gpu_ecc_uncorrected_errors_total[1h]) > 0",
      for: "0m",
      severity: "page",
      summary: "uncorrected ECC errors on GPU {{ $labels.gpu }} of {{ $labels.server }}",
      action: "Uncorrected memory errors: restart the serving (llama-swap), and if they return, the card needs service.",
    },
    ...(serving.length > 0
      ? [
          {
            alert: "ModelServingDown",
            expr: `node_systemd_unit_state{name="infernus-llama-swap.service",state="active",server=~"${serving.join("|")}"} == 0`,
            for: "2m",
            severity: "page",
            summary: "llama-swap is not running on {{ $labels.server }}: its models are down",
            action: "journalctl -u infernus-llama-swap on the server; npm run up re-applies its config.",
          } satisfies Rule,
        ]
      : []),
    ...servers.flatMap((server) =>
      (server.models ?? []).map(
        (model): Rule => ({
          alert: "ModelUnavailable",
          // Not reported at all counts too: the metrics stopped, or the model was never set up.
          expr: `max(infernus_model_weights_complete{server="${server.name}",model="${model}"}) < 1 or absent(infernus_model_weights_complete{server="${server.name}",model="${model}"})`,
          for: "6h",
          severity: "warning",
          labels: { server: server.name, model },
          summary: `${model} on ${server.name} cannot be served: its weights are not complete`,
          action: "The download is still running or failing: infernus-models on the server.",
        }),
      ),
    ),
    {
      alert: "ModelOverloaded",
      expr: `max by (server, model_name) (vllm:num_requests_waiting) > ${t.queuedRequests}`,
      for: "10m",
      severity: "warning",
      summary: "{{ $value }} requests wait for {{ $labels.model_name }} on {{ $labels.server }}",
      action: "More load than the model's batch holds: lower the callers' requestsPerMinute, raise maxNumSeqs, or give it a smaller maxModelLen.",
    },
    {
      alert: "GatewayDown",
      expr: 'probe_success{job="gateway"} == 0',
      for: "2m",
      severity: "page",
      summary: "the public gateway does not answer /healthz",
      action: "systemctl status nginx on the edge; the cloud firewall and the reserved IP.",
    },
    {
      alert: "LanGatewayDown",
      expr: "infernus_lan_gateway_up == 0",
      for: "5m",
      severity: "warning",
      summary: "the LAN gateway on {{ $labels.server }} does not answer /healthz: home has no models when the internet is down",
      action: "On that server: systemctl status nginx; journalctl -u nginx (with a domain, its certificate: journalctl -u infernus-lan-certificate).",
    },
    {
      alert: "GatewayErrors",
      expr: `100 * sum by (server) (rate(infernus_gateway_requests_total{class="5xx"}[5m])) / sum by (server) (rate(infernus_gateway_requests_total[5m])) > ${t.gateway5xxPercent}`,
      for: "5m",
      severity: "warning",
      summary: "{{ $value | humanize }}% of the gateway's answers are server errors",
      action: "The model servers fail or are unreachable: the ModelServingDown and ServerDown alerts, journalctl -u infernus-llama-swap.",
    },
    {
      alert: "CertificateExpiring",
      expr: `probe_ssl_earliest_cert_expiry{job="gateway"} - time() < ${t.certificateExpiryDays} * 86400`,
      for: "1h",
      severity: "warning",
      summary: "the gateway's certificate expires in {{ $value | humanizeDuration }}",
      action: "Let's Encrypt: certbot renew on the edge; private CA: npm run up renews it.",
    },
    {
      alert: "UpsOnBattery",
      expr: "infernus_ups_on_battery == 1",
      for: "0m",
      severity: "page",
      summary: "the UPS of {{ $labels.server }} runs on battery ({{ $labels.ups }})",
      action: "Mains is off at home; the server drains and powers off by itself on low battery.",
    },
    {
      alert: "UpsLowBattery",
      expr: "infernus_ups_low_battery == 1",
      for: "0m",
      severity: "page",
      summary: "the UPS of {{ $labels.server }} reports a low battery: shutting down",
      action: "The server is draining and powering off; it boots when mains returns.",
    },
    {
      alert: "UpsDataStale",
      expr: "infernus_ups_data_stale == 1",
      for: "5m",
      severity: "warning",
      summary: "NUT has no fresh data from the UPS of {{ $labels.server }}",
      action: "The USB link to the UPS: replug it, journalctl -u nut-driver@*; a power cut would go unnoticed meanwhile.",
    },
    {
      alert: "ZfsPoolNotOnline",
      expr: 'node_zfs_zpool_state{state="online"} == 0',
      for: "1m",
      severity: "page",
      summary: "ZFS pool {{ $labels.zpool }} on {{ $labels.server }} is not ONLINE",
      action: "zpool status -x on the server: replace the failed disk, then zpool replace.",
    },
    {
      alert: "SnapshotTooOld",
      expr: `time() - infernus_zfs_latest_snapshot_timestamp_seconds > ${t.snapshotMaxAgeHours} * 3600`,
      for: "10m",
      severity: "warning",
      summary: "the newest snapshot of {{ $labels.dataset }} on {{ $labels.server }} is {{ $value | humanizeDuration }} old",
      action: "systemctl status sanoid.timer on the server.",
    },
    {
      alert: "OffsiteCopyTooOld",
      expr: `time() - infernus_offsite_last_success_timestamp_seconds > ${t.offsiteMaxAgeHours} * 3600`,
      for: "10m",
      severity: "warning",
      summary: "the last complete offsite copy of {{ $labels.server }} is {{ $value | humanizeDuration }} old",
      action: "journalctl -u infernus-offsite on the server (bucket keys, network).",
    },
    {
      alert: "DiskAlmostFull",
      expr: `100 * (1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"}) > ${t.diskFullPercent}`,
      for: "15m",
      severity: "warning",
      summary: "{{ $labels.mountpoint }} on {{ $labels.server }} is {{ $value | humanize }}% full",
      action: "Free space: old model weights in the models dataset, or snapshots (zfs list -t snapshot).",
    },
    {
      alert: "AppDown",
      expr: 'probe_success{job="apps"} == 0 or up{job=~"app-.+"} == 0',
      for: "5m",
      severity: "warning",
      summary: "the app {{ $labels.app }} on {{ $labels.server }} does not answer over the tunnel",
      action: "On that host: systemctl status infernus-{{ $labels.app }}; journalctl -u infernus-{{ $labels.app }} -n 50 (a failed image pull, a full disk, the dataset not mounted).",
    },
    {
      alert: "AppCannotReachModels",
      // Refused, untrusted or short of a model; or no finding for four probes (its timer stopped).
      expr: `infernus_app_gateway_up == 0 or time() - infernus_app_gateway_probe_timestamp_seconds > ${4 * PROBE_INTERVAL_SECONDS}`,
      for: "15m",
      severity: "warning",
      summary: "the app {{ $labels.app }} on {{ $labels.server }} cannot reach its models through the gateway",
      action: "On that host: sudo infernus-app-probe {{ $labels.app }} says why (its key refused, the gateway's certificate not trusted in its container, a model not listed); npm run up writes its key and CA anew.",
    },
  ];
}

export function renderRules(t: Thresholds, servers: readonly ScrapedServer[]): string {
  return yaml({
    groups: [
      {
        name: "infernus",
        rules: alertRules(t, servers).map((r) => ({
          alert: r.alert,
          expr: r.expr,
          for: r.for,
          labels: { severity: r.severity, ...r.labels },
          annotations: { summary: r.summary, action: r.action },
        })),
      },
    ],
  });
}

export interface AlertmanagerView {
  /** The Telegram chat and bot; without them alerts are kept in Alertmanager (its UI, amtool) and sent nowhere. */
  readonly telegram?: {
    readonly chatId: string;
    readonly botToken: string;
    /** Telegram's API, or a stand-in in tests. */
    readonly apiUrl?: string;
  };
}

export function renderAlertmanagerConfig(view: AlertmanagerView): string {
  const telegram = view.telegram;
  return yaml({
    route: {
      receiver: telegram ? "telegram" : "nowhere",
      group_by: ["alertname", "server"],
      group_wait: "30s",
      group_interval: "5m",
      // A standing problem is repeated every 4 hours, not every few minutes.
      repeat_interval: "4h",
    },
    // A server that is down explains everything else it stops reporting.
    inhibit_rules: [{ source_matchers: ['alertname="ServerDown"'], target_matchers: ['alertname!="ServerDown"'], equal: ["server"] }],
    receivers: telegram
      ? [
          {
            name: "telegram",
            telegram_configs: [
              {
                bot_token: telegram.botToken,
                chat_id: Number(telegram.chatId),
                send_resolved: true,
                parse_mode: "",
                message: '{{ range .Alerts }}{{ if eq .Status "firing" }}🔥{{ else }}✅{{ end }} {{ .Labels.alertname }}: {{ .Annotations.summary }}\n{{ .Annotations.action }}\n{{ end }}',
                ...(telegram.apiUrl ? { api_url: telegram.apiUrl } : {}),
              },
            ],
          },
        ]
      : [{ name: "nowhere" }],
  });
}

export function renderBlackbox(caFile?: string): string {
  return yaml({
    modules: {
      // An app over the tunnel: plain HTTP (WireGuard encrypts it), a 200 from its health path.
      http_200: { prober: "http", timeout: "5s", http: { method: "GET", valid_status_codes: [200] } },
      https_healthz: {
        prober: "http",
        timeout: "5s",
        http: { method: "GET", valid_status_codes: [200], fail_if_not_ssl: true, ...(caFile ? { tls_config: { ca_file: caFile } } : {}) },
      },
    },
  });
}

/** Debian/Ubuntu's /etc/default files carry each daemon's flags. */
export function renderDefaults(args: readonly string[]): string {
  return `${HEADER}\nARGS="${args.join(" ")}"\n`;
}

/** The metrics every 15 s, the first a second after boot: until then the textfiles on disk are the previous boot's. */
export function renderMetricsUnits(): { service: string; timer: string } {
  return {
    service: [HEADER, "[Unit]", "Description=infernus: GPU, UPS, snapshot and model metrics for node_exporter", "", "[Service]", "Type=oneshot", `ExecStart=${MONITORING_PATHS.metricsScript} ${MONITORING_PATHS.textfileDir}`, ""].join("\n"),
    timer: [HEADER, "[Unit]", "Description=infernus: metrics every 15 s", "", "[Timer]", "OnBootSec=1s", "OnUnitActiveSec=15s", "AccuracySec=1s", "", "[Install]", "WantedBy=timers.target", ""].join("\n"),
  };
}
