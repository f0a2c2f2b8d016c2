#!/usr/bin/env bash
# Asks the Go module proxy which pieces of the real Pulumi toolchain it serves, and prints one line
# each: served or refused, with the proxy's own answer. Changes nothing; run it by hand when the
# registry may have changed (README.md, The tests and The real engine, say what depends on the answer).
#
# The pieces without tags of their own (the language host, the providers' `provider` modules,
# llama-swap, whose tags are not semver) can only be asked for as pseudo-versions of their release
# commits: vX.0.0-<commit time, UTC>-<12 hex of the commit>, as `go` itself names them.
set -euo pipefail

# The proxy this machine's go uses, without its fallback to the origin (unreachable here).
proxy=$(go env GOPROXY)
proxy=${proxy%%,*}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# module path, version, what it is
pieces=(
  "github.com/pulumi/pulumi/pkg/v3 v3.259.0 the Pulumi CLI (pkg/cmd/pulumi) at the npm pulumi package's version"
  "github.com/pulumi/pulumi/pkg/v3 v3.265.0 the Pulumi CLI at the version the npm pulumi package had before"
  "github.com/pulumi/pulumi/sdk/v3 v3.259.0 the Pulumi Go SDK the CLI is built with"
  "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 v3.0.0-20260819165155-0ac56e876614 pulumi-language-nodejs at the v3.259.0 release commit"
  "github.com/pulumi/pulumi-command/provider v0.0.0-20260303235922-7f3eb6f3b77c pulumi-command's provider at v1.2.1"
  "github.com/pulumi/pulumi-random/provider/v4 v4.0.0-20260722185042-f2d8b029d0f7 pulumi-random's provider at v4.21.1"
  "github.com/pulumi/pulumi-tls/provider/v5 v5.0.0-20260722185624-c3b9a61e7075 pulumi-tls's provider at v5.5.1"
  "github.com/mostlygeek/llama-swap v0.0.0-20260814154540-60226b63776e llama-swap at its v250 release"
)

refused=0
for piece in "${pieces[@]}"; do
  read -r module version what <<<"$piece"
  if answer=$(cd "$scratch" && GOPROXY=$proxy GOFLAGS=-mod=mod go list -m -json "$module@$version" 2>&1); then
    printf 'served   %s@%s (%s)\n' "$module" "$version" "$what"
  else
    printf 'refused  %s@%s (%s): %s\n' "$module" "$version" "$what" "$(tr -s '\n\t' '  ' <<<"$answer" | grep -oE '[0-9]{3} [A-Z].*' || echo "$answer")"
    refused=$((refused + 1))
  fi
done
echo "$refused of ${#pieces[@]} refused by the module proxy"
