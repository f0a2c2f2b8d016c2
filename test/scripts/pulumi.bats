#!/usr/bin/env bats
# scripts/pulumi.sh, the npm scripts' way into the Pulumi CLI, against a stand-in CLI
# (fixtures/pulumi-cli) that prompts on a terminal and fails off one as the real CLI does (the real
# CLI's own decisions are in pulumi-real.bats; it cannot preview or destroy here without the
# language host and providers, which the module proxy does not serve: toolchain/probe.sh).
# Each test runs the script from a copy of the project files, so state stays in the test's folder.

bats_require_minimum_version 1.5.0

setup() {
  load stubs
  setup_stubs
  root=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
  repo=$BATS_TEST_TMPDIR/repo
  mkdir -p "$repo/scripts"
  cp "$root/scripts/pulumi.sh" "$repo/scripts/"
  cp "$root/Pulumi.yaml" "$root/Pulumi.home.yaml" "$root/Pulumi.singapore.yaml" "$repo/"
  script=$repo/scripts/pulumi.sh
  cp "$BATS_TEST_DIRNAME/fixtures/pulumi-cli" "$STUBS/pulumi"
  export PULUMI_HOME=$BATS_TEST_TMPDIR/pulumi-home TERM=xterm
  mkdir -p "$PULUMI_HOME"
  local name
  for name in PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE PULUMI_CONFIG_PASSPHRASE_FILE PULUMI_ACCESS_TOKEN \
    PULUMI_DISABLE_CI_DETECTION CI_NAME APPVEYOR CODEBUILD_BUILD_ARN bamboo_planKey BITBUCKET_COMMIT TF_BUILD \
    BUILDKITE CIRCLECI CF_BUILD_URL DRONE PULUMI_CI_SYSTEM GITHUB_ACTIONS GITLAB_CI GO_PIPELINE_LABEL HUDSON_URL \
    JENKINS_URL MAGNUM SEMAPHORE TASK_ID RUN_ID TEAMCITY_VERSION TRAVIS; do
    unset "$name"
  done
  local_state=$repo/.pulumi-state/.pulumi/stacks/infernus
  # npm test puts the project's node_modules/.bin (the real npm pulumi) first on PATH: only the
  # stand-ins may answer here.
  PATH=$(tr ':' '\n' <<<"$PATH" | grep -v '/node_modules/\.bin$' | paste -sd:)
}

# on_terminal INPUT ARGS...: runs the script with ARGS under a pseudo-terminal (util-linux script),
# INPUT typed at it; stdin and stdout are then terminals, as at a shell prompt.
on_terminal() {
  local input=$1
  shift
  run bash -c 'printf "%s" "$1" | timeout 20 script -qec "$2" /dev/null' _ "$input" "bash $(printf '%q ' "$script" "$@")"
}

# a_stack DIR NAME LINES...: a stack that exists in the file backend at DIR, one resource a line.
a_stack() {
  local dir=$1/.pulumi/stacks/infernus name=$2
  shift 2
  mkdir -p "$dir"
  printf '%s\n' "$@" >"$dir/$name.stack"
}

refusal="infernus: the local state backend encrypts this stack's secrets with a passphrase, and nobody is at a terminal to type it; set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE=<file holding it>) and run again. Keep the passphrase: without it the stack's secrets cannot be read."

@test "previews the home stack by default, in the local .pulumi-state when no backend is chosen" {
  PULUMI_CONFIG_PASSPHRASE=pw run bash "$script" preview
  [ "$status" -eq 0 ]
  called "pulumi stack select --create home"
  called "pulumi preview --stack home"
  called "backend=file://$repo/.pulumi-state"
  [ -f "$local_state/home.stack" ]
}

@test "says once on stderr that the local default backend is used" {
  PULUMI_CONFIG_PASSPHRASE=pw run bash "$script" preview
  [ "$status" -eq 0 ]
  [ "$(grep -c "no Pulumi backend chosen" <<<"$output")" -eq 1 ]
  [[ $output == *"no Pulumi backend chosen, so state goes to file://$repo/.pulumi-state (npm run pulumi -- login <url>, or PULUMI_BACKEND_URL, picks another)"* ]]
}

@test "takes a stack name and passes further flags on" {
  PULUMI_CONFIG_PASSPHRASE=pw run bash "$script" up singapore --yes
  [ "$status" -eq 0 ]
  called "pulumi up --stack singapore --yes"
}

@test "runs any other command as it is, without asking for a passphrase" {
  run bash "$script" run stack output apiBaseUrl
  [ "$status" -eq 0 ]
  called "pulumi stack output apiBaseUrl"
  called "backend=file://$repo/.pulumi-state"
  not_called "select"
}

@test "names the stacks there are when asked for one that is not" {
  run bash "$script" preview nope
  [ "$status" -eq 1 ]
  [[ $output == *"there is no Pulumi.nope.yaml; the stacks here are: home singapore"* ]]
}

