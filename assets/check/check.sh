#!/usr/bin/env bash
# infernus-check: whether the estate works, one line per check (ok / pending / failed, with the
# figure). Runs on the edge, reads what it checks from /etc/infernus/check.conf (written by
# `pulumi up`) and changes nothing. Every probe is bounded in time.
#   usage: infernus-check [--load | --usage]
#     --load  also load each model that is not running and ask it for one token (the self-check
#             after `pulumi up` does; by default a model that is not loaded is left alone, since
#             loading it would unload the one in use)
#     --usage instead of the checks, the last 24 hours per user (API key) and model: requests,
#             prompt and completion tokens, 429s and 5xx, from Prometheus (both gateways)
#   exit: 0 all ok, 1 something failed, 2 nothing failed but something is pending
set -uo pipefail
conf=${INFERNUS_CHECK_CONF:-/etc/infernus/check.conf}
load=0 usage=0
case ${1:-} in
--load) load=1 ;;
--usage) usage=1 ;;
"") ;;
*)
  echo "usage: infernus-check [--load | --usage]" >&2
  exit 64
  ;;
esac
[[ -r $conf ]] || {
  echo "infernus-check: $conf is missing or unreadable; it is written by 'pulumi up' (run as root: sudo infernus-check)" >&2
  exit 64
}

gateway='' edge_name='' connect_to='' ca_file='' header_file='' edge_metrics='' handshake_max=300 prometheus='' probe_seconds=5 answer_seconds=60 load_seconds=900
peers=() servers=() models=() apps=() lan_gateway=''
while read -r kind a b c d e f; do
  case $kind in
  gateway) gateway=$a connect_to=${b#-} ca_file=${c#-} ;;
  edge) edge_name=$a ;;
  key) header_file=$a ;;
  wireguard) edge_metrics=$a handshake_max=$b ;;
  prometheus) prometheus=$a ;;
  timeouts) probe_seconds=$a answer_seconds=$b load_seconds=$c ;;
  peer) peers+=("$a") ;;
  server) servers+=("$a $b $c $d $e $f") ;;
  model) models+=("$a $b $c $d") ;;
  app) apps+=("$a $b $c $d") ;;
  lan) lan_gateway="$a $b" ;;
  esac
done < <(grep -v '^#' "$conf")

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
ok=0 pending=0 failed=0

