"""scripts/gpu_check.sh and its driver (benchmarks/gpu_check.py) without a GPU: the script
parses and fails soft in one line, and the driver's CPU dry run goes through every knob row
(the GPU-only ones marked; DCGAN only, to keep it cheap) and the CIFAR-10 section's skip
line."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu_check.sh"


def test_the_script_parses_and_without_a_gpu_says_so_in_one_line(tmp_path):
    assert subprocess.run(["bash", "-n", str(SCRIPT)]).returncode == 0
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # no nvidia-smi there on a CPU machine
    proc = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and proc.stdout.splitlines() == [
        "gpu_check: no NVIDIA driver here (nvidia-smi not found); nothing to measure"]


def test_the_driver_dry_run_covers_every_knob_on_cpu(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    driver = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(driver)
    out = tmp_path / "report.md"
    status = driver.main(["--dry-run", "--sections", "knobs", "cifar10", "--models", "DCGAN",
                          "--steps", "2", "--data-root", str(tmp_path / "no_data"),
                          "--out", str(out)])
    assert status == 0
    report = out.read_text()
    rows = {line.split(" | ")[0].lstrip("| "): line for line in report.splitlines()
            if line.startswith("| ") and "img/s" not in line}
    assert set(rows) == set(driver.KNOBS)
    for knob, line in rows.items():
        if knob in ("torch.compile", "TF32"):
            assert "(GPU only)" in line
        else:
            assert "x) |" in line and "failed" not in line, line
    assert rows["default (fp32, channels-last, fused Adam)"].count("(1.00x)") == 1
    assert (f"## CIFAR-10 smoke run: skipped, no data at {tmp_path}/no_data/cifar-10-batches-py"
            in report)
