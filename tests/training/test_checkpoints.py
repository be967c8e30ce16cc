"""Lightning's epoch checkpoint and last.ckpt: one write, last.ckpt a hard link to it; epoch
checkpoints a minimum time apart, the fit's end always saved."""

import os
import pickle

import pytest
import torch

from ganzoo.models import DCGAN
from ganzoo.training import Budget, GuardedCheckpoint
from ganzoo.training import checkpoints as checkpoints_module
from tests.helpers import TinyData, cpu_trainer, tiny_kwargs


def test_last_ckpt_links_the_epoch_checkpoint_and_a_later_save_leaves_it(tmp_path):
    checkpoint = GuardedCheckpoint(dirpath=tmp_path, save_last=True, min_epoch_interval_s=0)
    trainer = cpu_trainer(max_epochs=2, limit_train_batches=2, enable_checkpointing=True,
                          callbacks=[checkpoint])
    model = DCGAN(**tiny_kwargs())
    trainer.fit(model, TinyData())
    (epoch_file,) = tmp_path.glob("epoch=*.ckpt")  # the first epoch's was removed (top 1)
    last = tmp_path / "last.ckpt"
    assert epoch_file.name == "epoch=1-step=8.ckpt" and os.path.samefile(epoch_file, last)
    state = torch.load(last, weights_only=False)
    assert state["global_step"] == 8
    for k, v in model.state_dict().items():
        assert torch.equal(state["state_dict"][k], v), k
    # a save over last.ckpt (Lightning's own writer renames a new file) leaves the epoch file
    trainer.save_checkpoint(last)
    assert not os.path.samefile(epoch_file, last)
    assert torch.load(epoch_file, weights_only=False)["global_step"] == 8


class CountingCheckpoint(GuardedCheckpoint):
    """Records the global step of every epoch (top-k) save."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.saved_steps: list[int] = []

    def _save_topk_checkpoint(self, trainer, monitor_candidates) -> None:
        self.saved_steps.append(trainer.global_step)
        super()._save_topk_checkpoint(trainer, monitor_candidates)


def fit_counting(tmp_path, interval: float, **trainer_kw) -> tuple[CountingCheckpoint, DCGAN]:
    checkpoint = CountingCheckpoint(dirpath=tmp_path, save_last=True,
                                    min_epoch_interval_s=interval)
    kw = dict(max_epochs=3, limit_train_batches=2, enable_checkpointing=True)
    trainer_kw["callbacks"] = [*trainer_kw.get("callbacks", []), checkpoint]
    trainer = cpu_trainer(**{**kw, **trainer_kw})
    model = DCGAN(**tiny_kwargs())
    trainer.fit(model, TinyData())
    return checkpoint, model


def assert_end_saved(tmp_path, model, step: int) -> None:
    state = torch.load(tmp_path / "last.ckpt", weights_only=False)
    assert state["global_step"] == step
    for k, v in model.state_dict().items():
        assert torch.equal(state["state_dict"][k], v), k


def test_epoch_checkpoints_come_every_epoch_without_a_minimum_interval(tmp_path):
    checkpoint, _ = fit_counting(tmp_path, 0)
    assert checkpoint.saved_steps == [4, 8, 12]  # 2 batches of a D and a G step per epoch


def test_epoch_checkpoints_within_the_interval_are_skipped_but_the_last_epoch_is_saved(tmp_path):
    checkpoint, model = fit_counting(tmp_path, 3600)
    assert checkpoint.saved_steps == [12]
    (epoch_file,) = tmp_path.glob("epoch=*.ckpt")
    assert epoch_file.name == "epoch=2-step=12.ckpt"  # the name an every-epoch run ends with
    assert os.path.samefile(epoch_file, tmp_path / "last.ckpt")
    assert_end_saved(tmp_path, model, 12)


@pytest.mark.parametrize("stop", ["budget", "max_steps"])
def test_a_fit_stopped_mid_run_saves_its_last_epoch(tmp_path, stop):
    # 3 generator steps: the budget stops the second epoch after its first batch
    kw = {"callbacks": [Budget(max_g_steps=3)]} if stop == "budget" else {"max_steps": 6}
    checkpoint, model = fit_counting(tmp_path, 3600, max_epochs=5, **kw)
    assert checkpoint.saved_steps == [6]
    assert_end_saved(tmp_path, model, 6)


def test_the_end_is_saved_when_a_fit_ends_after_a_skipped_epoch_save(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints_module, "fit_ends", lambda trainer: False)  # end not seen
    checkpoint, model = fit_counting(tmp_path, 3600)
    assert checkpoint.saved_steps == [12]  # at the end of the fit, not at its epoch end
    assert_end_saved(tmp_path, model, 12)


def test_a_negative_minimum_interval_is_refused(tmp_path):
    with pytest.raises(ValueError, match="min_epoch_interval_s: must be >= 0, got -1"):
        GuardedCheckpoint(dirpath=tmp_path, min_epoch_interval_s=-1)


class Unpicklable:
    def __reduce__(self):
        raise pickle.PicklingError("not this one")


def test_local_checkpoint_io_replaces_whole_files_only(tmp_path):
    from ganzoo.training import LocalCheckpointIO

    io, path = LocalCheckpointIO(), tmp_path / "nested" / "last.ckpt"
    io.save_checkpoint({"w": torch.arange(3)}, path)
    assert torch.equal(io.load_checkpoint(path)["w"], torch.arange(3))
    with pytest.raises(pickle.PicklingError):  # a save that fails midway leaves the last file
        io.save_checkpoint({"w": torch.zeros(3), "bad": Unpicklable()}, path)
    assert torch.equal(io.load_checkpoint(path)["w"], torch.arange(3))
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.ckpt"]


def test_the_cli_writes_checkpoints_with_local_checkpoint_io(tmp_path):
    from ganzoo.cli import run_lightning_cli
    from ganzoo.training import LocalCheckpointIO

    cli = run_lightning_cli(["--config", "experiments/vanilla_digits.yaml", f"--runs_dir={tmp_path}",
                             "--trainer.logger=false"], run=False)
    assert type(cli.trainer.strategy.checkpoint_io) is LocalCheckpointIO
