#!/usr/bin/env bats
# assets/monitoring/metrics.sh against stubbed nvidia-smi, upsc, zfs and wg.
# shellcheck disable=SC2016 # stub bodies are single-quoted: they expand when the stub runs

setup() {
  load stubs
  setup_stubs
  script=$BATS_TEST_DIRNAME/../../assets/monitoring/metrics.sh
  out=$BATS_TEST_TMPDIR/textfile
  export INFERNUS_METRICS_CONF=$BATS_TEST_TMPDIR/metrics.conf
  stub nvidia-smi 'echo "87, 412.50, 70000, 0x0000000000000040, 0, 580.95.05, NVIDIA RTX PRO 6000 Blackwell Workstation Edition"'
  stub upsc 'case $2 in ups.status) echo "${UPS_STATUS:-OL}" ;; battery.charge) echo 64 ;; ups.load) echo 37 ;; esac'
  stub zfs 'echo 1763800000'
  # A handshake 42 s before the test, fixed now: the script's age for it is 42 s and any delay since.
  stub wg "printf 'KEYGPU1=\t%s\nKEYNEVER=\t0\n' $(($(date +%s) - 42))"
  put /etc/wireguard/wg0.conf $'# edge: the hub\n[Interface]\n\n# gpu1 (server)\n[Peer]\nPublicKey = KEYGPU1=\n\n# phone (client)\n[Peer]\nPublicKey = KEYNEVER=\n'
  mkdir -p "$BATS_TEST_TMPDIR/models/a"
  touch "$BATS_TEST_TMPDIR/models/a/.infernus-complete"
  # a-lora is a LoRA adapter on a: downloaded on its own, served by a's process (no port).
  printf 'a org/a 1 %s 5801\na-lora org/a-lora 1 %s -\nb org/b 1 %s 5802\nc org/c 1 %s 5803\n' "$BATS_TEST_TMPDIR/models/a" "$BATS_TEST_TMPDIR/models/a-lora" "$BATS_TEST_TMPDIR/models/b" "$BATS_TEST_TMPDIR/models/c" >"$BATS_TEST_TMPDIR/models.list"
  # Models a and c are loaded (their vLLM answers on its port), b is not.
  export FIXTURE=$BATS_TEST_DIRNAME/fixtures/vllm-metrics.txt
  # c is asleep (vLLM's sleep mode answers its metrics and GET /is_sleeping); a is awake, b not running.
  stub curl 'case $* in *127.0.0.1:5801/metrics*) sed s/MODEL/a/ "$FIXTURE" ;; *127.0.0.1:5803/metrics*) sed s/MODEL/c/ "$FIXTURE" ;; *5801/is_sleeping*) echo "{\"is_sleeping\": false}" ;; *5803/is_sleeping*) echo "{\"is_sleeping\": true}" ;; *) exit 7 ;; esac'
  # Audit lines as the gateway's log_format writes them (components/gateway/nginx.ts, AUDIT_FIELDS).
  line() { printf '{"time":"t","client":"%s","method":"POST","path":"/v1/chat/completions","status":%s,"model":"%s","prompt_tokens":%s,"completion_tokens":%s,"request_bytes":9,"response_bytes":9,"request_time":0.1,"upstream_time":"0.1","upstream":"10.66.0.2:8080"}\n' "$@"; }
  {
    line ide 200 qwen3-coder-30b 120 30
    line ide 200 qwen3-coder-30b 80 20
    line ide 502 qwen3-coder-30b null null
    line n8n 200 qwen3-embedding-8b 40 0
    line n8n 429 "" null null
    line "" 401 "" null null
  } >"$BATS_TEST_TMPDIR/audit.log"
  printf 'GPU=1\nUPS=apc\nDATASETS="tank/rag tank/state"\nMODELS_LIST=%s\nWG=wg0\nAUDIT_LOG=%s\nLAN_GATEWAY=https://192.168.1.50/healthz\n' "$BATS_TEST_TMPDIR/models.list" "$BATS_TEST_TMPDIR/audit.log" >"$INFERNUS_METRICS_CONF"
}

