"""Under DDP every rank draws its own noise, and a DDP step is the single-process step on the
concatenated batch (2 gloo processes on CPU).

``seed_everything`` seeds every rank alike, so without per-rank streams each rank generates the
same fakes and N devices train G on N copies of one batch (Lightning issue 16166). The second
test proves the gradient averaging rather than assuming it: one DDP step with per-rank batch B
equals, to 1e-6, one single-process step on the 2B batch made of both ranks' data and noise,
for a model without batch norm and with plain SGD (Adam's first step is nearly sign(grad),
which would hide a wrong gradient scale).
"""

import subprocess
import sys
import textwrap

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from ganzoo.cli import DDP_STRATEGY
from ganzoo.models import DCGAN, OptimizerSpec
from ganzoo.training import Budget

KWARGS = dict(data_shape=(1, 8, 8), num_classes=4, latent_dim=8, g_width=8, d_width=8,
              num_fixed_samples=4, g_norm="none", d_norm="none",
              optimizer=OptimizerSpec(name="sgd", momentum=0.0), lr_g=0.5, lr_d=0.5)

SCRIPT = textwrap.dedent(
    """
    import sys, torch, lightning as L
    from torch.utils.data import DataLoader, TensorDataset
    from ganzoo.models import DCGAN, OptimizerSpec
    from ganzoo.training import RankStreams

    out, steps = sys.argv[1], int(sys.argv[2])
    KWARGS = KWARGS_HERE

    class Recording(DCGAN):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.trace = {"x": [], "z": [], "fake": []}

        def training_step(self, batch, batch_idx):
            self.trace["x"].append(batch[0].clone())
            return super().training_step(batch, batch_idx)

        def sample_latent(self, n, labels=None, generator=None):
            latent = super().sample_latent(n, labels=labels, generator=generator)
            if generator is None and self._trainer is not None and self.trainer.training:
                self.trace["z"].append(latent["z"].clone())
            return latent

        def generate(self, latent):
            fake = super().generate(latent)
            if self._trainer is not None and self.trainer.training:
                self.trace["fake"].append(fake.detach().clone())
            return fake

    L.seed_everything(0)
    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.rand(64, 1, 8, 8, generator=g) * 2 - 1, torch.arange(64) % 4)
    model = Recording(**KWARGS)
    trainer = L.Trainer(accelerator="cpu", devices=2, strategy="STRATEGY", max_epochs=1,
                        limit_train_batches=steps, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False,
                        callbacks=[RankStreams()])
    trainer.fit(model, DataLoader(data, batch_size=8, shuffle=True))
    model.trace["params"] = [p.detach().clone() for p in model.parameters()]
    model.trace["rng_after"] = torch.get_rng_state()
    trainer.save_checkpoint(f"{out}.ckpt")  # on every rank, as Lightning requires
    torch.save(model.trace, f"{out}.rank{trainer.global_rank}.pt")
    """
).replace("STRATEGY", DDP_STRATEGY).replace("KWARGS_HERE", repr(KWARGS))


