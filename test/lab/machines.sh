#!/usr/bin/env bash
# The lab stack's edge and gpu1 as booted machines (systemd-nspawn -b: systemd as PID 1), each in
# its own network namespace on the lab's internet and home LAN, provisioned from bare by the
# rendered steps, fed over real SSH to the program's fixed step command in the engine's order and
# stopping at the first failure. Then: every step again (nothing changes), an edited stack (only
# the steps whose trigger changed run), a wrong adminCidrs (it rolls itself back), a power cut and
# a boot (everything comes back, infernus-check says all ok). Prints an ok or FAIL line per check
# and the figures; leaves no machine, namespace, mount or process behind, whatever fails.
#   usage: sudo test/lab/machines.sh DIR [CACHE]
#   DIR: what test/lab/machines/prepare.ts writes; `npm run lab` does both.
#   CACHE: where the machine image and the package repository are kept (/var/tmp/infernus-lab).
# shellcheck disable=SC2317 # helpers below run through check and until_ok
set -Eeuo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=$(cd "${1:?usage: machines.sh DIR [CACHE]}" && pwd)
cache=${2:-/var/tmp/infernus-lab}
# shellcheck source=test/lab/lab.bash
source "$here/lab.bash"
# shellcheck source=/dev/null
source "$dir/lab.env"
run=$dir/run
lab=im$$
machines=("$EDGE" "$GPU")
namespaces=(inet router ops "${machines[@]}")
lan=${LAN_CIDR%/*}
INTERNET=203.0.113.1 LAN_GW=${lan%.*}.1 OPS=${lan%.*}.60
step_command=$(cat "$dir/step-command")
# shellcheck disable=SC2153 # MODELS comes from lab.env
read -ra models <<<"$MODELS"
declare -A address_of=(["$EDGE"]="$EDGE_USER@$EDGE_PUBLIC" ["$GPU"]="$GPU_USER@$GPU_LAN")

# pid1 HOST: the machine's systemd, the child of its systemd-nspawn.
pid1() {
  local nspawn
  nspawn=$(cat "$run/$1/nspawn.pid" 2>/dev/null) || return 0
  pgrep -P "$nspawn" 2>/dev/null | head -1 || true
}

# power_cut HOST: the machine dies at once, as when the power fails (nothing shuts down).
power_cut() {
  local pid nspawn
  pid=$(pid1 "$1")
  nspawn=$(cat "$run/$1/nspawn.pid" 2>/dev/null || true)
  [[ -z $pid ]] || kill -KILL "$pid" 2>/dev/null || true
  [[ -z $nspawn ]] || until_ok 20 not_running "$nspawn" || kill -KILL "$nspawn" 2>/dev/null || true
  rm -f "$run/$1/nspawn.pid"
}
not_running() { ! kill -0 "$1" 2>/dev/null; }

# On a failure: each machine's journal and failed units into DIR/logs and, with
# INFERNUS_LAB_HOLD=SECONDS, the machines kept that long to look inside before teardown.
cleanup() {
  local status=$? host link
  # Teardown runs to its end: a signal now only ends the hold.
  trap : INT TERM
  if ((failures > 0 || status != 0)); then
    for host in "${machines[@]}"; do
      [[ -z $(pid1 "$host") ]] || ssh_to "$host" 'systemctl --failed --no-pager; sudo -n journalctl -b --no-pager -n 400' >"$dir/logs/$host-journal.log" 2>&1 || true
    done
    if [[ -n ${INFERNUS_LAB_HOLD:-} ]]; then
      echo "holding the machines ${INFERNUS_LAB_HOLD} s: ip netns exec $lab-ops ssh ${ssh_opts[*]} ${address_of[$GPU]} (or ${address_of[$EDGE]})"
      sleep "$INFERNUS_LAB_HOLD" &
      wait $! || kill $! 2>/dev/null || true
    fi
  fi
  for host in "${machines[@]}"; do power_cut "$host"; done
  drop_namespaces "${namespaces[@]/#/$lab-}"
  for link in $(ip -o link show | awk -F': ' -v p="$lab-" 'index($2, p) == 1 { sub(/@.*/, "", $2); print $2 }'); do
    ip link del "$link" 2>/dev/null || true
  done
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

