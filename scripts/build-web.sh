#!/usr/bin/env bash
# Builds everything the web page needs into www/ (all of it gitignored):
#   www/pkg/     the wasm module (profile wasm-release, lib only, then wasm-opt -O3) + its wasm-bindgen `--target web` JS glue
#   www/models/  copies of weights/*.safetensors (not *.fixtures.safetensors) + index.json
#   www/gallery/index.json  an empty sample list, only when none exists yet (scripts/serve.sh
#                fills www/gallery/ from a local CIFAR-10 copy with `lcnet-www gallery`)
# Idempotent. Needs the rustup target wasm32-unknown-unknown and the wasm-bindgen CLI at the
# version Cargo.lock pins (scripts/setup.sh installs both); wasm-opt comes from the npm package
# pinned in tools/wasm-opt (installed here with `npm ci` on first use; needs Node.js/npm).
# Env: LCNET_WEIGHTS_DIR (default: weights) — where the model files come from.
#      LCNET_WASM_OPT=0 — skip wasm-opt (faster edit-build cycles; the module is larger).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "build-web: error: $*" >&2; exit 1; }

target=wasm32-unknown-unknown
target_dir=${CARGO_TARGET_DIR:-target}
weights_dir=${LCNET_WEIGHTS_DIR:-weights}

# --- preconditions, each with the fix in the message -------------------------------------
command -v cargo >/dev/null || die "cargo not found (install Rust: https://rustup.rs, or run scripts/setup.sh)"
if command -v rustup >/dev/null; then
  rustup target list --installed 2>/dev/null | grep -qx "$target" \
    || die "the Rust target $target is not installed: run 'rustup target add $target' (or scripts/setup.sh)"
else
  sysroot=$(rustc --print sysroot)
  [ -d "$sysroot/lib/rustlib/$target" ] \
    || die "the Rust target $target is not installed in $sysroot (no rustup found to add it)"
fi
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$want" ] || die "cannot read the wasm-bindgen version from Cargo.lock"
command -v wasm-bindgen >/dev/null \
  || die "wasm-bindgen CLI not found on PATH: run 'cargo install wasm-bindgen-cli --version $want' (or scripts/setup.sh)"
have=$(wasm-bindgen --version | awk '{print $2}')
[ "$have" = "$want" ] \
  || die "wasm-bindgen CLI is $have but Cargo.lock pins $want: run 'cargo install wasm-bindgen-cli --version $want --force'"

# --- wasm ----------------------------------------------------------------------------------
# LCNET_WASM_FEATURES=stock-wasm adds the stock candle path for scripts/bench-browser.sh.
features=${LCNET_WASM_FEATURES:-}
# Profile wasm-release (Cargo.toml): dependencies built for size, lcnet for speed, full LTO.
echo "build-web: cargo build -p lcnet --lib --profile wasm-release --target $target ${features:+--features $features}"
cargo build -p lcnet --lib --profile wasm-release --target "$target" ${features:+--features "$features"}
wasm="$target_dir/$target/wasm-release/lcnet.wasm"
[ -f "$wasm" ] || die "$wasm was not produced"
rm -rf www/pkg.tmp
wasm-bindgen --target web --no-typescript --out-dir www/pkg.tmp "$wasm"

# --- wasm-opt (npm binaryen, pinned in tools/wasm-opt; Debian's binaryen 108 breaks wasm-bindgen output) ---
# -O3: measured against -Oz on this module, the same size within 0.1 % and no slower. Features come from
# the module's target_features section (bulk-memory, simd128, … as rustc declared them). The npm build of
# wasm-opt is slow (≈ 1 min), so its output is cached by input hash under $target_dir/wasm-opt-cache.
# LCNET_WASM_OPT=0 skips the step (the module works unoptimised, only larger).
bg=www/pkg.tmp/lcnet_bg.wasm
raw0=$(stat -c %s "$bg")
gz0=$(gzip -9 -c "$bg" | wc -c)
opt_level=-O3
wasm_opt=tools/wasm-opt/node_modules/.bin/wasm-opt
opt_want=$(awk -F'"' '/"binaryen":/ { print $4; exit }' tools/wasm-opt/package.json)
skip_opt=${LCNET_WASM_OPT:-1}
if [ "$skip_opt" != 0 ] && [ ! -x "$wasm_opt" ] && ! command -v npm >/dev/null; then
  echo "build-web: wasm-opt skipped: npm not found to install binaryen@$opt_want (the module works, only larger; scripts/setup.sh --test installs Node.js)"
  skip_opt=0
