"""`ganzoo reproduce`: re-running committed runs from their recorded configs. By default a
statistical verdict per cell (seed noise passes, a shift of many standard deviations fails);
``--exact`` checks the same-machine numbers (rtol 1e-4, atol 1e-6) and fails on a tiny change.
The fast tests fake the re-runs (``run_all``) with records derived from the committed ones."""

import json
import math
import statistics
from pathlib import Path

import pytest
from scipy import stats
from stand_ins import tiny_config
from test_results_table import record
from test_sweep_end_to_end import write_sweep

from ganzoo.bench import main as bench_main
from ganzoo.bench import reproduce as reproduce_module
from ganzoo.bench.records import read_record, write_json_atomic
from ganzoo.bench.reproduce import ATOL, RTOL, Rule, Sample, compare_exact, rerun_config
from ganzoo.bench.table import write_table
from ganzoo.errors import ConfigError


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
    assert "reproduce: 1 run(s) re-run against 2 committed run(s)" in out and "FAIL" not in out
    report = (tmp_path / "report.md").read_text()
    assert report.startswith("`ganzoo reproduce results/digits --only")
    assert "cells PASS (statistical: PASS when" in report and "| DCGAN | fid |" in report
    assert "| DCGAN | status | 2 finished | 1 finished |" in out
    assert "| DCGAN | g steps | 6 (2) | 6 (1) | +0 | 0 |" in out  # counters: exact
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


# ---------------------------------------------------------------- fast tests, faked re-runs
COMMITTED_FIDS = [10.0, 12.0, 14.0]  # mean 12, std 2


def committed_results(tmp_path, fids=COMMITTED_FIDS):
    """results/b/runs.json of DCGAN runs with the given final FIDs (seeds 0, 1, ...)."""
    for seed, fid in enumerate(fids):
        record(tmp_path, "DCGAN", seed, fid=fid)
    write_table([tmp_path / "runs"], out_root=tmp_path / "results", use_wandb=False)
    return tmp_path / "results" / "b"


def fake_reruns(tmp_path, monkeypatch, change):
    """Re-runs that copy the committed record of the same run, passed through ``change``."""

    def run_all(runs, **_):
        for run in runs:
            new = json.loads((tmp_path / "runs/b" / run.name / "record.json").read_text())
            change(new)
            write_json_atomic(Path(run.dir) / "record.json", new)

    monkeypatch.setattr(reproduce_module, "run_all", run_all)


def set_fid(offsets):
    def change(rec):
        rec["final"]["metrics"]["fid"] += offsets[rec["seed"]]

    return change


def run_reproduce(tmp_path, capsys, *extra):
    code = bench_main(
        ["reproduce", str(tmp_path / "results/b"), "--runs-dir", str(tmp_path / "new"), *extra]
    )
    out = capsys.readouterr().out
    return code, out, next(line for line in out.splitlines() if line.startswith("| DCGAN | fid"))


def test_seed_noise_passes_statistically_but_fails_exact(tmp_path, monkeypatch, capsys):
    committed_results(tmp_path)
    fake_reruns(tmp_path, monkeypatch, set_fid({0: 3.0, 1: -2.5, 2: 1.5}))  # another CPU: new noise
    code, out, fid = run_reproduce(tmp_path, capsys)
    assert code == 0, out
    rerun = [13.0, 9.5, 15.5]
    std = statistics.stdev(rerun)
    assert f"| 12.00 ± 2.00 (3) | 12.67 ± {std:.2f} (3) | +0.67 |" in fid
    assert fid.endswith("| PASS |")
    bound = stats.t.ppf(0.995, 4) * math.sqrt((4 + std**2) / 2) * math.sqrt(2 / 3)
    assert f"| {bound:.2f} ({100 * bound / 12:.0f}%) |" in fid
    summary = out.strip().splitlines()[-1]
    assert summary.startswith("reproduce: 7/7 cells PASS (statistical: PASS when")
    assert "10% of |committed mean|, 0.001); G/D steps and images seen equal)" in summary
    assert "t(0.995, 4) = 4.60 for 3 vs 3 seeds); Welch p is information" in out

    code, out, fid = run_reproduce(tmp_path, capsys, "--exact")
    assert code == 1 and fid.endswith("| FAIL |"), out
    assert "cells PASS, 1 FAIL (exact: |new - committed| <= 1e-06 + 0.0001 * |committed|)" in out


