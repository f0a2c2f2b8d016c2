/**
 * vLLM's /metrics as the labs' stand-ins serve it. What it mirrors, from vLLM's source (upstream
 * main of May 2026, unchanged since April, what 0.21.0 was cut from: vllm/v1/metrics/loggers.py,
 * PrometheusStatLogger, read at 9aaf83ef in a fork that keeps upstream's commits):
 * - the families the estate keeps (assets/monitoring/metrics.sh): the gauges
 *   vllm:num_requests_running, vllm:num_requests_waiting, vllm:kv_cache_usage_perc (0..1); the
 *   counters vllm:num_preemptions, vllm:prompt_tokens, vllm:generation_tokens,
 *   vllm:request_success (with finished_reason stop, length, abort, error, repetition, all five from
 *   the start); the histograms vllm:time_to_first_token_seconds, vllm:inter_token_latency_seconds,
 *   vllm:e2e_request_latency_seconds and vllm:request_queue_time_seconds with their buckets;
 * - labels model_name (the served name) and engine ("0");
 * - prometheus_client's text format (exposition.py, generate_latest): a counter's HELP and TYPE name
 *   it with _total, each family's creation times follow it as a family of their own (_created, a
 *   gauge), floats print as floatToGoString does (2.0, +Inf, 1.234567e+06).
 * Light on imports: the labs run it inside processes.
 */

const LATENCY = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0];
const HISTOGRAMS = {
  "vllm:time_to_first_token_seconds": { help: "Histogram of time to first token in seconds.", buckets: [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0] },
  "vllm:inter_token_latency_seconds": { help: "Histogram of inter-token latency in seconds.", buckets: [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0] },
  "vllm:e2e_request_latency_seconds": { help: "Histogram of e2e request latency in seconds.", buckets: LATENCY },
  "vllm:request_queue_time_seconds": { help: "Histogram of time spent in WAITING phase for request.", buckets: LATENCY },
} as const;
type HistogramName = keyof typeof HISTOGRAMS;
const REASONS = ["stop", "length", "abort", "error", "repetition"] as const;

/** prometheus_client's floatToGoString: Python's repr of the float, in exponent form past six digits before the point. */
function py(value: number): string {
  if (value === Infinity) return "+Inf";
  const repr = Number.isInteger(value) ? `${value}.0` : String(value);
  const dot = repr.indexOf(".");
  if (value > 0 && dot > 6) return `${`${repr[0]}.${repr.slice(1, dot)}${repr.slice(dot + 1)}`.replace(/[0.]+$/, "")}e+0${dot - 1}`;
  return repr;
}

export interface FinishedRequest {
  readonly promptTokens: number;
  readonly generationTokens: number;
  readonly queueSeconds: number;
  /** From its arrival, the queue included (stats.py: first_token_latency from arrival_time). */
  readonly firstTokenSeconds: number;
  /** The gaps between a stream's tokens. */
  readonly tokenGapsSeconds: readonly number[];
  readonly reason?: (typeof REASONS)[number];
}

export class VllmMetrics {
  public running = 0;
  public waiting = 0;
  public kvCacheUsage = 0;
  private readonly created = Date.now() / 1000;
  private readonly counters = { "vllm:num_preemptions": 0, "vllm:prompt_tokens": 0, "vllm:generation_tokens": 0 };
  private readonly success: Record<string, number> = Object.fromEntries(REASONS.map((r) => [r, 0]));
  private readonly histograms = Object.fromEntries(
    Object.entries(HISTOGRAMS).map(([name, h]) => [name, { counts: h.buckets.map(() => 0), sum: 0, count: 0 }]),
  ) as Record<HistogramName, { counts: number[]; sum: number; count: number }>;

  constructor(private readonly model: string) {}

  /** A request done: its tokens, its reason and its times go where vLLM's record() puts them. */
  public finished(request: FinishedRequest): void {
    this.counters["vllm:prompt_tokens"] += request.promptTokens;
    this.counters["vllm:generation_tokens"] += request.generationTokens;
    this.success[request.reason ?? "stop"]++;
    const e2e = request.firstTokenSeconds + request.tokenGapsSeconds.reduce((a, b) => a + b, 0);
    this.observe("vllm:request_queue_time_seconds", request.queueSeconds);
    this.observe("vllm:time_to_first_token_seconds", request.firstTokenSeconds);
    for (const gap of request.tokenGapsSeconds) this.observe("vllm:inter_token_latency_seconds", gap);
    this.observe("vllm:e2e_request_latency_seconds", e2e);
  }

  public preempted(): void {
    this.counters["vllm:num_preemptions"]++;
  }

  private observe(name: HistogramName, value: number): void {
    const h = this.histograms[name];
    HISTOGRAMS[name].buckets.forEach((bound, i) => {
      if (value <= bound) h.counts[i]++;
    });
    h.sum += value;
    h.count++;
  }

  /** The text GET /metrics answers with. */
  public text(): string {
    const labels = `engine="0",model_name="${this.model}"`;
    const lines: string[] = [];
    const family = (name: string, type: string, help: string, samples: readonly string[]) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples);
    const created = (name: string, help: string, sampleLabels: readonly string[] = [labels]) =>
      family(`${name}_created`, "gauge", help, sampleLabels.map((l) => `${name}_created{${l}} ${py(this.created)}`));
    family("vllm:num_requests_running", "gauge", "Number of requests in model execution batches.", [`vllm:num_requests_running{${labels}} ${py(this.running)}`]);
    family("vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.", [`vllm:num_requests_waiting{${labels}} ${py(this.waiting)}`]);
    family("vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.", [`vllm:kv_cache_usage_perc{${labels}} ${py(this.kvCacheUsage)}`]);
    const counterHelp = { "vllm:num_preemptions": "Cumulative number of preemption from the engine.", "vllm:prompt_tokens": "Number of prefill tokens processed.", "vllm:generation_tokens": "Number of generation tokens processed." };
    for (const [name, value] of Object.entries(this.counters)) {
      const help = counterHelp[name as keyof typeof counterHelp];
      family(`${name}_total`, "counter", help, [`${name}_total{${labels}} ${py(value)}`]);
      created(name, help);
    }
    const byReason = REASONS.map((r) => `engine="0",finished_reason="${r}",model_name="${this.model}"`);
    const successHelp = "Count of successfully processed requests.";
    family("vllm:request_success_total", "counter", successHelp, byReason.map((l, i) => `vllm:request_success_total{${l}} ${py(this.success[REASONS[i]])}`));
    created("vllm:request_success", successHelp, byReason);
    for (const [name, h] of Object.entries(this.histograms) as [HistogramName, { counts: number[]; sum: number; count: number }][]) {
      const bounds = HISTOGRAMS[name].buckets;
      family(name, "histogram", HISTOGRAMS[name].help, [
        ...bounds.map((bound, i) => `${name}_bucket{engine="0",le="${py(bound)}",model_name="${this.model}"} ${py(h.counts[i])}`),
        `${name}_bucket{engine="0",le="+Inf",model_name="${this.model}"} ${py(h.count)}`,
        `${name}_count{${labels}} ${py(h.count)}`,
        `${name}_sum{${labels}} ${py(h.sum)}`,
      ]);
      created(name, HISTOGRAMS[name].help);
    }
    return `${lines.join("\n")}\n`;
  }
}
