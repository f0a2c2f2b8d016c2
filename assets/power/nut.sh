#!/usr/bin/env bash
# NUT in standalone mode for the UPS named $UPS, with infernus-drain as the shutdown command.
# Fails, saying where to look, when the driver cannot read the UPS.
#   usage: sudo UPS=apc ./nut.sh
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
: "${UPS:?set UPS, e.g. apc}"
need_root

apt_install nut-server nut-client util-linux
for file in nut.conf ups.conf upsd.conf upsd.users upsmon.conf; do
  chown root:nut "$INFERNUS_ROOT/etc/nut/$file"
  chmod 0640 "$INFERNUS_ROOT/etc/nut/$file"
done
systemctl restart nut-driver-enumerator.service 2>/dev/null || true
systemctl enable --quiet nut-server.service nut-monitor.service
systemctl restart nut-server.service nut-monitor.service
wait_for 60 "NUT reading the UPS $UPS (check the USB cable; journalctl -u nut-driver@$UPS)" upsc "$UPS@localhost" ups.status
log "UPS $UPS: $(upsc "$UPS@localhost" ups.status 2>/dev/null), battery $(upsc "$UPS@localhost" battery.charge 2>/dev/null || echo ?)%"
