#!/usr/bin/env bats
# assets/monitoring/grafana.sh with the real gpg on keys made here, against stubbed curl, apt,
# systemd, chown, runuser and Grafana's CLI.
# shellcheck disable=SC2016 # stub bodies are single-quoted: they expand when the stub runs

setup() {
  load stubs
  setup_stubs
  script=$BATS_TEST_DIRNAME/../../assets/monitoring/grafana.sh
  # Two keys: the repository's (pinned) and a stranger's, made with the real gpg.
  export GNUPGHOME=$BATS_TEST_TMPDIR/gnupg
  mkdir -m 0700 "$GNUPGHOME"
  for who in grafana stranger; do
    gpg --batch --quiet --passphrase '' --quick-gen-key "$who <$who@example.org>" ed25519 sign never 2>/dev/null
    gpg --batch --armor --export "$who@example.org" >"$BATS_TEST_TMPDIR/$who.asc"
  done
  pinned=$(gpg --batch --with-colons --list-keys grafana@example.org | awk -F: '$1 == "fpr" { print $10; exit }')
  unset GNUPGHOME
  export REPOSITORY=https://apt.grafana.com KEY_URL=https://apt.grafana.com/gpg-full.key KEY_FINGERPRINT=$pinned HEALTH_URL=http://10.66.0.1:3030/api/health
  # What the key URL serves: both keys in one file unless SERVED says which.
  cat "$BATS_TEST_TMPDIR/grafana.asc" "$BATS_TEST_TMPDIR/stranger.asc" >"$BATS_TEST_TMPDIR/served.asc"
  export SERVED=$BATS_TEST_TMPDIR/served.asc
  stub curl 'while [[ $# -gt 0 ]]; do [[ $1 == -o ]] && { cp "$SERVED" "$2"; }; shift; done'
  stub dpkg-query 'echo "install ok installed"'
  stub apt-get
  stub systemctl
  stub chown
  stub runuser
  put /etc/grafana/grafana.ini "[server]"
  put /etc/grafana/infernus-admin-password "secret-password"
}

@test "gives apt the pinned key only, taken out of the file the repository serves" {
  run bash "$script"
  [ "$status" -eq 0 ]
  keyring=$INFERNUS_ROOT/etc/apt/keyrings/grafana.asc
  [ "$(gpg --batch --show-keys --with-colons "$keyring" | awk -F: '$1 == "fpr" { print $10; exit }')" = "$KEY_FINGERPRINT" ]
  [ "$(gpg --batch --show-keys --with-colons "$keyring" | grep -c '^pub:')" -eq 1 ]
  grep -qx "Signed-By: /etc/apt/keyrings/grafana.asc" "$INFERNUS_ROOT/etc/apt/sources.list.d/grafana.sources"
  grep -qx "URIs: https://apt.grafana.com" "$INFERNUS_ROOT/etc/apt/sources.list.d/grafana.sources"
  called "systemctl enable --quiet grafana-server"
}

@test "refuses a key file without the pinned key, says which keys it holds and how to pin another, and trusts nothing" {
  SERVED=$BATS_TEST_TMPDIR/stranger.asc run bash "$script"
  [ "$status" -ne 0 ]
  [[ $output == *"not the pinned $KEY_FINGERPRINT"* ]]
  [[ $output == *"infernus:monitoring.grafanaKeyFingerprint"* ]]
  [ ! -e "$INFERNUS_ROOT/etc/apt/keyrings/grafana.asc" ]
  [ ! -e "$INFERNUS_ROOT/etc/apt/sources.list.d/grafana.sources" ]
  not_called "systemctl enable"
}

@test "sets the admin's password through Grafana's CLI, as grafana, from stdin, when the step wrote it; the same password again is left alone" {
  run_step "$script" "/etc/grafana/infernus-admin-password=new-password"
  [ "$status" -eq 0 ]
  called "runuser -u grafana -- /usr/share/grafana/bin/grafana cli --homepath /usr/share/grafana --config /etc/grafana/grafana.ini admin reset-admin-password --password-from-stdin"
  [[ $output != *new-password* ]]
  : >"$CALLS"
  run_step "$script" "/etc/grafana/infernus-admin-password=new-password"
  [ "$status" -eq 0 ]
  not_called runuser
  not_called "curl -fsSL"
  not_called "systemctl restart"
}
