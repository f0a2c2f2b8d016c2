#!/usr/bin/env bash
# The Pulumi CLI for this project.
#   scripts/pulumi.sh preview|up|destroy|refresh [STACK] [pulumi flags]   (STACK defaults to home)
#   scripts/pulumi.sh run ARGS...                                          (any pulumi command)
# The backend is the one the user chose, found as the CLI finds it: PULUMI_BACKEND_URL, then
# `backend.url` in Pulumi.yaml, then `current` in credentials.json (what `pulumi login` wrote).
# Only when none is chosen does state go to .pulumi-state/ in this folder, and the script says so.
# It never changes backend because a command failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

action=${1:?usage: scripts/pulumi.sh preview|up|destroy|refresh [stack] [flags], or run ARGS...}
shift
case $action in
  preview | up | destroy | refresh | run) ;;
  *)
    echo "infernus: unknown action $action; use preview, up, destroy, refresh, or run ARGS..." >&2
    exit 2
    ;;
esac

if [[ $action != run ]]; then
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
fi

# The backend the user chose, or nothing. Read with node (npm runs this, so node is there; jq may
# not be). A credentials.json that cannot be parsed stops here rather than counting as no login.
chosen_backend() {
  if [[ -n ${PULUMI_BACKEND_URL:-} ]]; then
    printf '%s' "$PULUMI_BACKEND_URL"
    return
  fi
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    const fs = require("fs");
    const read = (f) => { try { return fs.readFileSync(f, "utf8"); } catch { return ""; } };
    const project = /^backend:[ \t]*\r?\n(?:[ \t]+.*\r?\n)*?[ \t]+url:[ \t]*["\x27]?([^"\x27\s#]+)/m.exec(read("Pulumi.yaml"));
    if (project) { process.stdout.write(project[1]); process.exit(0); }
    const file = process.argv[1], text = read(file);
    try { process.stdout.write(text ? JSON.parse(text).current || "" : ""); }
    catch (e) { console.error(`infernus: cannot read ${file} (${e.message}); fix it or run pulumi login`); process.exit(1); }
  ' "${PULUMI_HOME:-$HOME/.pulumi}/credentials.json"
}
backend=$(chosen_backend)
if [[ -z $backend ]]; then
  mkdir -p .pulumi-state
  export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
  backend=$PULUMI_BACKEND_URL
  echo "infernus: no Pulumi backend chosen, so state goes to $backend (npm run pulumi -- login <url>, or PULUMI_BACKEND_URL, picks another)" >&2
fi

# Whether the CLI will be able to prompt: cmdutil.Interactive() in pulumi/pulumi
# (sdk/go/common/util/cmdutil/console.go) is "not --non-interactive, TERM not dumb, stdin and stdout
# terminals, and no CI system detected"; the CI systems are the vendor variables of
# sdk/go/common/util/ciutil/detect.go (plain CI is not one of them).
ci_variables=(APPVEYOR CODEBUILD_BUILD_ARN bamboo_planKey BITBUCKET_COMMIT TF_BUILD BUILDKITE CIRCLECI
  CF_BUILD_URL DRONE PULUMI_CI_SYSTEM GITHUB_ACTIONS GITLAB_CI GO_PIPELINE_LABEL HUDSON_URL JENKINS_URL
  MAGNUM SEMAPHORE TASK_ID RUN_ID TEAMCITY_VERSION TRAVIS)
interactive() {
  local arg name term=${TERM:-}
  for arg; do
    [[ $arg == --non-interactive || $arg == --non-interactive=true ]] && return 1
  done
  [[ ${term,,} != dumb ]] || return 1
  if [[ -z ${PULUMI_DISABLE_CI_DETECTION:-} ]]; then
    for name in "${ci_variables[@]}"; do
      [[ -z ${!name:-} ]] || return 1
    done
    [[ ${CI_NAME:-} != codeship ]] || return 1
  fi
  [[ -t 0 && -t 1 ]]
}

# A file:// backend keeps secrets with the passphrase secrets manager. The CLI takes the passphrase
# from PULUMI_CONFIG_PASSPHRASE (set, even empty), a non-empty PULUMI_CONFIG_PASSPHRASE_FILE, or a
# prompt; with none of them a new stack is not created and an existing one cannot be read.
if [[ $action != run && $backend == file://* ]] && [[ -z ${PULUMI_CONFIG_PASSPHRASE+set} && -z ${PULUMI_CONFIG_PASSPHRASE_FILE:-} ]] &&
  ! interactive "$@"; then
  echo "infernus: the local state backend encrypts this stack's secrets with a passphrase, and nobody is at a terminal to type it; set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE=<file holding it>) and run again. Keep the passphrase: without it the stack's secrets cannot be read." >&2
  exit 2
fi

# Start the CLI once before any real command. node_modules/.bin/pulumi is the npm `pulumi` package's
# run.js: on first use it runs get.pulumi.com's install.sh into ${PULUMI_HOME:-~/.pulumi}/versions/<its
# version>/, and when that fails (no network, an HTTP error, install.sh failing) it prints
# `pulumi: <reason>` (e.g. `pulumi: fetch failed`) and exits 1, the status of any CLI error. Only
# this first start tells the two apart.
cli_failed() {
  echo "infernus: $1; install the Pulumi CLI (https://www.pulumi.com/docs/install/) or check network access (the npm pulumi package downloads it on first use), then run again" >&2
  exit "$2"
}
if ! command -v pulumi >/dev/null && [[ -x node_modules/.bin/pulumi ]]; then
  PATH=$PWD/node_modules/.bin:$PATH
fi
command -v pulumi >/dev/null || cli_failed "there is no pulumi command (none installed, no node_modules/.bin/pulumi)" 127
status=0
pulumi version >/dev/null || status=$?
((status == 0)) || cli_failed "the Pulumi CLI did not start (pulumi version exited $status)" "$status"

if [[ $action == run ]]; then
  exec pulumi "$@"
fi

pulumi stack select --create "$stack"

if [[ $action == destroy ]]; then
  chosen=
  for arg; do
    case $arg in
      --) break ;;
      --target | --target=* | -t*) chosen=1 ;;
      --ignore-protect | --ignore-protect=* | --exclude-protected | --exclude-protected=*) chosen=1 ;;
    esac
  done
  if [[ -z $chosen ]]; then
    set -- --exclude-protected "$@"
    cat >&2 <<EOF
infernus: destroy runs with --exclude-protected: it destroys everything except the protected resources,
  the reserved IP, the DNS zone and the offsite backup bucket (those of them stack $stack has), and leaves
  the stack holding them. They are protected because the address clients dial, the domain's records and
  the backups cannot be recovered once deleted. To remove one deliberately:
    npm run pulumi -- stack --stack $stack --show-urns          # find its URN
    npm run pulumi -- state unprotect --stack $stack '<urn>'
    npm run destroy -- $stack
EOF
  fi
fi
exec pulumi "$action" --stack "$stack" "$@"
