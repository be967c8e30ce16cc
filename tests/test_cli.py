"""Bad input gets one clear line naming the field, exit code 2, before training starts."""

import io
import sys

import pytest

from ganzoo.cli import main

BASE = ["fit", "--model.class_path=DCGAN", "--data.dataset=digits",
        "--trainer.max_epochs=1", "--trainer.logger=false", "--trainer.limit_train_batches=1",
        "--trainer.enable_checkpointing=false"]


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    err = capsys.readouterr().err.strip().splitlines()
    return exit_info.value.code, err


@pytest.mark.parametrize(
    "extra,expected",
    [
        (["--model.class_path=NoSuchGAN"], r"model.class_path: .*NoSuchGAN.*allowed: .*DCGAN.*VanillaGAN"),
        (["--data.dataset=imagenet"], r"data.dataset: unknown 'imagenet'; allowed: mnist5k, digits"),
        (["--model.init_args.loss=wasserstein"], r"model.loss: .wasserstein. needs a Lipschitz"),
        (["--model.init_args.n_critic=0"], r"model.n_critic: must be >= 1, got 0"),
        (["--model.init_args.lr_g=0"], r"model.lr_g: must be > 0"),
        (["--model.init_args.lr_d=-1e-3"], r"model.lr_d: must be > 0"),
        (["--model.init_args.loss=wgan"], r"model.loss: unknown loss 'wgan'; allowed: hinge"),
        (["--model.class_path=ConditionalGAN", "--data.dataset=celeba"],
         r"model: ConditionalGAN needs labelled data \(data.num_classes >= 2\)"),
        (["--model.class_path=WGANGP", "--model.init_args.d_norm=batch"], r"model.d_norm: 'batch'"),
        (["--config=/no/such/config.yaml"], r"config: .*does not exist.*/no/such/config.yaml"),
        (["--data.dataset=mnist", "--data.root=/nonexistent"],
         r"data.dataset: 'mnist' files not found under /nonexistent/MNIST/raw"),
        (["--trainer.accelerator=cpu", "--trainer.sync_batchnorm=true"],
         r"trainer.sync_batchnorm: torch's SyncBatchNorm runs on GPUs only"),
        (["--budget.max_images=0"], r"budget.max_images: must be >= 1, got 0"),
        (["--trainer.max_epochs=-5"],
         r"^ganzoo: error: trainer.max_epochs: must be >= 0, or -1 for no limit; got -5$"),
        (["--ckpt_path=/no/such.ckpt"], r"^ganzoo: error: ckpt_path: no checkpoint file at /no/such.ckpt$"),
        (["--data.batch_size=5000"],
         r"^ganzoo: error: data.batch_size: 5000 is larger than the training split \(1438 samples\); "
         r"every epoch would have zero batches$"),
        (["--checkpoint_every=-1"], r"checkpoint_every: must be >= 0, got -1"),
        (["--model.class_path=InfoGAN", "--model.init_args.noise=gaussian"], r"model.*noise.*gaussian"),
        (['--model.init_args.loss={"class_path": "ganzoo.tricks.LabelSmoothing", "init_args": {"alpha": 1.5}}'],
         r"LabelSmoothing.alpha / LabelSmoothing.beta: must be in"),
        (['--model.init_args.tricks=[{"class_path": "ganzoo.tricks.InstanceNoise", "init_args": {"std": -1}}]'],
         r"InstanceNoise.std: must be >= 0"),
        (["--model.init_args.latent_dim=0"], r"model.latent_dim: must be >= 1, got 0"),
        (["--budget.max_g_steps=0"], r"budget.max_g_steps: must be >= 1, got 0"),
        (["--model.init_args.optimizer.name=adamw"], r"model.*optimizer.*adamw"),
        (["--model.init_args.arch=resnet"], r"model.*arch.*resnet"),
        (["--model.init_args.arch=mlp", "--data.dataset=ring8", "--speed.channels_last=true"],
         r"speed.channels_last: a memory format for conv networks; needs arch dcgan"),
        (["--data.test_fraction=1.5"], r"data.test_fraction: must be in \(0, 1\)"),
        (["--data.channels=2"], r"data.channels: must be 1 or 3, got 2"),
        (["--data.image_size=2"], r"data.image_size: must be >= 4, got 2"),
        (["--data.batch_size=0"], r"data.batch_size: must be >= 1, got 0"),
        (["--model.class_path=InfoGAN", "--model.init_args.categorical_dim=1"],
         r"model.categorical_dim: must be >= 2, got 1"),
        (["--model.class_path=WGANClip", "--model.init_args.clip_value=0"],
         r"model.clip_value: must be > 0, got 0"),
        (['--model.init_args.loss={"class_path": "ganzoo.tricks.LabelSmoothing", "init_args": {"generator": "hinge"}}'],
         r"model.*generator.*hinge"),
        (["--data.dataset=ring8"], r"model.arch: 'dcgan' needs image data"),
        (["--model.init_args.g_norm=layer"], r"model.*g_norm.*layer"),
        (['--model.init_args.tricks=[{"class_path": "ganzoo.tricks.DWeightPenalty", "init_args": {"weight": -0.1}}]'],
         r"DWeightPenalty.weight: must be >= 0"),
        (["--speed.tf32=true"], r"speed.tf32: TensorFloat-32 needs a CUDA GPU"),
    ],
)
def test_bad_input_is_one_line(extra, expected, capsys):
    code, err = run_cli(BASE + extra, capsys)
    assert code == 2
    errors = [line for line in err if line.startswith("ganzoo: error:")]
    assert len(errors) == 1, err
    assert "Traceback" not in "\n".join(err)
    import re

    assert re.search(expected, errors[0]), errors[0]


