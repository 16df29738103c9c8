#!/usr/bin/env bash
# Installs what lcnet needs beyond Rust itself. Idempotent: each step checks first.
#   bash scripts/setup.sh          what serving the demo needs: the wasm32 target, the wasm-bindgen CLI
#   bash scripts/setup.sh --test   also what the tests need: Node.js/npm, Debian Chromium, the npm
#                                  packages of tests/e2e, the trainer's Python venv (train/.venv), and
#                                  the nightly toolchain + cargo-fuzz for the short fuzz run
#   bash scripts/setup.sh --only wasm-target | wasm-bindgen   one of the two serving steps
#                                  (scripts/serve.sh runs the CLI install beside its builds)
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "setup: $*"; }
die() { echo "setup: error: $*" >&2; exit 1; }
with_tests=0
only=""
case "${1:-}" in
  "") ;;
  --test) with_tests=1 ;;
  --only)
    only=${2:-}
    case "$only" in wasm-target|wasm-bindgen) ;; *) die "--only takes wasm-target or wasm-bindgen, got '$only'" ;; esac ;;
  *) die "unknown option '$1' (use --test, or --only wasm-target|wasm-bindgen)" ;;
esac

command -v cargo >/dev/null || die "cargo not found: install Rust from https://rustup.rs first"
export PATH="$HOME/.cargo/bin:$PATH"

# Root runs apt-get directly; others need sudo.
apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  command -v apt-get >/dev/null || die "need $* but apt-get is unavailable: install it with your package manager"
  say "apt-get install $*"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

target=wasm32-unknown-unknown
if [ "$only" != wasm-bindgen ] && ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  say "rustup target add $target"
  rustup target add "$target"
fi

want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$only" != wasm-target ] && [ "$have" != "$want" ]; then
  say "cargo install wasm-bindgen-cli $want (a couple of minutes, once)"
  # No --locked: it fails for this version (see shared notes). A build tool run once per build on
  # one small module: opt-level 1 without LTO compiled it here in 1.8 min instead of 4.5, its output
  # is byte-identical, and it still runs in 0.3 s.
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=false \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=0 \
    cargo install wasm-bindgen-cli --version "$want" --force
fi
[ -n "$only" ] && exit 0

if [ "$with_tests" = 1 ]; then
  command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
  [ -x /usr/bin/chromium ] || apt_install chromium
  [ -x /usr/bin/time ] || apt_install time   # peak-RSS check of the robustness tests
  python3 -c 'import venv' 2>/dev/null || apt_install python3-venv
  bash train/setup.sh
  if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    say "rustup toolchain install nightly (for cargo fuzz)"
    rustup toolchain install nightly --profile minimal
  fi
  fuzz_version=0.13.2
  if [ "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" != "$fuzz_version" ]; then
    say "cargo install cargo-fuzz $fuzz_version (a few minutes, once)"
    cargo install cargo-fuzz --version "$fuzz_version" --locked --force
  fi
fi
say "ok"
