"""Every variant x every loss it supports trains on tiny data; each optimizer step changes
only the network it belongs to; the variants' own options (algorithm1, minibatch features,
the WGAN paper defaults, ...) have a test of their defining effect. The tricks' tests are in
tests/tricks/."""

import copy

import pytest
import torch

from ganzoo.losses import LOSSES
from ganzoo.models import (
    DCGAN,
    VARIANTS,
    WGANGP,
    ConditionalGAN,
    GANModule,
    InfoGAN,
    VanillaGAN,
    WGANClip,
)
from ganzoo.nets.blocks import ClassBatchNorm
from ganzoo.training import DivergenceGuard, SpeedKnobs
from ganzoo.tricks import (
    DAugment,
    DWeightPenalty,
    GeneratorEMA,
    InstanceNoise,
    LabelSmoothing,
    MinibatchFeatures,
    QAugment,
    RealConsistency,
    RealInfo,
)
from tests.helpers import Collect, TinyData, changed, cpu_trainer, fitted, snapshot, tiny_kwargs

# every registered variant with its default loss; every loss on the non-Wasserstein ones
CASES = [(cls, {}) for cls in VARIANTS.values()]
CASES += [(cls, {"loss": loss}) for cls in (VanillaGAN, DCGAN, ConditionalGAN, InfoGAN)
          for loss in LOSSES if loss not in ("wasserstein", "nonsaturating")]
CASES += [(VanillaGAN, {"algorithm1": True}),
          (DCGAN, {"g_norm": "virtual", "loss": "hinge"}),
          (DCGAN, {"g_norm": "reference"}), (ConditionalGAN, {"g_norm": "reference"}),
          (VanillaGAN, {"g_norm": "reference"}), (VanillaGAN, {"g_norm": "virtual"}),
          (InfoGAN, {"g_norm": "reference"}), (InfoGAN, {"g_norm": "class"}),
          (ConditionalGAN, {"g_norm": "class"}),
          (DCGAN, {"loss": LabelSmoothing(alpha=0.1),
                   "tricks": [MinibatchFeatures(), InstanceNoise(std=0.1, anneal_steps=10)]}),
          (ConditionalGAN, {"conditioning": "projection", "arch": "mlp"}),
          (ConditionalGAN, {"conditioning": "both"}),
          (InfoGAN, {"tricks": [DAugment()]}),
          (InfoGAN, {"q_augment": QAugment()}), (InfoGAN, {"q_augment": QAugment(ranges="shape")}),
          (InfoGAN, {"q_augment": QAugment(ranges="shape"), "tricks": [RealInfo(weight=1.0)]}),
          (InfoGAN, {"q_augment": QAugment(),
                     "tricks": [RealInfo(weight=1.0), RealConsistency(weight=1.0)]}),
          (WGANGP, {"tricks": [DWeightPenalty(weight=1e-3)]}),
          (WGANGP, {"arch": "mlp"}),
          (DCGAN, {"callbacks": [GeneratorEMA(decay=0.9)]}),
          (InfoGAN, {"callbacks": [GeneratorEMA(decay=0.9), SpeedKnobs(channels_last=True)]}),
          (VanillaGAN, {"tricks": [MinibatchFeatures(average=True)]})]


def ids(case):
    cls, kw = case
    return cls.__name__ + "-" + "-".join(f"{k}={v}" for k, v in kw.items())


@pytest.mark.parametrize("case", CASES, ids=[ids(c) for c in CASES])
def test_variant_trains_and_steps_only_its_player(case):
    cls, kw = case
    model, data = fitted(cls, **kw)
    assert model.d_steps == 2 and not model.diverged
    opt_g, opt_d = model.optimizers()
    x, y = data.x[:16], data.y[:16]
    g_params = list(model.generator.parameters())
    d_params = model.d_parameters()

    before_g, before_d = snapshot(g_params), snapshot(d_params)
    logs = model.discriminator_step(opt_d, x, y)
    assert all(torch.isfinite(v).all() for v in logs.values()), logs
    assert not any(changed(before_g, g_params)), "a D step changed G"
    # Most D tensors move (not all: e.g. the output bias has zero gradient under the
    # Wasserstein loss, and clipped weights stay at the clip boundary).
    moved = changed(before_d, d_params)
    assert sum(moved) >= len(moved) / 2, moved

    before_g, before_d = snapshot(g_params), snapshot(d_params)
    logs = model.generator_step(opt_g, x, y)
    assert all(torch.isfinite(v).all() for v in logs.values()), logs
    assert not any(changed(before_d, d_params)), "a G step changed D"
    moved = changed(before_g, g_params)
    assert sum(moved) >= len(moved) / 2, moved


