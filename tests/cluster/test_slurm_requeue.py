"""Slurm's requeue, without Slurm: a simulated job environment and stub ``scontrol`` and
``srun`` executables on PATH.

A fit runs under ``SLURM_*`` variables (Lightning then uses its ``SLURMEnvironment``). The
test sends it SIGUSR1 as Slurm does before the time limit: ganzoo holds the signal to the
end of the batch and runs Lightning's handler there, which saves ``hpc_ckpt_1.ckpt`` in the
run directory and calls ``scontrol requeue $SLURM_JOB_ID``; the stub logs the call and, as
Slurm does when it requeues a running job, sends the job SIGTERM. The same command started
again (the requeued job) resumes from the hpc checkpoint on its own, in the same run
directory, and ends bitwise equal to an uninterrupted run. A corrupt hpc checkpoint is one
line and loses nothing.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest
import torch

from ganzoo.cli import main
from tests.cluster.helpers import ROOT, base_env, files, final_state, fit_command, start

SCONTROL = """#!/usr/bin/env bash
# stub scontrol: log the call; `scontrol requeue` ends the running job, as Slurm does
echo "scontrol $*" >> "$STUB_LOG"
if [ "$1" = requeue ]; then kill -TERM "$PPID"; fi
"""
SRUN = """#!/usr/bin/env bash
echo "srun $*" >> "$STUB_LOG"
exec "$@"
"""
JOB = {"SLURM_JOB_ID": "4242", "SLURM_JOB_NAME": "ganzoo-fit", "SLURM_NTASKS": "1",
       "SLURM_NTASKS_PER_NODE": "1", "SLURM_NNODES": "1", "SLURM_NODEID": "0",
       "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NODELIST": "localhost"}
EXTRA = ["--trainer.max_epochs=3", "--checkpoint_every=5"]  # 132 D and G steps


def stubs(tmp_path):
    folder = tmp_path / "stubs"
    folder.mkdir()
    for name, text in (("scontrol", SCONTROL), ("srun", SRUN)):
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
    return folder


def slurm_env(tmp_path, log):
    env = base_env(STUB_LOG=str(log), **JOB)
    env["PATH"] = f"{stubs(tmp_path)}:{env['PATH']}"
    return env


@pytest.mark.slow
def test_sigusr1_saves_an_hpc_checkpoint_requeues_and_the_requeued_job_ends_bitwise_equal(tmp_path):
    runs, log = tmp_path / "runs", tmp_path / "stub.log"
    full = subprocess.run(fit_command(runs, "full", *EXTRA), cwd=ROOT, env=base_env(),
                          capture_output=True, text=True, timeout=600)
    assert full.returncode == 0, full.stdout[-2000:] + full.stderr[-2000:]

    env = slurm_env(tmp_path, log)
    command = fit_command(runs, "job", *EXTRA)  # the sbatch script's command, every time
    run_dir = runs / "cluster" / "job"
    job = start(command, env, tmp_path / "job1.log")
    deadline = time.time() + 300
    while not (run_dir / "checkpoints" / "last.ckpt").exists() and job.poll() is None:
        assert time.time() < deadline
        time.sleep(0.05)
    job.send_signal(signal.SIGUSR1)  # Slurm's --signal=SIGUSR1@90
    job.wait(timeout=300)
    first = (tmp_path / "job1.log").read_text()
    calls = log.read_text().splitlines()
    print("\n".join(["stub log:", *calls, "job 1:", *[
        line for line in first.splitlines() if "requeue" in line.lower() or "hpc" in line]]))
    assert calls == ["scontrol requeue 4242"], first[-3000:]
    hpc = run_dir / "hpc_ckpt_1.ckpt"
    assert hpc.is_file(), first[-3000:]
    saved = torch.load(hpc, map_location="cpu", weights_only=False)
    record = json.loads((run_dir / "record.json").read_text())
    assert record["status"] == "interrupted"
    assert 0 < saved["ganzoo"]["g_steps"] < 132
    assert saved["ganzoo"]["d_steps"] % 44 != 0  # mid-epoch

    second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)  # the requeued job: the same command
    out = second.stdout + second.stderr
    print("job 2:", *[line for line in out.splitlines() if "hpc_ckpt" in line or
                      line.startswith("ganzoo fit:")], sep="\n")
    assert second.returncode == 0, out[-3000:]
    assert f"Restored all states from the checkpoint at {hpc}" in out
    record = json.loads((run_dir / "record.json").read_text())
    assert record["status"] == "finished" and record["run_dir"] == str(run_dir)
    assert [r["g_steps"] for r in record["resumes"]] == [saved["ganzoo"]["g_steps"]]
    assert sorted(p.name for p in (runs / "cluster").iterdir()) == ["full", "job"]
    expected, got = final_state(runs / "cluster" / "full"), final_state(run_dir)
    assert got["ganzoo"]["d_steps"] == expected["ganzoo"]["d_steps"] == 132
    for name, value in expected["state_dict"].items():
        assert torch.equal(value, got["state_dict"][name]), name
    assert log.read_text().splitlines() == calls  # the second job finished: no requeue


def test_a_corrupt_hpc_checkpoint_is_one_line_and_loses_nothing(tmp_path, monkeypatch, capsys):
    args = ["fit", *fit_command(tmp_path, "job")[4:], "--budget.max_g_steps=2"]
    main(args)
    run_dir = tmp_path / "cluster" / "job"
    good = (run_dir / "checkpoints" / "last.ckpt").read_bytes()
    (run_dir / "hpc_ckpt_1.ckpt").write_bytes(good)
    (run_dir / "hpc_ckpt_2.ckpt").write_bytes(good[: len(good) // 2])  # killed while saving
    before = files(run_dir)
    for key, value in JOB.items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    err = capsys.readouterr().err.strip().splitlines()
    print(err[-1])
    assert exit_info.value.code == 2
    assert err[-1] == (f"ganzoo: error: ckpt_path: {run_dir}/hpc_ckpt_2.ckpt is not a readable "
                       f"checkpoint (truncated or corrupt); move it out of {run_dir} and start "
                       f"the job again to resume from hpc_ckpt_1.ckpt")
    assert files(run_dir) == before
