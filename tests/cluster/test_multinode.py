"""Multi-node DDP on one machine: 2 nodes x 1 process on localhost (gloo, CPU), launched
through Lightning's environment variables and through torchrun, against 1 node x 2
processes at the same seed.

Equal, layout against layout: the final weights (bitwise: the same two global ranks draw
the same noise from the same per-rank streams and see the same data shards, and gloo
all-reduces the same two gradients in the same order), the noise each global rank drew (and
different noise on the two ranks), the global budget in the records (D and G steps, images
seen, global batch) and the evaluation, computed once over both ranks (one entry in
evaluations.jsonl, 100 samples split across the ranks). The launch errors (a port in use, a
node that never joins, a node rank out of range, a world size that does not add up) are one
line each and leave an existing run directory as it was.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ganzoo.cli import main
from tests.cluster.helpers import (
    ROOT,
    base_env,
    files,
    final_state,
    fit_command,
    free_port,
    max_abs_diff_by_group,
    start,
)

EVALUATION = """
trainer:
  callbacks:
    - class_path: ganzoo.metrics.EvaluationCallback
      init_args: {every_n_epochs: 0, num_samples: 100, batch_size: 25, kid_subset_size: 50,
                  kid_subsets: 10}
    - class_path: cluster_probe.NoiseProbe
