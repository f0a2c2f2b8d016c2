#!/usr/bin/env bash
# sshd without passwords or root logins, and unattended security upgrades. A drop-in sshd rejects
# is removed again before anything reloads, so a bad one never reaches the running daemon.
#   usage: sudo SSHD_DROP_IN=/etc/ssh/sshd_config.d/10-infernus.conf ./hardening.sh
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
: "${SSHD_DROP_IN:?set SSHD_DROP_IN, e.g. /etc/ssh/sshd_config.d/10-infernus.conf}"
need_root

apt_install unattended-upgrades openssh-server

if ! check=$(sshd -t 2>&1); then
  rm -f "$INFERNUS_ROOT$SSHD_DROP_IN"
  refuse "sshd rejected $SSHD_DROP_IN, so it was removed and sshd keeps its settings: ${check//$'\n'/ }"
fi
# Ubuntu 24.04 starts sshd from ssh.socket: a reload reaches a running daemon, new ones read the files.
systemctl try-reload-or-restart ssh
systemctl enable --quiet --now unattended-upgrades
log "sshd and unattended upgrades in line"
