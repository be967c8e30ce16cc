"""Run names and directories are deterministic functions of the command line."""

from pathlib import Path

import pytest
from stand_ins import tiny_config

from ganzoo.cli import planned_location
from ganzoo.runs.naming import run_name, split_cli_args


def test_split_understands_lightningcli_forms():
    configs, overrides = split_cli_args(
        ["fit", "--config", "a.yaml", "-c", "b.yaml", "--config=c.yaml", "--x.y=1", "--z", "-2"]
    )
    assert configs == ["a.yaml", "b.yaml", "c.yaml"]
    assert overrides == [("x.y", "1"), ("z", "-2")]


def test_name_is_config_stem_and_sorted_overrides():
    a = run_name(
        [
            "fit",
            "--config=experiments/dcgan_mnist5k.yaml",
            "--seed_everything=1",
            "--model.init_args.lr_g=0.001",
        ]
    )
    b = run_name(
        [
            "fit",
            "--model.init_args.lr_g=0.001",
            "--seed_everything=1",
            "--config",
            "experiments/dcgan_mnist5k.yaml",
        ]
    )
    assert a == b == "dcgan_mnist5k__lr_g=0.001__seed_everything=1"


def test_location_keys_do_not_change_the_name():
    base = ["--config=x.yaml", "--seed_everything=2"]
    assert run_name(base) == run_name(base + ["--runs_dir=/tmp/elsewhere", "--benchmark=b"])


def test_ambiguous_short_keys_stay_full_and_long_names_are_hashed():
    name = run_name(["--model.init_args.width=1", "--data.width=2"])
    assert "model.init_args.width=1" in name and "data.width=2" in name
    long = run_name([f"--model.init_args.option_{i}=value_{i}" for i in range(30)])
    other = run_name([f"--model.init_args.option_{i}=value_{i}" for i in range(31)])
    assert len(long) <= 120 and long != other


def test_location_from_the_parsed_config(tmp_path):
    cfg = tiny_config(tmp_path / "wgan_gp_digits.yaml")  # data.dataset: digits
    loc = planned_location(["fit", f"--config={cfg}", "--seed_everything=1"])
    assert loc.benchmark == "digits"
    assert loc.dir == Path("runs/digits/wgan_gp_digits__seed_everything=1")
    loc = planned_location(
        ["fit", f"--config={cfg}", "--benchmark=paper", f"--runs_dir={tmp_path}"]
    )
    assert loc.dir == tmp_path / "paper" / "wgan_gp_digits"
    loc = planned_location(["fit", f"--config={cfg}", f"--trainer.default_root_dir={tmp_path}/x"])
    assert loc.dir == tmp_path / "x"
    loc = planned_location(["fit", f"--config={cfg}", "--run_name=mine", "--data.dataset=mnist5k"])
    assert loc.dir == Path("runs/mnist5k/mine")


def test_a_bad_argument_is_a_one_line_error_before_any_run(tmp_path):
    from ganzoo.errors import GanzooError

    cfg = tiny_config(tmp_path / "x.yaml")
    with pytest.raises(GanzooError, match="data.batch_size") as err:
        planned_location(["fit", f"--config={cfg}", "--data.batch_size=many"])
    assert "\n" not in str(err.value)


def test_resuming_with_ckpt_path_keeps_the_run_directory():
    base = ["fit", "--config", "experiments/dcgan_mnist5k.yaml", "--seed_everything=1"]
    for resume in (["--ckpt_path", "last"], ["--ckpt_path=runs/x/checkpoints/epoch=3.ckpt"]):
        assert run_name([*base, *resume]) == run_name(base)
