#!/usr/bin/env bats
# assets/check/self-check.sh, the last step of `pulumi up`, against a stubbed infernus-check.
# shellcheck disable=SC2016 # stub bodies are single-quoted: they expand when the stub runs

setup() {
  load stubs
  setup_stubs
  script=$BATS_TEST_DIRNAME/../../assets/check/self-check.sh
  stub dpkg-query 'echo "install ok installed"'
  stub sleep
  export INFERNUS_CHECK=$STUBS/infernus-check ATTEMPTS=3 PAUSE_SECONDS=20 REPORT=/var/lib/infernus/reports/self-check
  # Answers with the exit codes in RCS, one per run (the last one repeats).
  export RCS_FILE=$BATS_TEST_TMPDIR/rcs
  # --usage prints a table, or refuses (64) as it does without Prometheus when NO_PROMETHEUS is set.
  stub infernus-check 'if [[ ${1:-} == --usage ]]; then [[ -z ${NO_PROMETHEUS:-} ]] || exit 64; echo "usage over the last 24 hours, both gateways"; echo "ide  qwen3-coder-30b  12"; exit 0; fi
    read -r rc rest <"$RCS_FILE"; [[ -n $rest ]] && echo "$rest" >"$RCS_FILE"
    echo "failed   tunnel gpu1    last handshake 900 s ago"; echo "0 ok, 0 pending, 1 failed"; exit "$rc"'
}

@test "a healthy estate passes at once, with --load, and the last day's usage follows the table" {
  echo 0 >"$RCS_FILE"
  run bash "$script"
  [ "$status" -eq 0 ]
  called "infernus-check --load"
  [ "$(grep -c '^infernus-check --load' "$CALLS")" -eq 1 ]
  [[ $output == *"the estate works"* ]]
  # The table is kept for a connection-only update to print again.
  [ "$(cat "$INFERNUS_ROOT$REPORT")" = $'failed   tunnel gpu1    last handshake 900 s ago\n0 ok, 0 pending, 1 failed\n\nusage over the last 24 hours, both gateways\nide  qwen3-coder-30b  12' ]
}

@test "without Prometheus the report is the table alone" {
  echo 0 >"$RCS_FILE"
  NO_PROMETHEUS=1 run bash "$script"
  [ "$status" -eq 0 ]
  [ "$(cat "$INFERNUS_ROOT$REPORT")" = $'failed   tunnel gpu1    last handshake 900 s ago\n0 ok, 0 pending, 1 failed' ]
}

@test "a failure that settles passes on a later attempt, after a pause" {
  echo "1 1 0" >"$RCS_FILE"
  run bash "$script"
  [ "$status" -eq 0 ]
  [ "$(grep -c '^infernus-check --load' "$CALLS")" -eq 3 ]
  called "sleep 20"
  [[ $output == *"attempt 1: 0 ok, 0 pending, 1 failed; again in 20 s"* ]]
}

@test "pending alone does not fail the step, and is not retried" {
  echo 2 >"$RCS_FILE"
  run bash "$script"
  [ "$status" -eq 0 ]
  [ "$(grep -c '^infernus-check --load' "$CALLS")" -eq 1 ]
  [[ $output == *"what is pending (downloads) finishes by itself"* ]]
}

@test "a failure that stays fails the step after the last attempt, with the table shown" {
  echo 1 >"$RCS_FILE"
  run bash "$script"
  [ "$status" -eq 1 ]
  [ "$(grep -c '^infernus-check --load' "$CALLS")" -eq 3 ]
  [[ $output == *"failed   tunnel gpu1"*"refused: the estate does not work as declared"* ]]
}