# The usage table: one Prometheus query per column, joined by user and model. Counts are
# Prometheus's increase() over the day, rounded.
usage_table() {
  [[ -n $prometheus ]] || {
    echo "infernus-check: this estate runs no Prometheus, so it keeps no usage; set infernus:monitoring in the stack file" >&2
    exit 64
  }
  local column query
  local -A queries=(
    [requests]='increase(infernus_usage_requests_total[1d])'
    [prompt]='increase(infernus_usage_prompt_tokens_total[1d])'
    [completion]='increase(infernus_usage_completion_tokens_total[1d])'
    [limited]='increase(infernus_usage_requests_total{code="429"}[1d])'
    [errors]='increase(infernus_usage_requests_total{code=~"5.."}[1d])'
  )
  for column in requests prompt completion limited errors; do
    query="sum by (client, model) (${queries[$column]})"
    if ! curl -fsS --max-time "$probe_seconds" -G --data-urlencode "query=$query" -o "$scratch/$column.json" "$prometheus/api/v1/query" 2>"$scratch/curl.error"; then
      echo "infernus-check: Prometheus at $prometheus does not answer ($(head -c 200 "$scratch/curl.error")): systemctl status prometheus on the edge" >&2
      exit 1
    fi
  done
  echo "usage over the last 24 hours, both gateways (Prometheus on the edge)"
  jq -rn '
    def column($name): input | .data.result[] | {client: (.metric.client // ""), model: (.metric.model // ""), ($name): (.value[1] | tonumber | round)};
    [column("requests"), column("prompt"), column("completion"), column("limited"), column("errors")]
    | group_by([.client, .model]) | map(add)
    | map(select(.requests > 0 or .limited > 0))
    | (["user", "model", "requests", "prompt tokens", "completion tokens", "429", "5xx"] | @tsv),
      (.[] | [(if .client == "" then "(no key)" else .client end), (if .model == "" then "-" else .model end),
              (.requests // 0), (.prompt // 0), (.completion // 0), (.limited // 0), (.errors // 0)] | @tsv)
  ' "$scratch"/{requests,prompt,completion,limited,errors}.json |
    awk -F '\t' '{ printf "%-12s %-24s %9s %14s %18s %6s %6s\n", $1, $2, $3, $4, $5, $6, $7 }'
}
if ((usage)); then
  usage_table
  exit 0
fi
# row STATUS CHECK DETAIL: prints one line of the table as soon as it is known.
row() {
  case $1 in
  ok) ok=$((ok + 1)) ;;
  pending) pending=$((pending + 1)) ;;
  failed) failed=$((failed + 1)) ;;
  esac
  printf '%-8s %-34s %s\n' "$1" "$2" "$3"
}

# value FILE NAME [LABEL=VALUE ...]: the first sample of NAME carrying every given label.
value() {
  local file=$1 name=$2
  shift 2
  awk -v name="$name" -v want="$*" '
    BEGIN { n = split(want, pairs, " ") }
    /^#/ { next }
    { metric = $1; sub(/\{.*/, "", metric); if (metric != name) next
      for (i = 1; i <= n; i++) { split(pairs[i], kv, "="); if (index($0, kv[1] "=\"" kv[2] "\"") == 0) next }
      print $NF; exit }
  ' "$file"
}

# ms SECONDS: curl's seconds as whole milliseconds.
ms() {
  awk -v s="${1:-0}" 'BEGIN { printf "%.0f ms", s * 1000 }'
}

# scrape URL FILE: an exporter's metrics into FILE.
scrape() {
  curl -fsS --max-time "$probe_seconds" -o "$2" "$1" 2>"$2.error"
}

# gateway_call SECONDS PATH [curl args]: prints "HTTP-CODE SECONDS", the body into $scratch/body.
gateway_call() {
  local seconds=$1 path=$2
  shift 2
  local tls=()
  [[ -n $ca_file ]] && tls+=(--cacert "$ca_file")
  [[ -n $connect_to ]] && tls+=(--connect-to "::$connect_to:")
  curl -sS --max-time "$seconds" "${tls[@]}" -o "$scratch/body" -w '%{http_code} %{time_total}' "$@" "$gateway$path" 2>"$scratch/curl.error" || true
}

# probe_reason STATUS: what an app's failed probe means, from what it got.
probe_reason() {
  case $1 in
  401) echo "the gateway refuses its key (401): pulumi up writes the app's key anew" ;;
  429) echo "its key is past its rate limit (429): raise requestsPerMinute of its infernus:apiKeys entry" ;;
  5*) echo "the gateway answers $1: see gateway /v1/models above" ;;
  no-container) echo "its container does not run" ;;
  *CERT* | *SSL*) echo "its container does not trust the gateway's certificate ($1)" ;;
  *) echo "it does not reach the gateway ($1)" ;;
  esac
}

printf '%-8s %-34s %s\n' STATUS CHECK DETAIL

