#!/usr/bin/env bats
# assets/serving/vllm.sh (infernus-vllm) against a stand-in vLLM behind stubbed curl, systemctl and
# nvidia-smi. The stand-in answers as vLLM's own routes do (vllm/entrypoints/serve/dev/sleep/
# api_router.py: POST /sleep?level=, POST /wake_up[?tags=], GET /is_sleeping -> {"is_sleeping": …};
# POST /collective_rpc {"method": …}; /health 200 while it runs, asleep or not; /metrics with
# vllm:num_requests_running and vllm:num_requests_waiting).
# shellcheck disable=SC2016 # stub bodies are single-quoted: they expand when the stub runs
# shellcheck disable=SC2030,SC2031 # pid is each test's own: bats runs a test and its teardown in one process

setup() {
  load stubs
  setup_stubs
  wrapper=$BATS_TEST_DIRNAME/../../assets/serving/vllm.sh
  export VLLM=$BATS_TEST_TMPDIR/vllm
  mkdir -p "$VLLM"
  echo 0 >"$VLLM/running"
  echo 90000 >"$VLLM/free"
  stub nvidia-smi 'cat "$VLLM/free"'
  stub systemctl '
case $1 in
  is-active) [[ -e $VLLM/active && ! -e $VLLM/systemd-says-inactive ]] ;;
  is-system-running) echo running ;;
  start) touch "$VLLM/active" ;;
  stop) rm -f "$VLLM/active" "$VLLM/asleep" ;;
esac'
  stub curl '
url=${*: -1} method=GET
for arg in "$@"; do [[ $arg == POST ]] && method=POST; done
[[ -e $VLLM/active ]] || exit 7
case "$method ${url#http://127.0.0.1:5801}" in
  "GET /health") ;;
  "GET /is_sleeping") [[ ! -e $VLLM/no-sleep-answer ]] || exit 22; [[ -e $VLLM/asleep ]] && echo "{\"is_sleeping\": true}" || echo "{\"is_sleeping\": false}" ;;
  "GET /metrics") echo "vllm:num_requests_running{engine=\"0\",model_name=\"m\"} $(cat "$VLLM/running")"; echo "vllm:num_requests_waiting{engine=\"0\",model_name=\"m\"} 0" ;;
  "POST /sleep?level="*) touch "$VLLM/asleep" ;;
  "POST /wake_up"*) [[ ! -e $VLLM/wake-fails ]] || exit 22; [[ ! -e $VLLM/slow-wake ]] || sleep 1.5; [[ $url == *kv_cache || $url != *tags* ]] && rm -f "$VLLM/asleep"; true ;;
  "POST /collective_rpc") echo "{\"results\": [null]}" ;;
  *) exit 22 ;;
esac'
  settings 1
}

# settings LEVEL [FREE_SECONDS] [DRAIN_SECONDS] [GPU]: model m's rendered infernus-vllm settings.
settings() {
  put /etc/infernus/vllm/m.conf "# Rendered by infernus
PORT=5801
GPU=${4:-0}
NEED_MIB=72000
SLEEP_LEVEL=$1
LOAD_SECONDS=30
DRAIN_SECONDS=${3:-5}
FREE_SECONDS=${2:-5}
"
}

