"""Both Slurm scripts end to end with stub ``sbatch``, ``srun`` and ``wandb`` executables that
run everything locally: the command lines they produce, and the interpreter the runs get.

The stubs live in a scratch copy of the project layout: ``scripts/`` and ``experiments/``
linked from the repository, ``.venv`` a view of the virtual environment running the tests
whose ``bin/wandb`` is the stub (the agent script runs the project's wandb), ``sbatch`` and
``srun`` first on PATH. The ``wandb agent`` stub starts one run the way the real agent does:
the sweep file's command with ``${interpreter}`` = ``python`` looked up on PATH, which is the
trap these tests guard (runs started by a ``python`` that lacks ganzoo).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
FAST = ["--trainer.max_epochs=1", "--trainer.limit_train_batches=2", "--trainer.logger=false",
        "--trainer.callbacks=[]"]

SBATCH = """#!/usr/bin/env bash
# stub sbatch: run the job script here, in the submit directory, with Slurm's variables
echo "sbatch $*" >> "$STUB_LOG"
while [[ "$1" == -* ]]; do shift; done  # sbatch's own options
script="$1"; shift
export SLURM_SUBMIT_DIR="$PWD" SLURM_JOB_ID=1 SLURM_ARRAY_TASK_ID=1 SLURM_NNODES=1 \\
  SLURM_NTASKS_PER_NODE=1 SLURM_CPUS_PER_TASK=1
exec bash "$script" "$@"
"""
SRUN = """#!/usr/bin/env bash
# stub srun: log the command, run it here as one task on CPU (no GPU on a test machine)
echo "srun $*" >> "$STUB_LOG"
args=()
for a in "$@"; do args+=("${a/--trainer.accelerator=gpu/--trainer.accelerator=cpu}"); done
exec "${args[@]}" $STUB_EXTRA
"""
WANDB = """#!/usr/bin/env bash
# stub wandb: `wandb agent --count 1 ID` starts one run of the sweep file's command, with
# ${interpreter} = python from PATH as the real agent does
echo "wandb $*" >> "$STUB_LOG"
echo "python=$(command -v python)" >> "$STUB_LOG"
exec python -m ganzoo fit --config=experiments/dcgan_digits.yaml --seed_everything=0 $STUB_EXTRA
"""


def executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


@pytest.fixture
def cluster(tmp_path, subprocess_env):
    """A scratch project with the stubs; returns (project dir, environment, log file)."""
    real = Path(sys.prefix)
    if real == Path(sys.base_prefix):
        pytest.skip("needs the tests to run from a virtual environment (.venv)")
    project = tmp_path / "project"
    venv = project / ".venv"
    (venv / "bin").mkdir(parents=True)
    for name in ("scripts", "experiments", "ganzoo"):
        (project / name).symlink_to(REPO / name)
    # a view of the running venv whose bin/ has the stub wandb instead of the real one
    for entry in real.iterdir():
        if entry.name != "bin":
            (venv / entry.name).symlink_to(entry)
    for exe in (real / "bin").iterdir():
        if exe.name != "wandb":
            (venv / "bin" / exe.name).symlink_to(exe)
    executable(venv / "bin" / "wandb", WANDB)
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    executable(stubs / "sbatch", SBATCH)
    executable(stubs / "srun", SRUN)
    log = tmp_path / "stub.log"
    env = dict(
        subprocess_env,
        PATH=f"{stubs}{os.pathsep}/usr/bin{os.pathsep}/bin",  # no project python on PATH
        STUB_LOG=str(log),
        STUB_EXTRA=" ".join([*FAST, f"--runs_dir={tmp_path / 'runs'}"]),
    )
    env.pop("VIRTUAL_ENV", None)
    return project, env, log


def submit(cluster, tmp_path, *args: str) -> list[str]:
    """``sbatch ARGS`` through the stubs; the stubs' command log (printed for pytest -s),
    after checking that exactly one run finished."""
    project, env, log = cluster
    proc = subprocess.run(["sbatch", *args], cwd=project, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = log.read_text().splitlines()
    print("\n".join(lines))
    records = list((tmp_path / "runs").rglob("record.json"))
    assert len(records) == 1 and yaml.safe_load(records[0].read_text())["status"] == "finished"
    return lines


@pytest.mark.slow
def test_sweep_agent_script_starts_runs_with_the_projects_interpreter(cluster, tmp_path):
    lines = submit(cluster, tmp_path, "--array=1-1", "scripts/slurm_sweep_agent.sbatch",
                   "me/ganzoo/abc123")
    assert lines[0] == "sbatch --array=1-1 scripts/slurm_sweep_agent.sbatch me/ganzoo/abc123"
    assert lines[1] == "wandb agent --count 1 me/ganzoo/abc123"
    project = cluster[0]
    assert lines[2] == f"python={project / '.venv' / 'bin' / 'python'}"


@pytest.mark.slow
def test_fit_script_launches_one_ddp_task_per_gpu(cluster, tmp_path):
    lines = submit(cluster, tmp_path, "scripts/slurm_fit.sbatch", "experiments/dcgan_digits.yaml",
                   "--seed_everything=3")
    assert lines[1] == (
        "srun .venv/bin/python -m ganzoo fit --config experiments/dcgan_digits.yaml "
        "--trainer.accelerator=gpu --trainer.devices=1 --trainer.num_nodes=1 --seed_everything=3"
    )