def test_wgan_clip_keeps_every_critic_weight_bounded():
    model, data = fitted(WGANClip, clip_value=0.01)
    for p in model.discriminator.parameters():
        assert p.abs().max().item() <= 0.01 + 1e-12


def test_wgan_paper_defaults():
    clip = WGANClip(**tiny_kwargs())
    gp = WGANGP(**tiny_kwargs())
    clip_opt, gp_opt = clip.hparams.optimizer, gp.hparams.optimizer
    assert (clip_opt["name"], clip.hparams.lr_d, clip.n_critic) == ("rmsprop", 5e-5, 5)
    assert (gp_opt["name"], gp.hparams.lr_d, tuple(gp_opt["betas"])) == ("adam", 1e-4, (0.0, 0.9))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in gp.discriminator.modules())
    assert clip.loss_pair.probabilistic is False


def test_dcgan_sizes_itself_from_the_data():
    for shape in [(1, 28, 28), (3, 32, 32), (3, 64, 64), (1, 8, 8), (1, 5, 5), (3, 30, 30)]:
        model = DCGAN(data_shape=shape, num_classes=0, g_width=8, d_width=8, num_fixed_samples=2)
        assert model.sample(2).shape == (2, *shape)
        assert model.discriminator(model.sample(2)).shape == (2,)


def test_dcgan_uses_the_papers_4x4_bottleneck_on_a_canvas():
    """28 px digits live on a 32 px canvas: G starts at 4 x 4 x 8 ngf (three up-convolutions,
    Radford et al.) and crops; D pads with the background value, so it cannot tell a padded
    real image from a cropped-and-padded fake by the border."""
    from ganzoo.nets import DCGANDiscriminator, DCGANGenerator, dcgan_canvas

    assert dcgan_canvas(28) == (32, 3) and dcgan_canvas(32) == (32, 3)
    assert dcgan_canvas(8) == (8, 1) and dcgan_canvas(64) == (64, 4)
    g = DCGANGenerator(latent_dim=4, data_shape=(1, 28, 28), ngf=8)
    assert g.project.out_features == 4 * 8 * 4 * 4
    assert sum(isinstance(m, torch.nn.ConvTranspose2d) for m in g.modules()) == 3
    d = DCGANDiscriminator(data_shape=(1, 28, 28), ndf=8)
    assert d.feature_dim == 4 * 8 * 4 * 4
    seen = {}
    d.trunk[0].register_forward_hook(lambda m, inputs, out: seen.update(x=inputs[0]))
    d(torch.zeros(2, 1, 28, 28))
    assert seen["x"].shape == (2, 1, 32, 32)
    assert (seen["x"][:, :, :2] == -1).all() and (seen["x"][:, :, 2:30, 2:30] == 0).all()


def test_mlp_generator_batch_norm_follows_g_norm():
    def norms(model):
        return sum(isinstance(m, torch.nn.BatchNorm1d) for m in model.generator.modules())

    assert norms(VanillaGAN(**tiny_kwargs(g_norm="batch"))) == 2
    assert norms(VanillaGAN(**tiny_kwargs(g_norm="none"))) == 0


