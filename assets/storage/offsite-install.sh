#!/usr/bin/env bash
# Installs rclone and the daily encrypted offsite copy (infernus-offsite.timer).
#   usage: sudo ./offsite-install.sh
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_root

apt_install rclone
systemctl daemon-reload
systemctl enable --quiet --now infernus-offsite.timer
log "offsite copy scheduled: $(systemctl show -p TimersCalendar --value infernus-offsite.timer 2>/dev/null || echo daily)"
