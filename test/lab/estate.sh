#!/usr/bin/env bash
# The rendered estate as a network on this machine. Network namespaces stand for the internet (an
# attacker and an admin address on one segment), the edge on it, a home router with the GPU server
# and a LAN client behind it, and a roaming laptop. Each host runs its rendered files: wg0.conf
# through wg-quick and wireguard-go, the nftables rulesets, the edge's nginx gateway, NUT's upsd
# with dummy-ups on the GPU server. llama-swap and the model servers are stand-ins
# (estate/serving.ts) that read the rendered llama-swap config and unit. Only the files' absolute
# paths are moved into the render; the TLS certificate, made at deploy time, is made here for the
# addresses the gateway's certificate names. Prints an ok or FAIL line per check and, with `all`,
# the long load and the figures. Leaves no namespace, process or file behind, whatever fails.
#   usage: sudo test/lab/estate.sh DIR [checks|all]
#   DIR: what test/lab/estate/lab.ts prepares (render/, lab.env, ups.dev); `npm run lab` does both.
# shellcheck disable=SC2317 # the small helpers below run through check and until_ok
set -Eeuo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=$(cd "${1:?usage: estate.sh DIR [checks|all]}" && pwd)
mode=${2:-checks}
# shellcheck source=test/lab/lab.bash
source "$here/lab.bash"
# shellcheck source=/dev/null
source "$dir/lab.env"
# A thousand streams are thousands of sockets in the lab's clients, stand-ins and nginx: each
# stream is two in the stand-in llama-swap (4,096 for the checks' 1,000, twice that with `all`).
files=$(ulimit -Hn)
[[ $files != unlimited ]] || files=1048576
ulimit -n "$files"
needed=4096
[[ $mode != all ]] || needed=8192
((files >= needed)) || {
  echo "estate.sh: open files are limited to $files; the streams need $needed (raise the hard limit: ulimit -Hn as root, or the session's LimitNOFILE)" >&2
  exit 2
}
render=$dir/render
run=$dir/run
lab=ie$$
hosts=(inet edge router gpu lan roam)
# The stand-in internet (TEST-NET-3, where the lab stack puts the edge and the admin address).
INTERNET=203.0.113.1 ROUTER_WAN=203.0.113.20 ROAM=203.0.113.30 ADMIN=${ADMIN_CIDR%/*}
lan=${LAN_CIDR%/*}
LAN_GW=${lan%.*}.1 LAN_CLIENT=${lan%.*}.60
# The stand-in models stream 20 chunks, one every 20 ms. The second holds the 1,000 streams: a token
# every 250 ms each (4,000 tokens/s in all, ten times what one card gives that many) for 20 s.
CHUNKS=20 CADENCE_MS=20 STREAMS_CADENCE_MS=250 STREAM_SECONDS=20
keys=$render/hosts/edge/etc/nginx/infernus/api-keys.map
tls=$render/hosts/edge/etc/infernus/tls
swap_config=$render/hosts/$GPU/etc/infernus/llama-swap/config.yaml
swap_unit=$render/hosts/$GPU/etc/systemd/system/infernus-llama-swap.service
node_ts=(node -r "$root/node_modules/ts-node/register/transpile-only")
# shellcheck disable=SC2153 # MODELS comes from lab.env
read -ra models <<<"$MODELS"

cleanup() {
  local link
  drop_namespaces "${hosts[@]/#/$lab-}"
  # A veth made but not yet moved into a namespace would outlive them.
  for link in $(ip -o link show | awk -F': ' -v p="$lab-" 'index($2, p) == 1 { sub(/@.*/, "", $2); print $2 }'); do
    ip link del "$link" 2>/dev/null || true
  done
  rm -rf "$run"
  if [[ -n ${made_run_wireguard:-} ]]; then rmdir /run/wireguard 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# on HOST COMMAND…: runs in HOST's namespace with its own /run/wireguard, where wireguard-go keeps
# its control socket, so that every host's interface is wg0 as its rendered files name it.
on() {
  local host=$1
  shift
  # shellcheck disable=SC2016 # expanded by the inner bash
  ip netns exec "$lab-$host" unshare --mount --propagation private \
    bash -c 'mount --bind "$0" /run/wireguard && exec "$@"' "$run/$host/wireguard" "$@"
}

