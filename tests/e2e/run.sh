#!/usr/bin/env bash
# End-to-end tests: wasm vs native parity (Node) and the page in headless Chromium, as node:test files
# (*.test.mjs: independent tests, each page test on a browser context of its own), run one file at a time
# (Chromium is heavy and the machine may be small) with the spec reporter.
# Assumes target/release/lcnet and lcnet-www (cargo build --release) and www/pkg + www/models
# (scripts/build-web.sh) exist. Installs the pinned npm packages when missing or stale.
# Ends with one summary line (tests, passed, failed, skipped) and the failed tests' names; exits non-zero
# when any test failed (or the runner itself did).
set -uo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)

fail_setup() { echo "e2e: $*" >&2; echo "FAILED e2e setup"; exit 1; }

command -v node >/dev/null || fail_setup "node not found (install Node.js ≥ 20; scripts/setup.sh)"
for bin in lcnet lcnet-www; do
  [ -x "$root/target/release/$bin" ] || fail_setup "target/release/$bin is missing: run 'cargo build --release'"
done
[ -f "$root/www/pkg/lcnet_bg.wasm" ] || fail_setup "www/pkg is missing: run 'bash scripts/build-web.sh'"

lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.lcnet-lock-sha256
if [ ! -d node_modules ] || [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
  echo "e2e: npm ci (node_modules missing or older than package-lock.json)"
  npm ci --no-audit --no-fund || fail_setup "npm ci failed"
  echo "$lock_sum" > "$stamp"
fi

# The suites: the Node-only parity first, then the page ones (each starts one server and one Chromium).
files=(wasm_parity.test.mjs page.test.mjs same_as_cli.test.mjs routes.test.mjs worker_memory.test.mjs)
# A TAP copy of the run beside the spec output on the terminal, for the summary below.
tap=$(mktemp "${TMPDIR:-/tmp}/lcnet-e2e.XXXXXX.tap")
trap 'rm -f "$tap"' EXIT
echo "== e2e: node --test ${files[*]}"
# Node 20 runs relaxed SIMD behind a flag (on by default in newer V8, which may not know the flag): with it
# wasm_parity also compares the relaxed-SIMD build of the module with the CLI.
node_flags=()
node --experimental-wasm-relaxed-simd -e 0 2>/dev/null && node_flags+=(--experimental-wasm-relaxed-simd)
node "${node_flags[@]}" --test --test-concurrency=1 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  "${files[@]}"
status=$?

count() { sed -n "s/^# $1 \([0-9]*\)$/\1/p" "$tap" | tail -1; }
echo "== e2e summary"
echo "e2e: $(count tests) tests in ${#files[@]} files: $(count pass) passed, $(count fail) failed, $(count cancelled) cancelled, $(count skipped) skipped"
grep -E '^ *not ok ' "$tap" | sed -E 's/^ *not ok [0-9]+ - /FAILED e2e /'
[ "$status" -eq 0 ] && echo "ok     e2e" || echo "FAILED e2e"
exit $status
