"""`ganzoo sweep` end to end on digits: 2 runs as subprocesses -> records -> `ganzoo table`;
a second call skips the finished runs; a failing run is reported and does not stop the rest."""

import os
import re
from pathlib import Path

import pytest
import yaml
from stand_ins import tiny_config

from ganzoo.__main__ import bench_command as bench_main
from ganzoo.runs.records import read_record, write_json_atomic

REPO = Path(__file__).resolve().parents[2]


def write_sweep(tmp_path, configs, **extra_params):
    sweep = {
        "name": "t",
        "method": "grid",
        "metric": {"name": "val/fid", "goal": "minimize"},
        "parameters": {"config": {"values": [str(c) for c in configs]}, **extra_params},
        "command": ["${env}", "${interpreter}", "-m", "ganzoo", "fit", "${args}"],
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep))
    return path


def test_two_run_sweep_records_table_and_resume(tmp_path, subprocess_env, capsys):
    configs = [
        tiny_config(tmp_path / "dcgan_tiny.yaml"),
        tiny_config(tmp_path / "wgan_tiny.yaml", model="WGAN", epochs=1),
    ]
    sweep = write_sweep(tmp_path, configs)
    runs = tmp_path / "runs"
    assert bench_main(["sweep", str(sweep), "--workers", "2", "--", f"--runs_dir={runs}"]) == 0
    out = capsys.readouterr().out
    assert "2 to run with 2 worker(s)" in out and out.count("finished in") == 2
    assert len(re.findall(r"finished in \d+s, [\d,]+ images/s", out)) == 2  # beside wall time
    run_dirs = sorted((runs / "digits").iterdir())
    assert [d.name for d in run_dirs] == ["dcgan_tiny", "wgan_tiny"]
    for run_dir in run_dirs:
        record = read_record(run_dir)
        assert record["status"] == "finished"
        assert record["device"]["torch_threads"] == max(1, (os.cpu_count() or 1) // 2)
        assert (run_dir / "stdout.log").stat().st_size > 0
        assert list((run_dir / "wandb").glob("offline-run-*"))
    mtimes = [(d / "record.json").stat().st_mtime_ns for d in run_dirs]

    assert bench_main(["sweep", str(sweep), "--workers", "2", "--", f"--runs_dir={runs}"]) == 0
    assert "2 already done (skipped), 0 to run" in capsys.readouterr().out
    assert [(d / "record.json").stat().st_mtime_ns for d in run_dirs] == mtimes

    # a run killed while running (its record still says so) continues from its last.ckpt
    killed = read_record(run_dirs[0])
    write_json_atomic(run_dirs[0] / "record.json", {**killed, "status": "running"})
    assert bench_main(["sweep", str(sweep), "--workers", "2", "--", f"--runs_dir={runs}"]) == 0
    out = capsys.readouterr().out
    assert "1 already done (skipped), 1 to run" in out
    assert f"resumed at G step {killed['progress']['g_steps']} dcgan_tiny" in out
    resumed = read_record(run_dirs[0])
    assert resumed["status"] == "finished" and len(resumed["resumes"]) == 1
    assert resumed["progress"]["d_steps"] == killed["progress"]["d_steps"]
    assert "--ckpt_path=last" in (run_dirs[0] / "stdout.log").read_text()

    results = tmp_path / "results"
    assert bench_main(["table", str(runs / "digits"), "--out", str(results), "--no-wandb"]) == 0
    md = (results / "digits" / "table.md").read_text()
    assert "| DCGAN |" in md and "| WGAN-gp |" in md and "FID" in md
    assert (results / "digits" / "grids" / "DCGAN.png").is_file()
    assert "| DCGAN |" in capsys.readouterr().out  # the table is printed too


def test_failed_run_is_reported_and_the_sweep_goes_on(tmp_path, subprocess_env, capsys):
    good = tiny_config(tmp_path / "good.yaml", epochs=1, batches=2)
    bad = tiny_config(
        tmp_path / "bad.yaml", epochs=1, batches=2, extra_model="    n_critic: 0\n"
    )  # rejected by the model: exit 2
    sweep = write_sweep(tmp_path, [bad, good])
    code = bench_main(["sweep", str(sweep), "--workers", "1", "--", f"--runs_dir={tmp_path / 'r'}"])
    out = capsys.readouterr().out
    assert code == 1
    assert "failed" in out and "bad" in out and "see " in out
    assert read_record(tmp_path / "r" / "digits" / "good")["status"] == "finished"
    log = (tmp_path / "r" / "digits" / "bad" / "stdout.log").read_text()
    assert "ganzoo: error: model.n_critic: must be >= 1" in log


def test_compare_runs_the_sweep_then_writes_and_prints_the_table(
    tmp_path, subprocess_env, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    sweep = write_sweep(tmp_path, [tiny_config(tmp_path / "dcgan_tiny.yaml", epochs=1)])
    args = ["compare", "--sweep", str(sweep), "--workers", "1", "--no-wandb"]
    assert bench_main([*args, "--update-results"]) == 0
    out = capsys.readouterr().out
    md = (tmp_path / "results" / "digits" / "table.md").read_text()
    assert md in out and "| DCGAN |" in md
    assert f"Command: `ganzoo compare {' '.join(args[1:])} --update-results`" in md
    assert "Wall time of this command:" in md and "compare: done in" in out
    # it ends with the page of the table it made (the report lives beside the runs)
    page = tmp_path / "runs" / "site" / "digits" / "index.html"
    assert out.rstrip().splitlines()[-1].startswith(f"report: {page.relative_to(tmp_path)} (built in ")
    assert page.is_file() and "| DCGAN |" in md and 'data-row="DCGAN"' in page.read_text()

    # without --update-results the committed table survives; the fresh one goes beside the
    # runs, printed with the statistical comparison against the committed one
    assert bench_main(args) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "results" / "digits" / "table.md").read_text() == md
    fresh = (tmp_path / "runs" / "tables" / "digits" / "table.md").read_text()
    assert fresh in out and "Against the committed results/digits/table.md" in out
    # the verdict: the same seed on the same machine trains the same run, so nothing differs;
    # the counters are equal, one seed a side gives the metrics no spread to judge
    assert "B reuses A's seeds 0: on the same CPU type that checks determinism" in out
    counts = re.search(r"^(\d+) REPRODUCED, (\d+) INCONCLUSIVE, (\d+) DIFFERENT$", out, re.M)
    assert counts and [int(n) for n in counts.groups()] == [3, 3, 0], out
    assert "| DCGAN | fid |" in out and "one seed on a side" in out
    html = page.read_text()  # rebuilt for the fresh table, with the verdict against results/
    assert "Verdict: this table (B) against results/digits (A)" in html
    assert f"<strong>{counts.group(0)}</strong>" in html


def test_compare_on_a_cpu_with_bf16_trains_bf16_runs_named_so(
    tmp_path, subprocess_env, capsys, monkeypatch
):
    import ganzoo.bench.precision

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(ganzoo.bench.precision, "cpu_bf16_flags", lambda: ("avx512_bf16",))
    sweep = write_sweep(tmp_path, [tiny_config(tmp_path / "dcgan_tiny.yaml", epochs=1)])
    args = ["compare", "--sweep", str(sweep), "--workers", "1", "--no-wandb", "--update-results"]
    assert bench_main(args) == 0
    out = capsys.readouterr().out
    assert "compare: precision bf16-mixed: bf16 autocast (auto: this CPU has avx512_bf16;" in out
    record = read_record(tmp_path / "runs" / "digits" / "dcgan_tiny__precision=bf16-mixed")
    assert record["status"] == "finished" and record["device"]["precision"] == "bf16-mixed"
    md = (tmp_path / "results" / "digits" / "table.md").read_text()
    assert "| DCGAN +bf16-mixed +width=8 +latent_dim=8 |" in md and "precision bf16-mixed: bf16 autocast" in md
    assert not (tmp_path / "runs" / "digits" / "dcgan_tiny").exists()

    # --precision 32-true: the float32 run, under the name a float32 sweep gives it
    assert bench_main([*args, "--precision", "32-true"]) == 0
    assert "compare: precision 32-true: float32 (--precision 32-true)" in capsys.readouterr().out
    assert read_record(tmp_path / "runs" / "digits" / "dcgan_tiny")["device"]["precision"] in (
        "32-true", "32")


@pytest.mark.slow
def test_digits_smoke_sweep_with_the_real_metrics(tmp_path, subprocess_env, capsys, monkeypatch):
    """The shipped digits sweep and configs, with ganzoo.metrics' callbacks, end to end."""
    monkeypatch.chdir(REPO)
    code = bench_main(
        [
            "compare",
            "--sweep",
            "experiments/sweeps/digits_smoke.yaml",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--out",
            str(tmp_path / "results"),
            "--no-wandb",
            "--update-results",
            "--workers",
            "2",
        ]
    )
    assert code == 0, capsys.readouterr().out
    record = read_record(tmp_path / "runs/digits/dcgan_digits__limit_train_batches=5__max_epochs=1")
    assert record["final"]["protocol"]["extractor"] == "domain"
    assert record["final"]["protocol"]["weights_sha256"]
    assert {"fid", "is", "kid"} <= set(record["final"]["metrics"])
    md = (tmp_path / "results/digits/table.md").read_text()
    assert "| DCGAN |" in md and "| WGAN-gp |" in md and "extractor `domain`" in md
    assert (tmp_path / "results/digits/grids/DCGAN.png").stat().st_size > 100