# relocate HOST PATH: HOST's rendered file at PATH, its absolute paths pointing into the render.
relocate() {
  sed -E "s#(^|[ \"'=])/(etc|var/log)/#\1$render/hosts/$1/\2/#g" "$render/hosts/$1$2"
}

# wg_up HOST < wg0.conf: wg-quick with wireguard-go, as on a host without the kernel module.
wg_up() {
  install -m 600 /dev/stdin "$run/$1/wg0.conf"
  on "$1" env WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go timeout 20 wg-quick up "$run/$1/wg0.conf" >>"$run/$1/wg-quick.log" 2>&1
}

# http FROM URL KEY_NAME [MODEL]: the status of a call from FROM's namespace, trusting the lab CA;
# with MODEL a chat completion, without it the model list. KEY_NAME "-" sends no key.
http() {
  local from=$1 url=$2 name=$3 model=${4:-} args=()
  [[ $name == - ]] || args+=(-H "@$run/keys/$name")
  [[ -z $model ]] || args+=(-H "content-type: application/json" -d "{\"model\":\"$model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")
  on "$from" curl -s -o /dev/null -w '%{http_code}' --max-time 60 --cacert "$tls/ca.crt" "${args[@]}" "$url" || true
}
is() { equals "$1" http "${@:2}"; }

# drive FROM URL KEYS NAMES [ARGS…]: estate/drive.ts from FROM's namespace (one JSON line).
drive() {
  on "$1" "${node_ts[@]}" "$here/estate/drive.ts" "$2" --keys "$3" --as "$4" --ca "$tls/ca.crt" "${@:5}"
}
# holds FILE JQ_FILTER: whether drive's result satisfies the filter.
holds() { jq -e "$2" "$1" >/dev/null; }
summary() { jq -c '{requests, statuses, errors, incomplete, retried, rps}' "$1"; }

# exposed FROM [NMAP_ARGS…] TARGET: the TCP ports FROM gets through to, comma-separated: open or
# closed (answered, even with a reset) rather than filtered (dropped by a firewall).
exposed() {
  on "$1" nmap -n -Pn -sS -p- -T5 --max-retries 1 --min-rate 20000 -oG - "${@:2}" |
    awk -F'Ports: ' 'NF > 1 { split($2, fields, "\t"); n = split(fields[1], ports, ", ");
      for (i = 1; i <= n; i++) { split(ports[i], p, "/"); if (p[2] == "open" || p[2] == "closed") print p[1] } }' |
    paste -sd, -
}
# exposes WHAT EXPECTED FROM [NMAP_ARGS…] TARGET
exposes() {
  local found
  found=$(exposed "${@:3}")
  check "$1: ${2:-nothing} (found: ${found:-nothing})" test "$found" = "$2"
}

serving() { on gpu "${node_ts[@]}" "$here/estate/serving.ts" "$@" >>"$run/gpu/serving.log" 2>&1 & }
start_backend() {
  local cadence=$CADENCE_MS
  [[ $1 != "${models[1]}" ]] || cadence=$STREAMS_CADENCE_MS
  serving backend "$swap_config" "$1" "$CHUNKS" "$cadence"
}
stop_backend() { pkill -f "serving.ts backend $swap_config $1 " && until_ok 5 listens_not "127.0.0.1:${ports_of[$1]}"; }
# listener PORT: the addresses gpu listens on at PORT; listens ADDRESS:PORT: whether it is one.
listener() { on gpu ss -ltnH "sport = :$1" | awk '{ print $4 }'; }
listens() { listener "${1##*:}" | grep -qxF "$1"; }
listens_not() { ! listens "$1"; }
handshakes() { on edge wg show wg0 latest-handshakes | awk '$2 > 0' | wc -l; }
upstream=$(sed -n 's/^ *server \([0-9.]*:[0-9]*\) .*/\1/p' "$render/hosts/edge/etc/nginx/conf.d/infernus-gateway.conf" | head -1)
declare -A ports_of
for model in "${models[@]}"; do
  ports_of[$model]=$(sed -n "/^  $model:\$/,/proxy:/s#.*proxy: http://127.0.0.1:\([0-9]*\)#\1#p" "$swap_config")
done

echo "== bring-up"
mkdir -p "$run/keys" "$render/hosts/edge/var/log/infernus"
if [[ ! -d /run/wireguard ]]; then
  mkdir -p /run/wireguard
  made_run_wireguard=1
