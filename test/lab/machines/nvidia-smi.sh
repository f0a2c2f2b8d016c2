#!/usr/bin/env bash
# The lab's card (gpu1 has none): nvidia-smi's answers to the queries the estate asks, as the
# driver prints them for one RTX PRO 6000 Blackwell on the 580 branch (97887 MiB seen by CUDA),
# with the memory the lab's vLLM stand-ins hold (their claims in the card folder, as
# test/serving/standInVllm.ts writes them); anything else is refused as nvidia-smi refuses a
# query it does not know.
set -euo pipefail
card=${INFERNUS_LAB_CARD:-/dev/shm/infernus-lab-card}
total=97887
# Each claim is one number without a newline: awk reads them file by file.
used=$(awk '{ n += $1 } END { printf "%d\n", n }' "$card"/*.mib 2>/dev/null || echo 0)
case "$*" in
*--query-gpu=temperature.gpu,power.draw,memory.used,clocks_event_reasons.active,ecc.errors.uncorrected.volatile.total,driver_version,name*--format=csv,noheader,nounits*)
  echo "41, 72.35, $used, 0x0000000000000000, 0, 580.95.05, NVIDIA RTX PRO 6000 Blackwell Workstation Edition"
  ;;
"--query-gpu=memory.free --format=csv,noheader,nounits -i 0")
  echo "$((total - used))"
  ;;
*)
  echo "nvidia-smi (lab stand-in): only the estate's queries are answered here" >&2
  exit 2
  ;;
esac
