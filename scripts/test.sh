#!/usr/bin/env bash
# The test command (README, .ci/run): set up .venv if needed, run the default (fast) tests,
# then the slow tier (DDP on CPU, end-to-end sweeps).
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh --fast     # default tier only
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
# The report's browser test drives Debian's chromium; install it when it is missing and
# apt-get can (root, non-interactive); otherwise that test skips and says why.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "[test] installing chromium for tests/bench/test_report_browser.py"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq chromium >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; } \
    || echo "[test] could not install chromium: the browser test will skip"
fi
export WANDB_MODE=offline WANDB_SILENT=true
.venv/bin/python -m pytest -q
if [ "${1:-}" != "--fast" ]; then
  .venv/bin/python -m pytest -q -m slow
fi
