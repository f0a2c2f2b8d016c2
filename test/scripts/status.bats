#!/usr/bin/env bats
# scripts/status.sh (npm run status) against a stubbed pulumi and ssh.
# shellcheck disable=SC2016 # stub bodies are single-quoted: they expand when the stub runs

setup() {
  load stubs
  setup_stubs
  root=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
  script=$root/scripts/status.sh
  export PULUMI_BACKEND_URL=file:///nowhere KEEP=$BATS_TEST_TMPDIR
  stub pulumi 'case "$*" in
    version) echo v3.259.0 ;;
    "stack output --stack home --json edgeSsh") echo "{\"host\":\"192.168.1.40\",\"port\":22,\"user\":\"kirill\",\"hostKey\":\"ssh-ed25519 AAAAedge\"}" ;;
    "stack output --stack singapore --json edgeSsh") echo "{\"host\":\"203.0.113.10\",\"port\":2222,\"user\":\"infernus\"}" ;;
    "config get --stack home infernus:sshPrivateKey") echo "-----BEGIN OPENSSH PRIVATE KEY-----" ;;
    "stack output --stack"*) echo "error: no stack named '\''$4'\'' found" >&2; exit 255 ;;
    *) exit 1 ;;
  esac'
  # Keeps what the script hands ssh (the files go when it exits), then answers as the edge would.
  stub ssh 'for a; do case $a in UserKnownHostsFile=*) cp "${a#*=}" "$KEEP/known_hosts" ;; esac; done
    prev=; for a; do [[ $prev == -i ]] && { stat -c %a "$a" >"$KEEP/key.mode"; cp "$a" "$KEEP/key"; }; prev=$a; done
    sleep "${SSH_SLEEP:-0}"; echo "ok       tunnel gpu1                        handshake 14 s ago"; exit "${SSH_RC:-0}"'
}

@test "runs infernus-check on the edge with the pinned host key, and passes its exit code on" {
  SSH_AUTH_SOCK=/agent run bash "$script" home
  [ "$status" -eq 0 ]
  [[ $output == *"ok       tunnel gpu1"* ]]
  grep -q ' -p 22 .* kirill@192.168.1.40 sudo -n /usr/local/sbin/infernus-check$' "$CALLS"
  grep -q 'StrictHostKeyChecking=yes' "$CALLS"
  [ "$(cat "$KEEP/known_hosts")" = "192.168.1.40 ssh-ed25519 AAAAedge" ]
  not_called "config get"
  for rc in 1 2; do
    SSH_AUTH_SOCK=/agent SSH_RC=$rc run bash "$script" home
    [ "$status" -eq "$rc" ]
  done
}

@test "passes --load on, and takes the stack's SSH key (0600, never printed) when no agent runs" {
  SSH_AUTH_SOCK='' run bash "$script" home --load
  [ "$status" -eq 0 ]
  grep -q 'sudo -n /usr/local/sbin/infernus-check --load$' "$CALLS"
  [ "$(cat "$KEEP/key.mode")" = 600 ]
  [[ $output != *"PRIVATE KEY"* ]]
}

@test "passes --usage on, for the last day's table" {
  SSH_AUTH_SOCK=/agent run bash "$script" home --usage
  [ "$status" -eq 0 ]
  grep -q 'sudo -n /usr/local/sbin/infernus-check --usage$' "$CALLS"
}

@test "uses the edge's port for the pinned key and the connection" {
  SSH_AUTH_SOCK=/agent run bash "$script" singapore
  [ "$status" -eq 0 ]
  grep -q ' -p 2222 infernus@203.0.113.10 sudo' "$CALLS"
  not_called "StrictHostKeyChecking"
}

@test "says so, and fails, when the edge does not answer or the check hangs" {
  SSH_AUTH_SOCK=/agent SSH_RC=255 run bash "$script" home
  [ "$status" -eq 1 ]
  [[ $output == *"the edge does not answer over SSH at kirill@192.168.1.40:22"* ]]
  SECONDS=0
  SSH_AUTH_SOCK=/agent SSH_SLEEP=30 INFERNUS_STATUS_SECONDS=1 run bash "$script" home
  [ "$status" -eq 1 ]
  [[ $output == *"did not finish within 1 s"* ]]
  ((SECONDS < 10))
}

@test "tells how to get outputs for a stack that was never deployed" {
  run bash "$script" nope
  [ "$status" -eq 1 ]
  [[ $output == *"no outputs for stack nope"*"run npm run up -- nope first"* ]]
}

@test "refuses what it does not know" {
  run bash "$script" home --fix
  [ "$status" -eq 64 ]
}
