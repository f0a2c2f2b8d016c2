#!/usr/bin/env bats
# assets/apps/app.sh against stubbed apt, podman, systemd and curl; jq is the real one.
# shellcheck disable=SC2016 # stub bodies are single-quoted: they expand when the stub runs
# shellcheck disable=SC2030,SC2031 # a test that installs another app sets its UNITS, IMAGES and paths for itself alone

setup() {
  load stubs
  setup_stubs
  script=$BATS_TEST_DIRNAME/../../assets/apps/app.sh
  stub dpkg-query 'echo "install ok installed"'
  stub apt-get
  stub systemctl
  # podman: no image present; a pull fails while $PULL_FAILS exists.
  stub podman 'if [[ $1 == image ]]; then exit 1; fi; if [[ $1 == pull && -e ${PULL_FAILS:-/nonexistent} ]]; then exit 125; fi'
  # curl: the health URL answers while $DOWN does not exist.
  stub curl '[[ ! -e ${DOWN:-/nonexistent} ]]'
  stub sleep
  export UNITS="infernus-search-searxng infernus-search" IMAGES="docker.io/searxng/searxng:1 docker.io/itzcrazykns1337/vane:slim-v1.12.2"
  export DATA_DIR=/srv/state/search DATA_UID=0 HEALTH=http://10.66.0.2:3000/ HEALTH_SECONDS=2
  export PROVIDER=/etc/infernus/apps/search.provider.json SEARXNG_URL=http://127.0.0.1:8888
  put "$PROVIDER" '{"id":"infernus","name":"infernus","type":"openai","config":{"apiKey":"sk-new","baseURL":"https://10.66.0.1/v1"},"chatModels":[{"name":"gpt-oss-120b","key":"gpt-oss-120b"}],"embeddingModels":[],"hash":"infernus"}'
}

