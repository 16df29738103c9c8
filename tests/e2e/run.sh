#!/usr/bin/env bash
# End-to-end tests: wasm vs native parity (Node) and the page in headless Chromium.
# Assumes target/release/lcnet and lcnet-www (cargo build --release) and www/pkg + www/models
# (scripts/build-web.sh) exist. Installs the pinned npm packages when missing or stale.
# Prints one summary line per test ("ok NAME" / "FAILED NAME") and exits non-zero on failure.
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

results=()
status=0
for t in wasm_parity page same_as_cli routes worker_memory; do
  echo "== $t"
  if node "$t.mjs"; then
    results+=("ok     e2e $t")
  else
    results+=("FAILED e2e $t")
    status=1
  fi
done
echo "== e2e summary"
printf '%s\n' "${results[@]}"
exit $status
