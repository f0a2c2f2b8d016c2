#!/usr/bin/env bash
# The lab's card (gpu1 has none): nvidia-smi's answer to the one query the estate's metrics ask,
# as the driver prints it for one RTX PRO 6000 Blackwell on the 580 branch; anything else is
# refused as nvidia-smi refuses a query it does not know.
set -euo pipefail
case "$*" in
*--query-gpu=temperature.gpu,power.draw,memory.used,clocks_event_reasons.active,ecc.errors.uncorrected.volatile.total,driver_version,name*--format=csv,noheader,nounits*)
  echo "41, 72.35, 1, 0x0000000000000000, 0, 580.95.05, NVIDIA RTX PRO 6000 Blackwell Workstation Edition"
  ;;
*)
  echo "nvidia-smi (lab stand-in): only the estate's metrics query is answered here" >&2
  exit 2
  ;;
esac
