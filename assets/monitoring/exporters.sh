#!/usr/bin/env bash
# node_exporter on this host's tunnel address (or loopback on the edge), with the textfile
# metrics infernus-metrics writes every 15 s.
#   usage: sudo TEXTFILE_DIR=/var/lib/node_exporter/textfile ./exporters.sh
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
: "${TEXTFILE_DIR:?}"
need_root

apt_install prometheus-node-exporter
mkdir -p "$INFERNUS_ROOT$TEXTFILE_DIR"
systemctl daemon-reload
systemctl enable --quiet --now infernus-metrics.timer
systemctl enable --quiet prometheus-node-exporter
restart_if prometheus-node-exporter /etc/default/prometheus-node-exporter
log "node_exporter and infernus-metrics running"