fi
add_namespaces "${hosts[@]}"
for host in "${hosts[@]}"; do mkdir -p "$run/$host/wireguard"; done
add_switches inet router
ip -n "$lab-inet" addr add "$INTERNET/24" dev br0
ip -n "$lab-inet" addr add "$ADMIN/24" dev br0
plug edge eth0 inet "$EDGE_PUBLIC/24"
plug router wan inet "$ROUTER_WAN/24"
plug roam eth0 inet "$ROAM/24"
ip -n "$lab-router" addr add "$LAN_GW/24" dev br0
plug gpu eth0 router "$GPU_LAN/24"
plug lan eth0 router "$LAN_CLIENT/24"
for host in gpu lan; do ip -n "$lab-$host" route add default via "$LAN_GW"; done
home_router "$LAN_CIDR"
# The worst case for the GPU server: a router that forwards anything to the LAN, so only its own
# firewall stands between it and the internet. And an attacker beside the edge that routes the
# tunnel's addresses through it.
ip -n "$lab-inet" route add "$LAN_CIDR" via "$ROUTER_WAN"
ip -n "$lab-inet" route add "$TUNNEL_CIDR" via "$EDGE_PUBLIC"

on edge sysctl -q -p "$render/hosts/edge/etc/sysctl.d/60-infernus-forwarding.conf"
on edge sysctl -q -p "$render/hosts/edge/etc/sysctl.d/60-infernus-gateway.conf"
on edge nft -f "$render/hosts/edge/etc/infernus/firewall.next.nft"
on gpu nft -f "$render/hosts/$GPU/etc/infernus/firewall.next.nft"
relocate edge /etc/wireguard/wg0.conf | wg_up edge
relocate "$GPU" /etc/wireguard/wg0.conf | wg_up gpu
wg_up roam <"$render/clients/$CLIENT.conf"
check "the edge has a handshake with $GPU and $CLIENT" until_ok 10 equals 2 handshakes

# As the estate makes them (components/gateway/gateway.ts): an ECDSA CA and a server certificate
# for 397 days that names the addresses clients use.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj "/CN=infernus lab CA" \
  -keyout "$run/ca.key" -out "$tls/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$EDGE_PUBLIC" \
  -keyout "$tls/gateway.key" -out "$run/gateway.csr" 2>/dev/null
openssl x509 -req -in "$run/gateway.csr" -CA "$tls/ca.crt" -CAkey "$run/ca.key" -set_serial 1 -days 397 \
  -extfile <(echo "subjectAltName=IP:$EDGE_PUBLIC,IP:$EDGE_TUNNEL") -out "$tls/gateway.crt" 2>/dev/null
# The LAN gateway's, from the same CA, for its LAN address and its home name.
lan_tls=$render/hosts/$GPU/etc/infernus/tls
cp "$tls/ca.crt" "$lan_tls/ca.crt"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=${LAN_GATEWAY_NAME:-$LAN_GATEWAY}" \
  -keyout "$lan_tls/gateway.key" -out "$run/lan-gateway.csr" 2>/dev/null
openssl x509 -req -in "$run/lan-gateway.csr" -CA "$tls/ca.crt" -CAkey "$run/ca.key" -set_serial 2 -days 397 \
  -extfile <(echo "subjectAltName=IP:$LAN_GATEWAY${LAN_GATEWAY_NAME:+,DNS:$LAN_GATEWAY_NAME}") -out "$lan_tls/gateway.crt" 2>/dev/null
