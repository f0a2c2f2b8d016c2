#!/usr/bin/env bash
# infernus-models: each declared model's download, as bytes on disk against what it downloads (the
# served files at the pinned revision).
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
  # With what hf has of the file it is fetching (in $dir/.cache until it is whole).
  have=$(du -sb "$dir" 2>/dev/null | cut -f1 || echo 0)
  percent=$((${have:-0} * 100 / bytes))
  if [[ -f $dir/.infernus-complete ]]; then
    state=complete
    percent=100
  else
    # Until hf says it is done, never 100 %: the expected size is the repository's listing.
    ((percent <= 99)) || percent=99
    state=$(systemctl is-active "infernus-fetch-$name.service" 2>/dev/null || true)
    incomplete=$((incomplete + 1))
  fi
  printf '%-24s %-10s %7s%% %s\n' "$name" "$state" "$percent" "journalctl -u infernus-fetch-$name.service"
done <"$list"
exit $((incomplete > 0))
