#!/usr/bin/env bats
# scripts/pulumi.sh, the npm scripts' way into the Pulumi CLI, against a stubbed pulumi.

setup() {
  load stubs
  setup_stubs
  # shellcheck disable=SC2016 # expands when the stub runs
  stub pulumi 'echo "backend=${PULUMI_BACKEND_URL:-}" >>"$CALLS"; [[ $1 == whoami ]] && exit 1; exit 0'
  root=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
  script=$root/scripts/pulumi.sh
  unset PULUMI_BACKEND_URL
}

@test "previews the home stack by default, with local state" {
  run bash "$script" preview
  [ "$status" -eq 0 ]
  called "pulumi stack select --create home"
  called "pulumi preview --stack home"
  called "backend=file://$root/.pulumi-state"
}

@test "takes a stack name and passes further flags on" {
  run bash "$script" up singapore --yes
  [ "$status" -eq 0 ]
  called "pulumi up --stack singapore --yes"
}

@test "runs any other command as it is" {
  run bash "$script" run stack output apiBaseUrl
  [ "$status" -eq 0 ]
  called "pulumi stack output apiBaseUrl"
  not_called "select"
}

@test "names the stacks there are when asked for one that is not" {
  run bash "$script" preview nope
  [ "$status" -eq 1 ]
  [[ $output == *"there is no Pulumi.nope.yaml; the stacks here are: home singapore"* ]]
}

@test "keeps a backend the user chose" {
  PULUMI_BACKEND_URL=s3://bucket run bash "$script" preview
  [ "$status" -eq 0 ]
  not_called whoami
  called "backend=s3://bucket"
  not_called "backend=file://"
}