(
  umask 077
  sed -n 's/^"Bearer \(.*\)" \(.*\);$/\2 \1/p' "$keys" | while read -r name key; do
    echo "Authorization: Bearer $key" >"$run/keys/$name"
  done
  echo "Authorization: Bearer sk-infernus-not-a-key-of-this-estate-000000000000" >"$run/keys/unknown"
  sed -n 's/.*"Bearer \(.*\)";$/"Bearer \1" upstream;/p' "$render/hosts/edge/etc/nginx/infernus/upstream-auth.conf" >"$run/upstream.map"
)
nginx_dir=$run/edge/nginx
mkdir -p "$nginx_dir/servers"
relocate edge /etc/nginx/conf.d/infernus-gateway.conf >"$nginx_dir/servers/gateway.conf"
cat >"$nginx_dir/servers/naive.conf" <<EOF
# The benchmark's comparison: nginx's defaults (HTTP/1.0 upstream, buffered, no keepalive) in
# front of the same upstream, with the same certificate and upstream key.
server {
    listen 8443 ssl;
    ssl_certificate $tls/gateway.crt;
    ssl_certificate_key $tls/gateway.key;
    location / {
        include $render/hosts/edge/etc/nginx/infernus/upstream-auth.conf;
        proxy_pass http://$upstream;
    }
}
EOF
# The edge's nginx.conf as deployed (its workers, connections and open files), paths moved here.
cp "$dir/edge-nginx.conf" "$nginx_dir/nginx.conf"
edge_nginx() { on edge nginx -p "$nginx_dir" -c "$nginx_dir/nginx.conf" "$@"; }
check "nginx -t accepts the rendered gateway" edge_nginx -t
edge_nginx
# The LAN gateway on $GPU: its own nginx.conf, sysctls and gateway as rendered for it.
lan_nginx_dir=$run/gpu/nginx
mkdir -p "$lan_nginx_dir/servers" "$render/hosts/$GPU/var/log/infernus"
relocate "$GPU" /etc/nginx/conf.d/infernus-gateway.conf >"$lan_nginx_dir/servers/gateway.conf"
cp "$dir/lan-nginx.conf" "$lan_nginx_dir/nginx.conf"
lan_nginx=(nginx -p "$lan_nginx_dir" -c "$lan_nginx_dir/nginx.conf")
on gpu sysctl -q -p "$render/hosts/$GPU/etc/sysctl.d/60-infernus-gateway.conf"
check "nginx -t accepts the rendered LAN gateway" on gpu "${lan_nginx[@]}" -t
on gpu "${lan_nginx[@]}"

for model in "${models[@]}"; do start_backend "$model"; done
serving swap "$swap_config" "$swap_unit"
check "llama-swap (stand-in) listens on $upstream, as its unit says" until_ok 30 listens "$upstream"
for model in "${models[@]}"; do
  check "$model's server listens on loopback only (127.0.0.1:${ports_of[$model]})" until_ok 30 \
    equals "127.0.0.1:${ports_of[$model]}" listener "${ports_of[$model]}"
done

mkdir -p "$run/nut"
nut() { on gpu env NUT_CONFPATH="$render/hosts/$GPU/etc/nut" NUT_STATEPATH="$run/nut" "$@"; }
nut /lib/nut/dummy-ups -a "$UPS" -u root >/dev/null 2>&1
nut /lib/nut/upsd -u root >/dev/null 2>&1
check "upsd reports the UPS on line, from the rendered NUT configs" until_ok 15 equals OL nut upsc "$UPS@127.0.0.1" ups.status
check "upsd listens on loopback only" test -z "$(on gpu ss -ltnH 'sport = :3493' | awk '$4 !~ /^(127\.0\.0\.1|\[::1\]):/')"

api=https://$EDGE_PUBLIC/v1
echo "== who reaches the API, and how"
check "internet: the model list through the edge with a key (200)" is 200 inet "$api/models" bench-1
check "internet: a chat completion through the edge with a key (200)" is 200 inet "$api/chat/completions" bench-1 "${models[0]}"
check "internet: no key (401)" is 401 inet "$api/models" -
check "internet: an unknown key (401)" is 401 inet "$api/models" unknown
drive inet "$api/chat/completions" "$keys" bench-1 --stream --count 3 >"$run/stream.json"
check "internet: a streamed completion through the edge arrives whole, chunk by chunk" \
  holds "$run/stream.json" '.statuses == {"200": 3} and .incomplete == 0 and .errors == {}'
# The stand-in model sends vLLM's usage chunk (as --enable-force-include-usage has it); the clients
# asked for none and got none (each stream above is whole: tokens, then [DONE]), and the audit line
# has it, read by njs: 20 tokens each, and the model.
audit_log=$render/hosts/edge/var/log/infernus/gateway-audit.log
# shellcheck disable=SC2016 # $model is jq's
check "audit: the 3 streams' lines on the edge name the model and their exact tokens, though no client asked for usage ($(jq -sc '[.[] | select(.path == "/v1/chat/completions")] | .[-3:] | map([.model, .prompt_tokens, .completion_tokens])' "$audit_log"))" \
  jq -se --arg model "${models[0]}" '[.[] | select(.path == "/v1/chat/completions" and .status == 200)] | .[-3:] | length == 3 and all(.model == $model and .prompt_tokens > 0 and .completion_tokens == 20)' "$audit_log"
