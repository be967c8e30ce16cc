"""Memorization (Meehan et al. 2020's C_T): a "generator" that returns training images is
flagged, one that returns held-out images is not, in the function and through evaluate."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganzoo.data import GANDataModule
from ganzoo.metrics import build_extractor, evaluate, extract
from ganzoo.metrics.scores.memorization import data_copying, z_u
from ganzoo.models import VanillaGAN

FLAGGED = -3.0  # C_T below this: closer to the training images than new images are


def test_z_u_is_the_standardised_mann_whitney_statistic():
    near, far = np.arange(10.0), np.arange(10.0) + 100
    assert z_u(near, far) == pytest.approx(-50 / math.sqrt(100 * 21 / 12))  # U = 0
    assert z_u(far, near) == -z_u(near, far) and z_u(near, near) == 0.0


@pytest.fixture(scope="module")
def ae_features(mnist_dm):
    extractor = build_extractor("autoencoder", mnist_dm)
    return {split: extract(extractor, mnist_dm.split(split))[0] for split in ("train", "test")}


def test_copies_of_training_images_are_flagged_and_new_images_are_not(ae_features):
    train, test = ae_features["train"], ae_features["test"]
    heldout, new = test[:500], test[500:]
    pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:500]
    copies = data_copying(train, heldout, train[pick])
    fresh = data_copying(train, heldout, new)
    assert copies < FLAGGED < fresh < -FLAGGED, (copies, fresh)
    # copies with a little noise on top (nearly copied images) are still flagged
    noisy = train[pick] + 0.2 * torch.randn(500, train.shape[1], generator=torch.Generator())
    assert data_copying(train, heldout, noisy) < FLAGGED


class BankGAN(VanillaGAN):
    """A "generator" that returns images of a fixed bank, picked by its noise."""

    def __init__(self, *, bank: torch.Tensor, **kwargs) -> None:
        super().__init__(arch="mlp", g_width=8, d_width=8, **kwargs)
        self.bank = bank

    def generate(self, latent):
        which = (latent["z"][:, 0].abs() * 1e4).long().cpu() % len(self.bank)
        return self.bank[which]


def test_evaluation_flags_a_generator_returning_training_images(tmp_path):
    """digits with a validation split: C_T compares with the val images (the reference);
    the test images are held out from training too, so returning them is not copying."""
    dm = GANDataModule(dataset="digits", val_size=300)
    dm.setup("fit")
    values = {}
    for source in ("train", "test"):
        model = BankGAN(bank=dm.split(source).tensors[0], data_shape=dm.data_shape,
                        num_classes=dm.num_classes)
        out = evaluate(model, dm, num_samples=300, batch_size=150, reference_split="val",
                       kid_subset_size=100, kid_subsets=5, cache_dir=str(tmp_path),
                       metrics=["memorization"], real_floor=False)
        values[source] = out["metrics"]["memorization"]
        assert out["protocol"]["memorization_heldout"] == "val"
    assert values["train"] < FLAGGED < values["test"] < -FLAGGED, values


def test_given_reference_statistics_give_the_same_score(ae_features):
    from ganzoo.metrics.scores.memorization import heldout_reference

    train, test = ae_features["train"], ae_features["test"]
    heldout, fake = test[:500], test[500:]
    reference = heldout_reference(train, heldout)
    given = data_copying(train, heldout, fake, reference=reference)
    assert given == data_copying(train, heldout, fake)


def test_the_cells_and_heldout_distances_are_computed_once_per_run(tmp_path, monkeypatch):
    from ganzoo.metrics import Evaluator
    from ganzoo.metrics.scores import memorization

    calls = []
    heldout_reference = memorization.heldout_reference
    monkeypatch.setattr(memorization, "heldout_reference",
                        lambda *a, **kw: calls.append(1) or heldout_reference(*a, **kw))
    dm = GANDataModule(dataset="digits", val_size=300)
    dm.setup("fit")
    model = BankGAN(bank=dm.split("test").tensors[0], data_shape=dm.data_shape,
                    num_classes=dm.num_classes)
    evaluator = Evaluator(num_samples=300, batch_size=150, reference_split="val",
                          kid_subset_size=100, kid_subsets=5, cache_dir=str(tmp_path),
                          metrics=["memorization"], real_floor=False)
    first, second = (evaluator(model, dm)["metrics"]["memorization"] for _ in range(2))
    assert calls == [1] and first == second
