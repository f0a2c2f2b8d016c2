#!/usr/bin/env bash
# Prometheus, Alertmanager and the blackbox exporter on the edge, with the rendered configs; each
# config is checked by its own tool before anything restarts.
#   usage: sudo ./prometheus.sh
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_root

apt_install prometheus prometheus-alertmanager prometheus-blackbox-exporter
for file in prometheus.yml alertmanager.yml rules/infernus.rules.yml blackbox.yml; do
  chown root:prometheus "$INFERNUS_ROOT/etc/prometheus/$file"
done
chmod 0640 "$INFERNUS_ROOT/etc/prometheus/alertmanager.yml"
# The keys that read apps' metrics: the group exists only once the packages are in.
if [[ -d $INFERNUS_ROOT/etc/prometheus/keys ]]; then
  chown -R root:prometheus "$INFERNUS_ROOT/etc/prometheus/keys"
  chmod 0750 "$INFERNUS_ROOT/etc/prometheus/keys"
fi
check=$(promtool check config /etc/prometheus/prometheus.yml 2>&1) || refuse "promtool rejected the Prometheus config: ${check//$'\n'/ }"
check=$(amtool check-config /etc/prometheus/alertmanager.yml 2>&1) || refuse "amtool rejected the Alertmanager config: ${check//$'\n'/ }"
for service in prometheus prometheus-alertmanager prometheus-blackbox-exporter; do
  systemctl enable --quiet "$service"
  restart_if "$service"
done
log "Prometheus, Alertmanager and the gateway probe running"