check "$CLIENT over WireGuard: the API at the edge's tunnel address (200)" is 200 roam "https://$EDGE_TUNNEL/v1/models" bench-1
check "LAN client: the API through the edge's public address (200)" is 200 lan "$api/models" bench-1
check "$CLIENT over WireGuard: $GPU's models need llama-swap's key (401)" is 401 roam "http://$upstream/v1/models" bench-1
lan_api=https://$LAN_GATEWAY/v1
check "LAN client: the model list through the LAN gateway on $GPU (200)" is 200 lan "$lan_api/models" bench-1
check "LAN client: a chat completion through the LAN gateway (200)" is 200 lan "$lan_api/chat/completions" bench-1 "${models[0]}"
check "LAN gateway: no key (401)" is 401 lan "$lan_api/models" -
check "LAN gateway: an unknown key (401)" is 401 lan "$lan_api/models" unknown
if [[ -n $LAN_GATEWAY_NAME ]]; then
  check "LAN client: the LAN gateway by its home name $LAN_GATEWAY_NAME, which its certificate names (200)" \
    equals 200 on lan curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$tls/ca.crt" -H "@$run/keys/bench-1" \
    --resolve "$LAN_GATEWAY_NAME:443:$LAN_GATEWAY" "https://$LAN_GATEWAY_NAME/v1/models"
fi

echo "== TLS (testssl.sh against each gateway from where its clients are, trusting the estate's CA as they do)"
# What a private CA cannot have, each with its reason; anything else rated HIGH or CRITICAL fails.
declare -A private_ca=(
  [cert_revocation]="a private CA has no CRL or OCSP responder to publish; a certificate is withdrawn by the next pulumi up replacing it"
)
# tls_checks FROM ADDRESS LABEL: testssl.sh from FROM's namespace against the gateway at ADDRESS.
tls_checks() {
  local from=$1 address=$2 label=$3 report=$run/testssl-$1.json serious unexcused line
  on "$from" testssl --quiet --color 0 --warnings off --connect-timeout 5 --openssl-timeout 10 --add-ca "$tls/ca.crt" \
    --jsonfile "$report" -p -s -h -S -U "https://$address/" >"$run/testssl-$from.txt" 2>&1 || true
  # finding ID: what testssl.sh found for ID.
  finding() { jq -r --arg id "$1" '.[] | select(.id == $id) | .finding' "$report"; }
  # shellcheck disable=SC2016 # $old is jq's
  check "$label: only TLS 1.2 and 1.3 are offered (SSLv2, SSLv3, TLS 1.0, 1.1: $(for p in SSLv2 SSLv3 TLS1 TLS1_1; do finding $p; done | sort -u | paste -sd/ -))" \
    holds "$report" '[.[] | select(.id | test("^(SSLv2|SSLv3|TLS1|TLS1_1)$")) | .finding] as $old | ($old | length) == 4 and ($old | all(. == "not offered"))
      and ([.[] | select(.id == "TLS1_2" or .id == "TLS1_3") | .finding] | length == 2 and all(startswith("offered")))'
  # shellcheck disable=SC2016 # $weak is jq's
  check "$label: only AEAD suites: no NULL, anonymous, export, low, 3DES/IDEA or CBC suite ($(finding cipherlist_AVERAGE)), AEAD $(finding cipherlist_STRONG)" \
    holds "$report" '[.[] | select(.id | test("^cipherlist_(NULL|aNULL|EXPORT|LOW|3DES_IDEA|AVERAGE)$")) | .finding] as $weak | ($weak | length) == 6 and ($weak | all(. == "not offered"))
      and ([.[] | select(.id == "cipherlist_STRONG") | .finding] == ["offered"])'
  check "$label: HSTS is sent: $(finding HSTS_time)" holds "$report" '[.[] | select(.id == "HSTS_time") | .severity] == ["OK"]'
  serious=$(jq -r '.[] | select(.severity == "HIGH" or .severity == "CRITICAL") | "\(.id): \(.finding)"' "$report")
  unexcused=$(while IFS= read -r line; do [[ -z $line || -v private_ca[${line%%:*}] ]] || echo "$line"; done <<<"$serious")
  check "$label: no finding rated HIGH or CRITICAL but what a private CA cannot avoid (found: ${unexcused:-none})" test -z "$unexcused"
  while IFS= read -r line; do
    [[ -z $line || ! -v private_ca[${line%%:*}] ]] || echo "info testssl.sh, $label: $line (${private_ca[${line%%:*}]})"
  done <<<"$serious"
  if ! jq -e 'length > 20' "$report" >/dev/null 2>&1; then tail -20 "$run/testssl-$from.txt" | sed 's/^/     /'; fi
}
tls_checks inet "$EDGE_PUBLIC" "edge gateway, from the internet"
tls_checks lan "$LAN_GATEWAY" "LAN gateway, from the LAN"