@test "pulls each pinned image, restarts the units in order and waits for the health URL" {
  run bash "$script"
  [ "$status" -eq 0 ]
  called "podman pull --quiet docker.io/searxng/searxng:1"
  called "podman pull --quiet docker.io/itzcrazykns1337/vane:slim-v1.12.2"
  [ "$(grep -n 'systemctl restart' "$CALLS" | cut -d: -f2-)" = "systemctl restart infernus-search-searxng
systemctl restart infernus-search" ]
  called "curl --fail --silent --max-time 5 --output /dev/null http://10.66.0.2:3000/"
  [[ $output == *"infernus-search answers at http://10.66.0.2:3000/"* ]]
}

@test "writes Perplexica's config with our provider, marked set up, on a first run" {
  run bash "$script"
  [ "$status" -eq 0 ]
  config=$INFERNUS_ROOT/srv/state/search/config.json
  [ "$(stat -c %a "$config")" = 600 ]
  [ "$(jq -r '.setupComplete, .search.searxngURL, (.modelProviders | length), .modelProviders[0].config.apiKey' "$config")" = "true
http://127.0.0.1:8888
1
sk-new" ]
}

@test "replaces only its own provider entry and keeps the user's settings and providers" {
  put /srv/state/search/config.json '{"version":1,"setupComplete":true,"preferences":{"theme":"light"},"modelProviders":[{"id":"abc","type":"openai","config":{"apiKey":"user"}},{"id":"infernus","config":{"apiKey":"sk-old"}}],"search":{"searxngURL":""}}'
  run bash "$script"
  [ "$status" -eq 0 ]
  config=$INFERNUS_ROOT/srv/state/search/config.json
  [ "$(jq -r '.preferences.theme, ([.modelProviders[].id] | join(",")), ([.modelProviders[].config.apiKey] | join(","))' "$config")" = "light
abc,infernus
user,sk-new" ]
  # A second run changes nothing.
  before=$(sha256sum "$config")
  run bash "$script"
  [ "$status" -eq 0 ]
  [ "$(sha256sum "$config")" = "$before" ]
}

@test "refuses clearly when an image cannot be pulled, and starts nothing" {
  export PULL_FAILS=$BATS_TEST_TMPDIR/pull-fails
  touch "$PULL_FAILS"
  run bash "$script"
  [ "$status" -eq 1 ]
  [[ $output == *"refused: could not pull docker.io/searxng/searxng:1: check that the host reaches the registry and that the image exists (apps[].image in the stack file)"* ]]
  not_called "systemctl restart"
}

@test "refuses with where to look when the app does not answer in time" {
  export DOWN=$BATS_TEST_TMPDIR/down
  touch "$DOWN"
  run bash "$script"
  [ "$status" -eq 1 ]
  [[ $output == *"refused: http://10.66.0.2:3000/ did not answer within 2s after infernus-search started; see journalctl -u infernus-search -n 50"* ]]
}

@test "needs no jq for an app without Perplexica's provider" {
  unset PROVIDER SEARXNG_URL
  export UNITS=infernus-memory IMAGES=docker.io/qdrant/qdrant:v1.19.0 DATA_DIR=/srv/rag/memory HEALTH=http://10.66.0.2:6333/healthz
  run bash "$script"
  [ "$status" -eq 0 ]
  [ -d "$INFERNUS_ROOT/srv/rag/memory" ]
  [ ! -e "$INFERNUS_ROOT/srv/rag/memory/config.json" ]
  not_called "jq"
  called "systemctl restart infernus-memory"
}

@test "makes Python's bundle of the host's roots and the gateway's CA once, and restarts nothing for it on a second run" {
  unset PROVIDER SEARXNG_URL
  export UNITS=infernus-chat IMAGES=ghcr.io/open-webui/open-webui:v0.11.0 DATA_DIR=/srv/state/chat HEALTH=http://10.66.0.2:3080/health
  export CA_BUNDLE=/etc/infernus/apps/ca-bundle.crt GATEWAY_CA=/etc/infernus/apps/gateway-ca.crt
  put /etc/ssl/certs/ca-certificates.crt $'-----BEGIN CERTIFICATE-----\nroots\n-----END CERTIFICATE-----\n'
  put "$GATEWAY_CA" $'-----BEGIN CERTIFICATE-----\nours\n-----END CERTIFICATE-----\n'
  # The image is there already: only a changed file restarts the unit.
  stub podman 'exit 0'
  stub systemctl 'if [[ $1 == is-active ]]; then exit 0; fi'
  run bash "$script"
  [ "$status" -eq 0 ]
  [ "$(cat "$INFERNUS_ROOT$CA_BUNDLE")" = "$(cat "$INFERNUS_ROOT/etc/ssl/certs/ca-certificates.crt" "$INFERNUS_ROOT$GATEWAY_CA")" ]
  [ "$(stat -c %a "$INFERNUS_ROOT$CA_BUNDLE")" = 644 ]
  called "systemctl restart infernus-chat"
  : >"$CALLS"
  run bash "$script"
  [ "$status" -eq 0 ]
  not_called "systemctl restart"
}

@test "imports n8n's credential in its running container from stdin, and refuses with where to look when n8n will not" {
  unset PROVIDER SEARXNG_URL
  export UNITS=infernus-n8n IMAGES=docker.n8n.io/n8nio/n8n:2.12.3 DATA_DIR=/var/lib/infernus/apps/n8n DATA_UID=1000 HEALTH=http://10.66.0.1:5678/healthz/readiness
  export N8N_CREDENTIAL=/etc/infernus/apps/n8n.credential.json
  put "$N8N_CREDENTIAL" '[{"id":"infernus636396f0","name":"infernus (n8n)","type":"openAiApi","data":{"apiKey":"sk-secret"}}]'
  stub podman 'if [[ $1 == image ]]; then exit 0; fi; if [[ $1 == exec ]]; then cat >"$BATS_TEST_TMPDIR/imported"; [[ ! -e ${IMPORT_FAILS:-/nonexistent} ]]; fi'
  run bash "$script"
  [ "$status" -eq 0 ]
  [[ $output == *"infernus-n8n has its OpenAI credential for the gateway"* ]]
  [ "$(cat "$BATS_TEST_TMPDIR/imported")" = "$(cat "$INFERNUS_ROOT$N8N_CREDENTIAL")" ]
  not_called "sk-secret"
  export IMPORT_FAILS=$BATS_TEST_TMPDIR/import-fails
  touch "$IMPORT_FAILS"
  run bash "$script"
  [ "$status" -eq 1 ]
  [[ $output == *"refused: n8n did not import its OpenAI credential for the gateway; see podman exec infernus-n8n n8n import:credentials --help and journalctl -u infernus-n8n -n 50"* ]]
}

@test "enables the app's probe timer and probes once, and a probe that fails does not fail the install" {
  export PROBE=search
  stub systemctl 'if [[ $1 == start ]]; then exit 3; fi'
  run bash "$script"
  [ "$status" -eq 0 ]
  called "systemctl enable --quiet infernus-app-probe@search.timer"
  called "systemctl start infernus-app-probe@search.service"
  [[ $output == *"infernus-app-probe@search did not finish: journalctl -u infernus-app-probe@search"* ]]
}
