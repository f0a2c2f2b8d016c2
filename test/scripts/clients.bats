#!/usr/bin/env bats
# scripts/clients.sh (npm run clients) against a stubbed pulumi that prints a stack's outputs as
# `pulumi stack output --json --show-secrets` does.
# shellcheck disable=SC2016 # stub bodies are single-quoted: they expand when the stub runs

setup() {
  load stubs
  setup_stubs
  root=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
  script=$root/scripts/clients.sh
  export PULUMI_BACKEND_URL=file:///nowhere TMPDIR=$BATS_TEST_TMPDIR/tmp
  mkdir -p "$TMPDIR"
  cat >"$BATS_TEST_TMPDIR/outputs.json" <<'JSON'
{"apiBaseUrl":"https://192.168.1.40/v1","caCertificate":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
 "apiKeys":{"ide":"sk-infernus-ide-0000"},"clientConfigs":{"phone":"[Interface]\nPrivateKey = x\n"},
 "serving":{"gpu1":{"kinds":{"gpt-oss-120b":"chat"}}}}
JSON
  export OUTPUTS=$BATS_TEST_TMPDIR/outputs.json
  stub pulumi 'case "$*" in
    version) echo v3.265.0 ;;
    "stack output --stack home --json --show-secrets") cat "$OUTPUTS" ;;
    "stack output --stack destroyed --json --show-secrets") echo "{}" ;;
    *) echo "error: no stack named '\''$4'\'' found" >&2; exit 255 ;;
  esac'
}

@test "writes the deployed stack's client files where only the user can read them, and leaves no copy of the outputs" {
  run bash "$script" home "$BATS_TEST_TMPDIR/clients"
  [ "$status" -eq 0 ]
  [[ $output == *"files in $BATS_TEST_TMPDIR/clients (only you can read them)"* ]]
  [ "$(stat -c %a "$BATS_TEST_TMPDIR/clients")" = 700 ]
  [ "$(stat -c %a "$BATS_TEST_TMPDIR/clients/wireguard/phone.conf")" = 600 ]
  grep -q "OPENAI_API_KEY='sk-infernus-ide-0000'" "$BATS_TEST_TMPDIR/clients/ide/env.sh"
  # Its outputs file held every secret: no copy is left in the temporary folder.
  run grep -rq sk-infernus-ide-0000 "$TMPDIR"
  [ "$status" -eq 1 ]
  [ -z "$(find "$TMPDIR" -name outputs.json)" ]
}

@test "takes a relative folder from where the user typed it, as npm passes it (INIT_CWD)" {
  mkdir -p "$BATS_TEST_TMPDIR/work"
  INIT_CWD=$BATS_TEST_TMPDIR/work run bash "$script" home mine
  [ "$status" -eq 0 ]
  [ -f "$BATS_TEST_TMPDIR/work/mine/ide/env.sh" ]
}

@test "refuses a folder inside the checkout (out/ or anywhere git could commit a key)" {
  for dir in "$root/out/home/real-clients" "$root/clients" "$root"; do
    run bash "$script" home "$dir"
    [ "$status" -eq 64 ]
    [[ $output == *"is inside this checkout, where git could commit the keys"*"choose a folder outside it (the default is ~/.infernus/home/clients)"* ]]
  done
  INIT_CWD=$root run bash "$script" home mine
  [ "$status" -eq 64 ]
  not_called "stack output"
}

@test "says so when pulumi cannot read the stack, or the stack has no outputs, and writes nothing" {
  run bash "$script" nowhere "$BATS_TEST_TMPDIR/clients"
  [ "$status" -eq 1 ]
  [[ $output == *"infernus: pulumi could not read stack nowhere's outputs: error: no stack named 'nowhere' found"*"is it deployed (npm run up -- nowhere)"* ]]
  run bash "$script" destroyed "$BATS_TEST_TMPDIR/clients"
  [ "$status" -eq 1 ]
  [[ $output == *"infernus: stack destroyed has no apiBaseUrl, apiKeys, clientConfigs, serving among its outputs: it is not deployed; npm run up -- destroyed first"* ]]
  [ ! -e "$BATS_TEST_TMPDIR/clients" ]
}

@test "refuses what is not a stack name, and flags it does not have" {
  for args in "../x" "a/b/c/d" "home dir extra" "--load"; do
    # shellcheck disable=SC2086 # each case is its own words
    run bash "$script" $args
    [ "$status" -eq 64 ]
  done
  not_called "stack output"
}
