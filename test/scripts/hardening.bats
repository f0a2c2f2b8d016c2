#!/usr/bin/env bats
# assets/host/hardening.sh, firewall.sh and firewall-confirm.sh against stubbed apt, sshd, nft and systemd.
# shellcheck disable=SC2016 # stub bodies are single-quoted: they expand when the stub runs

setup() {
  load stubs
  setup_stubs
  export SSHD_DROP_IN=/etc/ssh/sshd_config.d/10-infernus.conf NEXT=/etc/infernus/firewall.next.nft ACTIVE=/etc/infernus/firewall.nft ROLLBACK_SECONDS=120
  stub dpkg-query 'echo "install ok installed"'
  stub apt-get
  stub systemctl 'if [[ $1 == is-active ]]; then [[ ${TIMER_ACTIVE:-0} == 1 ]]; fi'
  stub systemd-run
  stub nft 'if [[ $1 == -c ]]; then [[ ${NFT_OK:-1} == 1 ]] || { echo "Error: syntax error, unexpected junk" >&2; exit 1; }; fi; if [[ $1 == list ]]; then echo "table inet infernus { }"; fi'
  put "$SSHD_DROP_IN" "PasswordAuthentication no"
  put "$NEXT" "table inet infernus { }"
}

assets=$BATS_TEST_DIRNAME/../../assets/host

@test "hardening reloads sshd once sshd accepts the drop-in" {
  stub sshd 'exit 0'
  run bash "$assets/hardening.sh"
  [ "$status" -eq 0 ]
  called "sshd -t"
  called "systemctl try-reload-or-restart ssh"
  called "systemctl enable --quiet --now unattended-upgrades"
}

@test "hardening removes a drop-in sshd rejects and reloads nothing" {
  stub sshd 'echo "line 1: Bad configuration option: Nonsense" >&2; exit 255'
  run bash "$assets/hardening.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"refused: sshd rejected $SSHD_DROP_IN, so it was removed and sshd keeps its settings: line 1: Bad configuration option: Nonsense"* ]]
  [ ! -e "$INFERNUS_ROOT$SSHD_DROP_IN" ]
  not_called try-reload
}

@test "the firewall is checked, a rollback is armed, then the ruleset is applied" {
  run bash "$assets/firewall.sh"
  [ "$status" -eq 0 ]
  [ "$(grep -n 'nft -c -f' "$CALLS" | cut -d: -f1)" -lt "$(grep -n 'systemd-run' "$CALLS" | cut -d: -f1)" ]
  [ "$(grep -n 'systemd-run' "$CALLS" | cut -d: -f1)" -lt "$(grep -n "nft -f $INFERNUS_ROOT$NEXT" "$CALLS" | cut -d: -f1)" ]
  grep -q "systemd-run --quiet --unit=infernus-firewall-rollback --on-active=120 /bin/sh -c nft -f" "$CALLS"
  rollback=$INFERNUS_ROOT/run/infernus/firewall.rollback.nft
  [ "$(head -2 "$rollback")" = $'table inet infernus\ndelete table inet infernus' ]
  grep -q "table inet infernus { }" "$rollback"
  [ -s "$INFERNUS_ROOT/run/infernus/firewall.pending" ]
  [ ! -e "$INFERNUS_ROOT$ACTIVE" ]
}

@test "a ruleset nft rejects is never applied" {
  NFT_OK=0 run bash "$assets/firewall.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"refused: nft rejected $NEXT, so the running firewall stays: Error: syntax error, unexpected junk"* ]]
  not_called systemd-run
  not_called "nft -f"
}

@test "a new connection confirms: the timer stops and boot loads the new ruleset" {
  bash "$assets/firewall.sh"
  TIMER_ACTIVE=1 run bash "$assets/firewall-confirm.sh"
  [ "$status" -eq 0 ]
  called "systemctl stop infernus-firewall-rollback.timer"
  cmp "$INFERNUS_ROOT$NEXT" "$INFERNUS_ROOT$ACTIVE"
  [ ! -e "$INFERNUS_ROOT/run/infernus/firewall.pending" ]
}

@test "confirming again changes nothing" {
  bash "$assets/firewall.sh"
  bash "$assets/firewall-confirm.sh"
  : >"$CALLS"
  run bash "$assets/firewall-confirm.sh"
  [ "$status" -eq 0 ]
  [[ $output == *"firewall already confirmed"* ]]
  not_called systemctl
}

@test "a ruleset that was rolled back is not confirmed" {
  put "$ACTIVE" "table inet infernus { chain old { } }"
  run bash "$assets/firewall-confirm.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"was rolled back before a new SSH connection confirmed it"*"adminCidrs"* ]]
  grep -q "chain old" "$INFERNUS_ROOT$ACTIVE"
}

@test "packages are installed on Ubuntu 24.04 and Debian 12 and 13, and refused elsewhere with the OS named" {
  stub dpkg-query 'exit 1'
  for release in 'ubuntu "24.04"' 'debian "12"' 'debian "13"'; do
    put /etc/os-release "ID=${release% *}"$'\n'"VERSION_ID=${release#* }"$'\n'
    : >"$CALLS"
    run bash "$assets/hardening.sh"
    [ "$status" -eq 0 ]
    grep -q "^apt-get .* install -y -qq --no-install-recommends unattended-upgrades openssh-server$" "$CALLS"
  done
  put /etc/os-release $'ID=centos\nVERSION_ID="9"\n'
  : >"$CALLS"
  run bash "$assets/hardening.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"refused: this host runs centos 9 and needs unattended-upgrades openssh-server; infernus installs packages on ubuntu 24.04, debian 12, debian 13 only"* ]]
  not_called "apt-get"
}
