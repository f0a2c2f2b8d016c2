#!/usr/bin/env bash
# ZFS pools and datasets as declared. A pool that exists is kept, one whose disks moved here is
# imported, and a new one is created only on disks that carry no signature: a disk holding
# anything is refused by name unless the stack file says wipe: true for it, and a disk the running
# system uses (/, /boot, any mount, swap, another imported pool) is refused even then. Never destroys.
#   usage: sudo POOLS='tank|mirror|/dev/disk/by-id/a,/dev/disk/by-id/b|' \
#            DATASETS='tank/models|/srv/models|recordsize=1M' ARC_MAX_BYTES=34359738368 ./zfs.sh
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# shellcheck source=assets/storage/disks.sh
[[ -v INFERNUS_DISKS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/disks.sh"
: "${POOLS:?} ${DATASETS:?} ${ARC_MAX_BYTES:?}"
need_root

apt_install zfsutils-linux sanoid
problems=()

create_pool() {
  local name=$1 layout=$2 vdevs=$3 wipe=$4 group disk kind problem entry blocked=() erase=() args=()
  local -a groups disks
  IFS=';' read -ra groups <<<"$vdevs"
  for group in "${groups[@]}"; do
    IFS=',' read -ra disks <<<"$group"
    ((${#disks[@]} > 1)) && args+=("$layout")
    for disk in "${disks[@]}"; do
      args+=("$disk")
      if [[ ! -e $INFERNUS_ROOT$disk ]]; then
        blocked+=("$disk is not there (ls -l /dev/disk/by-id)")
        continue
      fi
      problem=$(os_disk_problem "$name" "$disk")
      if [[ -n $problem ]]; then
        blocked+=("$problem")
        continue
      fi
      kind=$(blkid -p -o value -s TYPE "$disk" 2>/dev/null || true)
      [[ -n $kind ]] || kind=$(blkid -p -o value -s PTTYPE "$disk" 2>/dev/null | sed 's/$/ partition table/' || true)
      [[ -n $kind ]] || continue
      if [[ " $wipe " == *" $disk "* ]]; then
        erase+=("$disk|$kind")
      else
        blocked+=("$disk holds $kind; set wipe: true for it in the stack file to erase it")
      fi
    done
  done
  if ((${#blocked[@]} > 0)); then
    problems+=("pool $name was not created:" "${blocked[@]/#/  }")
    return
  fi
  # Only now that every disk of the pool passed: a refused pool leaves all its disks as they were.
  for entry in "${erase[@]}"; do
    wipefs --all --quiet "${entry%%|*}"
    log "wiped ${entry%%|*}, which held ${entry#*|} (wipe: true)"
  done
  zpool create -o ashift=12 -O compression=lz4 -O atime=off -O xattr=sa -O acltype=posixacl -O mountpoint=none "$name" "${args[@]}"
  log "created pool $name"
}

while IFS='|' read -r name layout vdevs wipe; do
  [[ -n $name ]] || continue
  if zpool list -H -o name "$name" >/dev/null 2>&1; then
    log "pool $name is here ($(zpool list -H -o health "$name"))"
  elif zpool import -d /dev/disk/by-id 2>/dev/null | grep -q "^ *pool: $name\$"; then
    zpool import -d /dev/disk/by-id -N "$name"
    log "imported pool $name: its disks came with them"
  else
    create_pool "$name" "$layout" "$vdevs" "$wipe"
  fi
done <<<"$POOLS"
((${#problems[@]} == 0)) || refuse "ZFS:$(printf '\n  %s' "${problems[@]}")"

while IFS='|' read -r dataset mountpoint properties; do
  [[ -n $dataset ]] || continue
  wanted=("mountpoint=$mountpoint")
  IFS=',' read -ra more <<<"$properties"
  wanted+=("${more[@]}")
  if ! zfs list -H -o name "$dataset" >/dev/null 2>&1; then
    zfs create -p "${wanted[@]/#/-o}" "$dataset"
    log "created $dataset"
    continue
  fi
  for pair in "${wanted[@]}"; do
    [[ $(zfs get -H -o value "${pair%%=*}" "$dataset") == "${pair#*=}" ]] || zfs set "$pair" "$dataset"
  done
done <<<"$DATASETS"

# The ceiling from /etc/modprobe.d/zfs.conf applies at boot; set it now as well.
arc=$INFERNUS_ROOT/sys/module/zfs/parameters/zfs_arc_max
if [[ -w $arc && $(cat "$arc") != "$ARC_MAX_BYTES" ]]; then
  echo "$ARC_MAX_BYTES" >"$arc"
  update-initramfs -u
  log "ARC capped at $((ARC_MAX_BYTES / 1024 / 1024 / 1024)) GiB"
fi
systemctl daemon-reload
systemctl enable --quiet --now sanoid.timer
if [[ -f $INFERNUS_ROOT/etc/systemd/system/infernus-syncoid.timer ]]; then
  systemctl enable --quiet --now infernus-syncoid.timer
fi
log "pools and datasets in line"
