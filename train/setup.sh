#!/usr/bin/env bash
# Create train/.venv and install train/requirements.txt into it. Idempotent: a stamp file holds the
# sha256 of requirements.txt and of the python used; when both match, nothing is done.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${LCNET_VENV:-$here/.venv}"
req="$here/requirements.txt"
py="${PYTHON:-python3}"
stamp="$venv/.lcnet-requirements.sha256"
want="$( (sha256sum "$req" | cut -d' ' -f1; "$py" -c 'import sys; print(sys.version)') | sha256sum | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "train/setup.sh: $venv is up to date"
  exit 0
fi
if [[ ! -x "$venv/bin/python" ]]; then
  echo "train/setup.sh: creating $venv"
  "$py" -m venv "$venv"
fi
echo "train/setup.sh: installing $req (torch is a large download the first time)"
"$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req"
"$venv/bin/python" -c 'import torch, numpy, safetensors, PIL, tqdm; print("torch", torch.__version__)'
echo "$want" > "$stamp"
