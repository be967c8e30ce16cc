"""A resume changes no protocol silently and takes no step past the end.

Before the guard, the same command plus ``--ckpt_path last`` on a finished DCGAN run with
``--budget.max_g_steps=4`` trained a fifth G step, and a resume with another
``model.init_args.lr_d`` ran without a word."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from ganzoo.cli import main
from ganzoo.training.resume_guard import ResumedRun, check_resume, differences

COMMAND = ["fit", "--model=ganzoo.models.DCGAN", "--model.init_args.g_width=8",
           "--model.init_args.d_width=8", "--model.init_args.latent_dim=8",
           "--data.dataset=digits", "--data.batch_size=16", "--budget.max_g_steps=4",
           "--trainer.logger=false", "--trainer.enable_progress_bar=false",
           "--trainer.enable_model_summary=false", "--benchmark=guard", "--run_name=run"]


def config(**changes):
    base = {
        "seed_everything": 0,
        "model": {"class_path": "ganzoo.models.DCGAN",
                  "init_args": {"lr_d": 0.0002, "optimizer": {"name": "adam", "fused": True}}},
        "data": {"dataset": "digits", "batch_size": 16, "root": "data", "num_workers": 0},
        "budget": {"max_g_steps": 4, "max_images": None},
        "trainer": {"devices": 1, "num_nodes": 1, "accelerator": "cpu", "max_epochs": None,
                    "callbacks": [
                        {"class_path": "ganzoo.metrics.EvaluationCallback",
                         "init_args": {"every_n_epochs": 5, "num_samples": 1000}},
                        {"class_path": "ganzoo.metrics.SampleGridCallback",
                         "init_args": {"every_n_epochs": 5}}]},
        "speed": {"compile": False}, "checkpoint_every": 500, "runs_dir": "runs",
    }
    for key, value in changes.items():
        node = base
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return base


def test_runtime_keys_may_differ_protocol_and_budget_keys_may_not():
    runtime = config(**{"trainer.devices": 2, "trainer.num_nodes": 2, "trainer.accelerator": "gpu",
                        "speed.compile": True, "data.root": "/elsewhere", "data.num_workers": 4,
                        "model.init_args.optimizer.fused": False, "checkpoint_every": 7,
                        "runs_dir": "/scratch"})
    runtime["trainer"]["callbacks"][0]["init_args"]["every_n_epochs"] = 1
    runtime["trainer"]["callbacks"][1]["init_args"]["every_n_epochs"] = 1
    assert differences(config(), runtime) == []
    changed = config(**{"model.init_args.lr_d": 0.5, "data.batch_size": 32, "seed_everything": 1,
                        "budget.max_g_steps": 8, "trainer.max_epochs": 3})
    changed["trainer"]["callbacks"][0]["init_args"]["num_samples"] = 50
    changed["trainer"]["callbacks"].append(
        {"class_path": "ganzoo.tricks.GeneratorEMA", "init_args": {"decay": 0.999}})
    assert differences(config(), changed) == [
        ("budget.max_g_steps", "budget", 4, 8),
        ("data.batch_size", "protocol", 16, 32),
        ("model.init_args.lr_d", "protocol", 0.0002, 0.5),
        ("seed_everything", "protocol", 0, 1),
        ("trainer.callbacks.EvaluationCallback.num_samples", "protocol", 1000, 50),
        ("trainer.callbacks.GeneratorEMA.decay", "protocol", "(not set)", 0.999),
        ("trainer.max_epochs", "budget", None, 3),
    ]


def recorded(status="finished", **changes):
    record = {"config": config(**changes), "status": status, "progress": {"g_steps": 4}}
    return ResumedRun(Path("/runs/digits/run"), record["config"],
                      "record.json", status, record)


def test_a_changed_protocol_key_is_one_line_naming_it():
    with pytest.raises(Exception) as err:
        check_resume(recorded(), config(**{"model.init_args.lr_d": 0.5}), extend_budget=False)
    assert str(err.value) == (
        "ckpt_path: this run was trained with model.init_args.lr_d=0.0002; the command gives 0.5 "
        "(resume with the run's own config, or start a new run)")
    # extending the budget does not open the protocol
    with pytest.raises(Exception, match="lr_d=0.0002"):
        check_resume(recorded(), config(**{"model.init_args.lr_d": 0.5}), extend_budget=True)


def test_a_longer_budget_needs_the_flag():
    longer = config(**{"budget.max_g_steps": 8})
    with pytest.raises(Exception) as err:
        check_resume(recorded(), longer, extend_budget=False)
    assert str(err.value) == ("ckpt_path: this run was trained with budget.max_g_steps=4; the "
                              "command gives 8 (to train it further, add --extend_budget=true)")
    assert check_resume(recorded(), longer, extend_budget=True) is None  # trains on
    assert check_resume(recorded("interrupted"), config(), extend_budget=False) is None
    done = check_resume(recorded(), config(), extend_budget=True)  # same budget: nothing to add
    assert done.startswith("ganzoo fit: /runs/digits/run is already finished (4 G steps)")


def files(run_dir: Path) -> dict[str, str]:
    return {str(p.relative_to(run_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(run_dir.rglob("*")) if p.is_file()}


def g_steps(run_dir: Path) -> int:
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    return ckpt["ganzoo"]["g_steps"]


@pytest.fixture
def finished_run(tmp_path, capsys):
    args = [*COMMAND, f"--runs_dir={tmp_path}"]
    main(args)
    capsys.readouterr()
    run_dir = tmp_path / "guard" / "run"
    assert json.loads((run_dir / "record.json").read_text())["status"] == "finished"
    assert g_steps(run_dir) == 4
    return args, run_dir


# Lightning resumes by itself from the last.ckpt an OnExceptionCheckpoint (ganzoo's
# InterruptCheckpoint) leaves when ckpt_path is unset: the same command run again is a resume
RESUMES = [["--ckpt_path", "last"], []]


@pytest.mark.parametrize("resume", RESUMES, ids=["ckpt_path_last", "same_command"])
def test_resuming_a_finished_run_changes_nothing_and_says_so(finished_run, capsys, resume):
    args, run_dir = finished_run
    before = files(run_dir)
    main([*args, *resume])  # returns: exit status 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [f"ganzoo fit: {run_dir} is already finished (4 G steps); nothing to do (to "
                   f"train it further: a larger budget with --extend_budget=true)"]
    assert files(run_dir) == before and g_steps(run_dir) == 4


@pytest.mark.parametrize("resume", RESUMES, ids=["ckpt_path_last", "same_command"])
def test_a_resume_with_another_config_stops_and_changes_nothing(finished_run, capsys, resume):
    args, run_dir = finished_run
    before = files(run_dir)
    for extra, line in [
        (["--model.init_args.lr_d=0.5"],
         "ckpt_path: this run was trained with model.init_args.lr_d=0.0002; the command gives 0.5 "
         "(resume with the run's own config, or start a new run)"),
        (["--data.dataset=mnist5k"],
         "ckpt_path: this run was trained with data.dataset=digits; the command gives mnist5k "
         "(resume with the run's own config, or start a new run)"),
        (["--budget.max_g_steps=6"],
         "ckpt_path: this run was trained with budget.max_g_steps=4; the command gives 6 (to train "
         "it further, add --extend_budget=true)"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            main([*args, *extra, *resume])
        err = capsys.readouterr().err.strip().splitlines()
        assert exit_info.value.code == 2 and err[-1] == f"ganzoo: error: {line}", (extra, err)
        assert files(run_dir) == before
    # the command's overrides name its run directory: a changed value there is another run
    with pytest.raises(SystemExit):
        main([*args, "--run_name=other", "--ckpt_path", "last"])
    assert "ckpt_path: last: no checkpoint of this run at" in capsys.readouterr().err


def test_the_budget_extends_with_the_flag(finished_run, capsys):
    args, run_dir = finished_run
    main([*args, "--budget.max_g_steps=6", "--extend_budget=true", "--ckpt_path", "last"])
    record = json.loads((run_dir / "record.json").read_text())
    assert record["status"] == "finished" and record["progress"]["g_steps"] == 6
    assert g_steps(run_dir) == 6


def test_a_checkpoint_at_its_budget_takes_no_step_even_without_a_record(finished_run, capsys):
    """The budget callback checks its limit when training starts (it checked only after each
    batch), so a resume at the budget trains nothing whatever the record says."""
    args, run_dir = finished_run
    (run_dir / "record.json").unlink()  # the guard falls back on the checkpoint's hparams
    main([*args, "--ckpt_path", "last"])
    assert g_steps(run_dir) == 4
    assert json.loads((run_dir / "record.json").read_text())["progress"]["g_steps"] == 4
