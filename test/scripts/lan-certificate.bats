#!/usr/bin/env bats
# assets/gateway/lan-certificate.sh (infernus-lan-certificate) with real openssl, against a
# stubbed curl that answers as the edge's certificate share does (the bundle, or nothing) and a
# stubbed systemctl.
# shellcheck disable=SC2016 # stub bodies are single-quoted: they expand when the stub runs

setup() {
  load stubs
  setup_stubs
  put /etc/infernus/lan-certificate.conf "DOMAIN='llm.example.net'
PORT='8444'
EDGE='10.66.0.1'
CERTIFICATE='/etc/infernus/tls/gateway.crt'
CERTIFICATE_KEY='/etc/infernus/tls/gateway.key'
"
  pki=$BATS_TEST_TMPDIR/pki
  mkdir -p "$pki"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=test CA" -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  # certificate NAME FILE: a chain (leaf, then CA) and its key for NAME, in one bundle as the edge serves it.
  certificate() {
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null
    openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -set_serial "$RANDOM" -days 90 -extfile <(echo "subjectAltName=DNS:$1") -out "$pki/$1.crt" 2>/dev/null
    cat "$pki/$1.crt" "$pki/ca.crt" "$pki/$1.key" >"$2"
  }
  certificate llm.example.net "$pki/bundle"
  export BUNDLE=$pki/bundle
  # The edge's share: the bundle to -o, or curl's own failure when the edge does not answer.
  stub curl 'if [[ ${EDGE_DOWN:-0} == 1 ]]; then echo "curl: (28) Connection timed out after 30001 milliseconds" >&2; exit 28; fi
while [[ $# -gt 0 ]]; do [[ $1 == -o ]] && cp "$BUNDLE" "$2"; shift; done'
  stub systemctl
}

script=$BATS_TEST_DIRNAME/../../assets/gateway/lan-certificate.sh
cert() { cat "$INFERNUS_ROOT/etc/infernus/tls/gateway.crt"; }

@test "fetches the certificate over the tunnel by the domain's name, installs it with its key, and reloads nginx; a second run changes nothing" {
  run bash "$script"
  [ "$status" -eq 0 ]
  grep -Eq '^curl -fsS --max-time 30 --resolve llm.example.net:8444:10.66.0.1 -o \S+/bundle https://llm.example.net:8444/infernus/lan-certificate$' "$CALLS"
  [[ $output == *"installed the certificate for llm.example.net, valid until "* ]]
  [ "$(cert)" = "$(cat "$pki/llm.example.net.crt" "$pki/ca.crt")" ]
  cmp "$INFERNUS_ROOT/etc/infernus/tls/gateway.key" "$pki/llm.example.net.key"
  [ "$(stat -c %a "$INFERNUS_ROOT/etc/infernus/tls/gateway.key")" = 600 ]
  called "systemctl reload nginx"
  : >"$CALLS"
  run bash "$script"
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  not_called "systemctl reload"
}

@test "a renewed certificate replaces the old one" {
  run bash "$script"
  before=$(cert)
  certificate llm.example.net "$pki/bundle"
  run bash "$script"
  [ "$status" -eq 0 ]
  [ "$(cert)" != "$before" ]
  [ "$(cert)" = "$(cat "$pki/llm.example.net.crt" "$pki/ca.crt")" ]
}

@test "keeps the certificate in place when the edge cannot be reached (the internet is down), and says until when it is valid" {
  run bash "$script"
  before=$(cert)
  EDGE_DOWN=1 run bash "$script"
  [ "$status" -eq 0 ]
  [[ $output == *"the edge (10.66.0.1 over the tunnel) did not answer (curl: (28) Connection timed out"*"the certificate in place stays, valid until "* ]]
  [ "$(cert)" = "$before" ]
}

@test "refuses, saying why, when it has no certificate and the edge cannot be reached" {
  EDGE_DOWN=1 run bash "$script"
  [ "$status" -eq 1 ]
  [[ $output == *"refused: the edge (10.66.0.1 over the tunnel) gave no certificate for llm.example.net"*"the tunnel must be up and the edge's gateway step done"* ]]
  [ ! -e "$INFERNUS_ROOT/etc/infernus/tls/gateway.crt" ]
}

@test "refuses a certificate for another name, and one whose key is not its own, keeping what it has" {
  run bash "$script"
  before=$(cert)
  certificate other.example.net "$pki/bundle"
  run bash "$script"
  [ "$status" -eq 1 ]
  [[ $output == *"refused: the edge's certificate does not name llm.example.net"* ]]
  cat "$pki/llm.example.net.crt" "$pki/other.example.net.key" >"$pki/bundle"
  run bash "$script"
  [ "$status" -eq 1 ]
  [[ $output == *"refused: the edge's certificate and key for llm.example.net do not belong together"* ]]
  [ "$(cert)" = "$before" ]
}