def run_ddp(tmp_path, steps: int) -> list[dict]:
    script = tmp_path / "ddp_streams.py"
    script.write_text(SCRIPT)
    out = tmp_path / "trace"
    proc = subprocess.run([sys.executable, str(script), str(out), str(steps)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [torch.load(f"{out}.rank{r}.pt") for r in (0, 1)]


@pytest.mark.slow
def test_ranks_generate_different_fakes_at_every_step(tmp_path):
    r0, r1 = run_ddp(tmp_path, steps=3)
    assert len(r0["z"]) == len(r1["z"]) == 6  # a D and a G step per batch
    for z0, z1, f0, f1 in zip(r0["z"], r1["z"], r0["fake"], r1["fake"], strict=True):
        assert not torch.equal(z0, z1), "both ranks drew the same noise"
        assert not torch.equal(f0, f1), "both ranks generated the same fakes"
    assert not torch.equal(r0["x"][0], r1["x"][0])  # and each sees its own shard of the data
    for a, b in zip(r0["params"], r1["params"], strict=True):
        assert torch.equal(a, b)  # while the replicas stay identical
    # the checkpoint holds every rank's stream, for an exact resume
    streams = torch.load(tmp_path / "trace.ckpt", weights_only=False)["ganzoo_rank_rng"]
    assert streams["torch"].shape[0] == 2
    assert torch.equal(streams["torch"][0], r0["rng_after"])
    assert torch.equal(streams["torch"][1], r1["rng_after"])


class Replay(DCGAN):
    """Draws its training noise from a queue (the ranks' noise, concatenated)."""

    queue: list[torch.Tensor] = []

    def sample_latent(self, n, labels=None, generator=None):
        if generator is None and self._trainer is not None and self.trainer.training:
            z = self.queue.pop(0)
            assert len(z) == n
            return {"z": z}
        return super().sample_latent(n, labels=labels, generator=generator)


@pytest.mark.slow
def test_one_ddp_step_equals_the_single_process_step_on_the_concatenated_batch(tmp_path):
    r0, r1 = run_ddp(tmp_path, steps=1)
    L.seed_everything(0)
    initial = [p.detach().clone() for p in DCGAN(**KWARGS).parameters()]
    L.seed_everything(0)
    model = Replay(**KWARGS)
    Replay.queue = [torch.cat([a, b]) for a, b in zip(r0["z"], r1["z"], strict=True)]
    x = torch.cat([r0["x"][0], r1["x"][0]])
    loader = DataLoader(TensorDataset(x, torch.zeros(len(x), dtype=torch.long)), batch_size=len(x))
    L.Trainer(accelerator="cpu", devices=1, max_epochs=1, logger=False, enable_checkpointing=False,
              enable_progress_bar=False, enable_model_summary=False).fit(model, loader)
    assert not Replay.queue
    moved = max((p - q).abs().max().item() for p, q in zip(initial, r0["params"], strict=True))
    assert moved > 1e-3  # the step did something measurable
    gap = max((p.detach() - q).abs().max().item()
              for p, q in zip(model.parameters(), r0["params"], strict=True))
    print(f"max |DDP 2 x {len(x) // 2} - single process {len(x)}| over parameters: {gap:.2e}")
    assert gap < 1e-6


def test_stream_seeds_do_not_collide_across_runs_and_ranks():
    from ganzoo.training.rng import stream_seed

    seeds = {stream_seed(seed, rank) for seed in range(4) for rank in range(4)}
    assert len(seeds) == 16  # seed + rank would give 7
    assert stream_seed(0, 1) == stream_seed(0, 1) and 0 <= stream_seed(5, 3) < 2**63


class FirstNoise(DCGAN):
    first: torch.Tensor | None = None

    def sample_latent(self, n, labels=None, generator=None):
        latent = super().sample_latent(n, labels=labels, generator=generator)
        if generator is None and FirstNoise.first is None and self.trainer.training:
            FirstNoise.first = latent["z"].clone()
        return latent


def test_one_process_keeps_the_seeded_stream():
    """A single-process run is not re-seeded: its first training noise is the next draw of
    the stream seed_everything started (the committed tables were made that way)."""
    from tests.helpers import TinyData, cpu_trainer

    L.seed_everything(0)
    model = FirstNoise(**KWARGS)
    state = torch.get_rng_state()
    cpu_trainer(limit_train_batches=1).fit(model, TinyData(shape=(1, 8, 8)))
    torch.set_rng_state(state)
    assert torch.equal(FirstNoise.first, torch.randn(16, KWARGS["latent_dim"]))


def test_max_images_counts_real_images_over_all_processes():
    from tests.helpers import TinyData, cpu_trainer

    model = DCGAN(**KWARGS)
    cpu_trainer(max_epochs=10, callbacks=[Budget(max_images=40)]).fit(model, TinyData(shape=(1, 8, 8), batch_size=16))
    assert model.images_seen == 48 and model.d_steps == 3  # the first D step reaching 40