@test "GPU metrics from nvidia-smi, thermal throttling read from the event reasons" {
  run bash "$script" "$out"
  [ "$status" -eq 0 ]
  grep -qx 'infernus_gpu_temperature_celsius{gpu="0"} 87' "$out/gpu.prom"
  grep -qx 'infernus_gpu_power_watts{gpu="0"} 412.50' "$out/gpu.prom"
  grep -qx 'infernus_gpu_memory_used_bytes{gpu="0"} 73400320000' "$out/gpu.prom"
  grep -qx 'infernus_gpu_thermal_throttle{gpu="0"} 1' "$out/gpu.prom"
  grep -qx 'infernus_gpu_ecc_uncorrected_errors_total{gpu="0"} 0' "$out/gpu.prom"
  grep -qx 'infernus_gpu_info{gpu="0",name="NVIDIA RTX PRO 6000 Blackwell Workstation Edition",driver="580.95.05"} 1' "$out/gpu.prom"
}

@test "UPS on battery, low battery, and stale data apart" {
  UPS_STATUS="OB LB" run bash "$script" "$out"
  grep -qx 'infernus_ups_on_battery{ups="apc"} 1' "$out/ups.prom"
  grep -qx 'infernus_ups_low_battery{ups="apc"} 1' "$out/ups.prom"
  grep -qx 'infernus_ups_data_stale{ups="apc"} 0' "$out/ups.prom"
  grep -qx 'infernus_ups_battery_charge_percent{ups="apc"} 64' "$out/ups.prom"
  grep -qx 'infernus_ups_load_percent{ups="apc"} 37' "$out/ups.prom"
  UPS_STATUS="Error: Data stale" run bash "$script" "$out"
  grep -qx 'infernus_ups_data_stale{ups="apc"} 1' "$out/ups.prom"
  grep -qx 'infernus_ups_on_battery{ups="apc"} 0' "$out/ups.prom"
}

@test "the newest snapshot of each dataset, and which models have their weights" {
  run bash "$script" "$out"
  grep -qx 'infernus_zfs_latest_snapshot_timestamp_seconds{dataset="tank/rag"} 1763800000' "$out/snapshots.prom"
  grep -qx 'infernus_zfs_latest_snapshot_timestamp_seconds{dataset="tank/state"} 1763800000' "$out/snapshots.prom"
  grep -qx 'infernus_model_weights_complete{model="a"} 1' "$out/models.prom"
  grep -qx 'infernus_model_weights_complete{model="b"} 0' "$out/models.prom"
  grep -qx 'infernus_model_weights_expected_bytes{model="b"} 1' "$out/models.prom"
  grep -Eqx 'infernus_model_weights_bytes\{model="a"\} [0-9]+' "$out/models.prom"
  grep -qx 'infernus_model_weights_bytes{model="b"} 0' "$out/models.prom"
  grep -qx 'infernus_model_weights_complete{model="a-lora"} 0' "$out/models.prom"
  lacks 'infernus_model_(running|asleep)\{model="a-lora"\}' "$out/models.prom"
}

@test "a running model's vLLM figures, each family once, a sleeping one not counted as loaded, nothing asked of a model that is not loaded" {
  run bash "$script" "$out"
  grep -qx 'infernus_model_running{model="a"} 1' "$out/models.prom"
  grep -qx 'infernus_model_running{model="b"} 0' "$out/models.prom"
  grep -qx 'infernus_model_running{model="c"} 0' "$out/models.prom"
  grep -qx 'infernus_model_asleep{model="c"} 1' "$out/models.prom"
  grep -qx 'infernus_model_asleep{model="a"} 0' "$out/models.prom"
  grep -qx 'vllm:num_requests_waiting{engine="0",model_name="a"} 5.0' "$out/models.prom"
  grep -qx 'vllm:num_requests_waiting{engine="0",model_name="c"} 5.0' "$out/models.prom"
  grep -qx 'vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="c"} 42.0' "$out/models.prom"
  [ "$(grep -c '^# TYPE vllm:num_requests_waiting gauge$' "$out/models.prom")" -eq 1 ]
  [ "$(grep -c '^# TYPE vllm:time_to_first_token_seconds histogram$' "$out/models.prom")" -eq 1 ]
  lacks 'python_gc|process_resident|_created|cache_config_info' "$out/models.prom"
  # Only the models' own ports, never llama-swap's (which would load b).
  [ "$(grep '^curl ' "$CALLS" | grep -c '127\.0\.0\.1:580[0-9]/')" -eq 5 ]
  [ "$(grep -c '^curl ' "$CALLS")" -eq 6 ] # and the LAN gateway's /healthz
  not_called ':8080'
}

