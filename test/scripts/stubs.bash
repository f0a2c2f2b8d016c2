# Test helpers for host scripts: a scratch root and stub commands that record how they were called.
# shellcheck shell=bash

setup_stubs() {
  export INFERNUS_ROOT=$BATS_TEST_TMPDIR/root STUBS=$BATS_TEST_TMPDIR/bin CALLS=$BATS_TEST_TMPDIR/calls
  mkdir -p "$INFERNUS_ROOT/etc" "$STUBS"
  printf 'ID=ubuntu\nVERSION_ID="24.04"\n' >"$INFERNUS_ROOT/etc/os-release"
  : >"$CALLS"
  export PATH=$STUBS:$PATH
}

# stub NAME [BODY]: a command that records its arguments, then runs BODY (default: exit 0).
stub() {
  local name=$1 body=${2:-}
  # shellcheck disable=SC2016 # $* and $CALLS expand inside the stub, when it runs
  printf '#!/usr/bin/env bash\necho "%s $*" >>"$CALLS"\n%s\n' "$name" "$body" >"$STUBS/$name"
  chmod +x "$STUBS/$name"
}

# run_step SCRIPT [PATH=CONTENT…]: SCRIPT as a step runs it: lib.sh, then install_file for each
# file, then the script, which sees what was written (changed, restart_if).
run_step() {
  local script=$1
  shift
  run bash -c 'source "$1"; script=$2; shift 2; for file in "$@"; do install_file "${file%%=*}" 0644 < <(base64 <<<"${file#*=}"); done; source "$script"' _ "$BATS_TEST_DIRNAME/../../assets/lib.sh" "$script" "$@"
}

# put FILE CONTENT: writes a file under the scratch root.
put() {
  mkdir -p "$(dirname "$INFERNUS_ROOT$1")"
  printf '%s' "$2" >"$INFERNUS_ROOT$1"
}

called() {
  grep -qxF -- "$1" "$CALLS"
}

# lacks PATTERN FILE: FILE has no line matching the extended regex.
lacks() {
  ! grep -Eq -- "$1" "$2"
}

not_called() {
  ! grep -q -- "$1" "$CALLS"
}

# stub_block_devices: lsblk answers for a device from $BATS_TEST_TMPDIR/lsblk/<its name> (see
# block_device), and as a bare disk otherwise; swapon lists $SWAPS as the active swap.
stub_block_devices() {
  mkdir -p "$BATS_TEST_TMPDIR/lsblk"
  # shellcheck disable=SC2016 # expands when the stub runs
  stub lsblk 'f=$BATS_TEST_TMPDIR/lsblk/${!###*/}
    if [[ -e $f ]]; then cat "$f"; else echo "NAME=\"${!#}\" FSTYPE=\"\" LABEL=\"\" MOUNTPOINTS=\"\""; fi'
  # shellcheck disable=SC2016
  stub swapon 'printf "%s\n" ${SWAPS:-}'
}

# block_device BY-ID DEV LINE...: /dev/disk/by-id/BY-ID links to /dev/DEV under the scratch root,
# and `lsblk -nPpo NAME,FSTYPE,LABEL,MOUNTPOINTS /dev/DEV` prints the LINEs (NAME FSTYPE LABEL MOUNTPOINTS,
# space-separated, - for empty, mountpoints joined by ,).
block_device() {
  local id=$1 dev=$2 name fstype label mounts
  shift 2
  mkdir -p "$INFERNUS_ROOT/dev/disk/by-id"
  : >"$INFERNUS_ROOT/dev/$dev"
  ln -sfn "../../$dev" "$INFERNUS_ROOT/dev/disk/by-id/$id"
  : >"$BATS_TEST_TMPDIR/lsblk/$dev"
  for line; do
    read -r name fstype label mounts <<<"$line"
    [[ $fstype != - ]] || fstype=""
    [[ $label != - ]] || label=""
    [[ $mounts != - ]] || mounts=""
    printf 'NAME="%s" FSTYPE="%s" LABEL="%s" MOUNTPOINTS="%s"\n' "$name" "$fstype" "$label" "${mounts//,/\\x0a}" >>"$BATS_TEST_TMPDIR/lsblk/$dev"
  done
}
