#!/usr/bin/env bash
# Helpers shared by every infernus host script. A step's stdin inlines this file before its
# script; a script run by hand sources it from beside itself. INFERNUS_ROOT prefixes every path
# the helpers write (empty on a host; a scratch folder in tests).
# shellcheck disable=SC2034 # INFERNUS_LIB is read by the scripts that source this file
INFERNUS_LIB=1
INFERNUS_ROOT=${INFERNUS_ROOT:-}

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

# Installs the Debian packages that are missing; does nothing when all are present.
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  # A step writes its files before its script runs, so a package can meet its own conffile
  # already there (/etc/default/prometheus-node-exporter, /etc/nut/*): dpkg would ask, with no
  # one to answer, and fail. Keep the step's file, as a person would.
  apt-get -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    install -y -qq --no-install-recommends "${missing[@]}"
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
    log "wrote $1"
  fi
  chmod "$mode" "$path"
  [[ -n $INFERNUS_ROOT ]] || chown "$owner" "$path"
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
