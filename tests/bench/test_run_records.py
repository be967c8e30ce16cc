"""record.json: written atomically for every run with config, environment, progress, metrics
and a status that says how the run ended; `ganzoo fit` ends with a summary line of it."""

import json
import signal
from pathlib import Path

import pytest
from lightning.pytorch.utilities.exceptions import SIGTERMException
from stand_ins import DivergeAfter, RaiseAfter, tiny_config

from ganzoo.bench.sweep import clock
from ganzoo.cli import fit_summary, run_lightning_cli
from ganzoo.runs.records import best_entry, read_record, write_json_atomic


def fit(tmp_path, *extra, run=True):
    cfg = tiny_config(tmp_path / "dcgan_tiny.yaml")
    args = [
        "--config",
        str(cfg),
        f"--runs_dir={tmp_path / 'runs'}",
        "--trainer.logger=false",
        *extra,
    ]
    return run_lightning_cli(["fit", *args] if run else args, run=run)


def summary_lines(capsys):
    return [line for line in capsys.readouterr().out.splitlines() if "ganzoo fit:" in line]


def test_finished_run_record(tmp_path, capsys):
    cli = fit(tmp_path, "--seed_everything=3")
    run_dir = tmp_path / "runs" / "digits" / "dcgan_tiny__seed_everything=3"
    assert cli.trainer.default_root_dir == str(run_dir)
    record = read_record(run_dir)
    assert record["status"] == "finished" and record["error"] is None
    assert record["benchmark"] == "digits" and record["run_name"] == run_dir.name
    assert record["variant"] == "DCGAN" and record["seed"] == 3
    # the full resolved config, re-usable as a LightningCLI config
    assert record["config"]["model"]["class_path"] == "ganzoo.models.DCGAN"
    assert record["config"]["model"]["init_args"]["lr_g"] == 2e-4  # a default, resolved
    assert record["config"]["trainer"]["default_root_dir"] == str(run_dir)
    assert record["argv"][:2] == ["ganzoo", "fit"]
    assert record["versions"]["torch"] and record["versions"]["lightning"]
    assert "commit" in record["git"] and record["device"]["world_size"] == 1
    assert record["progress"]["g_steps"] == 8 and record["progress"]["images_seen"] == 8 * 32
    # one evaluation per epoch, each stamped with wall time; final = last; best = lowest FID
    assert [e["epoch"] for e in record["history"]] == [1, 2]
    assert all(e["wall_time_s"] is not None for e in record["history"])
    assert record["final"] == record["history"][-1]
    assert record["best"]["metrics"]["fid"] == min(e["metrics"]["fid"] for e in record["history"])
    assert record["final"]["protocol"]["extractor"] == "stand-in"
    assert record["wall_time_s"] > 0
    assert (run_dir / "config.yaml").is_file() and (run_dir / "grids" / "final.png").is_file()
    assert list((run_dir / "checkpoints").glob("*.ckpt"))
    assert not list(run_dir.glob(".*.tmp"))
    metrics = record["final"]["metrics"]
    assert summary_lines(capsys) == [
        f"ganzoo fit: finished in {clock(record['wall_time_s'])}, 8 G steps; "
        f"fid={metrics['fid']:.2f} is={metrics['is']:.3f} kid={metrics['kid']:.4f}; "
        f"record: {run_dir}/record.json"
    ]


def test_diverged_run_record(tmp_path, capsys):
    cli = fit(tmp_path, run=False)
    cli.trainer.callbacks.append(DivergeAfter(steps=2))
    cli.fit(cli.model, datamodule=cli.datamodule)  # what `ganzoo fit` runs
    record = read_record(cli.trainer.default_root_dir)
    assert record["status"] == "diverged"
    [line] = summary_lines(capsys)
    assert line.startswith(
        f"ganzoo fit: diverged after {clock(record['wall_time_s'])} at G step 1; fid="
    )
    assert line.endswith(f"; record: {cli.trainer.default_root_dir}/record.json")


