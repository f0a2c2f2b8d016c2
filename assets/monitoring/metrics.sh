#!/usr/bin/env bash
# infernus-metrics: writes node_exporter textfile metrics for what node_exporter cannot see: the
# GPUs (nvidia-smi), the UPS (upsc, with staleness), the newest snapshot per dataset, model weights,
# and WireGuard handshakes. What to read comes from /etc/infernus/metrics.conf:
#   GPU=1  UPS=apc  DATASETS="tank/rag tank/state"  MODELS_LIST=/etc/infernus/models.list  WG=wg0
#   usage: infernus-metrics DIR
set -uo pipefail
dir=${1:?usage: infernus-metrics DIR}
conf=${INFERNUS_METRICS_CONF:-/etc/infernus/metrics.conf}
root=${INFERNUS_ROOT:-}
GPU=0 UPS='' DATASETS='' MODELS_LIST='' WG=''
# shellcheck source=/dev/null
[[ -r $conf ]] && . "$conf"
mkdir -p "$dir"

# Writes stdin to DIR/NAME.prom in one rename, so node_exporter never reads half a file.
publish() {
  cat >"$dir/$1.prom.tmp" && mv "$dir/$1.prom.tmp" "$dir/$1.prom"
}

if [[ $GPU == 1 ]]; then
  {
    echo "# TYPE infernus_gpu_temperature_celsius gauge"
    echo "# TYPE infernus_gpu_power_watts gauge"
    echo "# TYPE infernus_gpu_memory_used_bytes gauge"
    echo "# TYPE infernus_gpu_thermal_throttle gauge"
    echo "# TYPE infernus_gpu_ecc_uncorrected_errors_total counter"
    index=0
    while IFS=, read -r temperature power memory reasons ecc; do
      reasons=${reasons// /}
      # Event reasons 0x20 (software thermal), 0x40 (hardware thermal), 0x80 (power brake).
      throttle=$(((reasons & 0xE0) != 0 ? 1 : 0))
      printf 'infernus_gpu_temperature_celsius{gpu="%s"} %s\n' "$index" "${temperature// /}"
      printf 'infernus_gpu_power_watts{gpu="%s"} %s\n' "$index" "${power// /}"
      printf 'infernus_gpu_memory_used_bytes{gpu="%s"} %s\n' "$index" "$((${memory// /} * 1048576))"
      printf 'infernus_gpu_thermal_throttle{gpu="%s"} %s\n' "$index" "$throttle"
      [[ ${ecc// /} =~ ^[0-9]+$ ]] && printf 'infernus_gpu_ecc_uncorrected_errors_total{gpu="%s"} %s\n' "$index" "${ecc// /}"
      index=$((index + 1))
    done < <(nvidia-smi --query-gpu=temperature.gpu,power.draw,memory.used,clocks_event_reasons.active,ecc.errors.uncorrected.volatile.total --format=csv,noheader,nounits 2>/dev/null)
  } | publish gpu
fi

if [[ -n $UPS ]]; then
  status=$(upsc "$UPS@localhost" ups.status 2>&1)
  stale=0
  [[ $status == *"Data stale"* || $status == *"Error"* ]] && stale=1
  charge=$(upsc "$UPS@localhost" battery.charge 2>/dev/null || echo NaN)
  {
    echo "# TYPE infernus_ups_on_battery gauge"
    printf 'infernus_ups_on_battery{ups="%s"} %s\n' "$UPS" "$([[ $stale == 0 && " $status " == *" OB "* ]] && echo 1 || echo 0)"
    printf 'infernus_ups_low_battery{ups="%s"} %s\n' "$UPS" "$([[ $stale == 0 && " $status " == *" LB "* ]] && echo 1 || echo 0)"
    printf 'infernus_ups_data_stale{ups="%s"} %s\n' "$UPS" "$stale"
    printf 'infernus_ups_battery_charge_percent{ups="%s"} %s\n' "$UPS" "$charge"
  } | publish ups
fi

if [[ -n $DATASETS ]]; then
  {
    echo "# TYPE infernus_zfs_latest_snapshot_timestamp_seconds gauge"
    for dataset in $DATASETS; do
      newest=$(zfs list -H -p -t snapshot -o creation -s creation "$dataset" 2>/dev/null | tail -1)
      printf 'infernus_zfs_latest_snapshot_timestamp_seconds{dataset="%s"} %s\n' "$dataset" "${newest:-0}"
    done
  } | publish snapshots
fi

if [[ -n $MODELS_LIST && -r $MODELS_LIST ]]; then
  {
    echo "# TYPE infernus_model_weights_complete gauge"
    while read -r name _repo _bytes modeldir; do
      [[ -n $name ]] || continue
      printf 'infernus_model_weights_complete{model="%s"} %s\n' "$name" "$([[ -e $modeldir/.infernus-complete ]] && echo 1 || echo 0)"
    done <"$MODELS_LIST"
  } | publish models
fi

if [[ -n $WG ]]; then
  now=$(date +%s)
  {
    echo "# TYPE infernus_wireguard_handshake_age_seconds gauge"
    while read -r key latest; do
      peer=$(grep -B3 -F "PublicKey = $key" "$root/etc/wireguard/$WG.conf" 2>/dev/null | sed -n 's/^# \([a-z0-9-]*\) .*/\1/p' | tail -1)
      # Never shaken hands: as old as the epoch, so it alerts.
      printf 'infernus_wireguard_handshake_age_seconds{peer="%s"} %s\n' "${peer:-$key}" "$((now - latest))"
    done < <(wg show "$WG" latest-handshakes 2>/dev/null)
  } | publish wireguard
fi
