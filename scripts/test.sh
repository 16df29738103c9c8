#!/usr/bin/env bash
# Sets up and runs every test: formatting, clippy, the JS and Python linters (scripts/lint.sh), the
# page modules' unit tests (Node), the Rust tests (known answers included), the wasm build, the browser end-to-end tests and the
# trainer's tests. Ends with one summary line per suite; exits non-zero if any failed. `.ci/run`
# calls exactly this.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
start=$(date +%s)
results=()
status=0
step() {
  local name=$1; shift
  local t0=$(date +%s)
  echo "===== $name: $*"
  if "$@"; then
    results+=("ok      $name ($(( $(date +%s) - t0 )) s)")
  else
    results+=("FAILED  $name ($(( $(date +%s) - t0 )) s)")
    status=1
  fi
}

step setup bash scripts/setup.sh --test || true
if [ "$status" != 0 ]; then
  printf '%s\n' "${results[@]}"
  exit 1
fi
step fmt cargo fmt --all --check
step clippy cargo clippy --release --all-targets -- -D warnings
step lint bash scripts/lint.sh
step js-unit node --test tests/unit/
step rust-tests cargo test --release
step fuzz bash fuzz/run.sh 30
step build-cli cargo build --release
step build-web bash scripts/build-web.sh
step e2e bash tests/e2e/run.sh
step trainer-tests bash train/run_tests.sh

echo "===== summary ($(( $(date +%s) - start )) s)"
printf '%s\n' "${results[@]}"
exit $status
