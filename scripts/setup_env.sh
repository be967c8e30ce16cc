#!/usr/bin/env bash
# Create .venv with Python 3.11 (or $PYTHON) when missing and install ganzoo with its dev
# extras; reinstall only when pyproject.toml changed since the last install.
#   bash scripts/setup_env.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $("$PY" --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.ganzoo-installed
want=$(.venv/bin/python -c 'import hashlib,sys;print(hashlib.sha256(open("pyproject.toml","rb").read()).hexdigest())')
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[setup] installing ganzoo and its dependencies into .venv (first time: a few minutes)"
  # pip's notes about local package mirrors that do not exist are dropped; errors still fail.
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | { grep -v "neither a file nor a directory" || true; }
  .venv/bin/python -m pip install -q -e ".[dev]" 2>&1 | { grep -v "neither a file nor a directory" || true; }
  echo "$want" > "$stamp"
fi
