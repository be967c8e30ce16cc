"""Sweep files: valid W&B sweep configs, expanded locally the way W&B's agent would run them."""

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ganzoo.bench.sweep import (
    build_command,
    cli_args,
    expand,
    load_sweep,
    plan_runs,
    validate_sweep,
)
from ganzoo.cli import planned_location, run_lightning_cli
from ganzoo.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SWEEPS = sorted((REPO / "experiments" / "sweeps").glob("*.yaml"))


def test_there_are_sweep_files():
    assert {p.name for p in SWEEPS} >= {"mnist5k_compare.yaml", "digits_smoke.yaml"}


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.name)
def test_sweep_file_is_a_valid_wandb_sweep_config(path):
    sweep = yaml.safe_load(path.read_text())
    validate_sweep(sweep, path.name)  # W&B's own schema (the `sweeps` package)
    assert "${args}" in sweep["command"] and sweep["metric"]["name"].startswith("val/")


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.name)
def test_every_run_of_a_sweep_file_parses(path, monkeypatch):
    monkeypatch.chdir(REPO)
    sweep = load_sweep(path)
    commands = {}
    for params in expand(sweep, count=2):
        command = build_command(sweep, params)
        commands.setdefault(params.get("config"), command)
    for command in commands.values():
        args = cli_args(command)
        assert args[0] == "fit"
        cli = run_lightning_cli(args[1:], run=False)  # parses and instantiates, runs nothing
        assert cli.model is not None


def test_compare_sweep_is_six_configs_times_three_seeds(monkeypatch):
    monkeypatch.chdir(REPO)
    runs = plan_runs(load_sweep(REPO / "experiments/sweeps/mnist5k_compare.yaml"), planned_location)
    assert len(runs) == 18 and len({r.dir for r in runs}) == 18
    assert all(r.dir.parent == Path("runs/mnist5k") for r in runs)
    assert "dcgan_mnist5k__seed_everything=2" in {r.name for r in runs}


def test_grid_is_the_cartesian_product_with_constants():
    sweep = {
        "method": "grid",
        "parameters": {"a": {"values": [1, 2]}, "b": {"values": ["x", "y"]}, "c": {"value": 0.5}},
    }
    assert expand(sweep) == [
        {"a": 1, "b": "x", "c": 0.5},
        {"a": 1, "b": "y", "c": 0.5},
        {"a": 2, "b": "x", "c": 0.5},
        {"a": 2, "b": "y", "c": 0.5},
    ]


def test_random_is_seeded_and_respects_distributions():
    sweep = {
        "method": "random",
        "parameters": {
            "lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-2},
            "n": {"min": 1, "max": 3},
            "w": {"min": 0.0, "max": 1.0},
            "k": {"values": ["a", "b"], "probabilities": [0.0, 1.0]},
            "q": {"distribution": "q_uniform", "min": 0, "max": 10, "q": 5},
        },
    }
    runs = expand(sweep, count=50, seed=1)
    assert runs == expand(sweep, count=50, seed=1) and runs != expand(sweep, count=50, seed=2)
    assert all(1e-5 <= r["lr"] <= 1e-2 for r in runs)
    assert {r["n"] for r in runs} == {1, 2, 3} and all(isinstance(r["n"], int) for r in runs)
    assert all(0 <= r["w"] <= 1 for r in runs) and {r["k"] for r in runs} == {"b"}
    assert {r["q"] for r in runs} <= {0, 5, 10} and all(isinstance(r["q"], int) for r in runs)
    assert all(type(r["lr"]) is float for r in runs)  # plain Python values in the commands
    logs = [math.log10(r["lr"]) for r in runs]
    assert min(logs) < -4 and max(logs) > -3  # spread over the decades