@pytest.mark.parametrize(
    "exception,status",
    [
        (SIGTERMException(), "interrupted"),
        (KeyboardInterrupt(), "interrupted"),
        (RuntimeError("boom"), "failed"),
    ],
)
def test_interrupted_and_failed_run_records(tmp_path, capsys, exception, status):
    cli = fit(tmp_path, run=False)
    cli.trainer.callbacks.append(RaiseAfter(exception, steps=2))
    sigint = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises((SystemExit, RuntimeError)):
            cli.fit(cli.model, datamodule=cli.datamodule)
    finally:
        signal.signal(signal.SIGINT, sigint)  # Lightning ignores SIGINT after a Ctrl-C
    record = read_record(cli.trainer.default_root_dir)
    assert record["status"] == status
    assert (record["error"] is not None) == (status == "failed")
    # an interrupted run leaves last.ckpt for `--ckpt_path last`; a crashed one does not
    last = Path(cli.trainer.default_root_dir) / "checkpoints" / "last.ckpt"
    assert last.is_file() == (status == "interrupted")
    assert record["ended_at"] is not None
    error = "; RuntimeError: boom" if status == "failed" else ""
    assert summary_lines(capsys) == [
        f"ganzoo fit: {status} after {clock(record['wall_time_s'])} at G step 1; no evaluation"
        f"{error}; record: {cli.trainer.default_root_dir}/record.json"
    ]


def test_fit_summary_names_the_step_of_an_earlier_evaluation():
    record = {
        "status": "interrupted",
        "wall_time_s": 125.0,
        "progress": {"g_steps": 50},
        "final": {"g_steps": 40, "metrics": {"fid": 4.123, "is_std": 0.1, "fid_class_0": 9.0}},
    }
    assert fit_summary(record, "runs/b/r/record.json") == (
        "ganzoo fit: interrupted after 2m05s at G step 50; last evaluation (G step 40): "
        "fid=4.12; record: runs/b/r/record.json"
    )


def test_write_json_atomic_replaces_whole_file(tmp_path):
    path = tmp_path / "record.json"
    write_json_atomic(path, {"a": 1})
    write_json_atomic(path, {"b": [1, 2]})
    assert json.loads(path.read_text()) == {"b": [1, 2]}
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_best_entry_skips_missing_and_nan():
    history = [
        {"metrics": {"fid": float("nan")}},
        {"metrics": {"fid": 3.0}},
        {"metrics": {"fid": 2.0}},
        {"metrics": {}},
    ]
    assert best_entry(history)["metrics"]["fid"] == 2.0
    assert best_entry([{"metrics": {}}]) == {"metrics": {}}
    assert best_entry([]) is None


def test_an_interrupted_run_resumes_with_the_same_command_plus_ckpt_path_last(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    full = fit(tmp_path / "a")
    cli = fit(tmp_path / "b", run=False)
    cli.trainer.callbacks.append(RaiseAfter(SIGTERMException(), steps=2))
    with pytest.raises(SystemExit):
        cli.fit(cli.model, datamodule=cli.datamodule)
    assert read_record(cli.trainer.default_root_dir)["status"] == "interrupted"
    resumed = fit(tmp_path / "b", "--ckpt_path", "last")
    assert resumed.trainer.default_root_dir == cli.trainer.default_root_dir  # the same run
    record = read_record(cli.trainer.default_root_dir)
    assert record["status"] == "finished"
    assert record["progress"]["d_steps"] == read_record(full.trainer.default_root_dir)["progress"]["d_steps"]
    # the clock continues from the checkpoint: one resume, from the time the checkpoint had
    [resume] = record["resumes"]
    assert 0 < resume["from_wall_time_s"] < record["wall_time_s"]
    assert record["started_at"] <= resume["at"]  # kept from the first start
    stamps = [entry["wall_time_s"] for entry in record["history"]]
    assert stamps == sorted(stamps) and len(stamps) == len(record["history"]) > 0
