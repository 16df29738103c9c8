#!/usr/bin/env bash
# One training run on a lent GPU machine (the session's `device` tool), prepared so that a lent session
# can spend its device minutes training at once. That machine has PyTorch but no network and no
# ../shared, and gets only this working tree plus the paths a call carries (64 MiB in all), so the
# CIFAR-10 tarball (19 MB) travels as a carried copy.
#
#   here:   bash train/device_train.sh --prepare          # copies the tarball to train/.device/ (ignored)
#   device: run(command="bash train/device_train.sh r56_lcnet my_r56 --set epochs=10", carry=["train/.device"])
#
# Arguments after the config: a run name (default: the config's name) and any --set overrides. The run
# resumes from train/checkpoints/<run>/last.pt when one is committed or carried, checkpoints every
# minute, and leaves $OUT/<run>.pt (the checkpoint, under the 16 MiB a returned file may have) and
# $OUT/<run>.log; copy the checkpoint to train/checkpoints/<run>/last.pt here to resume or export it.
# Untested on a device so far: no session that wrote it was lent one.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data="$here/.device/cifar10-jpeg.tar.gz"
if [ "${1:-}" = "--prepare" ]; then
  src="${LCNET_DATA:-$here/../../shared/data/cifar10-jpeg.tar.gz}"
  [ -f "$src" ] || { echo "device_train: no tarball at $src" >&2; exit 1; }
  mkdir -p "$here/.device" && cp "$src" "$data"
  echo "device_train: $data ready; carry train/.device"
  exit 0
fi
cfg="${1:?usage: device_train.sh CONFIG [RUN] [--set KEY=VALUE ...]}"; shift
run="$cfg"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then run="$1"; shift; fi
[ -f "$data" ] || { echo "device_train: $data missing: run --prepare here and carry train/.device" >&2; exit 1; }
: "${OUT:?OUT is set on the device machine}"
py="${PYTHON:-python3}"
ck="$here/checkpoints"
cd "$here"
"$py" -c 'import torch; assert torch.cuda.is_available(), "no GPU"; print("torch", torch.__version__, torch.cuda.get_device_name())'
set +e
"$py" -m lcnet_train.train --config "$cfg" --run-name "$run" --resume --data "$data" --cache /tmp/lcnet-cache \
  --out "$ck" --log-folder "$OUT" --no-progress --set checkpoint_every_s=60 "$@"
rc=$?
set -e
[ -f "$ck/$run/last.pt" ] && cp "$ck/$run/last.pt" "$OUT/$run.pt"
exit $rc