on() {
  local ns=$1
  shift
  ip netns exec "$lab-$ns" "$@"
}

# ssh_to HOST [--jump] COMMAND…: as the operator, from the home LAN, with the pinned host keys;
# --jump reaches gpu1 at its tunnel address through the edge, as a server with viaEdge is reached.
ssh_opts=(-i "$dir/keys/operator" -o UserKnownHostsFile="$dir/keys/known_hosts" -o StrictHostKeyChecking=yes
  -o BatchMode=yes -o ConnectTimeout=5 -o ServerAliveInterval=5 -o ServerAliveCountMax=6 -o LogLevel=ERROR)
ssh_to() {
  local host=$1 target
  shift
  target=${address_of[$host]}
  if [[ ${1:-} == --jump ]]; then
    shift
    on ops ssh "${ssh_opts[@]}" -o ProxyCommand="ssh ${ssh_opts[*]} -W %h:%p ${address_of[$EDGE]}" "$GPU_USER@$GPU_TUNNEL" "$@"
  else
    on ops ssh "${ssh_opts[@]}" "$target" "$@"
  fi
}

# The machine's files seen from outside (its root folder) and its running services from inside:
# snapshot HOST prints a checksum per file the estate could write and an InvocationID per
# running service (a new one means it was restarted). What changes by itself is left out: the
# self-check's report (its figures), logs, caches, the metrics the timer rewrites.
snapshot() {
  local paths=() path
  for path in etc opt srv usr/local var/lib/dpkg/status var/lib/infernus; do
    [[ ! -e $run/$1/root/$path ]] || paths+=("$path")
  done
  (cd "$run/$1/root" && find "${paths[@]}" -xdev -type f ! -path 'var/lib/infernus/reports/*' -print0 | sort -z | xargs -0 sha256sum)
  # shellcheck disable=SC2016 # expanded on the machine
  ssh_to "$@" 'systemctl list-units --type=service --state=running --no-legend --plain | awk "{ print \$1 }" |
    xargs systemctl show -p Id -p InvocationID | paste - - - | sed "s/^/service /"' </dev/null
}

# differences BEFORE AFTER: the files changed and the services restarted, on one line.
differences() {
  local files services
  files=$(diff <(grep -v '^service ' "$1") <(grep -v '^service ' "$2") | sed -n 's/^> [0-9a-f]*  /\//p; s/^< [0-9a-f]*  /\//p' | sort -u | paste -sd' ' -)
  services=$(join <(grep '^service ' "$1" | awk '{ print $2, $3 }' | sort) <(grep '^service ' "$2" | awk '{ print $2, $3 }' | sort) |
    awk '$2 != $3 { sub(/^Id=/, "", $1); print $1 }' | paste -sd' ' -)
  [[ -z $files && -z $services ]] || echo "files changed: ${files:-none}; services restarted: ${services:-none}"
}

# feed HOST STEP_FILE [--jump]: the step's stdin to the fixed step command, as the provider does.
feed() {
  local host=$1 file=$2
  shift 2
  ssh_to "$host" "$@" "$step_command" <"$file"
}

# why_failed LOG: the step's own words (its refusal, the line that failed), else its last lines.
why_failed() {
  local said
  said=$(tr -d '\r' <"$1" | grep '^infernus: ' | paste -sd' ' -)
  [[ -n $said ]] || said=$(tr -d '\r' <"$1" | tail -3 | paste -sd' ' -)
  echo "$said"
}

step_seconds=()
declare -A host_seconds=()
# provision RENDER [BASE]: every step of the render in order (with BASE, only those whose trigger
# differs from BASE's), stopping at the first that fails with its message.
provision() {
  local render=$dir/$1 base=${2:-} host file trigger started took log
  while read -r host file trigger; do
    if [[ -n $base ]] && grep -qxF "$host $file $trigger" "$dir/$base/order"; then continue; fi
    log=$dir/logs/$1-$host-$file.log
    started=$(now_ms)
    if ! feed "$host" "$render/steps/$host/$file" >"$log" 2>&1; then
      echo "FAIL $1: step $host/${file%.sh} failed: $(why_failed "$log")"
      failures=$((failures + 1))
      return 1
    fi
    took=$(($(now_ms) - started))
    host_seconds[$host]=$((${host_seconds[$host]:-0} + took))
    step_seconds+=("$host/${file%.sh} $took")
    echo "ran  $host/${file%.sh} ($(ms "$took"))"
  done <"$render/order"
}

