#!/usr/bin/env bash
# Waits for the droplet's first boot (cloud-init) to finish before any other step touches it.
#   usage: sudo ./cloud-init-wait.sh
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_root

# Exit 2 means finished with recoverable errors: worth a look, not a reason to stop.
rc=0
timeout 900 cloud-init status --wait >/dev/null || rc=$?
case $rc in
  0) log "cloud-init finished" ;;
  2) log "cloud-init finished with recoverable errors; see 'cloud-init status --long'" ;;
  *) refuse "cloud-init did not finish on $(hostname) (exit $rc) within 15 minutes; read 'cloud-init status --long' and /var/log/cloud-init-output.log there" ;;
esac
