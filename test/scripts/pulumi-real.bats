#!/usr/bin/env bats
# scripts/pulumi.sh's passphrase rule against the real Pulumi CLI (toolchain/build.sh): in each
# place the user may run it (a terminal or not, a CI system, TERM=dumb, --non-interactive, the
# passphrase variables), the script stops before starting Pulumi exactly when the real CLI, in the
# same place, cannot get a passphrase for a new local stack.

bats_require_minimum_version 1.5.0

setup() {
  load stubs
  setup_stubs
  root=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
  cli=$(bash "$root/toolchain/build.sh" 2>/dev/null)/pulumi
  [ -x "$cli" ]
  repo=$BATS_TEST_TMPDIR/repo
  mkdir -p "$repo/scripts"
  cp "$root/scripts/pulumi.sh" "$repo/scripts/"
  cp "$root/Pulumi.yaml" "$root/Pulumi.home.yaml" "$repo/"
  # The script's own decision, seen through a pulumi that only says it was started.
  stub pulumi
  local name
  for name in PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE PULUMI_CONFIG_PASSPHRASE_FILE PULUMI_ACCESS_TOKEN \
    PULUMI_DISABLE_CI_DETECTION CI_NAME APPVEYOR CODEBUILD_BUILD_ARN bamboo_planKey BITBUCKET_COMMIT TF_BUILD \
    BUILDKITE CIRCLECI CF_BUILD_URL DRONE PULUMI_CI_SYSTEM GITHUB_ACTIONS GITLAB_CI GO_PIPELINE_LABEL HUDSON_URL \
    JENKINS_URL MAGNUM SEMAPHORE TASK_ID RUN_ID TEAMCITY_VERSION TRAVIS CI; do
    unset "$name"
  done
  export PULUMI_HOME=$BATS_TEST_TMPDIR/pulumi-home PULUMI_SKIP_UPDATE_CHECK=true TERM=xterm
  PATH=$(tr ':' '\n' <<<"$PATH" | grep -v '/node_modules/\.bin$' | paste -sd:)
}

# decisions WHERE [FLAG]: "script=<started|refused> cli=<asks|refused>" for a new stack, WHERE
# being "terminal" (a pseudo-terminal) or "pipe". The real CLI asks with a full-screen prompt that
# first queries the terminal (its background colour, the cursor), which no pseudo-terminal here
# answers: that it asks is what counts, and it is stopped there after 10 s.
decisions() {
  local where=$1 flag=${2:-} started created
  local wrapper=(bash "$repo/scripts/pulumi.sh" preview home ${flag:+"$flag"})
  local real=("$cli" stack select --create home ${flag:+"$flag"})
  if [[ $where == terminal ]]; then
    run bash -c 'cd "$1" && timeout 60 script -qec "$2" /dev/null </dev/null' _ "$repo" "$(printf '%q ' "${wrapper[@]}")"
  else
    run bash -c 'cd "$1" && shift && timeout 60 "$@" </dev/null' _ "$repo" "${wrapper[@]}"
  fi
  started=started
  [[ $status -ne 2 || $output != *"nobody is at a terminal to type it"* ]] || started=refused
  rm -rf "$repo/.pulumi-state" "$repo/state"
  cp "$root/Pulumi.home.yaml" "$repo/"
  mkdir -p "$repo/state"
  export PULUMI_BACKEND_URL=file://$repo/state
  if [[ $where == terminal ]]; then
    run bash -c 'cd "$1" && timeout 10 script -qec "$2" /dev/null </dev/null' _ "$repo" "$(printf '%q ' "${real[@]}")"
  else
    run bash -c 'cd "$1" && shift && timeout 60 "$@" </dev/null' _ "$repo" "${real[@]}"
  fi
  unset PULUMI_BACKEND_URL
  created=refused
  [[ $output != *"Created stack 'home'"* && $output != *"Enter your passphrase to protect config/secrets"* ]] || created=asks
  [[ $created == asks || $output == *"passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE"* ]] || {
    echo "the real CLI neither created the stack nor asked for the passphrase variables: $output" >&2
    return 1
  }
  echo "script=$started cli=$created"
}

@test "off a terminal without a passphrase: the real CLI cannot create the stack, and the script stops first" {
  [ "$(decisions pipe)" = "script=refused cli=refused" ]
}

@test "off a terminal with PULUMI_CONFIG_PASSPHRASE, even empty, or PULUMI_CONFIG_PASSPHRASE_FILE: both go on" {
  PULUMI_CONFIG_PASSPHRASE=pw
  export PULUMI_CONFIG_PASSPHRASE
  [ "$(decisions pipe)" = "script=started cli=asks" ]
  PULUMI_CONFIG_PASSPHRASE=
  [ "$(decisions pipe)" = "script=started cli=asks" ]
  unset PULUMI_CONFIG_PASSPHRASE
  echo pw >"$BATS_TEST_TMPDIR/phrase"
  export PULUMI_CONFIG_PASSPHRASE_FILE=$BATS_TEST_TMPDIR/phrase
  [ "$(decisions pipe)" = "script=started cli=asks" ]
}

@test "on a terminal the real CLI asks for the passphrase, and the script lets it, even with plain CI set" {
  [ "$(decisions terminal)" = "script=started cli=asks" ]
  export CI=true
  [ "$(decisions terminal)" = "script=started cli=asks" ]
}

@test "on a terminal inside a CI system, with TERM=dumb or with --non-interactive, neither asks" {
  GITHUB_ACTIONS=true
  export GITHUB_ACTIONS
  [ "$(decisions terminal)" = "script=refused cli=refused" ]
  unset GITHUB_ACTIONS
  export TERM=dumb
  [ "$(decisions terminal)" = "script=refused cli=refused" ]
  export TERM=xterm
  [ "$(decisions terminal --non-interactive)" = "script=refused cli=refused" ]
}
