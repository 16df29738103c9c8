#!/usr/bin/env bash
# The browser benchmark of issue 5, in one headless Chromium run (tests/e2e/bench.mjs):
#   lcnet wasm in a Web Worker, static and dynamic, and ONNX Runtime Web (wasm, 1 thread) on the same
#   static network exported to ONNX, on the same N images; min/median/max ms, mean MACs, the
#   realised-saving ratio, lcnet/ONNX ratio, and the page's time to first result.
# Usage: bash scripts/bench-browser.sh [--images N] [--model FILE] [--tau-l X] [--tau-c Y] [--runs R]
#                                      [--warmup W] [--page-runs P] [--pick-after MS] [--random-gates] [--simd128] [--json]
#                                      [--no-build]
# Steps: builds the wasm module and the CLI (incremental; --no-build skips), installs tests/e2e's pinned
# npm packages when stale, exports the model's static network to ONNX under tests/e2e/artifacts/bench/
# (train/.venv, lcnet_train.onnx_export; redone when the model file is newer), writes N CIFAR-10 test
# images there with `lcnet-www gallery` when ../shared (or $LCNET_SHARED) has the data set (else generated
# pictures), then runs the bench. Everything it writes is under tests/e2e/artifacts/ (gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
die() { echo "bench-browser: error: $*" >&2; exit 1; }
say() { echo "bench-browser: $*" >&2; }

images=50
model=""
build=1
pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --images) [ $# -ge 2 ] || die "--images needs a value"; images=$2; pass+=("$1" "$2"); shift 2 ;;
    --model|-m) [ $# -ge 2 ] || die "--model needs a value"; model=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --tau-l|--tau-c|--runs|--warmup|--page-runs|--pick-after)
      [ $# -ge 2 ] || die "$1 needs a value"; pass+=("$1" "$2"); shift 2 ;;
    --json|--random-gates|--simd128) pass+=("$1"); shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ "$images" =~ ^[1-9][0-9]*$ ]] || die "--images must be a positive integer, got '$images'"
if [ -z "$model" ]; then
  model=weights/lcnet-r20-perimage.safetensors
  [ -f "$model" ] || model=$(ls weights/*.safetensors 2>/dev/null | grep -v '\.fixtures\.safetensors$' | head -1 || true)
fi
[ -n "$model" ] && [ -f "$model" ] || die "no model file (give --model FILE)"
model=$(cd "$(dirname "$model")" && pwd)/$(basename "$model")

command -v node >/dev/null || die "node not found (scripts/setup.sh installs Node.js)"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || die "no Chromium at ${CHROMIUM:-/usr/bin/chromium} (scripts/setup.sh installs Debian's)"

# --- builds -------------------------------------------------------------------------------------
if [ "$build" = 1 ]; then
  say "building the wasm module (scripts/build-web.sh) and the CLI (cargo build --release)"
  # The benchmark's module also carries the stock candle path (the demo's does not).
  LCNET_WASM_FEATURES=stock-wasm bash scripts/build-web.sh >&2
  cargo build --release --quiet >&2
fi
[ -f www/pkg/lcnet_bg.wasm ] || die "www/pkg is missing: run bash scripts/build-web.sh"

# --- npm packages (same stamp as tests/e2e/run.sh) -------------------------------------------------
(
  cd tests/e2e
  lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
  stamp=node_modules/.lcnet-lock-sha256
  if [ ! -d node_modules ] || [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
    say "npm ci in tests/e2e"
    npm ci --no-audit --no-fund >&2 || die "npm ci failed"
    echo "$lock_sum" > "$stamp"
  fi
)

# --- ONNX export of the static network --------------------------------------------------------------
out=tests/e2e/artifacts/bench
mkdir -p "$out"
stem=$(basename "$model" .safetensors)
onnx="$out/$stem.onnx"
exporter=train/lcnet_train/onnx_export.py
if [ ! -f "$onnx" ] || [ "$model" -nt "$onnx" ] || [ "$exporter" -nt "$onnx" ]; then
  py=train/.venv/bin/python
  if [ ! -x "$py" ] || ! "$py" -c 'import onnx, onnxscript, torch' 2>/dev/null; then
    say "installing the trainer's venv (train/setup.sh: torch, onnx, onnxscript)"
    bash train/setup.sh >&2
  fi
  say "exporting the static network of $model to $onnx"
  rm -f "$onnx"
  (cd train && OMP_NUM_THREADS=1 .venv/bin/python -m lcnet_train.onnx_export --model "$model" \
      --out "$root/$onnx.tmp" --check >&2) || die "ONNX export failed"
  mv "$onnx.tmp" "$onnx"
fi

# --- images -------------------------------------------------------------------------------------
shared=${LCNET_SHARED:-$root/../shared}
data="$shared/data/cifar10-jpeg.tar.gz"
img_args=()
if [ -f "$data" ]; then
  per_class=$(( (images + 9) / 10 ))
  [ "$per_class" -le 100 ] || die "--images at most 1000 with CIFAR-10 images"
  gal="$out/gallery-$per_class"
  if [ ! -f "$gal/index.json" ]; then
    [ -x target/release/lcnet-www ] || die "target/release/lcnet-www is missing: run cargo build --release"
    say "writing $per_class CIFAR-10 test images per class to $gal (lcnet-www gallery)"
    target/release/lcnet-www gallery --data "$data" --out "$gal" --per-class "$per_class" >&2
  fi
  img_args=(--images-dir "$gal")
else
  say "no CIFAR-10 copy at $data: generated test pictures instead"
fi

exec node tests/e2e/bench.mjs --model "$model" --onnx "$onnx" "${img_args[@]}" "${pass[@]}"
