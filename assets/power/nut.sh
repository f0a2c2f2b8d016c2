#!/usr/bin/env bash
# NUT in standalone mode for the UPS named $UPS, with infernus-drain as the shutdown command.
# Fails, saying where to look, when the driver cannot read the UPS.
#   usage: sudo UPS=apc ./nut.sh
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
: "${UPS:?set UPS, e.g. apc}"
need_root

# Not started on install: the drivers, upsd and upsmon start below, once, with the step's files.
apt_install --no-start nut-server nut-client util-linux
for file in nut.conf ups.conf upsd.conf upsd.users upsmon.conf; do
  chown root:nut "$INFERNUS_ROOT/etc/nut/$file"
  chmod 0640 "$INFERNUS_ROOT/etc/nut/$file"
done
# The enumerator makes one driver unit per UPS in ups.conf; the server and monitor read the rest.
if changed /etc/nut/ups.conf; then systemctl restart nut-driver-enumerator.service 2>/dev/null || true; fi
systemctl enable --quiet nut-server.service nut-monitor.service
restart_if nut-server.service
restart_if nut-monitor.service
wait_for 60 "NUT reading the UPS $UPS (check the USB cable; journalctl -u nut-driver@$UPS)" upsc "$UPS@localhost" ups.status
log "UPS $UPS: $(upsc "$UPS@localhost" ups.status 2>/dev/null), battery $(upsc "$UPS@localhost" battery.charge 2>/dev/null || echo ?)%"
