"""`ganzoo reproduce`: re-running committed runs from their recorded configs gives the same
numbers on CPU (tolerance rtol 1e-4, atol 1e-6), and a changed number is reported as FAIL."""

import json

from stand_ins import tiny_config
from test_sweep_end_to_end import write_sweep

from ganzoo.bench import main as bench_main
from ganzoo.bench.records import read_record
from ganzoo.bench.reproduce import ATOL, RTOL, compare, rerun_config


def test_reproduce_matches_and_detects_changes(tmp_path, subprocess_env, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = tiny_config(tmp_path / "dcgan_tiny.yaml", epochs=2, batches=3)
    sweep = write_sweep(tmp_path, [cfg], seed_everything={"values": [0, 1]})
    assert bench_main(["sweep", str(sweep), "--workers", "2"]) == 0
    assert bench_main(["table", "runs/digits", "--out", "results", "--no-wandb"]) == 0
    capsys.readouterr()

    code = bench_main(
        [
            "reproduce",
            "results/digits",
            "--only",
            "*seed_everything=1",
            "--workers",
            "1",
            "--report",
            "report.md",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "reproduce: 1 run(s)" in out and "FAIL" not in out
    report = (tmp_path / "report.md").read_text()
    assert report.startswith("`ganzoo reproduce results/digits --only")
    assert "cells PASS" in report and "| DCGAN | fid |" in report
    assert "| DCGAN | fid |" in out and "| DCGAN | status | finished | finished |" in out
    new = read_record("runs/digits-reproduce/dcgan_tiny__seed_everything=1")
    old = read_record("runs/digits/dcgan_tiny__seed_everything=1")
    assert new["config"]["model"] == old["config"]["model"]
    assert new["final"]["metrics"] == old["final"]["metrics"]  # bitwise equal here

    entries = json.loads((tmp_path / "results/digits/runs.json").read_text())["runs"]
    entry = next(e for e in entries if e["seed"] == 1)
    new_records = {entry["run_name"]: new}
    assert all(c.ok for c in compare([entry], new_records))
    entry["final"]["metrics"]["fid"] *= 1 + 10 * RTOL
    failed = [c for c in compare([entry], new_records) if not c.ok]
    assert [c.metric for c in failed] == ["fid"]


def test_rerun_config_moves_only_the_run_location(tmp_path):
    config = {
        "trainer": {
            "default_root_dir": "runs/a/x",
            "max_epochs": 3,
            "logger": {
                "class_path": "ganzoo.bench.FailSafeWandbLogger",
                "init_args": {"save_dir": "runs/a/x", "name": "x", "project": "p"},
            },
        },
        "model": {"init_args": {"lr_g": 1e-3}},
        "seed_everything": 4,
    }
    moved = rerun_config(config, tmp_path / "new")
    assert moved["trainer"]["default_root_dir"] == str(tmp_path / "new")
    assert moved["trainer"]["logger"]["init_args"] == {
        "save_dir": None,
        "name": None,
        "project": "p",
    }
    assert moved["model"] == config["model"] and moved["seed_everything"] == 4
    assert config["trainer"]["default_root_dir"] == "runs/a/x"  # the input is not changed
    assert ATOL < RTOL
