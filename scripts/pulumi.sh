#!/usr/bin/env bash
# The Pulumi CLI for this project, with a local state backend unless another is chosen.
#   scripts/pulumi.sh preview|up|destroy|refresh [STACK] [pulumi flags]   (STACK defaults to home)
#   scripts/pulumi.sh run ARGS...                                          (any pulumi command)
# State goes to .pulumi-state/ in this folder unless PULUMI_BACKEND_URL names another backend or
# `pulumi login` chose one. The npm `pulumi` package supplies the CLI when none is installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

action=${1:?usage: scripts/pulumi.sh preview|up|destroy|refresh [stack] [flags], or run ARGS...}
shift

if [[ -z ${PULUMI_BACKEND_URL:-} ]] && ! pulumi whoami >/dev/null 2>&1; then
  mkdir -p .pulumi-state
  export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
fi

case $action in
  preview | up | destroy | refresh) ;;
  run) exec pulumi "$@" ;;
  *)
    echo "infernus: unknown action $action; use preview, up, destroy, refresh, or run ARGS..." >&2
    exit 2
    ;;
esac

stack=home
if [[ $# -gt 0 && $1 != -* ]]; then
  stack=$1
  shift
fi
if [[ ! -f Pulumi.$stack.yaml ]]; then
  stacks=(Pulumi.*.yaml)
  stacks=("${stacks[@]#Pulumi.}")
  echo "infernus: there is no Pulumi.$stack.yaml; the stacks here are: ${stacks[*]%.yaml}" >&2
  exit 1
fi
pulumi stack select --create "$stack" >/dev/null
exec pulumi "$action" --stack "$stack" "$@"
