#!/usr/bin/env bats
# assets/monitoring/metrics.sh against stubbed nvidia-smi, upsc, zfs and wg.
# shellcheck disable=SC2016 # stub bodies are single-quoted: they expand when the stub runs

setup() {
  load stubs
  setup_stubs
  script=$BATS_TEST_DIRNAME/../../assets/monitoring/metrics.sh
  out=$BATS_TEST_TMPDIR/textfile
  export INFERNUS_METRICS_CONF=$BATS_TEST_TMPDIR/metrics.conf
  stub nvidia-smi 'echo "87, 412.50, 70000, 0x0000000000000040, 0"'
  stub upsc 'case $2 in ups.status) echo "${UPS_STATUS:-OL}" ;; battery.charge) echo 64 ;; ups.load) echo 37 ;; esac'
  stub zfs 'echo 1763800000'
  stub wg 'printf "KEYGPU1=\t%s\nKEYNEVER=\t0\n" "$(( $(date +%s) - 42 ))"'
  put /etc/wireguard/wg0.conf $'# edge: the hub\n[Interface]\n\n# gpu1 (server)\n[Peer]\nPublicKey = KEYGPU1=\n\n# phone (client)\n[Peer]\nPublicKey = KEYNEVER=\n'
  mkdir -p "$BATS_TEST_TMPDIR/models/a"
  touch "$BATS_TEST_TMPDIR/models/a/.infernus-complete"
  printf 'a org/a 1 %s\nb org/b 1 %s\n' "$BATS_TEST_TMPDIR/models/a" "$BATS_TEST_TMPDIR/models/b" >"$BATS_TEST_TMPDIR/models.list"
  printf '{"time":"t","client":"ide","status":200,"x":1}\n{"time":"t","client":"ide","status":502,"x":1}\n{"time":"t","client":"n8n","status":200,"x":1}\n' >"$BATS_TEST_TMPDIR/audit.log"
  printf 'GPU=1\nUPS=apc\nDATASETS="tank/rag tank/state"\nMODELS_LIST=%s\nWG=wg0\nAUDIT_LOG=%s\n' "$BATS_TEST_TMPDIR/models.list" "$BATS_TEST_TMPDIR/audit.log" >"$INFERNUS_METRICS_CONF"
}

@test "GPU metrics from nvidia-smi, thermal throttling read from the event reasons" {
  run bash "$script" "$out"
  [ "$status" -eq 0 ]
  grep -qx 'infernus_gpu_temperature_celsius{gpu="0"} 87' "$out/gpu.prom"
  grep -qx 'infernus_gpu_power_watts{gpu="0"} 412.50' "$out/gpu.prom"
  grep -qx 'infernus_gpu_memory_used_bytes{gpu="0"} 73400320000' "$out/gpu.prom"
  grep -qx 'infernus_gpu_thermal_throttle{gpu="0"} 1' "$out/gpu.prom"
  grep -qx 'infernus_gpu_ecc_uncorrected_errors_total{gpu="0"} 0' "$out/gpu.prom"
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
}

@test "WireGuard handshake ages by peer name, a peer never seen as very old" {
  run bash "$script" "$out"
  grep -Eq '^infernus_wireguard_handshake_age_seconds\{peer="gpu1"\} 4[2-4]$' "$out/wireguard.prom"
  grep -Eq '^infernus_wireguard_handshake_age_seconds\{peer="phone"\} [0-9]{10}$' "$out/wireguard.prom"
}

@test "gateway answers by status class, from the audit log" {
  run bash "$script" "$out"
  grep -qx 'infernus_gateway_requests_total{class="2xx"} 2' "$out/gateway.prom"
  grep -qx 'infernus_gateway_requests_total{class="5xx"} 1' "$out/gateway.prom"
}

@test "every file it writes is valid for promtool (real tool)" {
  run bash "$script" "$out"
  for file in "$out"/*.prom; do
    promtool check metrics <"$file"
  done
}
