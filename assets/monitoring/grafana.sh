#!/usr/bin/env bash
# Grafana on the edge from Grafana's own APT repository. apt trusts the repository's key only once
# it is the pinned one: the key is downloaded, the pinned primary key (with its subkeys) taken out
# of it, and only that is given to apt. The step's files (grafana.ini, the datasource, the
# dashboards, the admin's password) are in place before; the password is set again when it changes.
#   usage: sudo REPOSITORY=https://apt.grafana.com KEY_URL=https://apt.grafana.com/gpg-full.key \
#            KEY_FINGERPRINT=B53AE77BADB630A683046005963FA27710458545 HEALTH_URL=http://10.66.0.1:3030/api/health ./grafana.sh
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
: "${REPOSITORY:?}" "${KEY_URL:?}" "${KEY_FINGERPRINT:?}" "${HEALTH_URL:?}"
need_root

keyring=/etc/apt/keyrings/grafana.asc
password=/etc/grafana/infernus-admin-password
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# primary_keys FILE: the fingerprint of each primary key in an OpenPGP key file, one a line.
primary_keys() {
  gpg --batch --show-keys --with-colons "$1" 2>/dev/null | awk -F: '$1 == "pub" { want = 1; next } $1 == "fpr" && want { print $10; want = 0 }'
}

apt_install curl gnupg ca-certificates
if [[ ! -s $INFERNUS_ROOT$keyring || $(primary_keys "$INFERNUS_ROOT$keyring") != "$KEY_FINGERPRINT" ]]; then
  curl -fsSL --max-time 60 --retry 3 -o "$scratch/key" "$KEY_URL" ||
    refuse "could not download Grafana's signing key from $KEY_URL: the edge needs outbound HTTPS to apt.grafana.com"
  mkdir -m 0700 "$scratch/gnupg"
  gpg --homedir "$scratch/gnupg" --batch --quiet --import "$scratch/key" 2>/dev/null || true
  if ! gpg --homedir "$scratch/gnupg" --batch --list-keys "$KEY_FINGERPRINT" >/dev/null 2>&1; then
    found=$(primary_keys "$scratch/key" | paste -sd ' ' -)
    refuse "Grafana's signing key at $KEY_URL is ${found:-not an OpenPGP key}, not the pinned $KEY_FINGERPRINT: apt would trust packages signed by a key nobody checked. If Grafana announced a new key (https://apt.grafana.com/), set infernus:monitoring.grafanaKeyFingerprint to it"
  fi
  gpg --homedir "$scratch/gnupg" --batch --armor --export "$KEY_FINGERPRINT" >"$scratch/pinned.asc"
  install -D -m 0644 "$scratch/pinned.asc" "$INFERNUS_ROOT$keyring"
  log "trusting Grafana's signing key $KEY_FINGERPRINT"
fi
install_file /etc/apt/sources.list.d/grafana.sources 0644 < <(printf 'Types: deb\nURIs: %s\nSuites: stable\nComponents: main\nSigned-By: %s\n' "$REPOSITORY" "$keyring" | base64)
apt_install --no-start grafana

# The package's own rule: Grafana may read its configuration, not change it.
chown -R root:grafana "$INFERNUS_ROOT/etc/grafana"
chmod 0640 "$INFERNUS_ROOT/etc/grafana/grafana.ini" "$INFERNUS_ROOT$password"
systemctl daemon-reload
systemctl enable --quiet grafana-server
restart_if grafana-server
wait_for 120 "Grafana answering at $HEALTH_URL" curl -fsS -o /dev/null --max-time 5 "$HEALTH_URL"
# The admin exists from the first start on, with the password grafana.ini reads then; a new
# secret reaches it only through the CLI (as grafana: the database is Grafana's).
if changed "$password"; then
  runuser -u grafana -- /usr/share/grafana/bin/grafana cli --homepath /usr/share/grafana --config /etc/grafana/grafana.ini \
    admin reset-admin-password --password-from-stdin <"$INFERNUS_ROOT$password" >/dev/null ||
    refuse "grafana cli could not set the admin's password: journalctl -u grafana-server; /var/log/grafana/grafana.log"
fi
log "Grafana serving the estate's dashboards at ${HEALTH_URL%/api/health}"