@test "on a terminal, lets Pulumi ask for the new stack's passphrase and creates the stack" {
  on_terminal $'pw\npw\npw\n' preview
  [ "$status" -eq 0 ]
  [[ $output == *"Enter your passphrase to protect config/secrets: "* ]]
  [[ $output == *"Re-enter your passphrase to confirm: "* ]]
  [[ $output == *"Created stack 'home'"* ]]
  [[ $output == *"Enter your passphrase to unlock config/secrets"* ]]
  [ -f "$local_state/home.stack" ]
  grep -q '^encryptionsalt: v1:' "$repo/Pulumi.home.yaml"
  called "pulumi preview --stack home"
}

@test "off a terminal, refuses a new local stack without a passphrase before starting pulumi" {
  run bash "$script" up --yes
  [ "$status" -eq 2 ]
  [ "${lines[-1]}" = "$refusal" ]
  [ ! -s "$CALLS" ]
  [ ! -e "$local_state/home.stack" ]
}

@test "off a terminal, refuses an existing local stack without a passphrase" {
  a_stack "$repo/.pulumi-state" home "urn:pulumi:home::infernus::pulumi:pulumi:Stack::infernus-home"
  run bash "$script" refresh --yes
  [ "$status" -eq 2 ]
  [ "${lines[-1]}" = "$refusal" ]
  [ ! -s "$CALLS" ]
}

@test "on a terminal inside a CI system, refuses as Pulumi would not prompt there" {
  GITHUB_ACTIONS=true on_terminal "" preview
  [ "$status" -eq 2 ]
  [[ $output == *"$refusal"* ]]
  [ ! -s "$CALLS" ]
}

@test "on a terminal whose TERM is dumb, refuses as Pulumi would not prompt there" {
  TERM=dumb on_terminal "" preview
  [ "$status" -eq 2 ]
  [[ $output == *"$refusal"* ]]
}

@test "on a terminal, refuses when the user passes --non-interactive" {
  on_terminal "" preview --non-interactive
  [ "$status" -eq 2 ]
  [[ $output == *"$refusal"* ]]
}

@test "on a terminal with plain CI set, still lets Pulumi ask (CI is not one of Pulumi's CI variables)" {
  CI=true on_terminal $'pw\npw\npw\n' preview
  [ "$status" -eq 0 ]
  [[ $output == *"Enter your passphrase to protect config/secrets: "* ]]
}

@test "off a terminal, creates the new stack with PULUMI_CONFIG_PASSPHRASE" {
  PULUMI_CONFIG_PASSPHRASE=pw run bash "$script" up --yes
  [ "$status" -eq 0 ]
  [[ $output == *"Created stack 'home'"* ]]
  called "pulumi up --stack home --yes"
  [ -f "$local_state/home.stack" ]
}

@test "off a terminal, takes an empty PULUMI_CONFIG_PASSPHRASE as set, as Pulumi does" {
  PULUMI_CONFIG_PASSPHRASE='' run bash "$script" preview
  [ "$status" -eq 0 ]
  called "pulumi preview --stack home"
}

@test "off a terminal, takes the passphrase from PULUMI_CONFIG_PASSPHRASE_FILE" {
  printf 'pw\n' >"$BATS_TEST_TMPDIR/passphrase"
  PULUMI_CONFIG_PASSPHRASE_FILE=$BATS_TEST_TMPDIR/passphrase run bash "$script" preview
  [ "$status" -eq 0 ]
  called "pulumi preview --stack home"
}

@test "keeps a backend the user chose in PULUMI_BACKEND_URL" {
  PULUMI_BACKEND_URL=s3://bucket PULUMI_CONFIG_PASSPHRASE=pw run bash "$script" preview
  [ "$status" -eq 0 ]
  not_called whoami
  called "backend=s3://bucket"
  not_called "backend=file://"
  [ ! -e "$repo/.pulumi-state" ]
}

@test "keeps a Pulumi Cloud user on Pulumi Cloud when the stored token no longer works" {
  printf '{"current":"https://api.pulumi.com","accessTokens":{"https://api.pulumi.com":"expired"}}' >"$PULUMI_HOME/credentials.json"
  run bash "$script" preview
  [ "$status" -ne 0 ]
  [[ $output == *"[401] Unauthorized"* ]]
  [[ $output != *"no Pulumi backend chosen"* ]]
  called "backend="
  not_called "backend=file://"
  [ ! -e "$repo/.pulumi-state" ]
}

@test "uses the file backend pulumi login chose, not .pulumi-state, and still asks for a passphrase" {
  printf '{"current":"file://%s/state"}' "$BATS_TEST_TMPDIR" >"$PULUMI_HOME/credentials.json"
  run bash "$script" preview
  [ "$status" -eq 2 ]
  [ "$output" = "$refusal" ]
  PULUMI_CONFIG_PASSPHRASE=pw run bash "$script" preview
  [ "$status" -eq 0 ]
  [ -f "$BATS_TEST_TMPDIR/state/.pulumi/stacks/infernus/home.stack" ]
  [ ! -e "$repo/.pulumi-state" ]
}

