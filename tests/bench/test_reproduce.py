"""`ganzoo reproduce`: re-running committed runs from their recorded configs. By default new
seeds, disjoint from the committed ones, and ``ganzoo verdict``'s judgement per cell (seed
noise is never DIFFERENT, a doubled FID is); ``--exact`` re-runs the committed seeds and checks
the same-machine numbers (rtol 1e-4, atol 1e-6), failing on a tiny change. The fast tests fake
the re-runs (``run_all``) with records derived from the committed ones."""

import json
import re
from pathlib import Path

import pytest
import yaml
from stand_ins import tiny_config
from test_results_table import record
from test_sweep_end_to_end import write_sweep

from ganzoo.__main__ import bench_command as bench_main
from ganzoo.bench import reproduce as reproduce_module
from ganzoo.bench.reproduce import (
    ATOL,
    RTOL,
    compare_exact,
    rerun_config,
    reseeded,
    seeded_name,
)
from ganzoo.bench.table import write_table
from ganzoo.errors import ConfigError
from ganzoo.runs.records import read_record, write_json_atomic


def test_reproduce_matches_and_detects_changes(tmp_path, subprocess_env, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = tiny_config(tmp_path / "dcgan_tiny.yaml", epochs=2, batches=3)
    sweep = write_sweep(tmp_path, [cfg], seed_everything={"values": [0, 1]})
    assert bench_main(["sweep", str(sweep), "--workers", "2"]) == 0
    assert bench_main(["table", "runs/digits", "--out", "results", "--no-wandb"]) == 0
    capsys.readouterr()

    args = ["reproduce", "results/digits", "--only", "*seed_everything=1", "--workers", "1"]
    code = bench_main([*args, "--same-seeds", "--report", "report.md"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "reproduce: 1 run(s) re-run against the committed runs of their rows" in out
    assert "DIFFERENT |" not in out and "B reuses A's seeds 1" in out
    report = (tmp_path / "report.md").read_text()
    assert report.startswith("`ganzoo reproduce results/digits --only")
    assert "Rule: REPRODUCED when the 90% CI" in report and "| DCGAN | fid |" in report
    assert "| DCGAN | status | 2 finished | 1 finished |" in out
    assert "| DCGAN | g steps | 6 ± 0 (2) | 6 (1) | +0 | equal | REPRODUCED |" in out
    new = read_record("runs/digits-reproduce/dcgan_tiny__seed_everything=1")
    old = read_record("runs/digits/dcgan_tiny__seed_everything=1")
    assert new["config"]["model"] == old["config"]["model"]
    assert new["final"]["metrics"] == old["final"]["metrics"]  # bitwise equal here

    entries = json.loads((tmp_path / "results/digits/runs.json").read_text())["runs"]
    entry = next(e for e in entries if e["seed"] == 1)
    new_records = {entry["run_name"]: new}
    assert all(c.ok for c in compare_exact([entry], new_records))
    entry["final"]["metrics"]["fid"] *= 1 + 10 * RTOL
    failed = [c for c in compare_exact([entry], new_records) if not c.ok]
    assert [c.metric for c in failed] == ["fid"]

    # by default the re-run takes a seed no committed run used (here 2, after 0 and 1)
    assert bench_main(args) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "Seeds: A (results/digits) 0, 1; B (runs) 2" in out and "reuses" not in out
    fresh = read_record("runs/digits-reproduce/dcgan_tiny__seed_everything=2")
    assert fresh["status"] == "finished" and fresh["config"]["seed_everything"] == 2


def test_rerun_config_moves_only_the_run_location(tmp_path):
    config = {
        "trainer": {
            "default_root_dir": "runs/a/x",
            "max_epochs": 3,
            "logger": {
                "class_path": "ganzoo.runs.FailSafeWandbLogger",
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


# ---------------------------------------------------------------- fast tests, faked re-runs
def committed_results(tmp_path, fids):
    """results/b/runs.json of DCGAN runs with the given final FIDs (seeds 0, 1, ...)."""
    for seed, fid in enumerate(fids):
        record(tmp_path, "DCGAN", seed, fid=fid)
    write_table([tmp_path / "runs"], out_root=tmp_path / "results", use_wandb=False)
    return tmp_path / "results" / "b"


def fake_reruns(tmp_path, monkeypatch, change, committed=3):
    """Re-runs that copy the committed record of seed ``seed - committed`` (the default new
    seeds follow the committed ones), with that seed, passed through ``change``."""

    def run_all(runs, **_):
        for run in runs:
            seed = yaml.safe_load(Path(run.command[-1]).read_text())["seed_everything"]
            old = next((tmp_path / "runs/b").glob(f"DCGAN_{seed - committed}_*/record.json"))
            new = json.loads(old.read_text())
            new["seed"] = new["config"]["seed_everything"] = seed
            change(new)
            write_json_atomic(Path(run.dir) / "record.json", new)

    monkeypatch.setattr(reproduce_module, "run_all", run_all)


def scale_fid(factors):
    """Multiply the re-run of seed s's FID by ``factors[s]``."""
    def change(rec):
        rec["final"]["metrics"]["fid"] *= factors[rec["seed"]]

    return change


def run_reproduce(tmp_path, capsys, *extra):
    code = bench_main(
        ["reproduce", str(tmp_path / "results/b"), "--runs-dir", str(tmp_path / "new"), *extra]
    )
    out = capsys.readouterr().out
    return code, out, next(line for line in out.splitlines() if line.startswith("| DCGAN | fid"))


def counts(out):
    found = re.search(r"^(\d+) REPRODUCED, (\d+) INCONCLUSIVE, (\d+) DIFFERENT$", out, re.M)
    return [int(n) for n in found.groups()]


def test_reruns_take_seeds_the_committed_table_did_not_use():
    entries = [{"row": "A", "seed": s, "run_name": f"a__seed_everything={s}"} for s in (0, 1, 2)]
    entries.append({"row": "B", "seed": 7, "run_name": "b"})
    assert [s for _, s in reseeded(entries[:2], entries)] == [8, 9]
    assert [(e["row"], s) for e, s in reseeded(entries, entries, seeds=[20, 21])] == [
        ("A", 20), ("A", 21), ("B", 20), ("B", 21)]
    assert seeded_name("dcgan__seed_everything=0__lr=1", 8) == "dcgan__seed_everything=8__lr=1"
    assert seeded_name("dcgan", 8) == "dcgan__seed_everything=8"


def test_seed_noise_on_new_seeds_is_reproduced(tmp_path, monkeypatch, capsys):
    committed_results(tmp_path, [10.0, 10.3, 9.8])
    fake_reruns(tmp_path, monkeypatch, scale_fid({3: 1.02, 4: 0.99, 5: 1.01}))  # another CPU: new noise
    code, out, fid = run_reproduce(tmp_path, capsys)
    assert code == 0, out
    assert fid.endswith("| x1.15 | REPRODUCED |"), fid
    assert "Seeds: A (" in out and "0, 1, 2; B (" in out and ") 3, 4, 5" in out
    assert counts(out)[2] == 0


def test_a_noisy_row_is_inconclusive_with_the_seeds_it_needs(tmp_path, monkeypatch, capsys):
    committed_results(tmp_path, [10.0, 12.0, 14.0])  # 17% spread against a 15% margin
    fake_reruns(tmp_path, monkeypatch, scale_fid({3: 1.1, 4: 0.9, 5: 1.05}))
    code, out, fid = run_reproduce(tmp_path, capsys)
    needed = int(re.search(r"INCONCLUSIVE \(needs (\d+) seeds a side\)", fid).group(1))
    assert code == 0 and needed > 3, out


def test_a_doubled_fid_is_different(tmp_path, monkeypatch, capsys):
    committed_results(tmp_path, [10.0, 10.3, 9.8])
    fake_reruns(tmp_path, monkeypatch, scale_fid({3: 2.0, 4: 2.0, 5: 2.0}))
    code, out, fid = run_reproduce(tmp_path, capsys, "--report", str(tmp_path / "r.md"))
    assert code == 1 and fid.endswith("| DIFFERENT |"), out
    assert "| x2.000 [x1." in fid
    assert counts(out)[2] >= 1
    assert "| DCGAN | fid |" in (tmp_path / "r.md").read_text()


def test_counters_and_incomplete_reruns_must_match(tmp_path, monkeypatch, capsys):
    committed_results(tmp_path, [10.0, 10.3, 9.8])

    def change(rec):
        rec["progress"]["images_seen"] += 64 * (rec["seed"] == 3)
        rec["status"] = "failed" if rec["seed"] == 5 else rec["status"]

    fake_reruns(tmp_path, monkeypatch, change)
    code, out, _ = run_reproduce(tmp_path, capsys)
    assert code == 1
    assert "| DCGAN | status | 3 finished | 2 finished, 1 failed |" in out
    assert "DIFFERENT (B has failed runs) |" in out
    images = next(line for line in out.splitlines() if "| images seen |" in line)
    assert images.endswith("| DIFFERENT (must be equal) |")


def test_exact_fails_on_the_seed_noise_the_verdict_accepts(tmp_path, monkeypatch, capsys):
    committed_results(tmp_path, [10.0, 10.3, 9.8])
    fake_reruns(tmp_path, monkeypatch, scale_fid({0: 1.02, 1: 0.99, 2: 1.01}), committed=0)
    code, out, fid = run_reproduce(tmp_path, capsys, "--exact")
    assert code == 1 and fid.endswith("| FAIL |"), out
    assert "cells PASS, 1 FAIL (exact: |new - committed| <= 1e-06 + 0.0001 * |committed|)" in out


@pytest.mark.parametrize(
    "args,message",
    [
        (["--exact", "--seeds", "3,4"], "reproduce: --exact re-runs the committed seeds"),
        (["--rtol", "0.1"], "reproduce: --rtol/--atol apply to --exact"),
        (["--seeds", "3,x"], "reproduce: --seeds takes integers like 3,4,5; got '3,x'"),
        (["--seeds", "3,3"], "reproduce: --seeds must name distinct seeds"),
        (["--seeds", "3", "--same-seeds"], "reproduce: give --seeds or --same-seeds, not both"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path, args, message):
    results = committed_results(tmp_path, [10.0, 12.0])
    with pytest.raises(ConfigError, match=re.escape(message)):
        bench_main(["reproduce", str(results), *args])


def test_a_corrupt_runs_json_is_one_line(tmp_path):
    from ganzoo.bench.table import load_manifest

    (tmp_path / "runs.json").write_text('{"benchmark": "mnist5k", "runs": [{"na')
    with pytest.raises(ConfigError, match=r"reproduce: .*runs.json is unreadable \(.*\); restore"):
        load_manifest(tmp_path, "reproduce")
    (tmp_path / "runs.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="is not a runs.json written by `ganzoo table`"):
        load_manifest(tmp_path)
