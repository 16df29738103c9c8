#!/usr/bin/env bash
# Sets up, builds and serves the web demo: scripts/serve.sh [PORT]   (default 8080)
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-${PORT:-8080}}
case "$port" in ''|*[!0-9]*) echo "serve: port must be a number, got '$port'" >&2; exit 2 ;; esac
if [ -f scripts/setup.sh ]; then bash scripts/setup.sh; fi
bash scripts/build-web.sh
cargo build --release
# Sample gallery: a few CIFAR-10 test images per class with their true labels (www/gallery/,
# gitignored), built once from the local copy when there is one.
data=${LCNET_DATA:-../shared/data/cifar10-jpeg.tar.gz}
if [ -e "$data" ]; then
  if [ ! -s www/gallery/index.json ] || ! grep -q '"file"' www/gallery/index.json; then
    target/release/lcnet gallery --data "$data" --out www/gallery \
      || echo "serve: warning: could not build the sample gallery from $data; the page starts with the upload area" >&2
  fi
else
  echo "serve: no CIFAR-10 copy at $data (set LCNET_DATA): no sample gallery, the page starts with the upload area"
fi
echo "serve: open http://127.0.0.1:$port/"
exec target/release/lcnet serve --dir www --port "$port"
