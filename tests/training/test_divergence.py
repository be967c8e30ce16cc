"""After the divergence guard fires, the checkpoints left are from before the NaN."""

from __future__ import annotations

import pytest
import torch

from ganzoo.models import DCGAN
from ganzoo.training import DivergenceGuard, GuardedCheckpoint, PeriodicCheckpoint
from tests.helpers import TinyData, cpu_trainer, tiny_kwargs


class NaNAt(DCGAN):
    """D's loss turns NaN at D step 7 (after periodic checkpoints at G steps 3 and 6)."""

    def d_terms(self, step):
        return {"bad": torch.tensor(float("nan") if self.d_steps == 6 else 0.0)}


def test_checkpoints_stop_at_the_last_good_step(tmp_path):
    model = NaNAt(**tiny_kwargs())
    data = TinyData(n=192)  # 12 batches of 16
    batches = len(data.train_dataloader())
    assert batches > 7, "the NaN must come mid-epoch"
    guarded = GuardedCheckpoint(dirpath=tmp_path, save_last=True)
    trainer = cpu_trainer(max_epochs=2, enable_checkpointing=True,
                          callbacks=[DivergenceGuard(), guarded,
                                     PeriodicCheckpoint(str(tmp_path), 3)])
    with pytest.warns(UserWarning, match="d_loss non-finite at D step 7"):
        trainer.fit(model, data)
    assert model.diverged
    last = torch.load(tmp_path / "last.ckpt", map_location="cpu", weights_only=False)
    assert last["ganzoo"]["d_steps"] == 6 and not last["ganzoo"]["diverged"]
    assert all(torch.isfinite(v).all() for v in last["state_dict"].values() if v.is_floating_point())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]  # no epoch-end save