# converge RENDER: each step run again must exit 0, change no file and restart no service.
converge() {
  local render=$dir/$1 host file trigger jump=() found
  while read -r host file trigger; do
    jump=()
    [[ $host != "$GPU" ]] || jump=(--jump)
    snapshot "$host" "${jump[@]}" >"$run/before"
    if ! feed "$host" "$render/steps/$host/$file" "${jump[@]}" >"$dir/logs/converge.log" 2>&1; then
      check "converge ($1): $host/${file%.sh} again exits 0 ($(why_failed "$dir/logs/converge.log"))" false
      continue
    fi
    snapshot "$host" "${jump[@]}" >"$run/after"
    found=$(differences "$run/before" "$run/after")
    check "converge ($1): $host/${file%.sh} again changes nothing${found:+ ($found)}" test -z "$found"
  done <"$render/order"
}

ms() { awk -v m="$1" 'BEGIN { printf "%.1f s", m / 1000 }'; }
not() { ! "$@"; }

# api KEY_FILE PATH [JSON]: the HTTP status of a call from the internet through the gateway.
api() {
  local args=()
  [[ -z ${3:-} ]] || args+=(-H "content-type: application/json" -d "$3")
  on inet curl -s -o /dev/null -w '%{http_code}' --max-time 20 --cacert "$dir/keys/ca.crt" \
    -H "Authorization: Bearer $(cat "$1")" "${args[@]}" "https://$EDGE_PUBLIC/v1$2" || true
}
completion() { api "$1" /chat/completions "{\"model\":\"${models[0]}\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"; }
# at_home KEY_FILE: the HTTP status of a chat completion from the operator's machine on the LAN
# through the LAN gateway on gpu1 (the lab stack's lan.gateway, at gpu1's LAN address).
at_home() {
  on ops curl -s -o /dev/null -w '%{http_code}' --max-time 20 --cacert "$dir/keys/ca.crt" -H "Authorization: Bearer $(cat "$1")" \
    -H "content-type: application/json" -d "{\"model\":\"${models[0]}\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}" \
    "https://$GPU_LAN/v1/chat/completions" || true
}
# key RENDER NAME: a file holding that API key as the render's key map has it.
key() {
  local file=$run/keys/$1-$2
  sed -n "s/^\"Bearer \(.*\)\" $2;\$/\1/p" "$dir/$1/hosts/$EDGE/etc/nginx/infernus/api-keys.map" >"$file"
  echo "$file"
}
active() { ssh_to "$1" systemctl is-active --quiet "${@:2}"; }

