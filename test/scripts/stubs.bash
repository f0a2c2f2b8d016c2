# Test helpers for host scripts: a scratch root and stub commands that record how they were called.
# shellcheck shell=bash

setup_stubs() {
  export INFERNUS_ROOT=$BATS_TEST_TMPDIR/root STUBS=$BATS_TEST_TMPDIR/bin CALLS=$BATS_TEST_TMPDIR/calls
  mkdir -p "$INFERNUS_ROOT" "$STUBS"
  : >"$CALLS"
  export PATH=$STUBS:$PATH
}

# stub NAME [BODY]: a command that records its arguments, then runs BODY (default: exit 0).
stub() {
  local name=$1 body=${2:-}
  # shellcheck disable=SC2016 # $* and $CALLS expand inside the stub, when it runs
  printf '#!/usr/bin/env bash\necho "%s $*" >>"$CALLS"\n%s\n' "$name" "$body" >"$STUBS/$name"
  chmod +x "$STUBS/$name"
}

# put FILE CONTENT: writes a file under the scratch root.
put() {
  mkdir -p "$(dirname "$INFERNUS_ROOT$1")"
  printf '%s' "$2" >"$INFERNUS_ROOT$1"
}

called() {
  grep -qxF -- "$1" "$CALLS"
}

# lacks PATTERN FILE: FILE has no line matching the extended regex.
lacks() {
  ! grep -Eq -- "$1" "$2"
}

not_called() {
  ! grep -q -- "$1" "$CALLS"
}
