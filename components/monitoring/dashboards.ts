/**
 * The dashboards Grafana provisions from files: the estate (hosts, tunnel, GPUs, UPS, pools,
 * disks), serving (per model, after vLLM's own dashboard in examples/observability of its
 * repository) and usage (per key and model, from the gateway's audit log). Every query reads
 * series this estate's exporters write (metrics.sh, node_exporter, the blackbox probe).
 */

/** The datasource grafana.ts provisions: every panel names it by uid. */
export const DATASOURCE = { type: "prometheus", uid: "infernus-prometheus" } as const;

/** The classic dashboard JSON this writes (Grafana migrates older ones on load, never newer). */
export const SCHEMA_VERSION = 39;

type Unit = "s" | "percent" | "percentunit" | "celsius" | "watt" | "bytes" | "Bps" | "short" | "reqpm" | "dtdurations";

interface Target {
  readonly expr: string;
  readonly legend: string;
}

interface PanelSpec {
  readonly title: string;
  readonly description: string;
  /** A stat shows the latest value of each series; a time series, their course. */
  readonly type?: "timeseries" | "stat";
  readonly unit: Unit;
  readonly targets: readonly Target[];
  /** Columns of Grafana's 24: two panels a row by default. */
  readonly width?: number;
  /** Value texts for a stat of 0 and 1 (down/up, offline/online). */
  readonly states?: readonly [string, string];
}

interface Variable {
  readonly name: string;
  readonly label: string;
  /** Grafana's label_values(metric, label): the values offered. */
  readonly values: string;
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly json: Record<string, unknown>;
}

const HEIGHT = 8;

function panel(spec: PanelSpec, id: number, x: number, y: number): Record<string, unknown> {
  const width = spec.width ?? 12;
  const stat = spec.type === "stat";
  const states = spec.states;
  return {
    id,
    type: spec.type ?? "timeseries",
    title: spec.title,
    description: spec.description,
    gridPos: { x, y, w: width, h: HEIGHT },
    datasource: DATASOURCE,
    fieldConfig: {
      defaults: {
        unit: spec.unit,
        ...(states
          ? {
              mappings: [{ type: "value", options: { "0": { text: states[0], color: "red", index: 0 }, "1": { text: states[1], color: "green", index: 1 } } }],
              thresholds: { mode: "absolute", steps: [{ color: "red", value: null }, { color: "green", value: 1 }] },
            }
          : {}),
      },
      overrides: [],
    },
    options: stat
      ? { reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false }, colorMode: states ? "background" : "value", graphMode: "none", textMode: "value_and_name", justifyMode: "auto", orientation: "auto" }
      : { legend: { displayMode: "list", placement: "bottom", showLegend: true }, tooltip: { mode: "multi", sort: "desc" } },
    targets: spec.targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), datasource: DATASOURCE, expr: t.expr, legendFormat: t.legend, range: !stat, instant: stat })),
  };
}

/** Panels laid left to right, a new row when the next does not fit. */
function layout(specs: readonly PanelSpec[]): Record<string, unknown>[] {
  let x = 0;
  let y = 0;
  return specs.map((spec, i) => {
    const width = spec.width ?? 12;
    if (x + width > 24) {
      x = 0;
      y += HEIGHT;
    }
    const placed = panel(spec, i + 1, x, y);
    x += width;
    return placed;
  });
}

function variable(v: Variable): Record<string, unknown> {
  return {
    name: v.name,
    label: v.label,
    type: "query",
    datasource: DATASOURCE,
    query: { query: v.values, refId: `${v.name}-values` },
    refresh: 2,
    includeAll: true,
    multi: true,
    // "All" as one regular expression: the queries match with =~.
    allValue: ".*",
    current: { selected: true, text: ["All"], value: ["$__all"] },
    sort: 1,
    hide: 0,
    options: [],
    skipUrlSync: false,
  };
}

function dashboard(uid: string, title: string, description: string, variables: readonly Variable[], specs: readonly PanelSpec[]): Dashboard {
  return {
    uid,
    title,
    json: {
      uid,
      title,
      description,
      tags: ["infernus"],
      editable: false,
      graphTooltip: 1,
      timezone: "browser",
      refresh: "30s",
      time: { from: "now-6h", to: "now" },
      schemaVersion: SCHEMA_VERSION,
      version: 1,
      annotations: { list: [] },
      links: [{ title: "infernus", type: "dashboards", tags: ["infernus"], asDropdown: false, includeVars: false, keepTime: true, icon: "external link", targetBlank: false, tooltip: "" }],
      templating: { list: variables.map(variable) },
      panels: layout(specs),
    },
  };
}