@test "uses the backend Pulumi.yaml names in backend.url" {
  printf 'backend:\n  url: file://%s/project-state\n' "$BATS_TEST_TMPDIR" >>"$repo/Pulumi.yaml"
  printf '{"current":"https://api.pulumi.com"}' >"$PULUMI_HOME/credentials.json"
  PULUMI_CONFIG_PASSPHRASE=pw run bash "$script" preview
  [ "$status" -eq 0 ]
  [ -f "$BATS_TEST_TMPDIR/project-state/.pulumi/stacks/infernus/home.stack" ]
  [ ! -e "$repo/.pulumi-state" ]
}

@test "stops on a credentials.json it cannot read instead of taking it for no login" {
  printf '{"current": ' >"$PULUMI_HOME/credentials.json"
  PULUMI_CONFIG_PASSPHRASE=pw run bash "$script" preview
  [ "$status" -eq 1 ]
  [[ $output == *"infernus: cannot read $PULUMI_HOME/credentials.json"* ]]
  [ ! -s "$CALLS" ]
  [ ! -e "$repo/.pulumi-state" ]
}

@test "destroys with --exclude-protected and says what it leaves and how to remove it" {
  ip="urn:pulumi:singapore::infernus::infernus:edge:Edge\$digitalocean:index/reservedIp:ReservedIp::edge-ip"
  droplet="urn:pulumi:singapore::infernus::infernus:edge:Edge\$digitalocean:index/droplet:Droplet::edge"
  a_stack "$repo/.pulumi-state" singapore "$ip protected" "$droplet"
  PULUMI_CONFIG_PASSPHRASE=pw run bash "$script" destroy singapore --yes
  [ "$status" -eq 0 ]
  called "pulumi destroy --stack singapore --exclude-protected --yes"
  [[ $output == *"the reserved IP, the DNS zone and the offsite backup bucket"* ]]
  [[ $output == *"npm run pulumi -- state unprotect --stack singapore '<urn>'"* ]]
  [[ $output == *"npm run destroy -- singapore"* ]]
  [ "$(cat "$local_state/singapore.stack")" = "$ip protected" ]
}

@test "destroys a --target as asked, without --exclude-protected (Pulumi refuses the two together)" {
  droplet="urn:pulumi:singapore::infernus::infernus:edge:Edge\$digitalocean:index/droplet:Droplet::edge"
  a_stack "$repo/.pulumi-state" singapore "$droplet"
  PULUMI_CONFIG_PASSPHRASE=pw run bash "$script" destroy singapore --target "$droplet" --yes
  [ "$status" -eq 0 ]
  called "pulumi destroy --stack singapore --target $droplet --yes"
  not_called "exclude-protected"
  [[ $output != *"destroy runs with --exclude-protected"* ]]
}

@test "destroys protected resources too when the user passes --ignore-protect" {
  a_stack "$repo/.pulumi-state" singapore "urn:pulumi:singapore::infernus::digitalocean:index/domain:Domain::edge-zone protected"
  PULUMI_CONFIG_PASSPHRASE=pw run bash "$script" destroy singapore --ignore-protect --yes
  [ "$status" -eq 0 ]
  called "pulumi destroy --stack singapore --ignore-protect --yes"
  not_called "exclude-protected"
  [ ! -s "$local_state/singapore.stack" ]
}

@test "says in one line what to do when there is no pulumi command" {
  rm "$STUBS/pulumi"
  mkdir "$BATS_TEST_TMPDIR/tools"
  local tool
  for tool in bash node dirname mkdir; do ln -s "$(command -v "$tool")" "$BATS_TEST_TMPDIR/tools/"; done
  PATH=$BATS_TEST_TMPDIR/tools PULUMI_CONFIG_PASSPHRASE=pw run -127 bash "$script" preview
  [ "$status" -eq 127 ]
  [ "${lines[-1]}" = "infernus: there is no pulumi command (none installed, no node_modules/.bin/pulumi); install the Pulumi CLI (https://www.pulumi.com/docs/install/) or check network access (the npm pulumi package downloads it on first use), then run again" ]
}

@test "says in one line what to do when the npm pulumi package cannot download the CLI" {
  # What node_modules/pulumi/run.js does when its download fails: the reason, then exit 1.
  stub pulumi 'echo "Downloading pulumi v3.265.0..." >&2; echo "pulumi: fetch failed" >&2; exit 1'
  mkdir -p "$repo/node_modules/.bin"
  mv "$STUBS/pulumi" "$repo/node_modules/.bin/pulumi"
  PULUMI_CONFIG_PASSPHRASE=pw run bash "$script" preview
  [ "$status" -eq 1 ]
  [[ $output == *"pulumi: fetch failed"* ]]
  [ "${lines[-1]}" = "infernus: the Pulumi CLI did not start (pulumi version exited 1); install the Pulumi CLI (https://www.pulumi.com/docs/install/) or check network access (the npm pulumi package downloads it on first use), then run again" ]
  called "pulumi version"
  not_called "select"
}