def test_sample_api_labels_and_codes():
    cgan = ConditionalGAN(**tiny_kwargs())
    labels = torch.tensor([0, 1, 2, 3])
    g = torch.Generator().manual_seed(1)
    a = cgan.sample(4, labels=labels, generator=g)
    b = cgan.sample(4, labels=labels, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.min() >= -1 and a.max() <= 1
    info = InfoGAN(**tiny_kwargs())
    codes = {"cat": torch.tensor([3, 3]), "cont": torch.zeros(2, 2)}
    assert info.sample(2, codes=codes).shape == (2, 1, 8, 8)
    assert set(info.fixed_latent()) == {"z", "cat", "cont"}
    assert set(cgan.fixed_latent()) == {"z", "labels"}


@pytest.mark.parametrize(("cls", "key"), [(ConditionalGAN, "labels"), (InfoGAN, "cat")])
def test_class_norm_generator_takes_the_labels_or_the_categorical_code(cls, key):
    """g_norm class: the conditional GAN's labels, or InfoGAN's categorical code, pick G's norm
    scales; with the code's input path cut (its weights in G's first layer zeroed) the
    samples still change with it."""
    torch.manual_seed(0)
    model = cls(**tiny_kwargs(g_norm="class"))
    with torch.no_grad():
        for module in model.generator.modules():
            if isinstance(module, ClassBatchNorm):
                module.shift.weight.normal_()
        if key == "labels":
            model.generator.label_embed.weight.zero_()
        else:  # the one-hot code's columns of G's first layer
            k = model.latent_codes().categorical
            model.generator.project.weight[:, model.latent_dim : model.latent_dim + k].zero_()
    latent = model.sample_latent(4)
    other = {**latent, key: (latent[key] + 1) % 4}  # (c + 1) % 4 != c for every c
    assert not torch.allclose(model.generate_eval(latent), model.generate_eval(other))


def test_generator_training_mode_is_restored_after_sample():
    model = DCGAN(**tiny_kwargs())
    model.train()
    model.sample(2)
    assert model.generator.training


class NaNAfterThree(DCGAN):
    def d_terms(self, step):
        return {"bad": torch.tensor(float("nan")) if self.d_steps >= 3 else torch.tensor(0.0)}


def test_divergence_guard_stops_cleanly():
    model = NaNAfterThree(**tiny_kwargs())
    with pytest.warns(UserWarning, match="training diverged: d_loss non-finite at D step 4, "
                      "generator step 4; stopping"):
        cpu_trainer(max_epochs=5, callbacks=[DivergenceGuard()]).fit(model, TinyData())
    assert model.diverged
    assert model.d_steps == 4  # the fourth step produced NaN, then training stopped


def test_checkpoint_holds_training_state(tmp_path):
    model = WGANClip(**tiny_kwargs(n_critic=3))
    trainer = cpu_trainer(limit_train_batches=4)
    trainer.fit(model, TinyData())
    path = tmp_path / "last.ckpt"
    trainer.save_checkpoint(path)
    ckpt = torch.load(path, weights_only=True)
    state = ckpt["ganzoo"]
    assert (state["d_steps"], state["g_steps"], state["images_seen"]) == (4, 1, 64)
    assert {"torch", "numpy", "python"} <= set(state["rng"])
    assert len(ckpt["optimizer_states"]) == 2
    restored = WGANClip.load_from_checkpoint(path)
    assert (restored.d_steps, restored.g_steps) == (4, 1)
    assert torch.equal(restored.fixed_z, model.fixed_z)
    fresh = copy.deepcopy(restored)
    assert isinstance(fresh, GANModule)


@pytest.mark.parametrize("arch", ["dcgan", "mlp"])
@pytest.mark.parametrize("norm", ["virtual", "reference"])
def test_reference_and_virtual_batch_norm_make_samples_independent_of_their_batch(norm, arch):
    """Under reference and virtual batch norm (Salimans et al. 2016; seed 003) a sample depends
    on the fixed reference batch only, not on the rest of its minibatch; under batch norm it
    does."""
    model = DCGAN(**tiny_kwargs(g_norm=norm, arch=arch))
    model.train()  # even in train mode: no statistics of the current minibatch are used
    z = torch.randn(6, model.latent_dim)
    alone = model.generator(z[:1])
    batched = model.generator(z)
    assert torch.allclose(alone, batched[:1], atol=1e-6)
    bn = DCGAN(**tiny_kwargs(arch=arch))
    bn.train()
    assert not torch.allclose(bn.generator(z[:2])[:1], bn.generator(z)[:1], atol=1e-4)


def test_reference_batch_is_drawn_from_the_models_latent_distribution():
    """The reference batch's latents are G inputs like any other, else its statistics would
    not be those of G's features: N(0, I) for DCGAN (the generator's own seeded draw); for
    InfoGAN uniform noise, a one-hot categorical code and uniform continuous codes."""
    dcgan = DCGAN(**tiny_kwargs(g_norm="reference"))
    draw = torch.randn(64, dcgan.latent_dim, generator=torch.Generator().manual_seed(12345))
    assert torch.equal(dcgan.generator.reference.z, draw)
    info = InfoGAN(**tiny_kwargs(g_norm="virtual", categorical_dim=3, continuous_dim=2))
    z, d = info.generator.reference.z, info.latent_dim
    assert z.shape == (64, d + 3 + 2)
    assert z[:, :d].abs().max() <= 1 and z[:, d + 3 :].abs().max() <= 1
    assert ((z[:, d : d + 3] == 0) | (z[:, d : d + 3] == 1)).all()
    assert torch.equal(z[:, d : d + 3].sum(dim=1), torch.ones(64))
    cgan = ConditionalGAN(**tiny_kwargs(g_norm="reference"))
    assert torch.equal(cgan.generator.reference.labels, torch.arange(64) % 4)


@pytest.mark.parametrize("arch", ["dcgan", "mlp"])
def test_reference_batch_norm_normalises_with_the_reference_batch_alone(arch):
    """Reference batch norm (seed 003): every norm layer of G uses the statistics of the fixed
    reference batch R alone, so a latent equal to one of R's gets exactly what batch norm over
    R gives it: the output of a batch-norm twin of G (same weights, train mode) run on R, wherever
    it sits in a minibatch. Virtual batch norm ({z} U R, so R plus that sample once more) gives
    it something else. 16 x 16: two norm layers in either G."""
    kw = tiny_kwargs(arch=arch, data_shape=(1, 16, 16))
    gaps = {}
    for norm in ("reference", "virtual"):
        g = DCGAN(**{**kw, "g_norm": norm}).generator.train()
        twin = DCGAN(**{**kw, "g_norm": "batch"}).generator.train()
        names = [name for name, _ in g.named_parameters()]
        assert names == [name for name, _ in twin.named_parameters()]
        with torch.no_grad():
            for p, q in zip(twin.parameters(), g.parameters(), strict=True):
                p.copy_(q)
            r = g.reference.z
            own = twin(r)  # R's own batch normalisation
            z = torch.cat([torch.randn(3, r.shape[1]), r[:2], torch.randn(2, r.shape[1])])
            gaps[norm] = (g(z)[3:5] - own[:2]).abs().max().item()
    assert gaps["reference"] < 1e-5
    assert gaps["virtual"] > 1e-3, gaps


def test_infogan_mutual_information_trains_q_with_d_and_reaches_g_through_the_codes():
    """Chen et al. (2016): L_I enters D's and G's losses; Q is updated with D's optimizer (a
    common port bug trains Q only through G's, and the codes are then ignored), and G's
    gradient from L_I reaches the weights that read the codes."""
    model, data = fitted(InfoGAN, categorical_dim=3, continuous_dim=1)
    opt_g, opt_d = model.optimizers()
    x, y = data.x[:16], data.y[:16]
    q_params = list(model.q_head.parameters())
    before = snapshot(q_params)
    logs = model.discriminator_step(opt_d, x, y)
    assert "train/info_cat" in logs and "train/info_cont" in logs
    assert all(changed(before, q_params)), "the D step must train every Q parameter"

    torch.manual_seed(0)
    latent = model.sample_latent(16)
    fake = model.generate(latent)
    _, h = model.discriminate(fake, None)
    info = sum(model.info_loss(latent, h).values())
    model.generator.zero_grad()
    info.backward()
    code_columns = model.generator.project.weight.grad[:, model.latent_dim :]
    assert code_columns.abs().sum(dim=0).gt(0).all(), "L_I must reach G through every code"
    before = snapshot(q_params)
    logs = model.generator_step(opt_g, x, y)
    assert "train/g_info_cat" in logs
    assert not any(changed(before, q_params)), "the G step must leave Q alone"


def test_diagnostics_and_log_calls_only_on_the_steps_lightning_writes(monkeypatch):
    """self.log costs about a millisecond per call: the loop calls it (and computes gradient
    norms and D's outputs) only on the steps the logger receives, which still get every key."""
    calls = []
    monkeypatch.setattr(GANModule, "log_dict", lambda self, d, **kw: calls.append(self.d_steps))
    logger = Collect()
    model = DCGAN(**tiny_kwargs())
    cpu_trainer(logger=logger, log_every_n_steps=2, limit_train_batches=4).fit(model, TinyData())
    assert sorted(set(calls)) == [2, 4]  # batches 2 and 4 of 4 (1-based), as Lightning writes

    monkeypatch.undo()
    logger = Collect()
    model = DCGAN(**tiny_kwargs())
    cpu_trainer(logger=logger, log_every_n_steps=2, limit_train_batches=4).fit(model, TinyData())
    written = [m for _, m in logger.steps if "train/d_loss" in m]
    assert len(written) == 2
    for metrics in written:
        assert {"train/g_loss", "train/grad_norm_d", "train/grad_norm_g", "train/D_real",
                "train/D_fake"} <= set(metrics)


# ----------------------------------------------------------------- each option's defining effect
def test_algorithm1_steps_g_by_sgd_with_momentum_on_the_minimax_cost():
    """Algorithm 1 (Goodfellow et al. 2014; seed 000) as the paper's code ran it: one G step
    moves G by -lr (momentum * buffer + grad E log(1 - D(G(z)))) with lr 0.1, momentum 0.5."""
    model, data = fitted(VanillaGAN, algorithm1=True)
    opt_g, opt_d = model.optimizers()
    for opt in (opt_g.optimizer, opt_d.optimizer):
        assert isinstance(opt, torch.optim.SGD)
        assert (opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]) == (0.1, 0.5)
    g_params = list(model.generator.parameters())
    buffers = [opt_g.optimizer.state[p]["momentum_buffer"].clone() for p in g_params]
    torch.manual_seed(1)
    fake = model.generate(model.sample_latent(16))
    logits, _ = model.discriminate(model.d_inputs(fake), None)
    minimax = torch.log1p(-torch.sigmoid(logits)).mean()  # E log(1 - D(G(z))), written out
    grads = torch.autograd.grad(minimax, g_params)
    before = snapshot(g_params)
    torch.manual_seed(1)  # the G step draws the same z
    model.generator_step(opt_g, data.x[:16], data.y[:16])
    for old, new, grad, buffer in zip(before, g_params, grads, buffers, strict=True):
        assert torch.allclose(new.detach(), old - 0.1 * (0.5 * buffer + grad), atol=1e-6)


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_minibatch_features_let_d_see_the_rest_of_the_batch(arch):
    """Salimans et al. 2016 (seed 003): with minibatch features D's output for a sample depends
    on the other samples of its batch (in eval mode, where batch norm does not), and a batch
    of copies of one sample gets the largest closeness feature, n - 1 per kernel."""
    x = TinyData().x[:8]
    outputs, discriminators = {}, {}
    for on in (True, False):
        tricks = [MinibatchFeatures()] if on else []
        d = DCGAN(**tiny_kwargs(arch=arch, tricks=tricks)).discriminator.eval()
        with torch.no_grad():
            outputs[on] = (d(x[:1]), d(x)[:1])  # a sample alone, and in its batch
        discriminators[on] = d
    assert torch.allclose(*outputs[False], atol=1e-6)  # without them: one sample at a time
    assert not torch.allclose(*outputs[True], atol=1e-3)
    block = discriminators[True].minibatch
    h = torch.randn(1, block.T.shape[0]).repeat(5, 1)
    closeness = block(h)[:, -block.num_kernels:]
    assert torch.allclose(closeness, torch.full_like(closeness, 4.0))