const SERVER: Variable = { name: "server", label: "host", values: 'label_values(up{job="node"}, server)' };
const MODEL: Variable = { name: "model", label: "model", values: "label_values(infernus_model_weights_expected_bytes, model)" };
const CLIENT: Variable = { name: "client", label: "key", values: "label_values(infernus_usage_requests_total, client)" };

const onServer = 'server=~"$server"';
/** node_exporter's hwmon temperature with each chip's driver name (k10temp, coretemp, nvme). */
const chipTemperature = (chips: string) =>
  `max by (server, chip_name) (node_hwmon_temp_celsius{${onServer}} * on (instance, chip) group_left (chip_name) node_hwmon_chip_names{chip_name=~"${chips}"})`;
const notPseudo = 'fstype!~"tmpfs|overlay|squashfs"';

function estate(): Dashboard {
  return dashboard("infernus-estate", "infernus: estate", "Every host through the tunnel: power, heat, the GPUs, the UPS, the pools and the disks.", [SERVER], [
    { title: "Hosts", description: "Whether Prometheus on the edge reaches each host's node_exporter through the tunnel.", type: "stat", unit: "short", states: ["down", "up"], width: 8, targets: [{ expr: `up{job="node",${onServer}}`, legend: "{{server}}" }] },
    { title: "Gateways", description: "The public gateway's /healthz from the edge, and each LAN gateway's from its own server.", type: "stat", unit: "short", states: ["down", "up"], width: 8, targets: [{ expr: 'probe_success{job="gateway"}', legend: "public" }, { expr: `infernus_lan_gateway_up{${onServer}}`, legend: "LAN ({{server}})" }] },
    { title: "ZFS pools", description: "1 while the pool is ONLINE (zpool status -x shows why not).", type: "stat", unit: "short", states: ["not online", "online"], width: 8, targets: [{ expr: `node_zfs_zpool_state{state="online",${onServer}}`, legend: "{{server}} {{zpool}}" }] },
    { title: "Tunnel: time since each peer's handshake", description: "WireGuard renews a live peer's handshake every 2 minutes; TunnelHandshakeStale alerts past the threshold.", unit: "s", targets: [{ expr: "infernus_wireguard_handshake_age_seconds", legend: "{{peer}}" }] },
    { title: "Tunnel traffic", description: "Bytes per second through each host's WireGuard interface.", unit: "Bps", targets: [{ expr: `rate(node_network_receive_bytes_total{device=~"wg.*",${onServer}}[$__rate_interval])`, legend: "{{server}} in" }, { expr: `rate(node_network_transmit_bytes_total{device=~"wg.*",${onServer}}[$__rate_interval])`, legend: "{{server}} out" }] },
    { title: "GPU temperature", description: "Each card's core (nvidia-smi); GpuHot alerts above its threshold for 5 minutes.", unit: "celsius", width: 8, targets: [{ expr: `infernus_gpu_temperature_celsius{${onServer}}`, legend: "{{server}} GPU {{gpu}}" }] },
    { title: "GPU power", description: "Each card's draw; its limit is the stack file's powerLimitW.", unit: "watt", width: 8, targets: [{ expr: `infernus_gpu_power_watts{${onServer}}`, legend: "{{server}} GPU {{gpu}}" }] },
    { title: "VRAM in use", description: "Each card's memory in use: the models awake and their KV cache.", unit: "bytes", width: 8, targets: [{ expr: `infernus_gpu_memory_used_bytes{${onServer}}`, legend: "{{server}} GPU {{gpu}}" }] },
    { title: "CPU and NVMe temperature", description: "The CPU package (k10temp, zenpower, coretemp) and each NVMe drive, from node_exporter's hwmon data.", unit: "celsius", targets: [{ expr: chipTemperature("k10temp|zenpower|coretemp|nvme"), legend: "{{server}} {{chip_name}}" }] },
    { title: "UPS", description: "Battery charge and load; on battery is 100 while mains is off.", unit: "percent", targets: [{ expr: `infernus_ups_battery_charge_percent{${onServer}}`, legend: "{{server}} charge" }, { expr: `infernus_ups_load_percent{${onServer}}`, legend: "{{server}} load" }, { expr: `100 * infernus_ups_on_battery{${onServer}}`, legend: "{{server}} on battery" }] },
    { title: "Newest snapshot's age", description: "Per dataset; sanoid takes one every hour, SnapshotTooOld alerts past the threshold.", unit: "dtdurations", targets: [{ expr: `time() - infernus_zfs_latest_snapshot_timestamp_seconds{${onServer}}`, legend: "{{server}} {{dataset}}" }] },
    { title: "Disks: space used", description: "Each real filesystem; DiskAlmostFull alerts past the threshold.", unit: "percent", targets: [{ expr: `100 * (1 - node_filesystem_avail_bytes{${notPseudo},${onServer}} / node_filesystem_size_bytes{${notPseudo},${onServer}})`, legend: "{{server}} {{mountpoint}}" }] },
    { title: "CPU busy", description: "Share of CPU time not idle, per host.", unit: "percent", targets: [{ expr: `100 * (1 - avg by (server) (rate(node_cpu_seconds_total{mode="idle",${onServer}}[$__rate_interval])))`, legend: "{{server}}" }] },
    { title: "Memory available", description: "What the kernel can give without swapping: ZFS's ARC and the parked models come out of it.", unit: "bytes", targets: [{ expr: `node_memory_MemAvailable_bytes{${onServer}}`, legend: "{{server}}" }] },
  ]);
}