def test_good_input_trains(tmp_path, capsys):
    """The command runs to the end: 2 batches = 2 D steps and 2 G steps on 64 images each,
    a finished record and the one-line summary. (``limit_train_batches=2``: LightningCLI
    parses ``=1`` as the float 1.0, a whole epoch.)"""
    import json

    main(BASE + [f"--trainer.default_root_dir={tmp_path}", "--model.init_args.g_width=8",
                 "--model.init_args.d_width=8", "--trainer.limit_train_batches=2"])
    record = json.loads((tmp_path / "record.json").read_text())
    assert record["status"] == "finished"
    progress = record["progress"]
    assert (progress["d_steps"], progress["g_steps"], progress["images_seen"]) == (2, 2, 128)
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert summary.startswith("ganzoo fit: finished in ")
    assert summary.endswith(f"2 G steps; no evaluation; record: {tmp_path / 'record.json'}")


def bad_files(tmp_path):
    """Files a user may point ganzoo at by mistake, with the line each must give."""
    truncated = tmp_path / "last.ckpt"
    truncated.write_bytes(b"PK\x03\x04" + b"\x00" * 100)  # a zip's head, cut short
    as_list = tmp_path / "list.yaml"
    as_list.write_text("- model\n- data\n")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    malformed = tmp_path / "bad.yaml"
    malformed.write_text("model:\n  class_path: DCGAN\n   init_args: {\n")
    a_file = tmp_path / "plain_file"
    a_file.write_text("x")
    return [
        ([f"--ckpt_path={truncated}"],
         f"ckpt_path: {truncated} is not a readable checkpoint (truncated or corrupt); delete it "
         f"and resume from an earlier one in the same checkpoints/ folder"),
        ([f"--config={as_list}"],
         f"config: {as_list} must be a mapping of sections (model, data, trainer, ...), not a list"),
        (["--config", str(empty)],
         f"config: {empty} is empty; give model, data and trainer sections"),
        ([f"--config={malformed}"],
         f"config: {malformed} is not valid YAML at line 3, column 13: "
         f"mapping values are not allowed here"),
        ([f"--trainer.default_root_dir={a_file}/run"],
         f"trainer.default_root_dir: cannot create {a_file}/run: Not a directory"),
    ]


def test_bad_files_are_one_line_naming_the_file(tmp_path, capsys):
    for extra, expected in bad_files(tmp_path):
        config_first = [a for a in extra if a.startswith("--config")]
        args = ["fit", *extra] if config_first else BASE + extra
        code, err = run_cli(args, capsys)
        errors = [line for line in err if line.startswith("ganzoo: error:")]
        assert code == 2 and errors == [f"ganzoo: error: {expected}"], (extra, err)


def test_the_same_command_with_ckpt_path_last_continues_in_the_same_run(tmp_path, capsys):
    """`--ckpt_path last` does not change the run's directory, and last.ckpt is written: here
    the resumed run has nothing left to do, and its record keeps the finished totals."""
    import json

    args = ["fit", "--model.class_path=DCGAN", "--data.dataset=digits", "--trainer.logger=false",
            "--trainer.limit_train_batches=2", "--model.init_args.g_width=8",
            "--model.init_args.d_width=8", "--trainer.max_epochs=2", f"--runs_dir={tmp_path}"]
    main(args)
    runs = list(tmp_path.rglob("record.json"))
    assert len(runs) == 1 and (runs[0].parent / "checkpoints" / "last.ckpt").is_file()
    main([*args, "--ckpt_path", "last"])
    assert list(tmp_path.rglob("record.json")) == runs  # the same run directory
    record = json.loads(runs[0].read_text())
    assert record["status"] == "finished" and record["progress"]["d_steps"] == 4


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("tty", "preset", "expected"), [(False, None, 50), (True, None, 1), (False, "7", 7)]
)
def test_progress_bar_redraws_less_when_stdout_is_not_a_terminal(monkeypatch, tty, preset, expected):
    from lightning.pytorch.callbacks import TQDMProgressBar

    from ganzoo.cli import quiet_progress_bar

    monkeypatch.setattr(sys, "stdout", _Stream(tty))
    if preset is None:
        monkeypatch.delenv("TQDM_MINITERS", raising=False)
    else:
        monkeypatch.setenv("TQDM_MINITERS", preset)
    quiet_progress_bar()
    assert TQDMProgressBar().refresh_rate == expected
