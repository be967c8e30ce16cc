"""Lightning's epoch checkpoint and last.ckpt: one write, last.ckpt a hard link to it."""

import os
import pickle

import pytest
import torch

from ganzoo.models import DCGAN
from ganzoo.training import GuardedCheckpoint
from tests.helpers import TinyData, cpu_trainer, tiny_kwargs


def test_last_ckpt_links_the_epoch_checkpoint_and_a_later_save_leaves_it(tmp_path):
    checkpoint = GuardedCheckpoint(dirpath=tmp_path, save_last=True)
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