fi
if [ "$skip_opt" = 0 ]; then
  echo "build-web: wasm-opt skipped"
else
  if [ ! -x "$wasm_opt" ] || [ "$(cat tools/wasm-opt/node_modules/.lcnet-lock-sha256 2>/dev/null)" \
        != "$(sha256sum tools/wasm-opt/package-lock.json | cut -d' ' -f1)" ]; then
    command -v npm >/dev/null \
      || die "npm not found, needed once to install wasm-opt (binaryen@$opt_want) into tools/wasm-opt: install Node.js (scripts/setup.sh), or set LCNET_WASM_OPT=0 to skip the step"
    echo "build-web: npm ci in tools/wasm-opt (binaryen@$opt_want)"
    (cd tools/wasm-opt && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in tools/wasm-opt failed"
    sha256sum tools/wasm-opt/package-lock.json | cut -d' ' -f1 > tools/wasm-opt/node_modules/.lcnet-lock-sha256
  fi
  [ -x "$wasm_opt" ] || die "$wasm_opt is missing after npm ci"
  cache="$target_dir/wasm-opt-cache"
  key=$( (sha256sum "$bg" | cut -d' ' -f1; echo "$opt_level binaryen@$opt_want") | sha256sum | cut -d' ' -f1)
  if [ -f "$cache/$key.wasm" ]; then
    cp "$cache/$key.wasm" "$bg"
    echo "build-web: wasm-opt $opt_level: unchanged input, cached output"
  else
    echo "build-web: wasm-opt $opt_level (binaryen@$opt_want; about a minute)"
    "$wasm_opt" "$opt_level" "$bg" -o "$bg.opt" || die "wasm-opt failed on $bg"
    mv "$bg.opt" "$bg"
    rm -rf "$cache" && mkdir -p "$cache" && cp "$bg" "$cache/$key.wasm"
  fi
fi
rm -rf www/pkg
mv www/pkg.tmp www/pkg
raw=$(stat -c %s www/pkg/lcnet_bg.wasm)
gz=$(gzip -9 -c www/pkg/lcnet_bg.wasm | wc -c)
echo "build-web: www/pkg/lcnet_bg.wasm $raw bytes ($gz gzipped); before wasm-opt $raw0 ($gz0 gzipped)"

# --- models --------------------------------------------------------------------------------
[ -d "$weights_dir" ] || die "no weights directory '$weights_dir'"
rm -rf www/models.tmp
mkdir -p www/models.tmp
models=()
shopt -s nullglob
for f in "$weights_dir"/*.safetensors; do
  case "$f" in *.fixtures.safetensors) continue ;; esac
  cp "$f" www/models.tmp/
  models+=("$(basename "$f")")
done
shopt -u nullglob
# The default: lcnet-r20-perimage (the per-image R20) when present, else the first by name.
default=""
for m in "${models[@]}"; do [ "$m" = "lcnet-r20-perimage.safetensors" ] && default=$m; done
[ -z "$default" ] && [ ${#models[@]} -gt 0 ] && default=${models[0]}
{
  printf '{\n  "default": %s,\n  "models": [' "$( [ -n "$default" ] && printf '"%s"' "$default" || printf null)"
  sep=""
  for m in "${models[@]}"; do
    case "$m" in *[\"\\]*) die "model file name with a quote or backslash: $m" ;; esac
    printf '%s\n    {"file": "%s", "size": %s}' "$sep" "$m" "$(stat -c %s "www/models.tmp/$m")"
    sep=","
  done
  printf '\n  ]\n}\n'
} > www/models.tmp/index.json
rm -rf www/models
mv www/models.tmp www/models
if [ ${#models[@]} -eq 0 ]; then
  echo "build-web: warning: no model files in $weights_dir/ — the page will say so" >&2
else
  echo "build-web: www/models/: ${models[*]} (default $default)"
fi

# --- gallery ---------------------------------------------------------------------------------
# The page asks for gallery/index.json; an empty list (no local CIFAR-10) keeps that a 200.
if [ ! -f www/gallery/index.json ]; then
  mkdir -p www/gallery
  printf '{\n  "images": []\n}\n' > www/gallery/index.json
fi
