#!/usr/bin/env bash
# The main job (README's first command): set up .venv if needed, then run the default
# model comparison on the embedded mnist5k data and print the results table.
#   bash scripts/main.sh [extra options for `ganzoo compare`]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
exec .venv/bin/ganzoo compare "$@"
