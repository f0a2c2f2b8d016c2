#!/usr/bin/env bash
# After the driver step (and its reboot): the open module is loaded and nvidia-smi shows every
# declared GPU as declared. Prints the inventory on a line of its own for the stack outputs.
#   usage: sudo GPUS=$'model|marketing name|12.0|96' OPEN=1 REBOOT_MARKER=/var/lib/infernus/reboot-pending REPORT=/var/lib/infernus/reports/nvidia-verify ./nvidia-verify.sh
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# shellcheck source=assets/gpu/inventory.sh
[[ -v INFERNUS_GPU_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/inventory.sh"
: "${GPUS:?} ${REBOOT_MARKER:?} ${REPORT:?}"
OPEN=${OPEN:-1}
need_root

marker=$INFERNUS_ROOT$REBOOT_MARKER
if [[ -f $marker ]]; then
  [[ $(cat "$marker") != $(cat /proc/sys/kernel/random/boot_id) ]] ||
    refuse "$(hostname) has not rebooted since the driver was installed; reboot it (sudo reboot), then run 'pulumi up' again"
  rm -f "$marker"
fi

version=$INFERNUS_ROOT/proc/driver/nvidia/version
[[ -r $version ]] || refuse "the nvidia kernel module is not loaded: see 'journalctl -b -k | grep -i nvidia'; with Secure Boot on and DKMS-built modules, enrol the MOK key at the console"
if [[ $OPEN == 1 ]]; then
  grep -q "Open Kernel Module" "$version" || refuse "the proprietary nvidia module is loaded, this card needs the open one: $(head -1 "$version")"
  license=$(modinfo -F license nvidia)
  [[ $license == "Dual MIT/GPL" ]] || refuse "modinfo says the nvidia module's license is '$license', not 'Dual MIT/GPL': the open module is not the one installed"
fi
inventory=$(gpu_inventory) || refuse "nvidia-smi fails with the module loaded: $(nvidia-smi 2>&1 | head -1)"
mapfile -t mismatches < <(check_gpus "$GPUS" "$inventory")
if ((${#mismatches[@]} > 0)); then
  printf 'infernus: the driver does not show the declared GPUs:\n' >&2
  printf '  %s\n' "${mismatches[@]}" >&2
  exit 1
fi

systemctl enable --quiet --now nvidia-persistenced
json=$(awk -F'|' 'BEGIN { printf "[" } NR > 1 { printf "," } { printf "{\"index\":%s,\"name\":\"%s\",\"bus\":\"%s\",\"driver\":\"%s\",\"computeCapability\":\"%s\",\"memoryMiB\":%s}", $1, $2, $3, $4, $5, $6 } END { print "]" }' <<<"$inventory")
echo "INFERNUS_GPU_INVENTORY $json" | keep_report
log "driver and GPUs as declared"
