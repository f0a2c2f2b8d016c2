#!/usr/bin/env bash
# infernus-vllm: one model's vLLM process as llama-swap runs it. vLLM runs in a unit of its own
# (infernus-vllm@MODEL.service), so a model llama-swap swaps out is put to sleep (vLLM's sleep
# mode: level 1 parks its weights in host RAM, level 2 drops them) and a request for it wakes it,
# instead of a stop and a cold start. One model loads, wakes or sleeps at a time on a card, and
# only once nvidia-smi shows the room it needs free: two vLLM processes sizing their memory at
# once, or one freeing memory while another profiles, make vLLM misjudge or abort its start.
#   infernus-vllm serve MODEL   llama-swap's cmd: start or wake MODEL, then hold until SIGTERM (then park)
#   infernus-vllm hold MODEL    what serve runs in a session of its own
#   infernus-vllm park MODEL    wait for its requests in flight (bounded), then sleep (or stop, if it never sleeps)
#   infernus-vllm stop MODEL    wait for its requests in flight (bounded), then stop it: its next start is cold
#   infernus-vllm drain MODEL   wait for its requests in flight (bounded), nothing else
#   infernus-vllm exec MODEL    the unit's ExecStart: vLLM with MODEL's rendered arguments
set -euo pipefail
INFERNUS_ROOT=${INFERNUS_ROOT:-}

usage() {
  echo "usage: infernus-vllm serve|hold|park|stop|drain|exec MODEL" >&2
  exit 2
}
(($# == 2)) || usage
command=$1 model=$2
[[ $model =~ ^[a-z0-9][a-z0-9.-]*$ ]] || usage
conf_dir=$INFERNUS_ROOT/etc/infernus/vllm
unit=infernus-vllm@$model.service

say() {
  printf 'infernus-vllm: %s: %s\n' "$model" "$*" >&2
}

if [[ $command == exec ]]; then
  # One argument per line, exactly as rendered (no shell, no quoting), under the header comment.
  mapfile -t args < <(grep -v '^#' "$conf_dir/$model.args")
  exec "${args[@]}"
fi

# The rendered settings: PORT GPU NEED_MIB SLEEP_LEVEL LOAD_SECONDS DRAIN_SECONDS FREE_SECONDS
# (GPU lists the cards of a tensor-parallel model, comma-separated; NEED_MIB is on each of them).
[[ -r $conf_dir/$model.conf ]] || {
  say "$conf_dir/$model.conf is missing; it is written by 'pulumi up' (the llama-swap step)"
  exit 2
}
while IFS='=' read -r key value; do
  case $key in
    GPU) [[ $value =~ ^[0-9]+(,[0-9]+)*$ ]] && GPU=$value ;;
    PORT | NEED_MIB | SLEEP_LEVEL | LOAD_SECONDS | DRAIN_SECONDS | FREE_SECONDS) [[ $value =~ ^[0-9]+$ ]] && printf -v "$key" '%s' "$value" ;;
  esac
done <"$conf_dir/$model.conf"
for key in PORT GPU NEED_MIB SLEEP_LEVEL LOAD_SECONDS DRAIN_SECONDS FREE_SECONDS; do
  [[ -v $key ]] || {
    say "$conf_dir/$model.conf has no numeric $key; run 'pulumi up' again"
    exit 2
  }
done

