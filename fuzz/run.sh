#!/usr/bin/env bash
# Fuzzes both targets for SECONDS each (default 30, at most 60 from the test command):
#   image_input  bytes → bounded image decoding → pre-processing → the network's input
#   model_load   bytes → model file validation and loading (and import)
# Needs the nightly toolchain and cargo-fuzz; without them it prints one SKIP line and exits 0.
# Seeds: the generated images of tests/robustness_images.rs. A crash leaves its input under
# fuzz/artifacts/<target>/ and makes this script fail; keep it as a regression test.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
secs=${1:-30}
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "SKIP: fuzz: no nightly toolchain (rustup toolchain install nightly --profile minimal)"
  exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "SKIP: fuzz: cargo-fuzz is not installed (cargo install cargo-fuzz)"
  exit 0
fi
mkdir -p fuzz/corpus/image_input fuzz/corpus/model_load
LCNET_FUZZ_SEEDS="$PWD/fuzz/corpus/image_input" \
  cargo test --release -q --test robustness_images -- --ignored write_fuzz_seeds >/dev/null ||
  echo "fuzz: could not write the image seeds; starting from the existing corpus"
status=0
for target in image_input model_load; do
  echo "fuzz: $target for $secs s"
  # -O: release without debug assertions (one build for both targets). -s none: coverage-guided but
  # no AddressSanitizer: the code under test is safe Rust (bounds are checked anyway), and an ASan
  # build of candle takes several times longer on a 2-core machine.
  if ! nice -n 10 cargo +nightly fuzz run -O -s none "$target" -- \
      -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1; then
    echo "fuzz: $target FAILED (input kept under fuzz/artifacts/$target/)"
    status=1
  fi
done
exit $status
