#!/usr/bin/env bash
# A power drill: NUT's dummy-ups driver stands in for the APC, upsd and upsmon run with the rendered
# configs in a network namespace, and the real drain script runs against stubs that record what it
# asks for. First a blip (on battery, then back) that must do nothing, then a real cut (on battery,
# then low battery) that must drain exactly once, in order. Leaves nothing behind.
#   usage: sudo test/lab/power.sh DIR   (DIR holds the rendered nut files, ups.dev is written there)
set -Eeuo pipefail
dir=$(cd "${1:?usage: power.sh DIR}" && pwd)
ns=infernus-power-$$
# shellcheck source=test/lab/lab.bash
source "$(dirname "${BASH_SOURCE[0]}")/lab.bash"
export NUT_CONFPATH=$dir/etc NUT_STATEPATH=$dir/state
# What the drain script sees: stubs first on PATH, its config and lock in DIR.
export PATH=$dir/bin:$PATH INFERNUS_DRAIN_CONF=$dir/drain.conf INFERNUS_DRAIN_LOCK=$dir/drain.lock

trap 'drop_namespaces "$ns"' EXIT

ups() { printf 'ups.status: %s\nbattery.charge: %s\n' "$1" "$2" >"$dir/ups.dev"; }
# Waits (bounded) until the UPS reports a status through upsd.
until_status() {
  local i
  for ((i = 0; i < 30; i++)); do
    [[ $(ip netns exec "$ns" upsc "$UPS@127.0.0.1" ups.status 2>/dev/null) == "$1" ]] && return 0
    sleep 0.5
  done
  return 1
}

ups OL 100
mkdir -p "$dir/state"
ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" /lib/nut/dummy-ups -a "$UPS" -u root >/dev/null 2>&1
ip netns exec "$ns" /lib/nut/upsd -u root >/dev/null 2>&1
ip netns exec "$ns" /lib/nut/upsmon -u root >/dev/null 2>&1
check "upsd serves the UPS on line" until_status OL

ups OB 80
check "the UPS goes on battery" until_status OB
sleep 8
ups OL 80
check "mains returns" until_status OL
sleep 6
check "a blip that recovers drains nothing" test ! -s "$dir/calls"

ups OB 60
until_status OB || true
sleep 3
ups "OB LB" 5
for ((i = 0; i < 40; i++)); do
  grep -q '^shutdown ' "$dir/calls" 2>/dev/null && break
  sleep 0.5
done
check "low battery drains" grep -q '^shutdown -h +0' "$dir/calls"
check "services stop first" test "$(grep -vn '^logger' "$dir/calls" | head -1 | cut -d: -f2-)" = "systemctl stop infernus-llama-swap.service"
check "every irreplaceable dataset gets a snapshot, after the stop" test "$(grep -c '^zfs snapshot ' "$dir/calls")" -eq "$(wc -w <<<"$DATASETS")"
check "power-off comes last" test "$(grep -v '^logger' "$dir/calls" | tail -1 | cut -d' ' -f1)" = shutdown
check "the drain ran exactly once" test "$(grep -c '^shutdown ' "$dir/calls")" -eq 1
check "upsmon set the power-down flag for the UPS" test -e "$dir/killpower"
bash "$DRAIN" >/dev/null 2>&1 || true
check "a second call does nothing" test "$(grep -c '^shutdown ' "$dir/calls")" -eq 1
sed 's/^/info /' "$dir/calls"
echo "$failures failed"
exit $((failures > 0))
