"""W&B: every run logs offline without credentials (config, per-step losses, metrics, sample
grids), a W&B failure never fails a run, and DDP makes one W&B run. Read back from the
offline run files, never the network."""

import subprocess
import sys
from pathlib import Path

import pytest
from stand_ins import tiny_config
from wandb_files import read_offline_run

from ganzoo.cli import run_lightning_cli
from ganzoo.runs.records import read_record
from ganzoo.runs.wandb_logger import FailSafeWandbLogger, has_wandb_credentials


@pytest.fixture
def no_credentials(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.netrc


def offline_runs(run_dir: Path) -> list[Path]:
    return sorted((run_dir / "wandb").glob("offline-run-*"))


def test_credentials_detection(tmp_path):
    assert has_wandb_credentials({"WANDB_API_KEY": "x" * 40})
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.wandb.ai\n  login user\n  password " + "k" * 40 + "\n")
    netrc.chmod(0o600)
    assert has_wandb_credentials({}, netrc_path=str(netrc))
    netrc.write_text("machine example.org\n  login user\n  password p\n")
    assert not has_wandb_credentials({}, netrc_path=str(netrc))
    assert not has_wandb_credentials({}, netrc_path=str(tmp_path / "missing"))


def test_offline_run_holds_config_losses_metrics_and_images(tmp_path, no_credentials):
    cfg = tiny_config(tmp_path / "dcgan_tiny.yaml")
    cli = run_lightning_cli(["fit", "--config", str(cfg), f"--runs_dir={tmp_path / 'runs'}"])
    logger = cli.trainer.logger
    assert isinstance(logger, FailSafeWandbLogger) and logger.mode == "offline"
    run_dir = Path(cli.trainer.default_root_dir)
    [offline] = offline_runs(run_dir)
    data = read_offline_run(offline)
    assert data["complete"]  # the run's exit record: W&B finished the run
    keys = set().union(*data["history"])
    assert {"train/d_loss", "train/g_loss", "val/fid", "val/kid", "samples"} <= keys
    fids = [row["val/fid"] for row in data["history"] if "val/fid" in row]
    record = read_record(run_dir)
    assert fids[-1] == pytest.approx(record["final"]["metrics"]["fid"])
    images = [row["samples"] for row in data["history"] if "samples" in row]
    assert images and images[0]["_type"] == "images/separated"
    assert list((offline / "files" / "media" / "images").glob("samples_*.png"))
    assert data["config"]["ganzoo"]["config"]["model"]["class_path"] == "ganzoo.models.DCGAN"
    assert data["config"]["ganzoo"]["run_name"] == run_dir.name


def test_wandb_failure_does_not_fail_the_run(tmp_path, no_credentials, monkeypatch):
    import wandb

    def broken_init(*args, **kwargs):
        raise RuntimeError("W&B is down")

    monkeypatch.setattr(wandb, "init", broken_init)
    cfg = tiny_config(tmp_path / "dcgan_tiny.yaml")
    with pytest.warns(UserWarning, match="goes on without W&B"):
        cli = run_lightning_cli(["fit", "--config", str(cfg), f"--runs_dir={tmp_path / 'runs'}"])
    assert cli.trainer.logger.failed
    assert read_record(cli.trainer.default_root_dir)["status"] == "finished"


@pytest.mark.slow
def test_ddp_makes_exactly_one_wandb_run(tmp_path, subprocess_env):
    cfg = tiny_config(tmp_path / "dcgan_tiny.yaml")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ganzoo",
            "fit",
            "--config",
            str(cfg),
            "--trainer.accelerator=cpu",
            "--trainer.devices=2",
            f"--runs_dir={tmp_path / 'runs'}",
        ],
        cwd=tmp_path,
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    [run_dir] = (tmp_path / "runs" / "digits").iterdir()
    assert len(offline_runs(run_dir)) == 1
    record = read_record(run_dir)
    assert record["status"] == "finished" and record["device"]["world_size"] == 2
    # 4 batches per epoch on each of 2 processes, 2 epochs, batch 32
    assert record["progress"]["images_seen"] == 2 * 2 * 4 * 32
    data = read_offline_run(offline_runs(run_dir)[0])
    assert any("val/fid" in row for row in data["history"])
    summaries = [line for line in proc.stdout.splitlines() if line.startswith("ganzoo fit:")]
    assert len(summaries) == 1 and summaries[0].startswith("ganzoo fit: finished in")  # rank 0


def test_a_wandb_error_is_skipped_but_a_caller_error_propagates(tmp_path):
    logger = FailSafeWandbLogger(save_dir=str(tmp_path), mode="disabled")
    with pytest.raises(TypeError, match="list"):  # a bug of ours: Lightning rejects the call
        logger.log_image("samples", str(tmp_path / "grid.png"))
    assert not logger.failed
    with pytest.warns(UserWarning, match="failed in log_image .*goes on without W&B"):
        logger.log_image("samples", [str(tmp_path / "missing.png")])  # raised inside W&B
    assert logger.failed


def test_a_resumed_run_continues_its_wandb_run(tmp_path, no_credentials):
    """`--ckpt_path last` (what `ganzoo resume` adds) logs into the same W&B run id (here the
    finished run is trained one epoch further: a finished run resumed as it was trains nothing)."""
    cfg = tiny_config(tmp_path / "dcgan_tiny.yaml", epochs=1)
    args = ["fit", "--config", str(cfg), f"--runs_dir={tmp_path / 'runs'}", "--run_name=dcgan_tiny"]
    first = run_lightning_cli(args)
    run_dir = Path(first.trainer.default_root_dir)
    run_id = read_record(run_dir)["wandb_id"]
    assert run_id and run_id in offline_runs(run_dir)[0].name
    resumed = run_lightning_cli([*args, "--trainer.max_epochs=2", "--extend_budget=true",
                                 "--ckpt_path", "last"])
    assert Path(resumed.trainer.default_root_dir) == run_dir
    assert read_record(run_dir)["wandb_id"] == run_id
    assert len(offline_runs(run_dir)) == 2 and all(run_id in p.name for p in offline_runs(run_dir))
