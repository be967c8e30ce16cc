"""The evaluation callback on 2 CPU processes (gloo DDP) matches 1 process and writes once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("ddp_eval_script.py")


def run(devices: int, tmp_path: Path) -> Path:
    out = tmp_path / f"devices{devices}"
    out.mkdir()
    cache = tmp_path / f"cache{devices}"  # separate caches: the 2-process run computes its own
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(devices), str(out), str(cache)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.slow
def test_two_processes_give_the_one_process_numbers_and_write_once(tmp_path):
    single = json.loads((run(1, tmp_path) / "rank0.json").read_text())
    out = run(2, tmp_path)
    rank0 = json.loads((out / "rank0.json").read_text())
    rank1 = json.loads((out / "rank1.json").read_text())
    assert rank0["world_size"] == 2
    assert rank0["history"] == rank1["history"]  # identical on every rank
    assert len(single["history"]) == len(rank0["history"]) == 2
    for one, two in zip(single["history"], rank0["history"], strict=True):
        print({k: (one["metrics"][k], two["metrics"][k]) for k in one["metrics"]})
        floors = one["protocol"].pop("real_floor"), two["protocol"].pop("real_floor")
        assert one["protocol"] == two["protocol"]
        assert floors[1] == pytest.approx(floors[0], rel=1e-4)  # computed by both processes
        for name in ("fid", "is", "is_std", "kid", "kid_std", "fid_inf", "fid_ae", "kid_ae",
                     "memorization"):
            assert two["metrics"][name] == pytest.approx(one["metrics"][name], rel=1e-4)
    # only rank 0 writes: one line per evaluation, grids listed on rank 0 only
    assert len((out / "evaluations.jsonl").read_text().splitlines()) == 2
    assert len(rank0["grids"]) == 3 and rank1["grids"] == []
    assert sorted(p.name for p in (out / "grids").iterdir()) == [
        "epoch_0001.png",
        "epoch_0002.png",
        "final.png",
    ]
