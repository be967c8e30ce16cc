"""Models declare what evaluation needs (latent codes, model metrics, table label); the
evaluation plan asks them instead of probing attributes."""

from __future__ import annotations

import torch

from ganzoo.data import GANDataModule
from ganzoo.metrics.plan import conditioning, plan_for
from ganzoo.models import DCGAN, ConditionalGAN, InfoGAN, WGANClip
from ganzoo.models.codes import LatentCodes

SMALL = dict(data_shape=(1, 8, 8), num_classes=10, arch="mlp", g_width=8, d_width=8)


def digits():
    return GANDataModule(dataset="digits")


def test_latent_codes_describe_sampling_and_the_generator_input():
    codes = LatentCodes(3, 2)
    drawn = codes.sample(6, generator=torch.Generator().manual_seed(0))
    assert drawn["cat"].shape == (6,) and drawn["cont"].shape == (6, 2)
    assert drawn["cont"].abs().max() <= 1
    balanced = codes.balanced(torch.arange(9), torch.Generator().manual_seed(0))
    assert torch.bincount(balanced["cat"]).tolist() == [3, 3, 3]
    parts = codes.as_input(drawn, torch.float32)
    assert torch.cat(parts, 1).shape == (6, codes.input_dim) == (6, 5)
    assert not LatentCodes() and LatentCodes().sample(4) == {}


def test_infogan_codes_come_from_its_arguments():
    model = InfoGAN(categorical_dim=4, continuous_dim=3, **SMALL)
    assert model.latent_codes() == LatentCodes(4, 3)
    latent = model.sample_latent(5)
    assert set(latent) == {"z", "cat", "cont"}
    assert model.generator_input(latent).shape == (5, model.latent_dim + 7)
    assert model.q_head.categorical_dim == 4


def test_plan_follows_the_declared_metrics():
    dm = digits()
    assert plan_for(InfoGAN(**SMALL), dm).code_accuracy
    assert plan_for(ConditionalGAN(**SMALL), dm).label_metrics
    plain = plan_for(DCGAN(**SMALL), dm)
    assert not plain.code_accuracy and not plain.label_metrics

    class Silent(InfoGAN):
        def model_metrics(self):
            return ()

    assert not plan_for(Silent(**SMALL), dm).code_accuracy


def test_a_variant_with_codes_needs_no_attribute_before_init():
    """A new variant declares its codes through hparams only; the base builds G for them."""

    class Coded(DCGAN):
        def __init__(self, *, extra_codes: int = 2, **kwargs):
            super().__init__(**kwargs)

        def latent_codes(self):
            return LatentCodes(0, self.hparams.extra_codes)

    model = Coded(**SMALL)
    assert model.generate(model.sample_latent(3)).shape == (3, 1, 8, 8)
    plan = plan_for(model, digits())
    labels, codes = conditioning(plan, model, torch.arange(4), torch.Generator())
    assert labels is None and codes is None


def test_table_labels():
    assert WGANClip(**SMALL).table_label() == "WGAN-clip"
    assert DCGAN(loss="minimax", **SMALL).table_label() == "DCGAN (minimax)"
    assert InfoGAN(**SMALL).table_label() == "InfoGAN"


def test_infogan_draws_the_papers_noise():
    """Chen et al.'s MNIST launcher: 62 noise dimensions of U(-1, 1) beside the codes. With
    N(0, I) noise the one-hot code has three times less of G's input variance, and in the
    main job it selected the digit in 0.45 of samples instead of 0.65."""
    model = InfoGAN(**SMALL)
    z = model.sample_latent(4000)["z"]
    assert z.shape == (4000, 62)
    assert z.min() >= -1 and z.max() <= 1
    assert abs(float(z.var()) - 1 / 3) < 0.01
    assert model.hparams.latent_dim == 62 and model.hparams.noise == "uniform"
    assert DCGAN(**SMALL).sample_latent(4000)["z"].abs().max() > 1  # others keep N(0, I)