def test_shift_of_many_standard_deviations_fails(tmp_path, monkeypatch, capsys):
    committed_results(tmp_path)
    fake_reruns(tmp_path, monkeypatch, set_fid({0: 20.0, 1: 20.0, 2: 20.0}))  # 10 std worse
    code, out, fid = run_reproduce(tmp_path, capsys, "--report", str(tmp_path / "r.md"))
    assert code == 1
    assert "| +20.00 |" in fid and fid.endswith("| FAIL |")
    welch = stats.ttest_ind([30, 32, 34], COMMITTED_FIDS, equal_var=False).pvalue
    assert f"| {welch:.3g} | FAIL |" in fid
    assert "reproduce: 6/7 cells PASS, 1 FAIL (statistical:" in out
    assert "| DCGAN | fid |" in (tmp_path / "r.md").read_text()


def test_one_rerun_seed_is_judged_by_the_committed_seed_variance(tmp_path, monkeypatch, capsys):
    committed_results(tmp_path)
    fake_reruns(tmp_path, monkeypatch, set_fid({1: 3.0}))  # 1.5 committed std away
    code, out, fid = run_reproduce(tmp_path, capsys, "--only", "DCGAN_1*")
    assert code == 0 and "| 12.00 ± 2.00 (3) | 15.00 (1) | +3.00 |" in fid, out
    bound = stats.t.ppf(0.995, 2) * 2.0 * math.sqrt(1 / 3 + 1)  # pooled std = committed std
    assert f"| {bound:.2f} (" in fid


def test_counters_and_incomplete_reruns_must_match(tmp_path, monkeypatch, capsys):
    committed_results(tmp_path)

    def change(rec):
        rec["progress"]["images_seen"] += 64 * (rec["seed"] == 0)
        rec["status"] = "failed" if rec["seed"] == 2 else rec["status"]

    fake_reruns(tmp_path, monkeypatch, change)
    code, out, _ = run_reproduce(tmp_path, capsys)
    assert code == 1
    assert "| DCGAN | status | 3 finished | 2 finished, 1 failed |" in out
    assert "FAIL (re-run failed) |" in out
    images = next(line for line in out.splitlines() if "| images seen |" in line)
    assert images.endswith("| FAIL (must be equal) |")


def test_rule_bound():
    rule = Rule()
    noisy, also_noisy = Sample(100.0, 10.0, 3), Sample(100.0, 10.0, 3)
    expected = stats.t.ppf(0.995, 4) * 10.0 * math.sqrt(2 / 3)
    assert rule.bound(noisy, also_noisy) == pytest.approx(expected)
    # no seed variance (a collapsed model's IS of 1.0): the relative tolerance decides
    assert rule.bound(Sample(1.0, 0.0, 3), Sample(1.0, 0.0, 3)) == pytest.approx(0.1)
    assert rule.bound(Sample(0.0, None, 1), Sample(0.0, None, 1)) == 1e-3  # absolute floor


@pytest.mark.parametrize(
    "args,message",
    [
        (["--alpha", "2"], r"reproduce: --alpha must be in \(0, 1\), got 2.0"),
        (["--exact", "--alpha", "0.05"], "reproduce: --alpha applies to the statistical verdict"),
    ],
)
def test_bad_alpha_is_a_one_line_error(tmp_path, args, message):
    results = committed_results(tmp_path)
    with pytest.raises(ConfigError, match=message):
        bench_main(["reproduce", str(results), *args])


def test_a_corrupt_runs_json_is_one_line(tmp_path):
    from ganzoo.bench.reproduce import load_manifest
    from ganzoo.errors import ConfigError

    (tmp_path / "runs.json").write_text('{"benchmark": "mnist5k", "runs": [{"na')
    with pytest.raises(ConfigError, match=r"reproduce: .*runs.json is unreadable \(.*\); restore"):
        load_manifest(tmp_path)
    (tmp_path / "runs.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="is not a runs.json written by `ganzoo table`"):
        load_manifest(tmp_path)