"""
# 640 real images = 10 D steps of the global batch 2 x 32, however the ranks are launched
BUDGET = ["--budget.max_images=640", "--seed_everything=3"]
TWO_NODES = ["--trainer.num_nodes=2", "--trainer.devices=1"]


def wait_all(procs: list[subprocess.Popen], logs: list[Path], timeout: float = 600) -> None:
    deadline = time.time() + timeout
    for proc, log in zip(procs, logs, strict=True):
        try:
            proc.wait(timeout=max(1.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            raise AssertionError(f"hung: {log.read_text()[-3000:]}") from None
        assert proc.returncode == 0, log.read_text()[-3000:]


def one_node_two_processes(tmp_path: Path, config: Path) -> Path:
    log = tmp_path / "1x2.log"
    wait_all([start(fit_command(tmp_path, "1x2", f"--config={config}", *BUDGET,
                                "--trainer.devices=2"), base_env(GANZOO_CACHE=str(tmp_path / "cache")),
                    log)], [log])
    return tmp_path / "cluster" / "1x2"


def two_nodes_lightning_env(tmp_path: Path, config: Path) -> Path:
    port, procs, logs = free_port(), [], []
    for node in (1, 0):
        env = base_env(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), NODE_RANK=str(node),
                       WORLD_SIZE="2", GANZOO_CACHE=str(tmp_path / "cache"))
        logs.append(tmp_path / f"lightning_node{node}.log")
        procs.append(start(fit_command(tmp_path, "2x1_lightning", f"--config={config}", *BUDGET,
                                       *TWO_NODES), env, logs[-1]))
    wait_all(procs, logs)
    return tmp_path / "cluster" / "2x1_lightning"


def two_nodes_torchrun(tmp_path: Path, config: Path) -> Path:
    port, procs, logs = free_port(), [], []
    for node in (1, 0):
        torchrun = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2",
                    "--nproc-per-node", "1", "--node-rank", str(node), "--master-addr",
                    "127.0.0.1", "--master-port", str(port), "-m", "ganzoo"]
        command = fit_command(tmp_path, "2x1_torchrun", f"--config={config}", *BUDGET, *TWO_NODES)
        logs.append(tmp_path / f"torchrun_node{node}.log")
        procs.append(start([*torchrun, *command[3:]], base_env(GANZOO_CACHE=str(tmp_path / "cache")),
                           logs[-1]))
    wait_all(procs, logs)
    return tmp_path / "cluster" / "2x1_torchrun"


def noise(run_dir: Path) -> list[list[torch.Tensor]]:
    return [torch.load(run_dir / f"noise.rank{r}.pt") for r in (0, 1)]


@pytest.mark.slow
def test_two_nodes_train_as_one_node_with_two_processes(tmp_path):
    config = tmp_path / "evaluation.yaml"
    config.write_text(EVALUATION)
    reference = one_node_two_processes(tmp_path, config)
    layouts = {"2 nodes x 1 (MASTER_ADDR, NODE_RANK)": two_nodes_lightning_env(tmp_path, config),
               "2 nodes x 1 (torchrun)": two_nodes_torchrun(tmp_path, config)}
    expected = final_state(reference)
    ref_record = json.loads((reference / "record.json").read_text())
    ref_noise = noise(reference)
    assert ref_record["device"]["num_nodes"] == 1 and ref_record["device"]["world_size"] == 2
    for step, (z0, z1) in enumerate(zip(*ref_noise, strict=True)):
        assert not torch.equal(z0, z1), f"both ranks drew the same noise at draw {step}"
    print("\nfinal weights against 1 node x 2 processes, max |difference| per tensor group:")
    for layout, run_dir in layouts.items():
        got = final_state(run_dir)
        diffs = max_abs_diff_by_group(expected["state_dict"], got["state_dict"])
        print(f"  {layout}: " + ", ".join(f"{k} {v:.1e}" for k, v in sorted(diffs.items())))
        assert set(diffs) >= {"generator", "discriminator"}
        assert all(v == 0.0 for v in diffs.values()), (layout, diffs)
        for name, value in expected["state_dict"].items():  # bitwise, every tensor
            assert torch.equal(value, got["state_dict"][name]), (layout, name)
        for rank in (0, 1):
            assert all(torch.equal(a, b) for a, b in
                       zip(ref_noise[rank], noise(run_dir)[rank], strict=True)), (layout, rank)
        record = json.loads((run_dir / "record.json").read_text())
        assert record["device"]["num_nodes"] == 2 and record["device"]["world_size"] == 2
        assert record["device"]["strategy"] == "DDPStrategy"
        for key in ("d_steps", "g_steps", "images_seen", "world_size", "global_batch"):
            assert record["progress"][key] == ref_record["progress"][key], (layout, key)
        assert record["progress"]["images_seen"] == 640 and record["progress"]["d_steps"] == 10
        assert record["final"]["metrics"] == ref_record["final"]["metrics"], layout
        assert record["final"]["protocol"]["num_fake"] == 100
        evaluations = (run_dir / "evaluations.jsonl").read_text().splitlines()
        assert len(evaluations) == 1, layout  # computed once, over both ranks, written by rank 0
    assert ref_record["final"]["metrics"]["fid"] > 0


# ------------------------------------------------------------------ bad launches
@pytest.fixture(scope="module")
def existing_run(tmp_path_factory):
    """A finished single-process run, which the bad launches try to train further on two
    nodes: nothing in it may change."""
    tmp_path = tmp_path_factory.mktemp("existing")
    main(["fit", *fit_command(tmp_path, "run")[4:], "--budget.max_g_steps=2"])
    run_dir = tmp_path / "cluster" / "run"
    resume = [*fit_command(tmp_path, "run"), "--budget.max_g_steps=4", "--extend_budget=true",
              *TWO_NODES]
    return run_dir, resume, files(run_dir)


def failed_launch(cmd: list[str], env: dict[str, str]) -> tuple[str, float]:
    began = time.time()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stderr.strip().splitlines()[-1], time.time() - began


@pytest.mark.slow
def test_a_port_in_use_and_a_node_that_never_joins_are_one_line_each(existing_run):
    run_dir, resume, before = existing_run
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = base_env(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), NODE_RANK="0",
                       WORLD_SIZE="2")
        line, _ = failed_launch([*resume, "--ddp_timeout=20"], env)
    print(f"\n{line}")
    assert line == (f"ganzoo: error: MASTER_PORT={port}: the port is already in use on this "
                    f"machine (another job or run?); start every node with another free port")
    assert files(run_dir) == before

    port = free_port()
    for node, expected in (
        ("0", f"ganzoo: error: trainer.num_nodes: only 1 of 2 processes joined 127.0.0.1:{port} "
              f"within 5 s (ddp_timeout); start every node with the same MASTER_ADDR, "
              f"MASTER_PORT and trainer.num_nodes, each with its own NODE_RANK"),
        ("1", f"ganzoo: error: MASTER_ADDR: no rank-0 node answered at 127.0.0.1:{port} within "
              f"5 s (ddp_timeout); start node 0 (NODE_RANK=0) with the same MASTER_ADDR and "
              f"MASTER_PORT as this node"),
    ):
        env = base_env(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), NODE_RANK=node,
                       WORLD_SIZE="2", GANZOO_DDP_TIMEOUT="5")
        line, seconds = failed_launch(resume, env)
        print(f"{line}  ({seconds:.0f} s)")
        assert line == expected
        assert files(run_dir) == before


@pytest.mark.parametrize(
    ("env", "expected"),
    [({"NODE_RANK": "2"}, "NODE_RANK=2: out of range for trainer.num_nodes=2 (node ranks 0..1; "
                          "start node i with NODE_RANK=i)"),
     ({"NODE_RANK": "-1"}, "NODE_RANK=-1: out of range for trainer.num_nodes=2 (node ranks "
                           "0..1; start node i with NODE_RANK=i)"),
     ({"WORLD_SIZE": "3"}, "WORLD_SIZE=3: trainer.num_nodes x trainer.devices is 2 x 1 = 2; set "
                           "WORLD_SIZE to that (or the flags to match)"),
     ({"GANZOO_DDP_TIMEOUT": "soon"}, "GANZOO_DDP_TIMEOUT: seconds, got 'soon'")],
    ids=["node_rank_2", "node_rank_negative", "world_size", "timeout"],
)
def test_a_bad_launch_environment_is_one_line_before_anything_starts(
        existing_run, monkeypatch, capsys, env, expected):
    run_dir, resume, before = existing_run
    for key in ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "WORLD_SIZE", "GROUP_RANK"):
        monkeypatch.delenv(key, raising=False)
    for key, value in {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1", **env}.items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(resume[3:])
    err = capsys.readouterr().err.strip().splitlines()
    print(err[-1])
    assert exit_info.value.code == 2 and err[-1] == f"ganzoo: error: {expected}"
    assert files(run_dir) == before
