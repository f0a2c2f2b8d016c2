#!/usr/bin/env bats
# assets/edge/cloud-init-wait.sh against a stubbed cloud-init.

setup() {
  load stubs
  setup_stubs
}

script=$BATS_TEST_DIRNAME/../../assets/edge/cloud-init-wait.sh

@test "goes on when cloud-init finished" {
  stub cloud-init "exit 0"
  run bash "$script"
  [ "$status" -eq 0 ]
  called "cloud-init status --wait"
  [[ $output == *"cloud-init finished"* ]]
}

@test "goes on, saying so, when cloud-init finished with recoverable errors" {
  stub cloud-init "exit 2"
  run bash "$script"
  [ "$status" -eq 0 ]
  [[ $output == *"recoverable errors"* ]]
}

@test "refuses with where to look when cloud-init failed" {
  stub cloud-init "exit 1"
  run bash "$script"
  [ "$status" -eq 1 ]
  [[ $output == *"cloud-init did not finish"*"(exit 1)"*"/var/log/cloud-init-output.log"* ]]
}
