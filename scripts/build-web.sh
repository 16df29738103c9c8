#!/usr/bin/env bash
# Builds everything the web page needs into www/ (all of it gitignored):
#   www/pkg/     the wasm module in two builds (lcnet_bg.wasm: SIMD128; lcnet_relaxed_bg.wasm: + relaxed SIMD),
#                profile wasm-release, lib only, then wasm-opt -O3, and their one wasm-bindgen `--target web` JS glue
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
# Two builds of one module, sharing one JS glue: lcnet_bg.wasm (SIMD128, every browser that runs the
# demo) and lcnet_relaxed_bg.wasm (SIMD128 + relaxed SIMD: the convolutions' multiply-adds fused where
# the CPU can; www/wasm-features.js picks it where the browser validates relaxed SIMD). The relaxed
# build has its own target directory, so that neither build's flags invalidate the other's cache.
# LCNET_WASM_FEATURES=stock-wasm adds the stock candle path for scripts/bench-browser.sh.
features=${LCNET_WASM_FEATURES:-}
opt_level=-O3
wasm_opt=tools/wasm-opt/node_modules/.bin/wasm-opt
opt_want=$(awk -F'"' '/"binaryen":/ { print $4; exit }' tools/wasm-opt/package.json)
skip_opt=${LCNET_WASM_OPT:-1}
if [ "$skip_opt" != 0 ] && [ ! -x "$wasm_opt" ] && ! command -v npm >/dev/null; then
  echo "build-web: wasm-opt skipped: npm not found to install binaryen@$opt_want (the module works, only larger; scripts/setup.sh --test installs Node.js)"
  skip_opt=0
fi
if [ "$skip_opt" != 0 ] && { [ ! -x "$wasm_opt" ] || [ "$(cat tools/wasm-opt/node_modules/.lcnet-lock-sha256 2>/dev/null)" \
      != "$(sha256sum tools/wasm-opt/package-lock.json | cut -d' ' -f1)" ]; }; then
  command -v npm >/dev/null \
    || die "npm not found, needed once to install wasm-opt (binaryen@$opt_want) into tools/wasm-opt: install Node.js (scripts/setup.sh), or set LCNET_WASM_OPT=0 to skip the step"
  echo "build-web: npm ci in tools/wasm-opt (binaryen@$opt_want)"
  (cd tools/wasm-opt && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in tools/wasm-opt failed"
  sha256sum tools/wasm-opt/package-lock.json | cut -d' ' -f1 > tools/wasm-opt/node_modules/.lcnet-lock-sha256
fi
[ "$skip_opt" = 0 ] || [ -x "$wasm_opt" ] || die "$wasm_opt is missing after npm ci"

relaxed_flags="-C target-feature=+simd128,+relaxed-simd"
# build_module NAME TARGET_DIR RUSTFLAGS OUT_DIR: cargo (profile wasm-release: dependencies built for
# size, lcnet for speed, full LTO), wasm-bindgen --target web into OUT_DIR, then wasm-opt.
build_module() {
  local name=$1 dir=$2 flags=$3 out=$4
  echo "build-web: [$name] cargo build -p lcnet --lib --profile wasm-release --target $target ${features:+--features $features} ${flags:+($flags)}"
  # No flags: .cargo/config.toml's (+simd128), as scripts/serve.sh's first build has them.
  env CARGO_TARGET_DIR="$dir" ${flags:+"CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS=$flags"} \
    cargo build -p lcnet --lib --profile wasm-release --target "$target" ${features:+--features "$features"}
  local wasm="$dir/$target/wasm-release/lcnet.wasm"
  [ -f "$wasm" ] || die "$wasm was not produced"
  rm -rf "$out"
  wasm-bindgen --target web --no-typescript --out-dir "$out" "$wasm"
  # wasm-opt: -O3 measured against -Oz on this module, the same size within 0.1 % and no slower. Features
  # come from the module's target_features section (bulk-memory, simd128, relaxed-simd, … as rustc declared
  # them). The npm build of wasm-opt is slow (≈ 1 min a module), so its output is cached by input hash under
  # $target_dir/wasm-opt-cache/NAME. LCNET_WASM_OPT=0 skips the step (the module works unoptimised, only larger).
  local bg="$out/lcnet_bg.wasm"
  local raw0 gz0
  raw0=$(stat -c %s "$bg")
  gz0=$(gzip -9 -c "$bg" | wc -c)
  if [ "$skip_opt" = 0 ]; then
    echo "build-web: [$name] wasm-opt skipped"
  else
    local cache="$target_dir/wasm-opt-cache/$name" key
    key=$( (sha256sum "$bg" | cut -d' ' -f1; echo "$opt_level binaryen@$opt_want") | sha256sum | cut -d' ' -f1)
    if [ -f "$cache/$key.wasm" ]; then
      cp "$cache/$key.wasm" "$bg"
      echo "build-web: [$name] wasm-opt $opt_level: unchanged input, cached output"
    else
      echo "build-web: [$name] wasm-opt $opt_level (binaryen@$opt_want; about a minute)"
      "$wasm_opt" "$opt_level" "$bg" -o "$bg.opt" || die "wasm-opt failed on $bg"
      mv "$bg.opt" "$bg"
      rm -rf "$cache" && mkdir -p "$cache" && cp "$bg" "$cache/$key.wasm"
    fi
  fi
  echo "build-web: [$name] $(stat -c %s "$bg") bytes ($(gzip -9 -c "$bg" | wc -c) gzipped); before wasm-opt $raw0 ($gz0 gzipped)"
}

rm -rf www/pkg.tmp www/pkg-relaxed.tmp
build_module simd128 "$target_dir" "" www/pkg.tmp
build_module relaxed-simd "$target_dir/relaxed-simd" "$relaxed_flags" www/pkg-relaxed.tmp
# One glue for both: the worker imports pkg/lcnet.js and hands it either module's bytes.
cmp -s www/pkg.tmp/lcnet.js www/pkg-relaxed.tmp/lcnet.js \
  || die "the two builds' wasm-bindgen glue differs (www/pkg.tmp vs www/pkg-relaxed.tmp): they must share one lcnet.js"
mv www/pkg-relaxed.tmp/lcnet_bg.wasm www/pkg.tmp/lcnet_relaxed_bg.wasm
rm -rf www/pkg-relaxed.tmp www/pkg
mv www/pkg.tmp www/pkg
for f in lcnet_bg.wasm lcnet_relaxed_bg.wasm; do
  echo "build-web: www/pkg/$f $(stat -c %s "www/pkg/$f") bytes ($(gzip -9 -c "www/pkg/$f" | wc -c) gzipped)"
done

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
