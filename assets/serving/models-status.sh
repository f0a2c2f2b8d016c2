#!/usr/bin/env bash
# infernus-models: each declared model's download, as bytes on disk against the expected size.
#   usage: infernus-models [MODELS_LIST]   (exit 0 only when every model is complete)
set -euo pipefail
list=${1:-/etc/infernus/models.list}
[[ -r $list ]] || {
  echo "infernus-models: $list is missing; it is written by 'pulumi up'" >&2
  exit 2
}
incomplete=0
printf '%-24s %-10s %8s %s\n' MODEL STATE DONE DOWNLOAD
while read -r name _repo bytes dir _port; do
  [[ -n $name ]] || continue
  have=$(du -sb "$dir" 2>/dev/null | cut -f1 || echo 0)
  percent=$((${have:-0} * 100 / bytes))
  ((percent <= 100)) || percent=100
  if [[ -f $dir/.infernus-complete ]]; then
    state=complete
  else
    state=$(systemctl is-active "infernus-fetch-$name.service" 2>/dev/null || true)
    incomplete=$((incomplete + 1))
  fi
  printf '%-24s %-10s %7s%% %s\n' "$name" "$state" "$percent" "journalctl -u infernus-fetch-$name.service"
done <"$list"
exit $((incomplete > 0))
