#!/usr/bin/env bash
# Helpers shared by every infernus host script. A step's stdin inlines this file before its
# script; a script run by hand sources it from beside itself. INFERNUS_ROOT prefixes every path
# the helpers write (empty on a host; a scratch folder in tests).
# shellcheck disable=SC2034 # INFERNUS_LIB is read by the scripts that source this file
INFERNUS_LIB=1
INFERNUS_ROOT=${INFERNUS_ROOT:-}
# The paths install_file wrote in this run (see changed).
INFERNUS_WRITTEN=()

log() {
  printf 'infernus[%s]: %s\n' "${INFERNUS_STEP:-${0##*/}}" "$*"
}

# Stops the script: what is wrong, why, and how to fix it, in one message.
refuse() {
  printf 'infernus: refused: %s\n' "$*" >&2
  exit 1
}

need_root() {
  [[ $(id -u) == 0 || -n $INFERNUS_ROOT ]] || refuse "${0##*/} changes system files; run it as root (sudo)"
}

# The distributions whose archives carry every package the steps install, under the names the
# steps use: this is the one place that decides. (A GPU server needs Ubuntu's, for Canonical's
# signed NVIDIA drivers: its preflight says so.)
SUPPORTED_OS="ubuntu 24.04, debian 12, debian 13"

# The host's distribution and release, as "ubuntu 24.04" or "debian 12", from os-release.
host_os() {
  # shellcheck disable=SC1091 # the host's own file
  (. "$INFERNUS_ROOT/etc/os-release" 2>/dev/null && echo "${ID:-unknown} ${VERSION_ID:-?}") || echo "unknown ?"
}

# apt_install [--no-start] PACKAGE…: installs the packages that are missing; does nothing when all
# are present. --no-start: their services do not start on install (policy-rc.d says no), for a
# step whose files are in place before the package: the script checks them and starts the
# services itself (nginx would start on a configuration nothing has checked yet, NUT's
# enumerator would wait 90 s on its own start job).
apt_install() {
  local missing=() pkg os no_start=0 policy=$INFERNUS_ROOT/usr/sbin/policy-rc.d made_policy=0 status=0
  if [[ ${1:-} == --no-start ]]; then
    no_start=1
    shift
  fi
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  os=$(host_os)
  [[ ", $SUPPORTED_OS, " == *", $os, "* ]] ||
    refuse "this host runs $os and needs ${missing[*]}; infernus installs packages on $SUPPORTED_OS only: reinstall the machine with one of them"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  if ((no_start)) && [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# infernus: services start once their step has checked them\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    made_policy=1
  fi
  # A step writes its files before its script runs, so a package can meet its own conffile
  # already there (/etc/default/prometheus-node-exporter, /etc/nut/*): dpkg would ask, with no
  # one to answer, and fail. Keep the step's file, as a person would.
  apt-get -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    install -y -qq --no-install-recommends "${missing[@]}" || status=$?
  ((made_policy == 0)) || rm -f "$policy"
  return "$status"
}

# install_file PATH MODE [OWNER] < base64: writes the decoded bytes atomically when they differ,
# and sets mode and owner either way. Logs the path, never the content.
install_file() {
  local path=$INFERNUS_ROOT$1 mode=$2 owner=${3:-root:root} tmp
  mkdir -p "$(dirname "$path")"
  tmp=$(mktemp "$path.infernus.XXXXXX")
  chmod 600 "$tmp"
  base64 -d >"$tmp"
  if [[ -f $path ]] && cmp -s "$tmp" "$path"; then
    rm -f "$tmp"
  else
    mv -f "$tmp" "$path"
    INFERNUS_WRITTEN+=("$1")
    log "wrote $1"
  fi
  chmod "$mode" "$path"
  [[ -n $INFERNUS_ROOT ]] || chown "$owner" "$path"
}

# changed [PATH…]: whether this run wrote any of these files (without PATH: any file at all). A
# step restarts a service only then, or when it is not running: run again with nothing new, it
# leaves every service alone.
changed() {
  local path written
  (($# > 0)) || ((${#INFERNUS_WRITTEN[@]} == 0)) || return 0
  for path in "$@"; do
    for written in "${INFERNUS_WRITTEN[@]}"; do [[ $written != "$path" ]] || return 0; done
  done
  return 1
}

# restart_if UNIT [PATH…]: restarts UNIT when this run changed one of the paths (without PATH: any
# file) or when it is not running.
restart_if() {
  local unit=$1
  shift
  if changed "$@" || ! systemctl is-active --quiet "$unit"; then systemctl restart "$unit"; fi
}

# Waits for a command to succeed: wait_for SECONDS DESCRIPTION COMMAND...
wait_for() {
  local seconds=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + seconds))
  until "$@"; do
    ((SECONDS < deadline)) || refuse "$what did not happen within ${seconds}s"
    sleep 2
  done
}

# Prints stdin and keeps a copy in $REPORT (a step with a report, see RemoteHost): an update that
# only changes the connection prints the copy again. Reports hold no secrets; they are world-readable.
keep_report() {
  local path=$INFERNUS_ROOT${REPORT:?a step with a report gets REPORT}
  mkdir -p "$(dirname "$path")"
  tee "$path.tmp"
  chmod 0644 "$path.tmp"
  mv -f "$path.tmp" "$path"
}
