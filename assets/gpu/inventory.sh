#!/usr/bin/env bash
# shellcheck shell=bash
# GPU facts as infernus reads them, shared by the preflight and the driver check. Sourced.
# shellcheck disable=SC2034 # INFERNUS_GPU_LIB is read by the scripts that source this file
INFERNUS_GPU_LIB=1

# The same fields, in the same order, as the captured reference output the tests parse.
GPU_QUERY=name,pci.bus_id,driver_version,compute_cap,memory.total,power.limit,power.min_limit,power.max_limit,power.default_limit,temperature.gpu,persistence_mode,ecc.mode.current,clocks_throttle_reasons.active

trim() {
  local s=$1
  s=${s#"${s%%[![:space:]]*}"}
  printf '%s' "${s%"${s##*[![:space:]]}"}"
}

# One line per NVIDIA GPU as the driver sees it: index|name|bus|driver|compute capability|memory MiB|power limit|min|max
gpu_inventory() {
  local csv index=0 name bus driver cc memory limit min max _
  csv=$(nvidia-smi --query-gpu="$GPU_QUERY" --format=csv,noheader,nounits) || return 1
  while IFS=, read -r name bus driver cc memory limit min max _; do
    printf '%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$index" "$(trim "$name")" "$(trim "$bus")" "$(trim "$driver")" "$(trim "$cc")" \
      "$(trim "$memory")" "$(trim "$limit")" "$(trim "$min")" "$(trim "$max")"
    index=$((index + 1))
  done <<<"$csv"
}

# Display and 3D controllers of a PCI vendor (10de NVIDIA, 1002 AMD) on the bus.
pci_gpu_count() {
  lspci -n -d "$1:" | awk '$2 ~ /^03/' | wc -l
}

# check_gpus EXPECTED INVENTORY: one message per declared NVIDIA GPU the driver does not show as
# declared. EXPECTED lines: model|marketing name|compute capability|memory GiB.
check_gpus() {
  local expected=$1 inventory=$2 i=0 model name cc gib line found_name found_cc found_memory
  local found_count
  found_count=$(grep -c . <<<"$inventory" || true)
  while IFS='|' read -r model name cc gib; do
    [[ -n $model ]] || continue
    line=$(awk -F'|' -v i="$i" '$1 == i' <<<"$inventory")
    if [[ -z $line ]]; then
      echo "GPU $i: declared $model, but nvidia-smi lists $found_count GPU(s)"
    else
      IFS='|' read -r _ found_name _ _ found_cc found_memory _ <<<"$line"
      [[ $found_name == *"$name"* ]] || echo "GPU $i: declared $model ($name), nvidia-smi says $found_name"
      [[ -z $cc || $found_cc == "$cc" ]] || echo "GPU $i: $found_name reports compute capability $found_cc, expected $cc"
      # nvidia-smi reports a little under the nominal size (81559 MiB on an 80 GB card).
      if ((found_memory * 100 < gib * 1024 * 97)); then
        echo "GPU $i: $found_name has $found_memory MiB, expected about $gib GiB"
      fi
    fi
    i=$((i + 1))
  done <<<"$expected"
}