# serve_until_serving: infernus-vllm serve m in the background, as llama-swap runs it, until it says it serves.
serve_until_serving() {
  bash "$wrapper" serve m 2>"$BATS_TEST_TMPDIR/log" &
  pid=$!
  for _ in $(seq 100); do
    grep -q "serving on 127.0.0.1:5801" "$BATS_TEST_TMPDIR/log" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# stop_as_llama_swap: SIGTERM, as llama-swap stops a model; its exit status in $status.
stop_as_llama_swap() {
  kill -TERM "$pid"
  status=0
  wait "$pid" || status=$?
}

teardown() {
  [[ -z ${pid:-} ]] || kill -9 "$pid" 2>/dev/null || true
}

@test "a model not running starts cold, and when llama-swap stops it, it sleeps at its level instead" {
  serve_until_serving
  called "systemctl start infernus-vllm@m.service"
  grep -q "m: started cold" "$BATS_TEST_TMPDIR/log"
  stop_as_llama_swap
  [ "$status" -eq 0 ]
  called "curl --silent --show-error --fail --max-time 30 -X POST http://127.0.0.1:5801/sleep?level=1"
  [ -e "$VLLM/active" ] && [ -e "$VLLM/asleep" ]
  grep -q "m: asleep at level 1" "$BATS_TEST_TMPDIR/log"
}

@test "a stop to its process group while it wakes (llama-swap's signal) lets the wake finish, then it sleeps" {
  touch "$VLLM/active" "$VLLM/asleep" "$VLLM/slow-wake"
  # As llama-swap starts it: the leader of a process group of its own.
  setsid bash "$wrapper" serve m 2>"$BATS_TEST_TMPDIR/log" &
  pid=$!
  sleep 0.5
  kill -TERM -- "-$pid"
  status=0
  wait "$pid" || status=$?
  [ "$status" -eq 0 ]
  grep -q "m: woke from level 1" "$BATS_TEST_TMPDIR/log"
  grep -q "m: asleep at level 1" "$BATS_TEST_TMPDIR/log"
  not_called "systemctl stop"
  [ -e "$VLLM/active" ] && [ -e "$VLLM/asleep" ]
}

@test "a serve killed outright (llama-swap's SIGKILL after its timeout) still puts its model to sleep" {
  setsid bash "$wrapper" serve m 2>"$BATS_TEST_TMPDIR/log" &
  pid=$!
  for _ in $(seq 100); do
    grep -q "serving on" "$BATS_TEST_TMPDIR/log" && break
    sleep 0.1
  done
  kill -KILL -- "-$pid"
  for _ in $(seq 50); do
    grep -q "m: asleep at level 1" "$BATS_TEST_TMPDIR/log" && break
    sleep 0.1
  done
  grep -q "m: asleep at level 1" "$BATS_TEST_TMPDIR/log"
  [ -e "$VLLM/active" ] && [ -e "$VLLM/asleep" ]
}

@test "a sleeping model wakes instead of starting" {
  touch "$VLLM/active" "$VLLM/asleep"
  serve_until_serving
  not_called "systemctl start"
  called "curl --silent --show-error --fail --max-time 30 -X POST http://127.0.0.1:5801/wake_up"
  grep -q "m: woke from level 1" "$BATS_TEST_TMPDIR/log"
  [ ! -e "$VLLM/asleep" ]
  stop_as_llama_swap
}

@test "what vLLM answers decides: a sleeper systemd does not report active is woken, not taken as started" {
  touch "$VLLM/active" "$VLLM/asleep" "$VLLM/systemd-says-inactive"
  serve_until_serving
  not_called "systemctl start"
  grep -q "m: woke from level 1" "$BATS_TEST_TMPDIR/log"
  [ ! -e "$VLLM/asleep" ]
  stop_as_llama_swap
}

@test "a model whose unit systemd does not report active while its vLLM answers is still put to sleep when parked" {
  touch "$VLLM/active" "$VLLM/systemd-says-inactive"
  run bash "$wrapper" park m
  [ "$status" -eq 0 ]
  [ -e "$VLLM/asleep" ]
  [[ $output == *"m: asleep at level 1"* ]]
}

@test "a sleeper that cannot get the card's room is stopped, so that the requests llama-swap already sent it fail at once" {
  settings 1 1
  touch "$VLLM/active" "$VLLM/asleep"
  echo 20000 >"$VLLM/free"
  run bash "$wrapper" serve m
  [ "$status" -eq 1 ]
  [[ $output == *"m: GPU 0 has 20000 MiB free after 1s"*"m: not serving; stopped it, so that the requests waiting on it fail now"* ]]
  called "systemctl stop infernus-vllm@m.service"
  [ ! -e "$VLLM/active" ]
}

@test "a vLLM that does not say whether it sleeps is restarted cold, once" {
  touch "$VLLM/active" "$VLLM/no-sleep-answer"
  (sleep 2.5 && rm -f "$VLLM/no-sleep-answer") &
  serve_until_serving
  grep -q "m: vLLM does not say whether it sleeps (GET /is_sleeping); restarting it cold, once" "$BATS_TEST_TMPDIR/log"
  [ "$(grep -E '^systemctl (start|stop)' "$CALLS")" = "$(printf '%s\n' 'systemctl stop infernus-vllm@m.service' 'systemctl start infernus-vllm@m.service')" ]
  stop_as_llama_swap
}

@test "a level-2 sleeper gets its weights back, reloads them from disk, then its KV cache" {
  settings 2
  touch "$VLLM/active" "$VLLM/asleep"
  serve_until_serving
  [ "$(awk '/ POST / { print $NF }' "$CALLS" | grep -vF 'sleep?')" = "$(printf 'http://127.0.0.1:5801/%s\n' 'wake_up?tags=weights' collective_rpc 'wake_up?tags=kv_cache')" ]
  grep -q -- '-d {"method":"reload_weights"} http://127.0.0.1:5801/collective_rpc' "$CALLS"
  stop_as_llama_swap
}

@test "a model that fails to wake is restarted cold, once, and says so" {
  touch "$VLLM/active" "$VLLM/asleep" "$VLLM/wake-fails"
  serve_until_serving
  grep -q "m: did not wake from level 1; restarting it cold, once" "$BATS_TEST_TMPDIR/log"
  [ "$(grep -E '^systemctl (start|stop)' "$CALLS")" = "$(printf '%s\n' 'systemctl stop infernus-vllm@m.service' 'systemctl start infernus-vllm@m.service')" ]
  stop_as_llama_swap
}

@test "it starts only once the card has the memory it takes free (the previous model's sleep done)" {
  echo 20000 >"$VLLM/free"
  (sleep 1.5 && echo 80000 >"$VLLM/free") &
  serve_until_serving
  # Not one start while the card was full.
  [ "$(grep -c '^nvidia-smi' "$CALLS")" -ge 3 ]
  called "systemctl start infernus-vllm@m.service"
  stop_as_llama_swap
}

@test "it refuses to start on a card that stays full, naming what it needs" {
  settings 1 1
  echo 20000 >"$VLLM/free"
  run bash "$wrapper" serve m
  [ "$status" -eq 1 ]
  [[ $output == *"m: GPU 0 has 20000 MiB free after 1s, m needs 72000 MiB: another process holds the card (nvidia-smi lists it)"* ]]
  not_called "systemctl start"
}

@test "a model split across two cards waits for both, locks both, and names the fullest" {
  settings 1 1 5 0,1
  stub nvidia-smi 'printf "90000\n20000\n"'
  run bash "$wrapper" serve m
  [ "$status" -eq 1 ]
  [[ $output == *"m: the fullest of GPUs 0,1 has 20000 MiB free after 1s, m needs 72000 MiB"* ]]
  called "nvidia-smi --query-gpu=memory.free --format=csv,noheader,nounits -i 0,1"
  [ -e "$INFERNUS_ROOT/run/infernus-llm/gpu0.lock" ] && [ -e "$INFERNUS_ROOT/run/infernus-llm/gpu1.lock" ]
  not_called "systemctl start"

  stub nvidia-smi 'printf "90000\n90000\n"'
  serve_until_serving
  called "systemctl start infernus-vllm@m.service"
  stop_as_llama_swap
}

@test "a split model whose second card nvidia-smi does not report is not started" {
  settings 1 1 5 0,1
  stub nvidia-smi 'echo 90000'
  run bash "$wrapper" serve m
  [ "$status" -eq 1 ]
  [[ $output == *"m: nvidia-smi did not report the free memory of GPUs 0,1 for 1s"* ]]
  not_called "systemctl start"
}

@test "a card nvidia-smi cannot read is not taken as free" {
  settings 1 1
  stub nvidia-smi 'echo "NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver" >&2; exit 9'
  run bash "$wrapper" serve m
  [ "$status" -eq 1 ]
  [[ $output == *"m: nvidia-smi did not report the free memory of GPU 0 for 1s: not started (run nvidia-smi on the server)"* ]]
  not_called "systemctl start"
}

@test "it waits for the requests in flight before it sleeps" {
  touch "$VLLM/active"
  echo 2 >"$VLLM/running"
  (sleep 1.5 && echo 0 >"$VLLM/running") &
  run bash "$wrapper" park m
  [ "$status" -eq 0 ]
  [ "$(cat "$VLLM/running")" = 0 ]
  called "curl --silent --show-error --fail --max-time 30 -X POST http://127.0.0.1:5801/sleep?level=1"
}

@test "its wait for requests in flight is bounded, and it says when it goes on without them" {
  settings 1 5 1
  touch "$VLLM/active"
  echo 2 >"$VLLM/running"
  run bash "$wrapper" park m
  [ "$status" -eq 0 ]
  [[ $output == *"m: 2 requests still in flight after 1s; going on without them"* ]]
  [ -e "$VLLM/asleep" ]
}

@test "a model that never sleeps is stopped when parked; stop stops a sleeper too" {
  settings 0
  touch "$VLLM/active"
  run bash "$wrapper" park m
  [ "$status" -eq 0 ]
  called "systemctl stop infernus-vllm@m.service"
  settings 1
  touch "$VLLM/active"
  : >"$CALLS"
  run bash "$wrapper" stop m
  called "systemctl stop infernus-vllm@m.service"
  not_called "sleep?level"
}

@test "when vLLM exits while it serves, llama-swap sees the command end" {
  serve_until_serving
  rm "$VLLM/active"
  status=0
  wait "$pid" || status=$?
  [ "$status" -eq 1 ]
  grep -q "m: vLLM exited (journalctl -u infernus-vllm@m.service)" "$BATS_TEST_TMPDIR/log"
}

@test "exec runs the rendered arguments one per line, spaces and quotes kept, the header skipped" {
  put /etc/infernus/vllm/m.args $'# Rendered by infernus\n/usr/bin/printf\n[%s]\n{"a": "b c"}\n--x\n'
  run bash "$wrapper" exec m
  [ "$output" = '[{"a": "b c"}][--x]' ]
}

@test "it refuses settings that are missing or not numbers, saying how to fix them" {
  put /etc/infernus/vllm/m.conf $'PORT=5801\nGPU=x\n'
  run bash "$wrapper" serve m
  [ "$status" -eq 2 ]
  [[ $output == *"m.conf has no numeric GPU; run 'pulumi up' again"* ]]
  run bash "$wrapper" serve ../etc
  [ "$status" -eq 2 ]
}