const ofModel = 'model_name=~"$model"';
const quantiles = (histogram: string, legend: string): Target[] =>
  [0.5, 0.95, 0.99].map((q) => ({ expr: `histogram_quantile(${q}, sum by (le, model_name) (rate(${histogram}_bucket{${ofModel}}[$__rate_interval])))`, legend: `{{model_name}} p${Math.round(q * 100)}${legend}` }));

function serving(): Dashboard {
  return dashboard("infernus-serving", "infernus: serving", "Each model's vLLM: throughput, latency, queue and KV cache (after vLLM's own dashboard), and which models are awake.", [MODEL], [
    { title: "Token throughput", description: "Tokens per second each model reads (prompt) and writes (generation).", unit: "short", targets: [{ expr: `sum by (model_name) (rate(vllm:prompt_tokens_total{${ofModel}}[$__rate_interval]))`, legend: "{{model_name}} prompt" }, { expr: `sum by (model_name) (rate(vllm:generation_tokens_total{${ofModel}}[$__rate_interval]))`, legend: "{{model_name}} generation" }] },
    { title: "Time to first token", description: "From the request's arrival to its first token: queue, prefill and, after a swap, the wake.", unit: "s", targets: quantiles("vllm:time_to_first_token_seconds", "") },
    { title: "Inter-token latency", description: "Between a stream's tokens: what the user feels while it types.", unit: "s", targets: quantiles("vllm:inter_token_latency_seconds", "") },
    { title: "Request latency", description: "A whole request, from arrival to its last token.", unit: "s", targets: quantiles("vllm:e2e_request_latency_seconds", "") },
    { title: "Scheduler: running and waiting", description: "Requests in the batch and in the queue; ModelOverloaded alerts on a long queue.", unit: "short", targets: [{ expr: `sum by (model_name) (vllm:num_requests_running{${ofModel}})`, legend: "{{model_name}} running" }, { expr: `sum by (model_name) (vllm:num_requests_waiting{${ofModel}})`, legend: "{{model_name}} waiting" }] },
    { title: "KV cache in use", description: "Share of the KV cache blocks in use; near 1, requests are preempted.", unit: "percentunit", targets: [{ expr: `max by (model_name) (vllm:kv_cache_usage_perc{${ofModel}})`, legend: "{{model_name}}" }] },
    { title: "Queue time", description: "Mean seconds a request waited before its first step.", unit: "s", targets: [{ expr: `sum by (model_name) (rate(vllm:request_queue_time_seconds_sum{${ofModel}}[$__rate_interval])) / sum by (model_name) (rate(vllm:request_queue_time_seconds_count{${ofModel}}[$__rate_interval]))`, legend: "{{model_name}}" }] },
    { title: "Finished requests and preemptions", description: "Requests per second by why they ended (stop, length, abort), and preemptions for lack of KV cache.", unit: "short", targets: [{ expr: `sum by (model_name, finished_reason) (rate(vllm:request_success_total{${ofModel}}[$__rate_interval]))`, legend: "{{model_name}} {{finished_reason}}" }, { expr: `sum by (model_name) (rate(vllm:num_preemptions_total{${ofModel}}[$__rate_interval]))`, legend: "{{model_name}} preempted" }] },
    { title: "Awake and asleep", description: "1 while a model is loaded on its card, or parked asleep in host RAM (llama-swap swaps them).", unit: "short", targets: [{ expr: 'infernus_model_running{model=~"$model"}', legend: "{{model}} awake" }, { expr: 'infernus_model_asleep{model=~"$model"}', legend: "{{model}} asleep" }] },
    { title: "Swaps", description: "Times each model was put to sleep or woken, per hour.", unit: "short", targets: [{ expr: 'changes(infernus_model_running{model=~"$model"}[1h])', legend: "{{model}}" }] },
    { title: "Weights on disk", description: "Share of each model's weights downloaded: 1 when complete.", unit: "percentunit", targets: [{ expr: 'infernus_model_weights_bytes{model=~"$model"} / infernus_model_weights_expected_bytes{model=~"$model"}', legend: "{{server}} {{model}}" }] },
  ]);
}