@test "WireGuard handshake ages by peer name, a peer never seen as very old" {
  run bash "$script" "$out"
  # Seconds since the stubbed handshake: 42, and up to two minutes more on a loaded machine.
  grep -Eq '^infernus_wireguard_handshake_age_seconds\{peer="gpu1"\} (4[2-9]|[5-9][0-9]|1[0-5][0-9])$' "$out/wireguard.prom"
  grep -Eq '^infernus_wireguard_handshake_age_seconds\{peer="phone"\} [0-9]{10}$' "$out/wireguard.prom"
}

@test "gateway answers by status class, from the audit log" {
  run bash "$script" "$out"
  grep -qx 'infernus_gateway_requests_total{class="2xx"} 3' "$out/gateway.prom"
  grep -qx 'infernus_gateway_requests_total{class="4xx"} 2' "$out/gateway.prom"
  grep -qx 'infernus_gateway_requests_total{class="5xx"} 1' "$out/gateway.prom"
}

@test "requests and tokens by user and model, 429s and 5xx by user, from the audit log" {
  run bash "$script" "$out"
  grep -qx 'infernus_usage_requests_total{client="ide",model="qwen3-coder-30b",code="200"} 2' "$out/gateway.prom"
  grep -qx 'infernus_usage_requests_total{client="ide",model="qwen3-coder-30b",code="502"} 1' "$out/gateway.prom"
  grep -qx 'infernus_usage_requests_total{client="n8n",model="",code="429"} 1' "$out/gateway.prom"
  grep -qx 'infernus_usage_requests_total{client="",model="",code="401"} 1' "$out/gateway.prom"
  grep -qx 'infernus_usage_prompt_tokens_total{client="ide",model="qwen3-coder-30b"} 200' "$out/gateway.prom"
  grep -qx 'infernus_usage_completion_tokens_total{client="ide",model="qwen3-coder-30b"} 50' "$out/gateway.prom"
  grep -qx 'infernus_usage_prompt_tokens_total{client="n8n",model="qwen3-embedding-8b"} 40' "$out/gateway.prom"
  # The exposition format as Prometheus reads it (promtool, the real parser).
  promtool check metrics <"$out/gateway.prom"
}

@test "the LAN gateway's /healthz, asked at its address by the name its certificate carries" {
  stub curl '[[ $* == *"--connect-to ::192.168.1.50: "*"https://llm.example.net/healthz"* ]] || exit 7; [[ ${LAN_DOWN:-0} == 1 ]] && { echo 000; exit 7; }; echo 200'
  printf "LAN_GATEWAY='https://llm.example.net/healthz'\nLAN_GATEWAY_ADDRESS='192.168.1.50'\n" >"$INFERNUS_METRICS_CONF"
  run bash "$script" "$out"
  grep -qx 'infernus_lan_gateway_up{url="https://llm.example.net/healthz"} 1' "$out/lan-gateway.prom"
  LAN_DOWN=1 run bash "$script" "$out"
  grep -qx 'infernus_lan_gateway_up{url="https://llm.example.net/healthz"} 0' "$out/lan-gateway.prom"
}

# Whether promtool's findings are only the colon in vLLM's metric names.
only_colon_findings() {
  ! printf '%s\n' "$1" | grep -v -e '^$' -e "^vllm:[a-z_]* metric names should not contain ':'$"
}

@test "every file it writes is valid for promtool (real tool)" {
  run bash "$script" "$out"
  for file in "$out"/*.prom; do
    run promtool check metrics <"$file"
    # Lint findings exit 3, parse errors 1. vLLM's own names carry a colon, which the linter
    # flags; they are kept as vLLM names them, so its dashboards work unchanged.
    [ "$status" -eq 0 ] || [ "$status" -eq 3 ]
    only_colon_findings "$output"
  done
}
