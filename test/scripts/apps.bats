#!/usr/bin/env bats
# assets/apps/app.sh against stubbed apt, podman, systemd and curl; jq is the real one.
# shellcheck disable=SC2016 # stub bodies are single-quoted: they expand when the stub runs

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
