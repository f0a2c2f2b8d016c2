#!/usr/bin/env bash
# Places the tiktoken encodings gpt-oss needs in DIR, checked against the hashes tiktoken itself
# pins, so vLLM can run with the network off (TIKTOKEN_ENCODINGS_BASE=DIR).
#   usage: infernus-fetch-tiktoken DIR
set -euo pipefail
dir=${1:?usage: infernus-fetch-tiktoken DIR}
mkdir -p "$dir"
while read -r file sha256; do
  if ! echo "$sha256  $dir/$file" | sha256sum --check --status 2>/dev/null; then
    curl --fail --silent --show-error --location --retry 5 -o "$dir/$file.part" "https://openaipublic.blob.core.windows.net/encodings/$file"
    echo "$sha256  $dir/$file.part" | sha256sum --check --status || {
      echo "infernus: $file does not have the sha256 tiktoken expects; not installed" >&2
      exit 1
    }
    mv "$dir/$file.part" "$dir/$file"
  fi
done <<'LIST'
o200k_base.tiktoken 446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d
cl100k_base.tiktoken 223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7
LIST
echo "tiktoken encodings in $dir"