def test_minibatch_features_are_salimans_sum_of_exp_minus_l1_distances():
    from ganzoo.nets.blocks import MinibatchDiscrimination

    torch.manual_seed(0)
    layer = MinibatchDiscrimination(in_features=6, num_kernels=3, kernel_dim=4)
    h = torch.randn(5, 6)
    m = (h @ layer.T).view(5, 3, 4)
    expected = torch.stack([
        torch.stack([sum(torch.exp(-(m[i, b] - m[j, b]).abs().sum()) for j in range(5) if j != i)
                     for b in range(3)])
        for i in range(5)
    ])
    out = layer(h)
    assert torch.equal(out[:, :6], h)
    torch.testing.assert_close(out[:, 6:], expected, rtol=1e-5, atol=1e-6)
    layer.average = True  # the mean over the 4 other samples, in [0, 1]
    torch.testing.assert_close(layer(h)[:, 6:], expected / 4, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("average, top", [(False, 63.0), (True, 1.0)])
def test_minibatch_features_of_a_collapsed_batch_sum_or_average(average, top):
    """A batch of 64 equal samples: each feature is 63 (the sum) or 1 (the mean); the mean
    keeps D's input on the scale of its other features whatever the batch size."""
    model = VanillaGAN(**tiny_kwargs(arch="mlp", tricks=[MinibatchFeatures(average=average)]))
    layer = model.discriminator.minibatch
    h = torch.randn(1, layer.T.shape[0]).expand(64, -1)
    torch.testing.assert_close(layer(h)[:, h.shape[1]:], torch.full((64, 16), top))




def test_lazy_gradient_penalty_every_kth_critic_step_weighted_by_k():
    """gp_every=k (StyleGAN2's lazy regularization): the penalty term on critic steps 0, k,
    2k, ... only, k times the term of the penalty on every step for the same draw."""
    from ganzoo.tricks.base import Step

    model, data = fitted(WGANGP, gp_every=3)
    every = copy.deepcopy(model)
    every.hparams.gp_every = 1
    x = data.x[:16]
    fake = model.generate(model.sample_latent(16)).detach()
    step = Step(x, fake, {}, None, None, None, None)
    for d_steps in range(7):
        model.d_steps = every.d_steps = d_steps
        torch.manual_seed(d_steps)
        lazy = model.d_terms(step)
        torch.manual_seed(d_steps)
        full = every.d_terms(step)["gradient_penalty"]
        if d_steps % 3:
            assert lazy == {}
        else:
            assert torch.allclose(lazy["gradient_penalty"], 3 * full)
    with pytest.raises(Exception, match="gp_every"):
        WGANGP(**tiny_kwargs(gp_every=0))
