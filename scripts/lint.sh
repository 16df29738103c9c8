#!/usr/bin/env bash
# Lints the JavaScript and the Python: ESLint over www/*.js, tests/e2e/*.{mjs,js} and tests/unit/*.mjs, Ruff over train/.
# Both are pinned in tools/lint/ (package.json + package-lock.json for ESLint, requirements.txt for Ruff)
# with their configs beside them (eslint.config.mjs, ruff.toml), and installed there on first use or when
# a pin changes: `npm ci` into tools/lint/node_modules, a venv at tools/lint/.venv (both gitignored).
# Needs Node.js/npm and python3 with venv (scripts/setup.sh --test installs both). Runs both linters,
# then exits non-zero if either found something.
set -uo pipefail
cd "$(dirname "$0")/.."
die() { echo "lint: error: $*" >&2; exit 1; }
say() { echo "lint: $*"; }
dir=tools/lint

# --- ESLint (npm, pinned by tools/lint/package-lock.json) ----------------------------------------
eslint=$dir/node_modules/.bin/eslint
lock_sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
if [ ! -x "$eslint" ] || [ "$(cat "$dir/node_modules/.lcnet-lock-sha256" 2>/dev/null)" != "$lock_sum" ]; then
  command -v npm >/dev/null || die "npm not found, needed once to install ESLint into $dir: install Node.js (bash scripts/setup.sh --test)"
  say "npm ci in $dir"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in $dir failed"
  echo "$lock_sum" > "$dir/node_modules/.lcnet-lock-sha256"
fi
[ -x "$eslint" ] || die "$eslint is missing after npm ci"

# --- Ruff (PyPI, pinned by tools/lint/requirements.txt) ------------------------------------------
venv=$dir/.venv
py=${PYTHON:-python3}
command -v "$py" >/dev/null || die "$py not found (bash scripts/setup.sh --test)"
want=$( (sha256sum "$dir/requirements.txt" | cut -d' ' -f1; "$py" -c 'import sys; print(sys.version)') | sha256sum | cut -d' ' -f1)
if [ ! -x "$venv/bin/ruff" ] || [ "$(cat "$venv/.lcnet-requirements.sha256" 2>/dev/null)" != "$want" ]; then
  if [ ! -x "$venv/bin/python" ]; then
    say "creating $venv"
    "$py" -m venv "$venv" || die "cannot create $venv: python3's venv module is missing (bash scripts/setup.sh --test installs python3-venv)"
  fi
  say "pip install -r $dir/requirements.txt into $venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$dir/requirements.txt" \
    || die "pip install into $venv failed"
  echo "$want" > "$venv/.lcnet-requirements.sha256"
fi

# --- run both ------------------------------------------------------------------------------------
status=0
say "eslint $("$eslint" --version): www/*.js, src/*.js, tests/e2e/*.{mjs,js}, tests/unit/*.mjs"
if "$eslint" --config "$dir/eslint.config.mjs" --max-warnings 0 www src tests/e2e tests/unit; then
  say "eslint ok"
else
  say "eslint FAILED"
  status=1
fi
say "$("$venv/bin/ruff" --version): train/"
if "$venv/bin/ruff" check --config "$dir/ruff.toml" --no-cache train; then
  say "ruff ok"
else
  say "ruff FAILED"
  status=1
fi
exit $status
