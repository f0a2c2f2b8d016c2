#!/usr/bin/env bash
# The GPU server's base: time zone and NTP, the sysctls and journald limits in place.
#   usage: sudo TIMEZONE=Asia/Bangkok SYSCTL=/etc/sysctl.d/60-infernus-gpu.conf ./base.sh
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
: "${TIMEZONE:?set TIMEZONE, e.g. Asia/Bangkok} ${SYSCTL:?}"
need_root

# Ubuntu has timesyncd from the start, a minimal Debian does not: without it there is no NTP to
# set. First: timedated reads which NTP services exist when it starts.
apt_install systemd-timesyncd
[[ -e /usr/share/zoneinfo/$TIMEZONE ]] || refuse "time zone $TIMEZONE is unknown here (timedatectl list-timezones); fix servers[].timezone"
[[ $(timedatectl show -p Timezone --value) == "$TIMEZONE" ]] || timedatectl set-timezone "$TIMEZONE"
timedatectl set-ntp true
sysctl -q -p "$INFERNUS_ROOT$SYSCTL"
restart_if systemd-journald /etc/systemd/journald.conf.d/60-infernus.conf
log "time zone $TIMEZONE with NTP, sysctls and journald limits in place"
