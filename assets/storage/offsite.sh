#!/usr/bin/env bash
# infernus-offsite: copies the latest snapshot of each dataset listed in FILE to the encrypted
# remote offsite-crypt:<dataset>, then records the time for monitoring. A snapshot is a frozen,
# consistent view: the copy never sees a file half-written.
#   usage: infernus-offsite /etc/infernus/offsite.datasets   (lines: dataset mountpoint)
set -euo pipefail
list=${1:?usage: infernus-offsite DATASETS_FILE}
config=${RCLONE_CONFIG:-/etc/infernus/rclone.conf}
metrics=${INFERNUS_OFFSITE_METRICS:-/var/lib/node_exporter/textfile/infernus_offsite.prom}
failed=0
while read -r dataset mountpoint; do
  [[ -n $dataset ]] || continue
  snapshot=$(zfs list -H -t snapshot -o name -s creation "$dataset" | tail -1)
  if [[ -z $snapshot ]]; then
    echo "infernus-offsite: $dataset has no snapshot yet; skipped" >&2
    failed=1
    continue
  fi
  if rclone --config "$config" sync --fast-list "$mountpoint/.zfs/snapshot/${snapshot#*@}/" "offsite-crypt:$dataset/"; then
    echo "infernus-offsite: $snapshot copied"
  else
    echo "infernus-offsite: $snapshot was not copied" >&2
    failed=1
  fi
done <"$list"
if ((failed == 0)); then
  mkdir -p "$(dirname "$metrics")"
  printf '# HELP infernus_offsite_last_success_timestamp_seconds Last complete offsite copy.\n# TYPE infernus_offsite_last_success_timestamp_seconds gauge\ninfernus_offsite_last_success_timestamp_seconds %s\n' "$(date +%s)" >"$metrics.tmp"
  mv "$metrics.tmp" "$metrics"
fi
exit "$failed"
