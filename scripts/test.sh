#!/usr/bin/env bash
# The test command (README, .ci/run): set up .venv if needed, run the default (fast) tests,
# then the slow tier (DDP on CPU, end-to-end sweeps).
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh --fast     # default tier only
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
export WANDB_MODE=offline WANDB_SILENT=true
.venv/bin/python -m pytest -q
if [ "${1:-}" != "--fast" ]; then
  .venv/bin/python -m pytest -q -m slow
fi
