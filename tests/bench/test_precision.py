"""`ganzoo compare --precision`: bf16 autocast on a CPU with native bf16, float32 elsewhere,
and the choice visible in run names and arguments (ganzoo.bench.precision)."""

import json
from pathlib import Path

import pytest

from ganzoo.bench import precision
from ganzoo.bench.precision import cpu_bf16_flags as read_flags
from ganzoo.bench.sweep import load_sweep, plan_runs
from ganzoo.cli import planned_location
from ganzoo.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
MAIN_SWEEP = REPO / "experiments" / "sweeps" / "mnist5k_compare.yaml"
NO_PRECISION = {"parameters": {"seed_everything": {"values": [0]}}}


def cpuinfo(tmp_path, flags: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu sse2 {flags}\n\n"
                    f"processor\t: 1\nflags\t\t: fpu sse2 {flags}\n")
    return path


def test_the_cpu_flags_are_read_from_cpuinfo(tmp_path):
    # read_flags is the module's own function, imported before the conftest hides this
    # machine's flags from compare
    assert read_flags(cpuinfo(tmp_path, "avx512f avx512_bf16")) == ("avx512_bf16",)
    assert read_flags(cpuinfo(tmp_path, "avx512_bf16 amx_bf16 amx_tile")) == (
        "avx512_bf16", "amx_bf16")
    assert read_flags(cpuinfo(tmp_path, "avx512f avx512bw")) == ()
    assert read_flags(tmp_path / "absent") == ()
    assert precision.cpu_bf16_flags() == ()  # what every other test sees


@pytest.mark.parametrize(("requested", "flags", "gpus", "expected"), [
    ("auto", ("avx512_bf16",), 0, "bf16-mixed"),
    ("auto", ("amx_bf16",), 0, "bf16-mixed"),
    ("auto", (), 0, "32-true"),  # emulated bf16 is slower than float32
    ("auto", ("avx512_bf16",), 1, "32-true"),  # the runs go to the GPU
    ("32-true", ("avx512_bf16",), 0, "32-true"),
    ("bf16-mixed", (), 0, "bf16-mixed"),
    ("bf16-mixed", (), 2, "bf16-mixed"),
])
def test_choice(requested, flags, gpus, expected):
    chosen = precision.choose(requested, NO_PRECISION, gpus, flags=flags)
    assert chosen.precision == expected
    assert chosen.run_args() == ([] if expected == "32-true"
                                 else ["--trainer.precision=bf16-mixed"])
    assert chosen.why.startswith("float32" if expected == "32-true" else "bf16 autocast")


def test_a_sweep_that_sets_the_precision_keeps_it():
    sweep = {"parameters": {"trainer.precision": {"values": ["bf16-mixed"]}}}
    assert precision.choose("auto", sweep, 0, flags=()) is None
    with pytest.raises(ConfigError, match="the sweep file sets trainer.precision"):
        precision.choose("32-true", sweep, 0, flags=())
    with pytest.raises(ConfigError, match="choose one of auto, 32-true, bf16-mixed"):
        precision.choose("16-mixed", NO_PRECISION, 0, flags=())


def test_float32_plans_the_committed_runs_and_bf16_runs_elsewhere(tmp_path):
    sweep = load_sweep(MAIN_SWEEP)
    runs_dir = [f"--runs_dir={tmp_path}"]
    float32 = plan_runs(sweep, planned_location, extra_args=runs_dir + precision.choose(
        "auto", sweep, 0, flags=()).run_args())
    committed = json.loads((REPO / "results" / "mnist5k" / "runs.json").read_text())["runs"]
    assert sorted(r.name for r in float32) == sorted(e["run_name"] for e in committed)

    bf16 = plan_runs(sweep, planned_location, extra_args=runs_dir + precision.choose(
        "auto", sweep, 0, flags=("avx512_bf16",)).run_args())
    assert len(bf16) == len(float32) == 18
    assert {r.dir for r in bf16}.isdisjoint(r.dir for r in float32)  # never a float32 run reused
    for run in bf16:
        assert run.name.endswith("__precision=bf16-mixed")
        assert run.command[-1] == "--trainer.precision=bf16-mixed"