# The tunnel, from the edge's own WireGuard metrics.
if ((${#peers[@]} > 0)); then
  if scrape "$edge_metrics" "$scratch/edge"; then
    for peer in "${peers[@]}"; do
      age=$(value "$scratch/edge" infernus_wireguard_handshake_age_seconds "peer=$peer")
      if [[ -z $age ]]; then
        row failed "tunnel $peer" "not a peer of the hub; pulumi up re-applies wg0.conf"
      elif ((${age%.*} <= handshake_max)); then
        row ok "tunnel $peer" "handshake ${age%.*} s ago"
      else
        row failed "tunnel $peer" "last handshake ${age%.*} s ago (limit $handshake_max s): $peer is off or its link is down; on $peer: systemctl status wg-quick@wg0"
      fi
    done
  else
    row failed "tunnel" "the edge's metrics at $edge_metrics do not answer: systemctl status prometheus-node-exporter infernus-metrics.timer"
  fi
fi

# The public gateway: health, a refusal without a key, nothing outside the API.
read -r code seconds < <(gateway_call "$probe_seconds" /healthz)
if [[ $code == 200 ]]; then
  row ok "gateway /healthz" "200 in $(ms "$seconds")"
else
  row failed "gateway /healthz" "HTTP ${code:-none} $(head -c 200 "$scratch/curl.error"): systemctl status nginx on the edge"
fi
read -r code _ < <(gateway_call "$probe_seconds" /v1/models)
if [[ $code == 401 ]]; then row ok "gateway without a key" "401"; else row failed "gateway without a key" "HTTP $code instead of 401: the key map is not in force (nginx -t; pulumi up)"; fi
read -r code _ < <(gateway_call "$probe_seconds" /infernus-check/not-an-api-path -H "@$header_file")
if [[ $code == 404 ]]; then row ok "gateway outside the API" "404"; else row failed "gateway outside the API" "HTTP $code instead of 404 for a path outside the API"; fi

# Every server's facts from its exporter over the tunnel.
declare -A reachable=()
for entry in "${servers[@]}"; do
  read -r name exporter gpus branch pools ups <<<"$entry"
  file=$scratch/server.$name
  if ! scrape "http://$exporter/metrics" "$file"; then
    row failed "server $name" "its metrics at $exporter do not answer within $probe_seconds s: down, or the tunnel (see tunnel $name)"
    continue
  fi
  reachable[$name]=1
  row ok "server $name" "metrics answer"
  if ((gpus > 0)); then
    seen=$(grep -c '^infernus_gpu_info{' "$file")
    driver=$(sed -n 's/^infernus_gpu_info{.*driver="\([^"]*\)".*/\1/p' "$file" | head -1)
    gpu_name=$(sed -n 's/^infernus_gpu_info{.*name="\([^"]*\)".*/\1/p' "$file" | head -1)
    if ((seen == gpus)) && [[ $driver == "$branch".* ]]; then
      row ok "gpus $name" "$seen × $gpu_name, driver $driver"
    else
      row failed "gpus $name" "nvidia-smi sees $seen of $gpus declared GPU(s), driver '${driver:-none}' (declared branch $branch): on $name: nvidia-smi; sudo dmesg | grep -i nvrm"
    fi
  fi
  if [[ $pools != - ]]; then
    for pool in ${pools//,/ }; do
      if [[ $(value "$file" node_zfs_zpool_state "zpool=$pool" state=online) == 1 ]]; then
        row ok "pool $name/$pool" "ONLINE"
      else
        state=$(awk -v p="zpool=\"$pool\"" '/^node_zfs_zpool_state\{/ && index($0, p) && $NF == 1 { match($0, /state="[a-z]+"/); print toupper(substr($0, RSTART + 7, RLENGTH - 8)) }' "$file")
        row failed "pool $name/$pool" "${state:-not imported}: on $name: zpool status -x $pool"
      fi
    done
  fi
  if [[ $ups != - ]]; then
    stale=$(value "$file" infernus_ups_data_stale "ups=$ups")
    charge=$(value "$file" infernus_ups_battery_charge_percent "ups=$ups")
    if [[ $stale == 0 ]]; then
      row ok "ups $name/$ups" "fresh data, battery ${charge}%"
    else
      row failed "ups $name/$ups" "no fresh data from the UPS: a power cut would go unnoticed; on $name: upsc $ups@localhost; replug its USB cable"
    fi
  fi
done

# The LAN gateway, as its own server's infernus-metrics found it (nothing off the LAN reaches it).
if [[ -n $lan_gateway ]]; then
  read -r name url <<<"$lan_gateway"
  if [[ -z ${reachable[$name]:-} ]]; then
    row failed "lan gateway" "$name is unreachable, so is what it knows of its LAN gateway"
  else
    case $(value "$scratch/server.$name" infernus_lan_gateway_up) in
    1) row ok "lan gateway" "$url answers on $name" ;;
    0) row failed "lan gateway" "$url does not answer on $name: on $name: systemctl status nginx; journalctl -u nginx" ;;
    *) row failed "lan gateway" "$name reports nothing of it: on $name: systemctl status infernus-metrics.timer" ;;
    esac
  fi
fi

# The models: listed by the gateway, and each answering (or downloading, or idle).
if ((${#models[@]} > 0)); then
  read -r code _ < <(gateway_call "$answer_seconds" /v1/models -H "@$header_file")
  listed=$(grep -o '"id" *: *"[^"]*"' "$scratch/body" 2>/dev/null | sed 's/.*"\([^"]*\)"$/\1/')
  missing=()
  for entry in "${models[@]}"; do
    read -r model server _ <<<"$entry"
    # llama-swap lists another server's models under that server's name: server/model.
    awk -v m="$model" -v s="$server" '$0 == m || $0 == s "/" m { found = 1 } END { exit !found }' <<<"$listed" || missing+=("$model")
  done
  if [[ $code == 200 && ${#missing[@]} == 0 ]]; then
    row ok "gateway /v1/models" "all ${#models[@]} declared models listed"
  else
    row failed "gateway /v1/models" "HTTP $code, missing: ${missing[*]:-none}: journalctl -u infernus-llama-swap on the servers"
  fi
fi
for entry in "${models[@]}"; do
  # An adapter (base: the model it runs on) is downloaded on its own and loaded with its model.
  read -r model server kind base <<<"$entry"
  check="model $model"
  file=$scratch/server.$server
  if [[ -z ${reachable[$server]:-} ]]; then
    row failed "$check" "$server is unreachable, so is its model"
    continue
  fi
  if [[ $(value "$file" node_systemd_unit_state "name=infernus-fetch-$model.service" state=failed) == 1 ]]; then
    row failed "$check" "its download failed: on $server: journalctl -u infernus-fetch-$model.service"
    continue
  fi
  if [[ $(value "$file" infernus_model_weights_complete "model=$model") != 1 ]]; then
    have=$(value "$file" infernus_model_weights_bytes "model=$model")
    want=$(value "$file" infernus_model_weights_expected_bytes "model=$model")
    row pending "$check" "downloading: $(awk -v h="${have:-0}" -v w="${want:-0}" 'BEGIN { printf "%.0f%% of %.1f GB", (w > 0 ? 100 * h / w : 0), w / 1e9 }') (on $server: infernus-models)"
    continue
  fi
  running=$(value "$file" infernus_model_running "model=${base:-$model}")
  if [[ $running != 1 && $load == 0 ]]; then
    row ok "$check" "weights complete, not loaded (infernus-check --load asks it too)"
    continue
  fi
  seconds=$answer_seconds
  [[ $running == 1 ]] || seconds=$load_seconds
  if [[ $kind == embedding ]]; then
    read -r code took < <(gateway_call "$seconds" /v1/embeddings -H "@$header_file" -H 'content-type: application/json' -d "{\"model\":\"$model\",\"input\":\"ok\"}")
    answered='"embedding"'
  elif [[ $kind == rerank ]]; then
    read -r code took < <(gateway_call "$seconds" /v1/rerank -H "@$header_file" -H 'content-type: application/json' -d "{\"model\":\"$model\",\"query\":\"ok\",\"documents\":[\"ok\"]}")
    answered='"relevance_score"'
  else
    read -r code took < <(gateway_call "$seconds" /v1/chat/completions -H "@$header_file" -H 'content-type: application/json' -d "{\"model\":\"$model\",\"messages\":[{\"role\":\"user\",\"content\":\"Say OK.\"}],\"max_tokens\":1}")
    answered='"choices"'
  fi
  if [[ $code == 200 ]] && grep -q "$answered" "$scratch/body"; then
    row ok "$check" "answered in $(ms "$took")$([[ $running == 1 ]] || echo ", loaded first")"
  else
    row failed "$check" "HTTP ${code:-none} after $(ms "$took") $(cat "$scratch/body" "$scratch/curl.error" 2>/dev/null | head -c 160 | tr -s '\n' ' '): on $server: journalctl -u infernus-llama-swap"
  fi
done

# The user's apps: each answers its health path over the tunnel, as a client would reach it; one
# that calls the models also finds them from inside its container, with its own key and trust
# store (its host's infernus-app-probe, read from that host's metrics).
[[ -s $scratch/edge ]] || scrape "$edge_metrics" "$scratch/edge" || true
for entry in "${apps[@]}"; do
  read -r name host url probe_max_age <<<"$entry"
  if [[ -z ${reachable[$host]+x} && $host != "$edge_name" ]]; then
    row failed "app $name" "not asked: $host does not answer (see server $host)"
    continue
  fi
  result=$(curl -sS --max-time "$probe_seconds" -o /dev/null -w '%{http_code} %{time_total}' "$url" 2>"$scratch/curl.error")
  read -r code took <<<"$result"
  if [[ $code == 200 ]]; then
    row ok "app $name" "$url answers in $(ms "$took")"
  else
    row failed "app $name" "$url: HTTP ${code:-none} $(head -c 120 "$scratch/curl.error" | tr -s '\n' ' '): on $host: journalctl -u infernus-$name -n 50"
  fi
  [[ ${probe_max_age:--} != - ]] || continue
  file=$scratch/server.$host
  [[ $host != "$edge_name" ]] || file=$scratch/edge
  check="app $name to the models"
  found=$(value "$file" infernus_app_gateway_up "app=$name")
  probed_at=$(value "$file" infernus_app_gateway_probe_timestamp_seconds "app=$name")
  line=$(grep -m1 "^infernus_app_gateway_up{app=\"$name\"" "$file" 2>/dev/null)
  status=$(sed -n 's/.*status="\([^"]*\)".*/\1/p' <<<"$line")
  lacking=$(sed -n 's/.*missing="\([^"]*\)".*/\1/p' <<<"$line")
  probed_at=${probed_at:-0}
  age=$(($(date +%s) - ${probed_at%.*}))
  if [[ -z $found ]]; then
    row failed "$check" "$host has no finding of infernus-app-probe: on $host: systemctl status infernus-app-probe@$name.timer"
  elif ((age > probe_max_age)); then
    row failed "$check" "the last probe is ${age} s old (limit $probe_max_age s): on $host: systemctl status infernus-app-probe@$name.timer"
  elif [[ $found == 1 ]]; then
    row ok "$check" "lists its models at the gateway with its own key, ${age} s ago"
  elif [[ -n $lacking && $status == 200 ]]; then
    row failed "$check" "the gateway lists no ${lacking//,/, } for its key: journalctl -u infernus-llama-swap on the servers"
  else
    row failed "$check" "$(probe_reason "$status"): on $host: sudo infernus-app-probe $name"
  fi
done

# Prometheus: every target it scrapes is up.
if [[ -n $prometheus ]]; then
  if curl -fsS --max-time "$probe_seconds" -G --data-urlencode 'match[]=up' -o "$scratch/up" "$prometheus/federate" 2>/dev/null; then
    total=$(grep -c '^up{' "$scratch/up")
    down=$(awk '/^up\{/ && $2 == 0 { match($0, /instance="[^"]*"/); printf "%s ", substr($0, RSTART + 10, RLENGTH - 11) }' "$scratch/up")
    if [[ -z $down && $total -gt 0 ]]; then
      row ok "prometheus targets" "all $total up"
    else
      row failed "prometheus targets" "down: ${down:-no targets}(of $total): $prometheus/targets over the tunnel"
    fi
  else
    row failed "prometheus targets" "Prometheus at $prometheus does not answer: systemctl status prometheus on the edge"
  fi
fi

echo "$ok ok, $pending pending, $failed failed"
((failed == 0)) || exit 1
((pending == 0)) || exit 2
exit 0