const ofClient = 'client=~"$client"';
/** Per second, per key and model, as the panel's resolution allows. */
const ratePerClientModel = (metric: string) => `sum by (client, model) (rate(${metric}{${ofClient}}[$__rate_interval]))`;
/** How many over the dashboard's time range, per key and model. */
const inRangePerClientModel = (metric: string) => `sum by (client, model) (increase(${metric}{${ofClient}}[$__range]))`;

function usage(): Dashboard {
  return dashboard("infernus-usage", "infernus: usage", "Who uses what: requests and tokens per key and model, as vLLM counted them, from both gateways' audit logs.", [CLIENT], [
    { title: "Requests per minute", description: "Per key and model, every answer (limits and errors too).", unit: "reqpm", targets: [{ expr: `60 * ${ratePerClientModel("infernus_usage_requests_total")}`, legend: "{{client}} {{model}}" }] },
    { title: "Tokens per minute", description: "Prompt and completion tokens per key and model.", unit: "short", targets: [{ expr: `60 * ${ratePerClientModel("infernus_usage_prompt_tokens_total")}`, legend: "{{client}} {{model}} prompt" }, { expr: `60 * ${ratePerClientModel("infernus_usage_completion_tokens_total")}`, legend: "{{client}} {{model}} completion" }] },
    { title: "Prompt tokens in the range", description: "Per key and model, over the dashboard's time range.", type: "stat", unit: "short", width: 8, targets: [{ expr: inRangePerClientModel("infernus_usage_prompt_tokens_total"), legend: "{{client}} {{model}}" }] },
    { title: "Completion tokens in the range", description: "Per key and model, over the dashboard's time range.", type: "stat", unit: "short", width: 8, targets: [{ expr: inRangePerClientModel("infernus_usage_completion_tokens_total"), legend: "{{client}} {{model}}" }] },
    { title: "Requests in the range", description: "Per key and model, over the dashboard's time range.", type: "stat", unit: "short", width: 8, targets: [{ expr: inRangePerClientModel("infernus_usage_requests_total"), legend: "{{client}} {{model}}" }] },
    { title: "Rate-limited (429)", description: "Answers refused for the key's requestsPerMinute, per minute.", unit: "reqpm", targets: [{ expr: `60 * sum by (client) (rate(infernus_usage_requests_total{code="429",${ofClient}}[$__rate_interval]))`, legend: "{{client}}" }] },
    { title: "Server errors (5xx)", description: "Answers the models failed, per key and minute; GatewayErrors alerts on their share.", unit: "reqpm", targets: [{ expr: `60 * sum by (client) (rate(infernus_usage_requests_total{code=~"5..",${ofClient}}[$__rate_interval]))`, legend: "{{client}}" }] },
  ]);
}

/** The three dashboards, in the order Grafana lists them. */
export function dashboards(): Dashboard[] {
  return [estate(), serving(), usage()];
}

/** Every query of a dashboard, with its panel's title: what the lab asks Prometheus. */
export function queries(board: Dashboard): { panel: string; expr: string }[] {
  const panels = board.json.panels as { title: string; targets: { expr: string }[] }[];
  return panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));
}