echo "== exposure (nmap, every TCP port; open or closed means the firewall let it through)"
exposes "internet → edge" 443 inet "$EDGE_PUBLIC"
exposes "admin address → edge" 22,443 inet -S "$ADMIN" -e br0 "$EDGE_PUBLIC"
exposes "internet → $GPU, through a router that forwards everything" "" inet "$GPU_LAN"
exposes "internet → $GPU's tunnel address, routed through the edge" "" inet "$GPU_TUNNEL"
exposes "LAN client → $GPU (SSH, the LAN gateway)" 22,443 lan "$GPU_LAN"
exposes "$CLIENT over WireGuard → $GPU" 22,8080 roam "$GPU_TUNNEL"
exposes "$CLIENT over WireGuard → edge" 443 roam "$EDGE_TUNNEL"
udp=$(on inet nmap -n -Pn -sU -p- -T5 --max-retries 0 --min-rate 20000 -oG - "$EDGE_PUBLIC" |
  grep -o '[0-9]*/\(open\|closed\)/udp' | paste -sd, - || true)
check "internet → edge over UDP: no port answers (found: ${udp:-none}); WireGuard's $WG_PORT answers only its peers" test -z "$udp"
# The same scan does see a port the firewall lets in: DHCP replies (from port 67) to port 68.
check "internet → edge over UDP from port 67: 68 answers (closed), as DHCP replies are let in" \
  test "$(on inet nmap -n -Pn -sU -g 67 -p 68 -oG - "$EDGE_PUBLIC" | grep -o '68/[a-z|]*/udp')" = 68/closed/udp

echo "== faults"
victim=${models[0]} other=${models[1]}
stop_backend "$victim"
started=$(now_ms)
code=$(http inet "$api/chat/completions" bench-1 "$victim")
took=$(($(now_ms) - started))
check "$victim's server killed: $code in $took ms (502 or 503 within 1 s)" test \( "$code" = 502 -o "$code" = 503 \) -a "$took" -lt 1000
check "$victim's server killed: $other still answers (200)" is 200 inet "$api/chat/completions" bench-1 "$other"
start_backend "$victim"
until_ok 30 listens "127.0.0.1:${ports_of[$victim]}" || true
started=$(now_ms)
check "$victim's server back: it answers again" until_ok 10 is 200 inet "$api/chat/completions" bench-1 "$victim"
echo "info $victim answered $(($(now_ms) - started)) ms after its server listened again"

pkill -f "serving.ts swap $swap_config "
until_ok 5 listens_not "$upstream" || true
started=$(now_ms)
code=$(http inet "$api/models" bench-1)
took=$(($(now_ms) - started))
check "llama-swap killed: $code in $took ms (503 within 1 s)" test "$code" = 503 -a "$took" -lt 1000
serving swap "$swap_config" "$swap_unit"
until_ok 30 listens "$upstream" || true
started=$(now_ms)
check "llama-swap back: the API answers again" until_ok 10 is 200 inet "$api/models" bench-1
echo "info the API answered $(($(now_ms) - started)) ms after llama-swap listened again"

