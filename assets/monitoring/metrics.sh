#!/usr/bin/env bash
# infernus-metrics: writes node_exporter textfile metrics for what node_exporter cannot see: the
# GPUs (nvidia-smi), the UPS (upsc, with staleness), the newest snapshot per dataset, each model's
# weights and, while it runs, its vLLM metrics, WireGuard handshakes and the gateway's answers. What to read comes from /etc/infernus/metrics.conf:
#   GPU=1  UPS=apc  DATASETS="tank/rag tank/state"  MODELS_LIST=/etc/infernus/models.list  WG=wg0
#   AUDIT_LOG=/var/log/infernus/gateway-audit.log  LAN_GATEWAY=https://192.168.1.50/healthz  LAN_GATEWAY_CA=/etc/infernus/tls/ca.crt  LAN_GATEWAY_ADDRESS=192.168.1.50
#   usage: infernus-metrics DIR
set -uo pipefail
dir=${1:?usage: infernus-metrics DIR}
conf=${INFERNUS_METRICS_CONF:-/etc/infernus/metrics.conf}
root=${INFERNUS_ROOT:-}
GPU=0 UPS='' DATASETS='' MODELS_LIST='' WG='' AUDIT_LOG='' LAN_GATEWAY='' LAN_GATEWAY_CA='' LAN_GATEWAY_ADDRESS=''
# shellcheck source=/dev/null
[[ -r $conf ]] && . "$conf"
mkdir -p "$dir"

# Prints the HELP and TYPE lines of a metric.
describe() {
  printf '# HELP %s %s\n# TYPE %s %s\n' "$1" "$3" "$1" "$2"
}

# Samples are gathered per metric in a scratch folder, then printed under their HELP and TYPE.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# family NAME TYPE HELP: one metric's HELP and TYPE, then the samples gathered in $scratch/NAME.
family() {
  describe "$1" "$2" "$3"
  cat "$scratch/$1" 2>/dev/null
}

# Writes stdin to DIR/NAME.prom in one rename, so node_exporter never reads half a file.
publish() {
  cat >"$dir/$1.prom.tmp" && mv "$dir/$1.prom.tmp" "$dir/$1.prom"
}

