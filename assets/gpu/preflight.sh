#!/usr/bin/env bash
# Checks, and changes nothing: the OS, free disk, Secure Boot, the GPUs, RAM, NUMA nodes, disks and
# pool disks the running system uses, against what the stack file declares. Stops the run with one
# line per mismatch.
#   usage: sudo GPUS=$'rtx-pro-6000-blackwell-workstation|RTX PRO 6000 Blackwell Workstation Edition|12.0|96' \
#            AMD_GPUS=1 DISKS="/dev/disk/by-id/nvme-…" POOLS='tank|mirror|/dev/disk/by-id/nvme-…|' \
#            MEMORY_GIB=128 NUMA_NODES=1 MIN_FREE_GIB=20 ./preflight.sh
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# shellcheck source=assets/gpu/inventory.sh
[[ -v INFERNUS_GPU_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/inventory.sh"
# shellcheck source=assets/storage/disks.sh
[[ -v INFERNUS_DISKS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../storage/disks.sh"
GPUS=${GPUS:-} AMD_GPUS=${AMD_GPUS:-0} DISKS=${DISKS:-} POOLS=${POOLS:-} MEMORY_GIB=${MEMORY_GIB:-} NUMA_NODES=${NUMA_NODES:-1} MIN_FREE_GIB=${MIN_FREE_GIB:-20}
need_root
host=$(hostname)
problems=()

os=$(host_os)
[[ $os == "ubuntu 24.04" ]] ||
  problems+=("the OS is $os; a GPU server runs Ubuntu 24.04, whose archive carries Canonical's signed NVIDIA drivers (an edge may also run Debian 12 or 13): reinstall it with Ubuntu 24.04")
log "kernel $(uname -r)"

free=$(df -BG --output=avail / | tail -1 | tr -dc 0-9)
((free >= MIN_FREE_GIB)) || problems+=("/ has ${free} GiB free, the driver and packages need ${MIN_FREE_GIB} GiB (servers[].minFreeDiskGiB)")

if command -v mokutil >/dev/null; then
  case $(mokutil --sb-state 2>&1) in
    *"SecureBoot enabled"*) log "Secure Boot is on: Ubuntu's signed precompiled NVIDIA modules load without MOK enrolment" ;;
    *) log "Secure Boot is off" ;;
  esac
fi

nvidia_declared=$(grep -c . <<<"$GPUS" || true)
nvidia_present=$(pci_gpu_count 10de)
((nvidia_present == nvidia_declared)) ||
  problems+=("$nvidia_declared NVIDIA GPU(s) declared, the PCI bus shows $nvidia_present: check the card is seated and powered (Above 4G decoding on in the BIOS), or fix servers[].gpus")
amd_present=$(pci_gpu_count 1002)
((amd_present >= AMD_GPUS)) || problems+=("$AMD_GPUS AMD GPU(s) declared, the PCI bus shows $amd_present")

if command -v nvidia-smi >/dev/null && inventory=$(gpu_inventory 2>/dev/null); then
  while IFS='|' read -r index name bus driver cc memory _; do
    log "GPU $index: $name at $bus, driver $driver, compute capability $cc, $memory MiB"
  done <<<"$inventory"
  while read -r mismatch; do [[ -n $mismatch ]] && problems+=("$mismatch"); done < <(check_gpus "$GPUS" "$inventory")
else
  log "no working nvidia-smi yet: the driver step installs it"
fi

if [[ -n $MEMORY_GIB ]]; then
  ram=$(($(awk '/^MemTotal:/ { print $2 }' "$INFERNUS_ROOT/proc/meminfo") / 1024 / 1024))
  # The kernel keeps a few GiB to itself: 128 GiB installed shows as about 125.
  ((ram * 100 >= MEMORY_GIB * 90 && ram <= MEMORY_GIB)) || problems+=("memoryGiB is $MEMORY_GIB, the kernel sees $ram GiB: fix servers[].memoryGiB, or check the modules are seated")
fi

nodes=$(find "$INFERNUS_ROOT/sys/devices/system/node" -maxdepth 1 -name 'node[0-9]*' 2>/dev/null | wc -l)
((nodes == 0 || nodes == NUMA_NODES)) || problems+=("numaNodes is $NUMA_NODES, the machine has $nodes NUMA node(s)")

for disk in $DISKS; do
  [[ -e $INFERNUS_ROOT$disk ]] || problems+=("$disk is not there: see ls -l /dev/disk/by-id and fix servers[].disks")
done

# POOLS as the ZFS step reads them (name|layout|disk,disk;disk|wipe). A pool already imported under
# its name is kept by that step, so its disks are not looked at; wipe: true changes nothing here.
while IFS='|' read -r pool _ vdevs _; do
  [[ -n $pool ]] || continue
  command -v zpool >/dev/null && zpool list -H -o name "$pool" >/dev/null 2>&1 && continue
  for disk in ${vdevs//[,;]/ }; do
    [[ -e $INFERNUS_ROOT$disk ]] || continue # said above, from DISKS
    problem=$(os_disk_problem "$pool" "$disk")
    [[ -z $problem ]] || problems+=("$problem")
  done
done <<<"$POOLS"

((${#problems[@]} == 0)) || refuse "$host does not match the stack file:$(printf '\n  %s' "${problems[@]}")"
log "$host matches the stack file"
