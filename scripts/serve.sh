#!/usr/bin/env bash
# Sets up, builds and serves the web demo: scripts/serve.sh [PORT]   (default 8080)
# On a bare machine the slow part is compiling: the wasm-bindgen CLI (once) and the wasm module. They
# run side by side; the server and gallery writer (tools/www, no model code) builds in seconds; the
# native `lcnet` CLI is not needed to serve and is not built here (scripts/test.sh builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-${PORT:-8080}}
case "$port" in ''|*[!0-9]*) echo "serve: port must be a number, got '$port'" >&2; exit 2 ;; esac
export PATH="$HOME/.cargo/bin:$PATH"
t0=$(date +%s)
target_dir=${CARGO_TARGET_DIR:-target}
www_bin=$target_dir/release/lcnet-www

bash scripts/setup.sh --only wasm-target
log=$target_dir/serve-setup.log
mkdir -p "$target_dir"
bash scripts/setup.sh --only wasm-bindgen > "$log" 2>&1 &
setup_pid=$!
# Until the CLI install ends, the builds below share the cores with it.
# The two builds of the module (scripts/build-web.sh: SIMD128, and SIMD128 + relaxed SIMD in its own
# target directory, with the same flags as there).
if ! cargo build --release -p lcnet-www || ! cargo build -p lcnet --lib --profile wasm-release --target wasm32-unknown-unknown \
    || ! CARGO_TARGET_DIR="$target_dir/relaxed-simd" CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" \
         cargo build -p lcnet --lib --profile wasm-release --target wasm32-unknown-unknown; then
  kill "$setup_pid" 2>/dev/null || true
  exit 1
fi
if ! wait "$setup_pid"; then
  cat "$log" >&2
  echo "serve: installing the wasm-bindgen CLI failed (log above)" >&2
  exit 1
fi
grep -v '^ *\(Compiling\|Downloaded\|Downloading\)' "$log" || true
# The modules are compiled already: this binds them, optimises them (cached) and copies the models.
bash scripts/build-web.sh

# Sample gallery: a few CIFAR-10 test images per class with their true labels (www/gallery/,
# gitignored), built once from the local copy when there is one.
data=${LCNET_DATA:-../shared/data/cifar10-jpeg.tar.gz}
if [ -e "$data" ]; then
  if [ ! -s www/gallery/index.json ] || ! grep -q '"file"' www/gallery/index.json; then
    "$www_bin" gallery --data "$data" --out www/gallery \
      || echo "serve: warning: could not build the sample gallery from $data; the page starts with the upload area" >&2
  fi
else
  echo "serve: no CIFAR-10 copy at $data (set LCNET_DATA): no sample gallery, the page starts with the upload area"
fi
echo "serve: ready after $(( $(date +%s) - t0 )) s: open http://127.0.0.1:$port/"
exec "$www_bin" serve --dir www --port "$port"