if [[ $GPU == 1 ]]; then
  {
    index=0
    while IFS=, read -r temperature power memory reasons ecc driver name; do
      reasons=${reasons// /}
      # Event reasons 0x20 (software thermal), 0x40 (hardware thermal), 0x80 (power brake).
      throttle=$(((reasons & 0xE0) != 0 ? 1 : 0))
      printf 'infernus_gpu_temperature_celsius{gpu="%s"} %s\n' "$index" "${temperature// /}" >>"$scratch/infernus_gpu_temperature_celsius"
      printf 'infernus_gpu_power_watts{gpu="%s"} %s\n' "$index" "${power// /}" >>"$scratch/infernus_gpu_power_watts"
      printf 'infernus_gpu_memory_used_bytes{gpu="%s"} %s\n' "$index" "$((${memory// /} * 1048576))" >>"$scratch/infernus_gpu_memory_used_bytes"
      printf 'infernus_gpu_thermal_throttle{gpu="%s"} %s\n' "$index" "$throttle" >>"$scratch/infernus_gpu_thermal_throttle"
      printf 'infernus_gpu_info{gpu="%s",name="%s",driver="%s"} 1\n' "$index" "${name# }" "${driver// /}" >>"$scratch/infernus_gpu_info"
      [[ ${ecc// /} =~ ^[0-9]+$ ]] && printf 'infernus_gpu_ecc_uncorrected_errors_total{gpu="%s"} %s\n' "$index" "${ecc// /}" >>"$scratch/infernus_gpu_ecc_uncorrected_errors_total"
      index=$((index + 1))
    done < <(nvidia-smi --query-gpu=temperature.gpu,power.draw,memory.used,clocks_event_reasons.active,ecc.errors.uncorrected.volatile.total,driver_version,name --format=csv,noheader,nounits 2>/dev/null)
    family infernus_gpu_info gauge "One per GPU nvidia-smi sees, with its name and driver."
    family infernus_gpu_temperature_celsius gauge "GPU core temperature."
    family infernus_gpu_power_watts gauge "GPU power draw."
    family infernus_gpu_memory_used_bytes gauge "GPU memory in use."
    family infernus_gpu_thermal_throttle gauge "1 while the GPU slows down for heat or a power brake."
    family infernus_gpu_ecc_uncorrected_errors_total counter "Uncorrected ECC errors since the driver loaded."
  } | publish gpu
fi

if [[ -n $UPS ]]; then
  status=$(upsc "$UPS@localhost" ups.status 2>&1)
  stale=0
  [[ $status == *"Data stale"* || $status == *"Error"* ]] && stale=1
  charge=$(upsc "$UPS@localhost" battery.charge 2>/dev/null || echo NaN)
  load=$(upsc "$UPS@localhost" ups.load 2>/dev/null || echo NaN)
  {
    describe infernus_ups_on_battery gauge "1 while the UPS runs on battery."
    printf 'infernus_ups_on_battery{ups="%s"} %s\n' "$UPS" "$([[ $stale == 0 && " $status " == *" OB "* ]] && echo 1 || echo 0)"
    describe infernus_ups_low_battery gauge "1 when the UPS reports a low battery."
    printf 'infernus_ups_low_battery{ups="%s"} %s\n' "$UPS" "$([[ $stale == 0 && " $status " == *" LB "* ]] && echo 1 || echo 0)"
    describe infernus_ups_data_stale gauge "1 when NUT has no fresh data from the UPS."
    printf 'infernus_ups_data_stale{ups="%s"} %s\n' "$UPS" "$stale"
    describe infernus_ups_battery_charge_percent gauge "Battery charge."
    printf 'infernus_ups_battery_charge_percent{ups="%s"} %s\n' "$UPS" "$charge"
    describe infernus_ups_load_percent gauge "Load on the UPS."
    printf 'infernus_ups_load_percent{ups="%s"} %s\n' "$UPS" "$load"
  } | publish ups
fi

if [[ -n $DATASETS ]]; then
  {
    describe infernus_zfs_latest_snapshot_timestamp_seconds gauge "Creation time of the newest snapshot."
    for dataset in $DATASETS; do
      newest=$(zfs list -H -p -t snapshot -o creation -s creation "$dataset" 2>/dev/null | tail -1)
      printf 'infernus_zfs_latest_snapshot_timestamp_seconds{dataset="%s"} %s\n' "$dataset" "${newest:-0}"
    done
  } | publish snapshots
fi

# vLLM's own figures worth keeping per model: load, queue, KV cache, tokens, latencies. Each family
# once under its HELP and TYPE, the samples of every running model below it (vLLM labels them
# with model_name already). The serving dashboard reads them (components/monitoring/dashboards.ts).
VLLM_FAMILIES='vllm:(num_requests_running|num_requests_waiting|kv_cache_usage_perc|num_preemptions|prompt_tokens|generation_tokens|request_success|time_to_first_token_seconds|inter_token_latency_seconds|e2e_request_latency_seconds|request_queue_time_seconds)(_total)?'
merge_vllm() {
  awk -v wanted="^${VLLM_FAMILIES}\$" '
    /^# (HELP|TYPE) / { family = $3; if (family ~ wanted && !((family, $2) in described)) { described[family, $2] = 1; head[family] = head[family] $0 "\n" } ; if (!(family in seen)) { seen[family] = 1; order[++n] = family } ; next }
    /^#/ || /^$/ { next }
    family ~ wanted && $1 !~ /_created(\{|$)/ { body[family] = body[family] $0 "\n" }
    END { for (i = 1; i <= n; i++) if (order[i] ~ wanted && body[order[i]] != "") printf "%s%s", head[order[i]], body[order[i]] }
  ' "$@"
}

if [[ -n $MODELS_LIST && -r $MODELS_LIST ]]; then
  while read -r name _repo bytes modeldir port; do
    [[ -n $name ]] || continue
    printf 'infernus_model_weights_complete{model="%s"} %s\n' "$name" "$([[ -e $modeldir/.infernus-complete ]] && echo 1 || echo 0)" >>"$scratch/infernus_model_weights_complete"
    have=$(du -sb "$modeldir" 2>/dev/null | cut -f1)
    printf 'infernus_model_weights_bytes{model="%s"} %s\n' "$name" "${have:-0}" >>"$scratch/infernus_model_weights_bytes"
    printf 'infernus_model_weights_expected_bytes{model="%s"} %s\n' "$name" "$bytes" >>"$scratch/infernus_model_weights_expected_bytes"
    # A LoRA adapter (port -) runs in its model's process: only its download is its own.
    [[ $port =~ ^[0-9]+$ ]] || continue
    # Straight to the model's own port: asking llama-swap would load a model that is not running.
    running=0 asleep=0
    if curl -fsS --max-time 3 "http://127.0.0.1:$port/metrics" >"$scratch/vllm.$name" 2>/dev/null; then
      running=1
      # A model swapped out sleeps in its process (vLLM's sleep mode): it answers, but it is not loaded.
      if curl -fsS --max-time 3 "http://127.0.0.1:$port/is_sleeping" 2>/dev/null | grep -Eq '"is_sleeping": *true'; then running=0 asleep=1; fi
    else
      rm -f "$scratch/vllm.$name"
    fi
    printf 'infernus_model_running{model="%s"} %s\n' "$name" "$running" >>"$scratch/infernus_model_running"
    printf 'infernus_model_asleep{model="%s"} %s\n' "$name" "$asleep" >>"$scratch/infernus_model_asleep"
  done <"$MODELS_LIST"
  {
    family infernus_model_weights_complete gauge "1 when the model's weights are fully downloaded."
    family infernus_model_weights_bytes gauge "Bytes of the model's weights on disk so far."
    family infernus_model_weights_expected_bytes gauge "Bytes of the model's complete weights."
    family infernus_model_running gauge "1 while the model is loaded and its vLLM answers."
    family infernus_model_asleep gauge "1 while the model is swapped out, asleep in its vLLM process."
    if compgen -G "$scratch/vllm.*" >/dev/null; then merge_vllm "$scratch"/vllm.*; fi
  } | publish models
fi

if [[ -n $WG ]]; then
  now=$(date +%s)
  {
    describe infernus_wireguard_handshake_age_seconds gauge "Seconds since the peer's latest handshake."
    while read -r key latest; do
      peer=$(grep -B3 -F "PublicKey = $key" "$root/etc/wireguard/$WG.conf" 2>/dev/null | sed -n 's/^# \([a-z0-9-]*\) .*/\1/p' | tail -1)
      # Never shaken hands: as old as the epoch, so it alerts.
      printf 'infernus_wireguard_handshake_age_seconds{peer="%s"} %s\n' "${peer:-$key}" "$((now - latest))"
    done < <(wg show "$WG" latest-handshakes 2>/dev/null)
  } | publish wireguard
fi

if [[ -n $AUDIT_LOG && -r $AUDIT_LOG ]]; then
  # Counts since the log was last rotated: counters that reset daily, which rate() and increase()
  # understand. One pass over the audit line's fixed fields (AUDIT_FIELDS in components/gateway/nginx.ts);
  # names are the config's (letters, digits, dashes), so they need no escaping as label values.
  awk -v dir="$scratch" '
    function text(key) { return match($0, "\"" key "\":\"[^\"]*\"") ? substr($0, RSTART + length(key) + 4, RLENGTH - length(key) - 5) : "" }
    function number(key) { return match($0, "\"" key "\":[0-9]+") ? substr($0, RSTART + length(key) + 3, RLENGTH - length(key) - 3) : "" }
    {
      status = number("status")
      if (status == "") next
      class[substr(status, 1, 1) "xx"]++
      labels = "client=\"" text("client") "\",model=\"" text("model") "\""
      requests[labels ",code=\"" status "\""]++
      prompt[labels] += number("prompt_tokens")
      completion[labels] += number("completion_tokens")
    }
    END {
      split("2xx 3xx 4xx 5xx", classes, " ")
      for (i = 1; i <= 4; i++) printf "infernus_gateway_requests_total{class=\"%s\"} %d\n", classes[i], class[classes[i]] > (dir "/infernus_gateway_requests_total")
      for (l in requests) printf "infernus_usage_requests_total{%s} %d\n", l, requests[l] | ("sort >" dir "/infernus_usage_requests_total")
      for (l in prompt) printf "infernus_usage_prompt_tokens_total{%s} %d\n", l, prompt[l] | ("sort >" dir "/infernus_usage_prompt_tokens_total")
      for (l in completion) printf "infernus_usage_completion_tokens_total{%s} %d\n", l, completion[l] | ("sort >" dir "/infernus_usage_completion_tokens_total")
    }' "$AUDIT_LOG"
  {
    family infernus_gateway_requests_total counter "Gateway requests by status class, from the audit log."
    family infernus_usage_requests_total counter "Gateway requests by user (the key's name), model and status, from the audit log."
    family infernus_usage_prompt_tokens_total counter "Prompt tokens by user and model, as vLLM counted them, from the audit log."
    family infernus_usage_completion_tokens_total counter "Completion tokens by user and model, as vLLM counted them, from the audit log."
  } | publish gateway
fi

# The LAN gateway, probed on this machine (nothing off the LAN reaches it): the edge's self-check
# and Prometheus read the answer from here.
if [[ -n $LAN_GATEWAY ]]; then
  # At its LAN address, under the name its certificate carries (the domain, with split horizon).
  reach=()
  [[ -z $LAN_GATEWAY_CA ]] || reach+=(--cacert "$root$LAN_GATEWAY_CA")
  [[ -z $LAN_GATEWAY_ADDRESS ]] || reach+=(--connect-to "::$LAN_GATEWAY_ADDRESS:")
  code=$(curl -s -o /dev/null --max-time 5 "${reach[@]}" -w '%{http_code}' "$LAN_GATEWAY" 2>/dev/null || true)
  {
    describe infernus_lan_gateway_up gauge "1 while the LAN gateway answers its /healthz with 200."
    printf 'infernus_lan_gateway_up{url="%s"} %s\n' "$LAN_GATEWAY" "$([[ $code == 200 ]] && echo 1 || echo 0)"
  } | publish lan-gateway
fi