@pytest.mark.parametrize(
    "sweep,message",
    [
        ({"method": "bayes", "parameters": {"a": {"values": [1]}}}, "wandb sweep FILE"),
        ({"method": "random", "parameters": {"a": {"values": [1]}}}, "needs --count"),
        ({"method": "grd", "parameters": {"a": {"values": [1]}}}, "method: 'grd' is not one of"),
        (
            {"method": "grid", "parameters": {"a": {"min": 0.0, "max": 1.0}}},
            "Parameter a is a disallowed type with grid search",
        ),
        ({"method": "grid", "parameters": {"a": {"distribution": "zipf"}}}, "parameters.a: {'dis"),
        ({"method": "grid", "parameters": {"a": {"values": [1]}}, "command": "x"}, "command: 'x'"),
        ({"method": "random", "parameters": {"a": {"min": 3, "max": 1}}}, "a: min 3 is not less"),
        (
            {"method": "grid", "parameters": {"m": {"parameters": {"x": {"values": [1]}}}}},
            "parameters.m: nested",
        ),
    ],
)
def test_bad_sweeps_fail_in_one_line(sweep, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        validate_sweep(sweep)
        expand(sweep)
    assert "\n" not in str(err.value)


def test_grid_enumerates_int_ranges_and_keeps_the_first_count():
    sweep = {"method": "grid", "parameters": {"n": {"min": 1, "max": 3}, "c": {"value": "x"}}}
    assert expand(sweep) == [{"n": 1, "c": "x"}, {"n": 2, "c": "x"}, {"n": 3, "c": "x"}]
    assert expand(sweep, count=2) == expand(sweep)[:2]


def test_a_run_that_does_not_parse_stops_the_plan_in_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    sweep = {
        "method": "grid",
        "parameters": {
            "config": {"value": "experiments/dcgan_digits.yaml"},
            "data.batch_size": {"values": ["many"]},
        },
        "command": ["${env}", "${interpreter}", "-m", "ganzoo", "fit", "${args}"],
    }
    message = r"sweep: run `fit --config=.* --data.batch_size=many`: data.batch_size"
    with pytest.raises(ConfigError, match=message) as err:
        plan_runs(sweep, planned_location)
    assert "\n" not in str(err.value)


def test_command_macros_are_filled_like_the_agent():
    sweep = {
        "program": "train.py",
        "command": [
            "${env}",
            "${interpreter}",
            "${program}",
            "--x",
            "${args}",
            "${args_no_hyphens}",
        ],
    }
    command = build_command(sweep, {"model.init_args.lr_g": 0.001, "flag": True})
    assert command[1:] == [
        "train.py",
        "--x",
        "--model.init_args.lr_g=0.001",
        "--flag=True",
        "model.init_args.lr_g=0.001",
        "flag=True",
    ]


@pytest.mark.parametrize("script", ["slurm_sweep_agent.sbatch", "slurm_fit.sbatch"])
def test_slurm_scripts_are_valid_bash_and_launch_ganzoo(script):
    path = REPO / "scripts" / script
    assert subprocess.run(["bash", "-n", str(path)]).returncode == 0
    text = path.read_text()
    assert "#SBATCH" in text and 'cd "${SLURM_SUBMIT_DIR' in text
    if script == "slurm_sweep_agent.sbatch":
        assert "wandb agent --count 1" in text
    else:
        assert "srun .venv/bin/python -m ganzoo fit" in text and "--signal=SIGUSR1@90" in text


def test_gpu_slots_are_disjoint_groups_of_devices_per_run():
    from ganzoo.bench.sweep import device_slots
    from ganzoo.errors import ConfigError

    assert device_slots(4, 8, 2) == ["0,1", "2,3"]  # one worker per group of 2
    assert device_slots(4, 1, 2) == ["0,1"]
    assert device_slots(2, 3, 1) == ["0", "1", "0"]
    assert device_slots(0, 2, 1) == [None, None]
    with pytest.raises(ConfigError, match="only 1 GPU"):
        device_slots(1, 1, 2)
    with pytest.raises(ConfigError, match="no GPU"):
        device_slots(0, 1, 2)


def test_devices_per_run_launches_ddp_runs_on_their_gpus(tmp_path, monkeypatch):
    import ganzoo.bench.sweep as sweep_module
    from ganzoo.bench.sweep import Run, run_all

    launched = []

    def fake_run(command, env, **kwargs):
        launched.append((command, env["CUDA_VISIBLE_DEVICES"]))
        return subprocess.CompletedProcess(command, 1)

    monkeypatch.setattr(sweep_module, "gpu_count", lambda: 4)
    monkeypatch.setattr(sweep_module.subprocess, "run", fake_run)
    runs = [Run(name=f"r{i}", dir=tmp_path / f"r{i}", command=["ganzoo", "fit"]) for i in range(2)]
    lines = []
    run_all(runs, workers=8, devices_per_run=2, printer=lines.append)
    assert sorted(gpus for _, gpus in launched) == ["0,1", "2,3"]
    assert all(cmd[-1] == "--trainer.devices=2" for cmd, _ in launched)
    assert "2 worker(s) on GPUs 0,1, 2,3" in lines[0]
    assert sum("started on GPU 0,1" in line or "started on GPU 2,3" in line for line in lines) == 2


def test_a_command_that_names_no_program_fails_its_run_in_one_line(tmp_path):
    from ganzoo.bench.sweep import Run, run_all

    runs = [Run(name="r", dir=tmp_path / "r", command=["no-such-program-ganzoo", "fit"])]
    lines = []
    run_all(runs, workers=1, printer=lines.append)
    assert runs[0].status == "failed"
    assert any("failed" in line and "cannot start 'no-such-program-ganzoo': No such file or "
               "directory; check the sweep file's command" in line for line in lines), lines


@pytest.mark.parametrize("args", [["sweep", str(SWEEPS[0]), "--dry-run"],
                                  ["fit", "--config", "experiments/dcgan_digits.yaml", "--print_config"]])
def test_a_reader_that_stops_early_ends_the_command_quietly(subprocess_env, args):
    """``ganzoo sweep FILE --dry-run | head -1``: once the reader has closed the pipe, the
    command's next write fails; it ends with status 1 and no traceback (``fit`` alike)."""
    command = [sys.executable, "-m", "ganzoo", *args]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=subprocess_env, cwd=REPO)
    proc.stdout.close()  # before the command writes its first line (it imports for seconds)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err.decode()
