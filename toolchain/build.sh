#!/usr/bin/env bash
# Builds the real Pulumi CLI from its published Go module (toolchain/go.mod names the version) and
# prints the folder that holds it, for PATH:
#   PATH=$(bash toolchain/build.sh):$PATH
# The build is kept under $INFERNUS_TOOLCHAIN_CACHE (/var/tmp/infernus-toolchain), in a folder named
# by the sha256 of go.mod and go.sum, so a second run on the same machine reuses it; a changed
# version builds anew. Progress and timings go to stderr, only the folder to stdout.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${INFERNUS_TOOLCHAIN_CACHE:-/var/tmp/infernus-toolchain}

command -v go >/dev/null || {
  echo "infernus: toolchain/build.sh needs the go command to build the Pulumi CLI; install Go 1.25 or later (Debian: golang-go from backports, or go.dev/dl) and run again" >&2
  exit 1
}

key=$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-16)
bin=$cache/$key/bin
if [[ -x $bin/pulumi ]]; then
  echo "infernus: the Pulumi CLI of toolchain/go.mod is cached in $bin" >&2
  printf '%s\n' "$bin"
  exit 0
fi

version=$(go -C "$here" list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3)
echo "infernus: building the Pulumi CLI $version from its Go module (a first build takes many minutes) …" >&2
mkdir -p "$cache"
work=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
started=$SECONDS
# As the release does (.goreleaser.yml at that version): its version stamped in, the pure-Go
# os/user, gRPC without x/net/trace, no cgo, reproducible paths.
CGO_ENABLED=0 go -C "$here" build -trimpath -tags osusergo,grpcnotrace \
  -ldflags "-w -s -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
  -o "$work/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
mkdir -p "$cache/$key"
rm -rf "$bin"
mv "$work/bin" "$bin"
echo "infernus: built the Pulumi CLI $version in $((SECONDS - started)) s, kept in $bin" >&2
printf '%s\n' "$bin"