ip -n "$lab-router" link set wan down
# The first request goes out on a connection the gateway keeps to llama-swap: TCP gives up on it
# (the gateway's sysctls). The next opens a new one, and the connect timeout answers.
started=$(now_ms)
code=$(http inet "$api/models" bench-1)
took=$(($(now_ms) - started))
check "tunnel cut (the home link down), on a kept connection: $code in $took ms (503 within 30 s)" test "$code" = 503 -a "$took" -lt 30000
started=$(now_ms)
code=$(http inet "$api/models" bench-1)
took=$(($(now_ms) - started))
check "tunnel cut, on a new connection: $code in $took ms (503 within 2 s)" test "$code" = 503 -a "$took" -lt 2000
started=$(now_ms)
code=$(http roam "https://$EDGE_TUNNEL/v1/models" bench-1)
took=$(($(now_ms) - started))
check "tunnel cut: $CLIENT, roaming, gets $code from the edge in $took ms (503 within 2 s)" test "$code" = 503 -a "$took" -lt 2000
drive lan "$lan_api/chat/completions" "$keys" bench-1 --stream --count 5 >"$run/lan-stream.json"
check "tunnel cut: at home, a streamed completion through the LAN gateway arrives whole, first chunk within 1 s ($(jq -c '{statuses, firstChunkMs}' "$run/lan-stream.json"))" \
  holds "$run/lan-stream.json" '.statuses == {"200": 5} and .incomplete == 0 and .errors == {} and .firstChunkMs.p99 < 1000'
ip -n "$lab-router" link set wan up
started=$(now_ms)
check "tunnel back: the API answers within the keepalive ($KEEPALIVE s)" until_ok "$KEEPALIVE" is 200 inet "$api/models" bench-1
echo "info the API answered $(($(now_ms) - started)) ms after the link came back"
check "tunnel back: $CLIENT, roaming, through the edge (200)" until_ok 10 is 200 roam "https://$EDGE_TUNNEL/v1/models" bench-1
check "tunnel back: at home, through the LAN gateway, nothing restarted (200)" is 200 lan "$lan_api/chat/completions" bench-1 "${models[0]}"

bench_keys=$(sed -n 's/^"Bearer .*" \(bench-[0-9]*\);$/\1/p' "$keys" | paste -sd, -)
drive inet "$api/chat/completions" "$keys" "$bench_keys" --stream --clients 16 --seconds 6 >"$run/reload.json" &
loader=$!
for _ in 1 2 3; do
  sleep 1.5
  edge_nginx -s reload
done
wait "$loader" || true
check "nginx reloaded 3 times under load: no request lost ($(summary "$run/reload.json"))" \
  holds "$run/reload.json" '.requests > 0 and .statuses == {"200": .requests} and .errors == {} and .incomplete == 0'

echo "== load"
# load CLIENTS SECONDS: that many streaming clients, across the bench keys, for that long.
load() {
  drive inet "$api/chat/completions" "$keys" "$bench_keys" --stream --clients "$1" --seconds "$2" >"$run/load.json"
  check "$1 streaming clients for $2 s: no unexpected error ($(summary "$run/load.json"))" \
    holds "$run/load.json" '.requests > 0 and .statuses == {"200": .requests} and .errors == {} and .incomplete == 0'
}
load 32 5
# streams COUNT: that many streams at once through the edge's nginx.conf as deployed (one worker
# per core: 2 here, as on the default droplet), each STREAM_SECONDS long; the tally in streams-COUNT.json.
# What nginx logged while they ran (anything but its notices) is printed when one failed.
streams() {
  local logged
  logged=$(wc -l <"$nginx_dir/error.log")
  drive inet "$api/chat/completions" "$keys" "$bench_keys" --model "${models[1]}" --stream --clients "$1" --count 1 \
    --max-tokens $((STREAM_SECONDS * 1000 / STREAMS_CADENCE_MS)) >"$run/streams-$1.json"
  if ! holds "$run/streams-$1.json" ".statuses == {\"200\": $1} and .errors == {}"; then
    tail -n +$((logged + 1)) "$nginx_dir/error.log" | grep -v '\[notice\]' | sed -E 's/^[0-9/]+ [0-9:]+ \[[a-z]+\] [0-9#]+: \*[0-9]+ //' | cut -c1-200 | sort | uniq -c | sort -rn | head -5 | sed 's/^/     nginx: /'
  fi
}
streams 1000
check "1000 streams at once for ${STREAM_SECONDS} s through the edge and the tunnel: all whole, no error ($(summary "$run/streams-1000.json"))" \
  holds "$run/streams-1000.json" '.requests == 1000 and .statuses == {"200": 1000} and .errors == {} and .incomplete == 0'
