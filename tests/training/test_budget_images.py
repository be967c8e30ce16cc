"""The budget in real images survives a resume on another device count: the checkpoint keeps
the count over all processes, and each process resumes with its share of it."""

from __future__ import annotations

from types import SimpleNamespace

from ganzoo.models import DCGAN
from ganzoo.training import Budget


def model_on(world_size: int) -> DCGAN:
    model = DCGAN(data_shape=(1, 8, 8), num_classes=4, latent_dim=8, g_width=8, d_width=8)
    model._trainer = SimpleNamespace(world_size=world_size)
    return model


def test_a_run_resumed_on_fewer_processes_keeps_its_images():
    two = model_on(2)
    two.images_seen = 320  # per process: 640 real images in all
    checkpoint: dict = {"state_dict": {}}
    two.on_save_checkpoint(checkpoint)
    assert checkpoint["ganzoo"]["images_seen_global"] == 640
    one = model_on(1)
    one.on_load_checkpoint(checkpoint)
    assert one.images_seen == 640
    budget = Budget(max_images=640)
    assert budget.spent(SimpleNamespace(world_size=1), one)  # not 320 images, half the budget
    four = model_on(4)
    four.on_load_checkpoint(checkpoint)
    assert four.images_seen * 4 == 640


def test_a_checkpoint_without_the_global_count_reads_as_before():
    model = model_on(1)
    checkpoint: dict = {"state_dict": {}}
    model.images_seen = 96
    model.on_save_checkpoint(checkpoint)
    del checkpoint["ganzoo"]["images_seen_global"]  # written before the count was kept
    other = model_on(2)
    other.on_load_checkpoint(checkpoint)
    assert other.images_seen == 96
