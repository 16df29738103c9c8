#!/usr/bin/env bash
# Trainer tests: create/refresh train/.venv (train/setup.sh, a no-op when up to date), then pytest.
# Tests that need ../shared (the CIFAR-10 JPEG copy, the reference weights) skip with a one-line reason
# (shown by -rs). Extra arguments go to pytest. LCNET_SKIP_DDP=1 skips the 2-process torchrun test.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/setup.sh"
shared="${LCNET_SHARED:-$here/../../shared}"
if [[ ! -d "$shared" ]]; then
  echo "train/run_tests.sh: $shared absent: real-data and reference-weight tests will be skipped"
fi
cd "$here"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
exec "${LCNET_VENV:-$here/.venv}/bin/python" -m pytest -q -rs -p no:cacheprovider tests "$@"