# A machine: the image copied, its name, the operator's login with passwordless sudo (as the
# README asks of the user's machines), its own host key, the lab's package repository as its
# only apt source. gpu1 also gets what the lab cannot have, each where the step would find it:
# the card (nvidia-smi answering as the RTX PRO 6000 with driver 580, its memory what the vLLM
# stand-ins hold), the vLLM and uv downloads (uv's version command; vLLM's, and a stand-in `vllm
# serve` with sleep mode), llama-swap's release (estate/serving.ts behind its command line) and
# the models' weights (their completion marks), and the UPS (dummy-ups reads its state).
make_machine() {
  local host=$1 key=$2 machine=$run/$1/root id
  mkdir -p "$run/$host"
  cp -a "${image_of[$host]}/root" "$machine"
  echo "$host" >"$machine/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 %s\n' "$host" >"$machine/etc/hosts"
  id=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  echo "$id" >"$machine/etc/machine-id"
  local user=${address_of[$host]%@*}
  chroot "$machine" useradd --create-home --shell /bin/bash "$user"
  echo "$user ALL=(ALL) NOPASSWD:ALL" >"$machine/etc/sudoers.d/lab"
  chmod 0440 "$machine/etc/sudoers.d/lab"
  install -d -m 0700 -o "$(chroot "$machine" id -u "$user")" -g "$(chroot "$machine" id -g "$user")" "$machine/home/$user/.ssh"
  install -m 0600 -o "$(chroot "$machine" id -u "$user")" "$dir/keys/authorized_keys" "$machine/home/$user/.ssh/authorized_keys"
  rm -f "$machine"/etc/ssh/ssh_host_*
  install -m 0600 "$dir/keys/$key" "$machine/etc/ssh/ssh_host_ed25519_key"
  install -m 0644 "$dir/keys/$key.pub" "$machine/etc/ssh/ssh_host_ed25519_key.pub"
  mkdir -p "$machine/var/lib/infernus-lab/repo" "$machine/opt/infernus-lab/src"
  [[ $host == "$GPU" ]] || return 0
  local steps=$dir/first/steps/$GPU venv uv swap
  # param STEP NAME: the value the rendered step exports, where the step itself looks.
  param() { sed -n "s/^export $2='\(.*\)'\$/\1/p" "$steps"/*-"$1".sh | head -1; }
  venv=$machine$(param vllm-runtime VENV)
  uv=$(dirname "$venv")/uv/bin/uv
  swap=$machine$(param llama-swap INSTALL_DIR)
  install -m 0755 "$here/machines/nvidia-smi.sh" "$machine/usr/bin/nvidia-smi"
  install -d "$venv/bin" "$(dirname "$uv")"
  install -m 0755 "$here/machines/vllm.sh" "$venv/bin/vllm"
  param vllm-runtime VLLM_VERSION >"$venv/bin/.lab-version"
  printf '#!/bin/sh\necho "uv %s"\n' "$(param vllm-runtime UV_VERSION)" >"$uv"
  chmod 0755 "$uv"
  install -D -m 0755 "$here/machines/llama-swap.sh" "$swap/llama-swap"
  param llama-swap LLAMA_SWAP_VERSION >"$swap/.release"
  while read -r _ _ _ weights _; do
    install -d "$machine$weights"
    touch "$machine$weights/.infernus-complete"
  done <"$dir/first/hosts/$GPU/etc/infernus/models.list"
  printf 'ups.status: OL\nbattery.charge: 100\n' | install -D -m 0644 /dev/stdin "$machine$UPS_DEVICE"
}

# kernel_binds HOST: the kernel-wide sysctls the host's rendered files set (vm.*, kernel.*), each
# a file of its own at its /proc/sys path, holding this machine's value as a freshly booted
# kernel would: a container shares this machine's kernel, whose settings the lab must not change.
# (net.* is the namespace's own and writable.) nspawn finds the source of a bind under /proc
# inside the machine.
kernel_binds() {
  local key kernel=/var/lib/infernus-lab/kernel
  mkdir -p "$run/$1/root$kernel"
  while read -r key; do
    cat "/proc/sys/${key//.//}" >"$run/$1/root$kernel/$key"
    echo "--bind=$kernel/$key:/proc/sys/${key//.//}"
  done < <(cat "$dir/first/hosts/$1"/etc/sysctl.d/*.conf 2>/dev/null | sed -n 's/^\([a-z][a-z0-9_.]*\) *=.*/\1/p' | grep -v '^net\.' | sort -u)
}

# boot HOST: systemd as PID 1 in the host's namespace; /proc/sys/net writable for its sysctls,
# /dev/net/tun for wireguard-go, the package repository and the stand-ins' runtime read-only.
boot() {
  local host=$1 binds
  mapfile -t binds < <(kernel_binds "$host")
  SYSTEMD_NSPAWN_API_VFS_WRITABLE=network setsid systemd-nspawn -D "$run/$host/root" -b --register=no --keep-unit -q \
    --network-namespace-path="/run/netns/$lab-$host" --capability=CAP_NET_ADMIN --bind=/dev/net/tun "${binds[@]}" \
    --bind-ro="${repo_of[$host]}:/var/lib/infernus-lab/repo" --bind-ro="$(command -v node):/opt/infernus-lab/node" \
    --bind-ro="$root:/opt/infernus-lab/src" </dev/null >>"$dir/logs/$host-console.log" 2>&1 &
  echo $! >"$run/$host/nspawn.pid"
}
sshd_answers() { ssh_to "$1" true; }

echo "== machines"
started=$(now_ms)
# The edge on Debian 13, gpu1 on Debian 12: the steps both run meet both releases.
declare -A suite_of=(["$EDGE"]=$EDGE_SUITE ["$GPU"]=$GPU_SUITE) image_of=() repo_of=()
for host in "${machines[@]}"; do
  read -r image repo < <(bash "$here/machines/image.sh" "$cache" "${suite_of[$host]}" "$dir/packages")
  [[ -d ${repo:-} ]] || exit 1
  image_of[$host]=$image repo_of[$host]=$repo
  echo "info $host: Debian ${suite_of[$host]}, its package repository has $(find "$repo" -name '*.deb' | wc -l) packages"
done
echo "info images and repositories ready in $(ms $(($(now_ms) - started)))"
mkdir -p "$dir/logs" "$run/keys"
add_namespaces "${namespaces[@]}"
add_switches inet router
ip -n "$lab-inet" addr add "$INTERNET/24" dev br0
plug "$EDGE" eth0 inet "$EDGE_PUBLIC/24"
# Home: the router's public address is the one adminCidrs allows; the operator sits on the LAN.
plug router wan inet "$ADMIN/24"
ip -n "$lab-router" addr add "$LAN_GW/24" dev br0
plug "$GPU" eth0 router "$GPU_LAN/24"
plug ops eth0 router "$OPS/24"
for host in "$GPU" ops; do ip -n "$lab-$host" route add default via "$LAN_GW"; done
home_router "$LAN_CIDR"
{
  echo "$EDGE_PUBLIC $(cut -d' ' -f1-2 "$dir/keys/edge_host_ed25519.pub")"
  echo "$GPU_LAN $(cut -d' ' -f1-2 "$dir/keys/gpu_host_ed25519.pub")"
  echo "$GPU_TUNNEL $(cut -d' ' -f1-2 "$dir/keys/gpu_host_ed25519.pub")"
} >"$dir/keys/known_hosts"
make_machine "$EDGE" edge_host_ed25519
make_machine "$GPU" gpu_host_ed25519
booted=$(now_ms)
for host in "${machines[@]}"; do boot "$host"; done
for host in "${machines[@]}"; do
  check "$host boots (systemd as PID 1) and its sshd answers the operator's key" until_ok 90 sshd_answers "$host"
done
echo "info both machines answered SSH $(ms $(($(now_ms) - booted))) after power-on"
# installed ROOT PACKAGE…: those of the packages dpkg has installed in the machine.
installed() {
  dpkg-query --admindir="$1/var/lib/dpkg" -W -f='${Status} ${Package}\n' "${@:2}" 2>/dev/null | awk '/ok installed/ { print $NF }' | paste -sd' ' -
}
mapfile -t packages <"$dir/packages"
for host in "${machines[@]}"; do
  echo "info of the ${#packages[@]} packages the steps install, a bare Debian ${suite_of[$host]} has: $(installed "${image_of[$host]}/root" "${packages[@]}")"
done
for host in "${machines[@]}"; do
  check "$host starts bare: no estate service's package is installed" test -z "$(installed "$run/$host/root" nginx nftables wireguard-tools \
    prometheus-node-exporter nut-server unattended-upgrades certbot)"
done
((failures == 0)) || exit 1

echo "== first up: every step, from bare"
sed 's/^/skip /' "$dir/first/skipped"
started=$(now_ms)
provision first || exit 1
first_up=$(($(now_ms) - started))
bare_edge=${host_seconds[$EDGE]} bare_gpu=${host_seconds[$GPU]} first_steps=("${step_seconds[@]}")
check "internet: a chat completion through the gateway (200)" until_ok 30 equals 200 completion "$(key first bench-1)"
check "home: a chat completion through the LAN gateway on $GPU (200)" until_ok 30 equals 200 at_home "$(key first bench-1)"
check "$GPU's upsd reports the UPS on line (dummy-ups)" equals OL ssh_to "$GPU" upsc "$UPS@localhost" ups.status

echo "== converge: every step again (gpu1 through the edge, as with viaEdge)"
started=$(now_ms)
converge first
converge_seconds=$(($(now_ms) - started))
# The check itself: a step edited to append to a file on every run must be caught.
hardening=$(awk -v h="$EDGE" '$1 == h && $2 ~ /-hardening\.sh$/ { print $2 }' "$dir/first/order")
appending=$run/appending.sh
{
  cat "$dir/first/steps/$EDGE/$hardening"
  echo "echo '# appended by the lab' >>/etc/motd"
  echo "systemctl restart prometheus-node-exporter"
} >"$appending"
feed "$EDGE" "$appending" >/dev/null 2>&1
snapshot "$EDGE" >"$run/before"
feed "$EDGE" "$appending" >/dev/null 2>&1
snapshot "$EDGE" >"$run/after"
found=$(differences "$run/before" "$run/after")
check "the converge check catches a step that appends to a file and restarts a service on every run (${found:-nothing found})" \
  grep -q '/etc/motd.*services restarted: prometheus-node-exporter.service' <<<"$found"

read -r swap_a swap_b <<<"$SWAP_MODELS"
echo "== swaps: $swap_a and $swap_b are never resident together; the one swapped out sleeps in its process"
swaps_since=$(date '+%Y-%m-%d %H:%M:%S')
# The real llama-swap config, units, infernus-vllm and polkit on gpu1; llama-swap's process side and
# vLLM are the stand-ins (test/serving/standInProcesses.ts, standInVllm.ts), the card is theirs.
TS_NODE_PROJECT=$root/tsconfig.json on inet node -r "$root/node_modules/ts-node/register/transpile-only" "$here/machines/swaps.ts" \
  "https://$EDGE_PUBLIC/v1" "$(key first bench-1)" "$dir/keys/ca.crt" "$swap_a" "$swap_b" 50 "$SWAP_SIMULATED_MS" >"$run/swaps.json" 2>"$dir/logs/swaps.log" || true
swaps=$(cat "$run/swaps.json")
# figure NAME: a number or true/false from the swaps line.
figure() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" <<<"$swaps"; }
check "50 requests alternating between $swap_a and $swap_b, each a swap, and the 3 that started them: all 200" grep -q '"statuses":{"200":53}' <<<"$swaps"
check "a stream on the model in use when the other is asked for completes whole" equals true figure streamWhole
check "... and the swap waits for it to end" equals true figure swapAfterStream
check "no model started or woke without the card's room free, or while another freed memory (the card's violations)" \
  ssh_to "$GPU" '! test -s /dev/shm/infernus-lab-card/violations'
check "$GPU: both run in their own units (infernus-vllm@$swap_a, @$swap_b), one of them asleep" \
  equals 1 ssh_to "$GPU" "for p in \$(sed -n 's/^PORT=//p' /etc/infernus/vllm/$swap_a.conf /etc/infernus/vllm/$swap_b.conf); do curl -fsS http://127.0.0.1:\$p/is_sleeping; echo; done | grep -c true"
echo "info swaps through the gateway: $swaps"
# A failed swap in the driver's words, and gpu1's serving journal since the swaps began.
if [[ -s $dir/logs/swaps.log ]] || ((failures > 0)); then
  sed 's/^/     /' "$dir/logs/swaps.log"
  journalctl -D "$run/$GPU/root/var/log/journal" --since "$swaps_since" -o short-precise -u infernus-llama-swap -u 'infernus-vllm@*' --no-pager 2>&1 | sed 's/^/     /'
fi

echo "== an edited stack: client $EDIT_CLIENT added, key $ROTATED_KEY rotated, $EDIT_MODEL at $EDIT_MAX_MODEL_LEN tokens"
changed=$(grep -vxFf "$dir/first/order" "$dir/edited/order" | sed 's/^\([^ ]*\) [0-9]*-\([^ ]*\)\.sh .*/\1\/\2/' | paste -sd' ' - || true)
echo "info steps whose trigger changed: $changed"
# A long stream while the edit runs: llama-swap's new config must not cut it (the step drains first).
stream_tokens=1200
on inet curl -sN --max-time 180 --cacert "$dir/keys/ca.crt" -H "Authorization: Bearer $(cat "$(key first bench-1)")" -H "content-type: application/json" \
  -d "{\"model\":\"${models[0]}\",\"stream\":true,\"max_tokens\":$stream_tokens,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}" \
  "https://$EDGE_PUBLIC/v1/chat/completions" >"$run/edit-stream.txt" 2>&1 &
edit_stream=$!
sleep 2
provision edited first || exit 1
wait "$edit_stream" || true
# stream_whole FILE TOKENS: every token of the stand-in's stream, then [DONE].
stream_whole() { [[ $(grep -o '"content":"t[0-9]*"' "$1" | wc -l) == "$2" ]] && tail -c 20 "$1" | grep -q 'data: \[DONE\]'; }
check "a stream in flight while the edit ran (llama-swap restarted for its new config) completes whole: $stream_tokens tokens, then [DONE]" \
  stream_whole "$run/edit-stream.txt" "$stream_tokens"
stream_whole "$run/edit-stream.txt" "$stream_tokens" || { head -c 300 "$run/edit-stream.txt"; echo " … $(tail -c 300 "$run/edit-stream.txt")"; } | sed 's/^/     /'
check "$GPU's llama-swap step restarted it for the new config" grep -q "wrote /etc/infernus/llama-swap/config.yaml" "$dir/logs/edited-$GPU-"*-llama-swap.sh.log
check "$EDIT_CLIENT is a peer of the hub" ssh_to "$EDGE" sudo -n wg show wg0 allowed-ips '|' grep -q "$(sed -n 's/^Address = \([0-9.]*\).*/\1/p' "$dir/edited/clients/$EDIT_CLIENT.conf")/32"
check "the rotated $ROTATED_KEY key is let in (200)" until_ok 10 equals 200 api "$(key edited "$ROTATED_KEY")" /models
check "the old $ROTATED_KEY key is refused (401)" equals 401 api "$(key first "$ROTATED_KEY")" /models
check "$GPU's llama-swap serves $EDIT_MODEL with --max-model-len $EDIT_MAX_MODEL_LEN" \
  equals "$EDIT_MAX_MODEL_LEN" sed -n '/^--max-model-len$/{n;p}' "$run/$GPU/root/etc/infernus/vllm/$EDIT_MODEL.args"
check "internet: a chat completion through the gateway after the edit (200)" until_ok 30 equals 200 completion "$(key edited bench-1)"
converge edited

echo "== a wrong adminCidrs ($WRONG_ADMIN) through the real firewall step"
firewall=$(awk -v h="$EDGE" '$1 == h && $2 ~ /-firewall\.sh$/ { print $2 }' "$dir/edited/order")
confirm=$(awk -v h="$EDGE" '$1 == h && $2 ~ /-firewall-confirm\.sh$/ { print $2 }' "$dir/edited/order")
# The lab waits 20 s for the rollback instead of the program's 120 s: the same timer, shorter.
sed "s/^export ROLLBACK_SECONDS='[0-9]*'\$/export ROLLBACK_SECONDS='20'/" "$dir/wrong-admin/steps/$EDGE/$firewall" >"$run/wrong-firewall.sh"
check "the firewall step applies the wrong ruleset (its own connection stays up)" feed "$EDGE" "$run/wrong-firewall.sh"
applied=$(now_ms)
check "a new SSH connection from the admin address is dropped (the confirm step cannot run)" not feed "$EDGE" "$dir/wrong-admin/steps/$EDGE/$confirm"
check "the firewall rolls itself back and the next SSH connection gets through" until_ok 60 sshd_answers "$EDGE"
echo "info SSH got through again $(ms $(($(now_ms) - applied))) after the wrong ruleset was applied (rollback after 20 s)"
feed "$EDGE" "$dir/wrong-admin/steps/$EDGE/$confirm" >"$dir/logs/refused.log" 2>&1 || true
check "the wrong ruleset's confirm step, run after the rollback, refuses and says why" grep -q "was rolled back before a new SSH connection confirmed it" "$dir/logs/refused.log"
check "the stack's own firewall applies and confirms again" feed "$EDGE" "$dir/edited/steps/$EDGE/$firewall"
check "... and its confirm step" feed "$EDGE" "$dir/edited/steps/$EDGE/$confirm"

echo "== power cut: both machines killed, then powered on"
for host in "${machines[@]}"; do power_cut "$host"; done
powered=$(now_ms)
for host in "${machines[@]}"; do boot "$host"; done
bench=$(key edited bench-1)
if until_ok 180 equals 200 completion "$bench"; then
  power_on=$(($(now_ms) - powered))
  check "after the power cut, a chat completion through the gateway ($(ms "$power_on") after power-on)" true
else
  check "after the power cut, a chat completion through the gateway" false
fi
check "$EDGE: WireGuard has a handshake with $GPU" until_ok 60 equals 1 ssh_to "$EDGE" "sudo -n wg show wg0 latest-handshakes | awk '\$2 > 0' | wc -l"
for host in "${machines[@]}"; do
  check "$host: nftables in force (table inet infernus)" ssh_to "$host" sudo -n nft list table inet infernus
  check "$host: the exporters run (node_exporter, infernus-metrics.timer)" active "$host" prometheus-node-exporter infernus-metrics.timer
done
check "$EDGE: the gateway runs (nginx)" active "$EDGE" nginx
check "$GPU: the LAN gateway came back by itself: a chat completion through it (200)" until_ok 30 equals 200 at_home "$bench"
check "$GPU: llama-swap runs" active "$GPU" infernus-llama-swap
check "$GPU: boot applied its sysctls (vm.max_map_count)" \
  equals "$(sed -n 's/^vm.max_map_count *= *//p' "$dir/edited/hosts/$GPU/etc/sysctl.d/60-infernus-gpu.conf")" ssh_to "$GPU" cat /proc/sys/vm/max_map_count
check "$GPU: upsd runs and reports the UPS on line" until_ok 30 equals OL ssh_to "$GPU" upsc "$UPS@localhost" ups.status
# all_ok_this_boot: infernus-check says all ok, from this boot's figures: the handshake it reports
# is younger than the boot (the metrics on disk from before the power cut must not count).
all_ok_this_boot() {
  local age
  # Not sooner than every 5 s: each run asks the models with the check key, whose 60 requests a
  # minute a retry every 0.1 s would spend (then every answer is a 429).
  ssh_to "$EDGE" sudo -n infernus-check >"$run/check.txt" 2>&1 || { sleep 5; return 1; }
  age=$(sed -n "s/^ok *tunnel $GPU *handshake \([0-9]*\) s ago\$/\1/p" "$run/check.txt")
  if [[ -z $age ]] || ((age * 1000 > $(now_ms) - powered)); then
    sleep 5
    return 1
  fi
}
check "$EDGE: infernus-check reports all ok, from this boot's figures" until_ok 90 all_ok_this_boot
sed 's/^/     /' "$run/check.txt"

echo "== figures (this machine; both machines share its cores)"
echo "bare to provisioned (the steps' time on each): $EDGE $(ms "$bare_edge"), $GPU $(ms "$bare_gpu"); the whole first up, one step at a time: $(ms "$first_up")"
echo "converge re-run of every step (with snapshots before and after each): $(ms "$converge_seconds")"
echo "power-on to the first completion through the gateway: $(ms "${power_on:-0}")"
echo "a swap through the gateway (the stand-in's sleep and wake: $SWAP_SIMULATED_MS ms): p50 $(figure swapP50Ms) ms, p99 $(figure swapP99Ms) ms; a request without a swap $(figure noSwapMs) ms; the mechanism's own cost (infernus-vllm, llama-swap's health polling, nvidia-smi): p50 $(figure mechanismP50Ms) ms, p99 $(figure mechanismP99Ms) ms"
echo "slowest steps of the first up: $(printf '%s\n' "${first_steps[@]}" | sort -k2 -n -r | head -3 | awk '{ printf "%s %.1f s; ", $1, $2 / 1000 }')"
echo "$failures failed"
exit $((failures > 0))
