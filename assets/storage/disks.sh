#!/usr/bin/env bash
# shellcheck shell=bash
# What the running system uses on a disk, for the preflight and the ZFS step: neither puts a pool
# on the disk that holds the OS. Sourced.
# shellcheck disable=SC2034 # INFERNUS_DISKS_LIB is read by the scripts that source this file
INFERNUS_DISKS_LIB=1

# disk_in_use DISK [POOL]: what the running system uses on DISK (a /dev/disk/by-id path), as
# "/ on /dev/nvme0n1p2, swap on /dev/nvme0n1p3"; nothing when the disk is free. It counts every
# filesystem mounted from the disk or from anything on it (partitions, and LVM, LUKS or md above
# them: lsblk lists them all below the disk), active swap, and membership of an imported ZFS pool
# other than POOL. ZFS datasets never show as lsblk mountpoints (their source is the dataset, not
# a device), so a pool's own disks pass; ZFS on root is caught by its pool's zfs_member label.
# lsblk's MOUNTPOINTS column needs util-linux 2.37 or newer (Ubuntu 24.04 has 2.39).
disk_in_use() {
  local disk=$1 pool=${2:-} dev line name fstype label mounts mount swaps imported uses=""
  local pair='^NAME="([^"]*)" FSTYPE="([^"]*)" LABEL="([^"]*)" MOUNTPOINTS="([^"]*)"$'
  dev=$(readlink -f "$INFERNUS_ROOT$disk")
  dev=${dev#"$INFERNUS_ROOT"}
  swaps=" $(swapon --show=NAME --noheadings --raw 2>/dev/null | xargs -r readlink -m | tr '\n' ' ') "
  imported=" $({ command -v zpool >/dev/null && zpool list -H -o name 2>/dev/null; } | tr '\n' ' ') "
  # -P prints key="value" pairs: empty columns stay in place, and quotes in values come as \x22.
  while read -r line; do
    [[ $line =~ $pair ]] || continue
    name=${BASH_REMATCH[1]} fstype=${BASH_REMATCH[2]} label=${BASH_REMATCH[3]} mounts=${BASH_REMATCH[4]}
    while read -r mount; do
      case $mount in
        "") ;;
        "[SWAP]") uses=$(add_use "$uses" "swap on $name") ;;
        *) uses=$(add_use "$uses" "$mount on $name") ;;
      esac
    done <<<"${mounts//\\x0a/$'\n'}"
    [[ $swaps != *" $(readlink -m "$name") "* ]] || uses=$(add_use "$uses" "swap on $name")
    if [[ $fstype == zfs_member && $label != "$pool" && $imported == *" $label "* ]]; then
      uses=$(add_use "$uses" "pool $label on $name")
    fi
  done < <(lsblk -nPpo NAME,FSTYPE,LABEL,MOUNTPOINTS "$dev" 2>/dev/null)
  printf '%s' "$uses"
}

# add_use LIST ITEM: LIST with ITEM appended once (lsblk shows an md or LVM device below each of its disks).
add_use() {
  if [[ ", $1, " == *", $2, "* ]]; then printf '%s' "$1"; else printf '%s' "${1:+$1, }$2"; fi
}

# os_disk_problem POOL DISK: why DISK cannot be a member of POOL, or nothing when the system uses none of it.
os_disk_problem() {
  local pool=$1 disk=$2 uses dev
  uses=$(disk_in_use "$disk" "$pool")
  [[ -n $uses ]] || return 0
  dev=$(readlink -f "$INFERNUS_ROOT$disk")
  printf '%s (%s) is in use by the running system: %s; pick another disk for pool %s in the stack file: the OS disk is never a pool member, and wipe: true does not override this' \
    "$disk" "${dev#"$INFERNUS_ROOT"}" "$uses" "$pool"
}
