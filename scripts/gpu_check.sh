#!/usr/bin/env bash
# The GPU check, about 5 minutes on one GPU (benchmarks/gpu_check.py): DCGAN and WGAN-gp at
# CIFAR-10's size with each GPU knob (bf16 autocast, channels-last, torch.compile, fused Adam,
# TF32) against ganzoo's defaults, images/s and peak memory; 2-process DDP when two GPUs are
# there; a CIFAR-10 smoke run of the benchmark's protocol when data/cifar-10-batches-py and the
# Inception weights are present (else one line each saying what is missing). Nothing in the
# tests depends on it. Without an NVIDIA GPU it says so in one line and exits 0.
#   bash scripts/gpu_check.sh [--steps 300] [--sections knobs ddp cifar10] [--out FILE]
set -uo pipefail
cd "$(dirname "$0")/.."
if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "gpu_check: no NVIDIA driver here (nvidia-smi not found); nothing to measure"
  exit 0
fi
bash scripts/setup_env.sh || { echo "gpu_check: could not set up .venv (scripts/setup_env.sh)"; exit 1; }
export WANDB_MODE=${WANDB_MODE:-disabled}
exec .venv/bin/python benchmarks/gpu_check.py "$@"
