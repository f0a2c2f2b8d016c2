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
    *) echo "error: no stack named '\''$3'\'' found" >&2; exit 255 ;;
  esac'
}

@test "writes the deployed stack's client files where only the user can read them, and leaves no copy of the outputs" {
  run bash "$script" home "$BATS_TEST_TMPDIR/clients"
  [ "$status" -eq 0 ]
  [[ $output == *"files in $BATS_TEST_TMPDIR/clients (only you can read them)"* ]]
  [ "$(stat -c %a "$BATS_TEST_TMPDIR/clients")" = 700 ]
  [ "$(stat -c %a "$BATS_TEST_TMPDIR/clients/wireguard/phone.conf")" = 600 ]
  grep -q 'OPENAI_API_KEY=sk-infernus-ide-0000' "$BATS_TEST_TMPDIR/clients/ide/env.sh"
  # Its outputs file held every secret: no copy is left in the temporary folder.
  run grep -rq sk-infernus-ide-0000 "$TMPDIR"
  [ "$status" -eq 1 ]
  [ -z "$(find "$TMPDIR" -name outputs.json)" ]
}

@test "refuses a folder inside out/, where the render's stand-ins live" {
  run bash "$script" home "$root/out/home/real-clients"
  [ "$status" -eq 64 ]
  [[ $output == *"is inside out/, where the render writes its stand-ins; choose another folder (the default is ~/.infernus/home/clients)"* ]]
  not_called "stack output"
}

@test "says so when the stack has no outputs yet" {
  run bash "$script" nowhere "$BATS_TEST_TMPDIR/clients"
  [ "$status" -eq 1 ]
  [[ $output == *"infernus: no outputs for stack nowhere"*"run npm run up -- nowhere first"* ]]
  [ ! -e "$BATS_TEST_TMPDIR/clients" ]
}
