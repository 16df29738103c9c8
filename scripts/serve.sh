#!/usr/bin/env bash
# Sets up, builds and serves the web demo: scripts/serve.sh [PORT]   (default 8080)
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-${PORT:-8080}}
case "$port" in ''|*[!0-9]*) echo "serve: port must be a number, got '$port'" >&2; exit 2 ;; esac
if [ -f scripts/setup.sh ]; then bash scripts/setup.sh; fi
bash scripts/build-web.sh
cargo build --release
echo "serve: open http://127.0.0.1:$port/"
exec target/release/lcnet serve --dir www --port "$port"