url=http://127.0.0.1:$PORT
post() { curl --silent --show-error --fail --max-time "$LOAD_SECONDS" -X POST "$@"; }
healthy() { curl --silent --fail --max-time 5 -o /dev/null "$url/health"; }
# asleep, awake or unknown (vLLM does not answer), from vLLM itself; a slow answer is asked again.
sleep_state() {
  local answer tries=0
  while :; do
    answer=$(curl --silent --fail --max-time 5 "$url/is_sleeping" 2>/dev/null || true)
    case $answer in
      *'"is_sleeping": true'* | *'"is_sleeping":true'*) echo asleep && return ;;
      *'"is_sleeping": false'* | *'"is_sleeping":false'*) echo awake && return ;;
    esac
    ((++tries < 3)) || break
    sleep 1
  done
  echo unknown
}
sleeping() { [[ $(sleep_state) == asleep ]]; }
# Requests vLLM is running or has queued, from its own metrics (none when it does not answer).
in_flight() {
  { curl --silent --fail --max-time 5 "$url/metrics" 2>/dev/null || true; } |
    awk '/^vllm:num_requests_(running|waiting)[{ ]/ { n += $NF } END { print n + 0 }'
}
IFS=, read -ra cards <<<"$GPU"
# Its cards as messages name them, and the one whose free memory counts.
if ((${#cards[@]} > 1)); then named="GPUs $GPU" fullest="the fullest of GPUs $GPU"; else named="GPU $GPU" fullest="GPU $GPU"; fi
# The least free memory of its cards; nothing when nvidia-smi does not report every one.
free_mib() {
  nvidia-smi --query-gpu=memory.free --format=csv,noheader,nounits -i "$GPU" |
    awk -v want="${#cards[@]}" '$1 ~ /^[0-9]+$/ { n++; if (n == 1 || $1 < least) least = $1 } END { if (n == want) print least }'
}

# Its cards' locks: held while this model loads, wakes or sleeps, taken in the cards' order so two
# split models never wait on each other. Opened read-only, so the service user and root (the
# llama-swap step) share them whoever made the files.
locks=()
lock_card() {
  local index file lock
  for index in "${cards[@]}"; do
    file=$INFERNUS_ROOT/run/infernus-llm/gpu$index.lock
    [[ -e $file ]] || { mkdir -p "${file%/*}" && : >>"$file"; }
    exec {lock}<"$file"
    locks+=("$lock")
    flock -w "$((FREE_SECONDS + LOAD_SECONDS))" "$lock" || {
      say "GPU $index stayed busy with another model's load or sleep for $((FREE_SECONDS + LOAD_SECONDS))s; not started"
      exit 1
    }
  done
}
unlock_card() {
  local lock
  for lock in "${locks[@]}"; do exec {lock}>&-; done
  locks=()
}

# Waits (bounded) until the card has the memory this process takes: the previous model's is really
# free. A card nvidia-smi cannot read is not free.
wait_free() {
  local deadline=$((SECONDS + FREE_SECONDS)) free
  while :; do
    free=$(free_mib) || free=
    [[ -z $free ]] || ((free < NEED_MIB)) || return 0
    if ((SECONDS >= deadline)); then
      if [[ -z $free ]]; then
        say "nvidia-smi did not report the free memory of $named for ${FREE_SECONDS}s: not started (run nvidia-smi on the server)"
      else
        say "$fullest has $free MiB free after ${FREE_SECONDS}s, $model needs $NEED_MIB MiB: another process holds the card (nvidia-smi lists it)"
      fi
      return 1
    fi
    sleep 0.5
  done
}

start_cold() {
  local deadline=$((SECONDS + LOAD_SECONDS))
  systemctl start "$unit"
  until healthy; do
    if ! systemctl is-active --quiet "$unit" || ((SECONDS >= deadline)); then
      say "vLLM did not become healthy within ${LOAD_SECONDS}s (journalctl -u $unit)"
      return 1
    fi
    sleep 1
  done
  say "started cold"
}

# Milliseconds since the epoch, from bash's own clock.
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }

wake() {
  local started
  started=$(now_ms)
  if ((SLEEP_LEVEL == 1)); then
    post "$url/wake_up" || return 1
  else
    # Level 2 dropped the weights: reallocate them, read them from disk again, then the KV cache.
    post "$url/wake_up?tags=weights" && post -H 'Content-Type: application/json' -d '{"method":"reload_weights"}' "$url/collective_rpc" >/dev/null && post "$url/wake_up?tags=kv_cache" || return 1
  fi
  [[ $(sleep_state) == awake ]] || return 1
  say "woke from level $SLEEP_LEVEL in $(($(now_ms) - started)) ms"
}

drain() {
  local deadline=$((SECONDS + DRAIN_SECONDS)) busy
  while busy=$(in_flight) && ((busy > 0)); do
    if ((SECONDS >= deadline)); then
      say "$busy requests still in flight after ${DRAIN_SECONDS}s; going on without them"
      return 0
    fi
    sleep 0.5
  done
}

# park [stop]: drain, then sleep at the model's level (stop for level 0, at shutdown, or when told).
park() {
  systemctl is-active --quiet "$unit" || healthy || return 0
  drain
  lock_card
  if [[ ${1:-} != stop ]] && ((SLEEP_LEVEL > 0)) && [[ $(systemctl is-system-running 2>/dev/null || true) != stopping ]]; then
    if post "$url/sleep?level=$SLEEP_LEVEL" && sleeping; then
      say "asleep at level $SLEEP_LEVEL"
    else
      say "did not go to sleep; stopping it (its next start is cold)"
      systemctl stop "$unit"
    fi
  else
    systemctl stop "$unit"
    say "stopped"
  fi
  unlock_card
}

case $command in
  park) park ;;
  stop) park stop ;;
  drain) drain ;;
  serve)
    # llama-swap signals this command's whole process group, and may stop it while it still wakes
    # (vLLM answers /health asleep too). The work runs in a session of its own, so a stop never
    # cuts a wake or a sleep half-way: it is passed on, and this command ends when the work has.
    # The trap is set before the worker exists, so a stop that comes at once is not lost.
    worker=
    stop_asked=0
    forward_stop() {
      stop_asked=1
      [[ -z $worker ]] || kill -TERM "$worker" 2>/dev/null || true
    }
    trap forward_stop TERM INT
    setsid "$BASH" "${BASH_SOURCE[0]}" hold "$model" &
    worker=$!
    ((stop_asked == 0)) || forward_stop
    # wait returns early for the trap; the worker's own status is the one that counts.
    while :; do
      status=0
      wait "$worker" || status=$?
      kill -0 "$worker" 2>/dev/null || break
    done
    exit "$status"
    ;;
  hold)
    # A stop while it starts or wakes is kept for when that is done (bash runs a trap between
    # commands). A worker whose serve is gone (killed outright) parks too: nothing else would.
    # What vLLM answers decides, not the unit's state alone: llama-swap takes the model as ready
    # once /health answers (asleep too) and sends it requests, which vLLM holds until it is awake.
    # So a model this cannot wake is stopped: its waiting requests fail now instead of hanging.
    front=$PPID
    stop_asked=0
    trap 'stop_asked=1' TERM INT
    give_up() {
      systemctl stop "$unit"
      say "not serving; stopped it, so that the requests waiting on it fail now"
      exit 1
    }
    lock_card
    if ! healthy; then
      # A unit still starting holds the card already: it is only waited for.
      if systemctl is-active --quiet "$unit"; then start_cold || give_up; else { wait_free && start_cold; } || give_up; fi
    fi
    case $(sleep_state) in
      awake) ;;
      asleep)
        if ! { wait_free && wake; }; then
          say "did not wake from level $SLEEP_LEVEL; restarting it cold, once"
          systemctl stop "$unit"
          { wait_free && start_cold; } || give_up
        fi
        ;;
      *)
        say "vLLM does not say whether it sleeps (GET /is_sleeping); restarting it cold, once"
        systemctl stop "$unit"
        { wait_free && start_cold; } || give_up
        ;;
    esac
    unlock_card
    if ((stop_asked == 0)); then
      say "serving on 127.0.0.1:$PORT"
      # llama-swap sees this process end when vLLM does.
      while ((stop_asked == 0)) && kill -0 "$front" 2>/dev/null; do
        if ! systemctl is-active --quiet "$unit" && ! healthy; then
          say "vLLM exited (journalctl -u $unit)"
          exit 1
        fi
        sleep 1 &
        wait $! || true
      done
    fi
    park
    exit 0
    ;;
  *) usage ;;
esac