echo "info 1000 streams: first chunk p50 / p99 $(jq -r '"\(.firstChunkMs.p50) / \(.firstChunkMs.p99)"' "$run/streams-1000.json") ms, each stream $(jq -r .latencyMs.p50 "$run/streams-1000.json") ms (p50)"
zone=$(grep -o 'zone=infernus_ide:[^ ]* rate=[0-9]*r/m' "$render/hosts/edge/etc/nginx/conf.d/infernus-gateway.conf")
rate=${zone##*rate=}
rate=${rate%r/m}
burst=$(sed -n 's/.*limit_req zone=infernus_ide burst=\([0-9]*\).*/\1/p' "$render/hosts/edge/etc/nginx/conf.d/infernus-gateway.conf")
# rate_limit FROM API LABEL: the ide key for 5 s from FROM's namespace, as fast as 4 clients go.
rate_limit() {
  local result=$run/rate-$1.json allowed expected
  drive "$1" "$2/chat/completions" "$keys" ide --clients 4 --seconds 5 >"$result"
  allowed=$(jq '.statuses["200"] // 0' "$result")
  expected=$(jq -n --argjson s "$(jq .seconds "$result")" "$burst + $rate / 60 * \$s | floor")
  check "$3: ide's limit ($rate/min, burst $burst): $allowed of $(jq .requests "$result") allowed in $(jq .seconds "$result") s, $expected expected (within 10 %), the rest 429" \
    holds "$result" "(.statuses | keys) == [\"200\", \"429\"] and ((.statuses[\"200\"] - $expected) | fabs) <= 0.1 * $expected"
}
rate_limit inet "$api" "edge gateway"
rate_limit lan "$lan_api" "LAN gateway"

if [[ $mode == all ]]; then
  load 64 30
  # Twice the streams: the figure, and what gives first on this machine.
  streams 2000
  echo "info 2000 streams at once: $(summary "$run/streams-2000.json"), first chunk p50 / p99 $(jq -r '"\(.firstChunkMs.p50) / \(.firstChunkMs.p99)"' "$run/streams-2000.json") ms"
  echo "== figures (one run, side by side; every namespace shares this machine's cores)"
  # The naive proxy's port is opened for the benchmark only.
  on edge nft add rule inet infernus input tcp dport 8443 accept
  direct=http://$upstream/v1/chat/completions naive=https://$EDGE_PUBLIC:8443/v1/chat/completions
  measure() { # NAME ARGS…: the three paths with the same load
    drive gpu "$direct" "$run/upstream.map" upstream "${@:2}" >"$run/$1-direct.json"
    drive inet "$api/chat/completions" "$keys" "$bench_keys" "${@:2}" >"$run/$1-gateway.json"
    drive inet "$naive" "$keys" "$bench_keys" "${@:2}" >"$run/$1-naive.json"
  }
  measure latency --count 500
  measure stream --stream --count 50
  measure rps --clients 32 --seconds 5
  row() { # LABEL NAME JQ
    printf '%-40s' "$1"
    for path in direct gateway naive; do printf '%-20s' "$(jq -r "$3" "$run/$2-$path.json")"; done
    echo
  }
  printf '%-40s%-20s%-20s%-20s\n' "" "direct" "gateway+tunnel" "naive nginx+tunnel"
  row "latency p50 / p99 (ms), 500 in a row" latency '"\(.latencyMs.p50) / \(.latencyMs.p99)"'
  row "first SSE chunk p50 / p99 (ms)" stream '"\(.firstChunkMs.p50) / \(.firstChunkMs.p99)"'
  row "stream p50 (ms, $CHUNKS chunks every $CADENCE_MS ms)" stream '"\(.latencyMs.p50)"'
  row "requests/s, 32 clients, 5 s" rps '"\(.rps)" + (if .statuses == {"200": .requests} then "" else " \(.statuses | tostring)" end)'
  for p in p50 p99; do
    echo "added by gateway+tunnel, $p: $(jq -rn --slurpfile g "$run/latency-gateway.json" --slurpfile d "$run/latency-direct.json" \
      "\$g[0].latencyMs.$p - \$d[0].latencyMs.$p | . * 100 | round / 100") ms"
  done
fi

echo "$failures failed"
exit $((failures > 0))
