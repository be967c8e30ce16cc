"""Every variant x every loss it supports trains on tiny data; each optimizer step changes
only the network it belongs to; each training option (algorithm1, minibatch features, label
smoothing, instance noise, D weight penalty, G's moving average) has a test of its defining
effect, which fails if it did nothing."""

import copy

import lightning as L
import pytest
import torch

from ganzoo.errors import ConfigError
from ganzoo.losses import LOSSES
from ganzoo.models import DCGAN, WGAN, ConditionalGAN, GANModule, InfoGAN, VanillaGAN
from ganzoo.models import infogan as infogan_module
from ganzoo.models.base import ema_warmup
from ganzoo.nets.blocks import ClassBatchNorm
from ganzoo.regularizers import clustering_loss, random_affine, self_augmentation_loss
from tests.helpers import TinyData, cpu_trainer, tiny_kwargs

# the Wasserstein loss needs a Lipschitz critic: WGAN only (its penalties are cased below)
CASES = [(cls, {"loss": loss}) for cls in (VanillaGAN, DCGAN, ConditionalGAN, InfoGAN)
         for loss in LOSSES if loss != "wasserstein"]
CASES += [(WGAN, {"penalty": "clip"}), (WGAN, {"penalty": "gp"}),
          (VanillaGAN, {"algorithm1": True}),
          (DCGAN, {"g_norm": "virtual", "loss": "hinge"}),
          (DCGAN, {"g_norm": "reference"}), (ConditionalGAN, {"g_norm": "reference"}),
          (VanillaGAN, {"g_norm": "reference"}), (VanillaGAN, {"g_norm": "virtual"}),
          (InfoGAN, {"g_norm": "reference"}), (InfoGAN, {"g_norm": "class"}),
          (ConditionalGAN, {"g_norm": "class"}),
          (DCGAN, {"minibatch_features": True, "label_smoothing": 0.1, "instance_noise": 0.1,
                   "instance_noise_anneal_steps": 10}),
          (ConditionalGAN, {"conditioning": "projection", "arch": "mlp"}),
          (ConditionalGAN, {"conditioning": "both"}),
          (InfoGAN, {"d_augment": True}),
          (InfoGAN, {"q_augment": True}), (InfoGAN, {"q_augment": "shape"}),
          (InfoGAN, {"q_augment": "shape", "real_info_weight": 1.0}),
          (InfoGAN, {"q_augment": True, "real_info_weight": 1.0, "real_consistency_weight": 1.0}),
          (WGAN, {"penalty": "gp", "d_weight_penalty": 1e-3}),
          (WGAN, {"penalty": "gp", "arch": "mlp"}),
          (DCGAN, {"g_ema": 0.9}), (InfoGAN, {"g_ema": 0.9, "channels_last": True}),
          (VanillaGAN, {"minibatch_features": "mean"})]


def ids(case):
    cls, kw = case
    return cls.__name__ + "-" + "-".join(f"{k}={v}" for k, v in kw.items())


def snapshot(params):
    return [p.detach().clone() for p in params]


def changed(before, params):
    return [not torch.equal(b, p.detach()) for b, p in zip(before, params, strict=True)]


def fitted(cls, **kw):
    model = cls(**tiny_kwargs(**kw))
    data = TinyData()
    cpu_trainer(limit_train_batches=2).fit(model, data)
    return model, data


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
    logs = model.generator_step(opt_g, 16, y)
    assert all(torch.isfinite(v).all() for v in logs.values()), logs
    assert not any(changed(before_d, d_params)), "a G step changed D"
    moved = changed(before_g, g_params)
    assert sum(moved) >= len(moved) / 2, moved


def test_wgan_clip_keeps_every_critic_weight_bounded():
    model, data = fitted(WGAN, penalty="clip", clip_value=0.01)
    for p in model.discriminator.parameters():
        assert p.abs().max().item() <= 0.01 + 1e-12


def test_wgan_paper_defaults():
    clip = WGAN(**tiny_kwargs(penalty="clip"))
    gp = WGAN(**tiny_kwargs(penalty="gp"))
    assert (clip.hparams.optimizer, clip.hparams.lr_d, clip.n_critic) == ("rmsprop", 5e-5, 5)
    assert (gp.hparams.optimizer, gp.hparams.lr_d, tuple(gp.hparams.betas)) == ("adam", 1e-4, (0.0, 0.9))
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
    def extra_d_loss(self, real, fake, latent, fake_aux, real_aux=None):
        return {"bad": torch.tensor(float("nan")) if self.d_steps >= 3 else torch.tensor(0.0)}


def test_divergence_guard_stops_cleanly():
    model = NaNAfterThree(**tiny_kwargs())
    with pytest.warns(UserWarning, match="training diverged: d_loss non-finite at D step 4, "
                      "generator step 4; stopping"):
        cpu_trainer(max_epochs=5).fit(model, TinyData())
    assert model.diverged
    assert model.d_steps == 4  # the fourth step produced NaN, then training stopped


def test_checkpoint_holds_training_state(tmp_path):
    model = WGAN(**tiny_kwargs(penalty="clip", n_critic=3))
    trainer = cpu_trainer(limit_train_batches=4)
    trainer.fit(model, TinyData())
    path = tmp_path / "last.ckpt"
    trainer.save_checkpoint(path)
    ckpt = torch.load(path, weights_only=True)
    state = ckpt["ganzoo"]
    assert (state["d_steps"], state["g_steps"], state["images_seen"]) == (4, 1, 64)
    assert {"torch", "numpy", "python"} <= set(state["rng"])
    assert len(ckpt["optimizer_states"]) == 2
    restored = WGAN.load_from_checkpoint(path)
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
    logs = model.generator_step(opt_g, 16, y)
    assert "train/g_info_cat" in logs
    assert not any(changed(before, q_params)), "the G step must leave Q alone"


class Collect(L.pytorch.loggers.logger.Logger):
    """A logger that keeps what it is given, in memory."""

    def __init__(self):
        super().__init__()
        self.steps: list[tuple[int, dict]] = []

    name = "collect"
    version = 0

    def log_metrics(self, metrics, step=None):
        self.steps.append((step, dict(metrics)))

    def log_hyperparams(self, params, *args, **kwargs):
        pass


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
    model.generator_step(opt_g, 16, data.y[:16])
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
        d = DCGAN(**tiny_kwargs(arch=arch, minibatch_features=on)).discriminator.eval()
        with torch.no_grad():
            outputs[on] = (d(x[:1]), d(x)[:1])  # a sample alone, and in its batch
        discriminators[on] = d
    assert torch.allclose(*outputs[False], atol=1e-6)  # without them: one sample at a time
    assert not torch.allclose(*outputs[True], atol=1e-3)
    block = discriminators[True].minibatch
    h = torch.randn(1, block.T.shape[0]).repeat(5, 1)
    closeness = block(h)[:, -block.num_kernels:]
    assert torch.allclose(closeness, torch.full_like(closeness, 4.0))


@pytest.mark.parametrize("alpha, beta", [(0.0, 0.0), (0.1, 0.0), (0.1, 0.2)])
def test_label_smoothing_sets_where_d_settles(alpha, beta):
    """Seed 003: with targets 1 - alpha and beta, D* = ((1 - alpha) p_data + beta p_g) /
    (p_data + p_g): 1 - alpha where only data lie, beta where only fakes lie. The real batch
    is one all-white image, which G (tanh outputs near 0) never makes."""
    model, data = fitted(VanillaGAN, label_smoothing=alpha, fake_label=beta, lr_d=5e-3)
    opt_g, opt_d = model.optimizers()
    real, y = torch.ones(16, *data.x.shape[1:]), data.y[:16]
    for _ in range(150):
        model.discriminator_step(opt_d, real, y, stats=False)
    with torch.no_grad():
        d_real = torch.sigmoid(model.discriminate(real, None)[0]).mean().item()
        d_fake = torch.sigmoid(model.discriminate(model.sample(256), None)[0]).mean().item()
    assert d_real == pytest.approx(1 - alpha, abs=0.02)
    assert d_fake == pytest.approx(beta, abs=0.02)


def test_instance_noise_reaches_d_with_the_annealed_std():
    """Seed 001, noise on D's inputs: D sees data and fakes plus N(0, s^2), in the D step
    and in the G step, s falling linearly from instance_noise to 0 over the anneal steps."""
    model, data = fitted(DCGAN, instance_noise=0.5, instance_noise_anneal_steps=10)
    opt_g, opt_d = model.optimizers()
    x, y = data.x[:16], data.y[:16]
    d_in, g_out = [], []
    model.discriminator.register_forward_pre_hook(lambda m, args: d_in.append(args[0].detach()))
    model.generator.register_forward_hook(lambda m, args, out: g_out.append(out.detach()))
    for d_steps, std in [(2, 0.4), (5, 0.25), (10, 0.0), (12, 0.0)]:
        model.d_steps = d_steps
        d_in.clear(), g_out.clear()
        model.discriminator_step(opt_d, x, y, stats=False)
        model.d_steps = d_steps
        model.generator_step(opt_g, 16, y, stats=False)
        real_noise, fake_noise = d_in[0] - x, d_in[1] - g_out[0]
        g_step_noise = d_in[2] - g_out[1]
        for noise in (real_noise, fake_noise, g_step_noise):
            if std == 0:
                assert torch.equal(noise, torch.zeros_like(noise))
            else:
                assert noise.std().item() == pytest.approx(std, rel=0.1)
                assert abs(noise.mean().item()) < 0.1 * std


def test_d_augment_moves_every_d_input_in_training_only():
    """Differentiable augmentation: D sees transformed reals and fakes in the D step and
    transformed fakes in the G step (InfoGAN's Q reads those), each image its own way, and G
    gets gradients through the transform; evaluation sees the images as they are."""
    model, data = fitted(InfoGAN, d_augment=True)
    opt_g, opt_d = model.optimizers()
    x, y = data.x[:16], data.y[:16]
    d_in, g_out = [], []
    model.discriminator.register_forward_pre_hook(lambda m, args: d_in.append(args[0]))
    model.generator.register_forward_hook(lambda m, args, out: g_out.append(out.detach()))
    model.discriminator_step(opt_d, x, y, stats=False)
    before = snapshot(model.generator.parameters())
    model.generator_step(opt_g, 16, y, stats=False)
    seen = [(d_in[0], x), (d_in[1], g_out[0]), (d_in[2], g_out[1])]
    for inp, original in seen:
        assert inp.shape == original.shape
        assert (inp.detach() - original).abs().amax(dim=(1, 2, 3)).min() > 1e-3  # every image moved
    assert d_in[2].requires_grad  # G's step goes through the transform
    assert all(changed(before, model.generator.parameters()))
    assert not torch.equal(model.d_inputs(x), x)
    model.eval()
    assert torch.equal(model.d_inputs(x), x)


def test_d_augment_needs_images():
    with pytest.raises(ConfigError, match="model.d_augment"):
        VanillaGAN(**tiny_kwargs(data_shape=(2,), d_augment=True))
    with pytest.raises(ConfigError, match="model.q_augment"):
        InfoGAN(**tiny_kwargs(data_shape=(2,), arch="mlp", q_augment=True))
    with pytest.raises(ConfigError, match="model.q_augment: d_augment already"):
        InfoGAN(**tiny_kwargs(q_augment=True, d_augment=True))
    with pytest.raises(ConfigError, match="model.q_augment: false, true .* got 'slant'"):
        InfoGAN(**tiny_kwargs(q_augment="slant"))
    with pytest.raises(ConfigError, match="model.real_info_weight: must be >= 0, got -1"):
        InfoGAN(**tiny_kwargs(real_info_weight=-1.0))
    with pytest.raises(ConfigError, match="model.real_consistency_weight: must be >= 0, got -1"):
        InfoGAN(**tiny_kwargs(q_augment=True, real_consistency_weight=-1.0))
    with pytest.raises(ConfigError, match="model.real_consistency_weight: .* set model.q_augment"):
        InfoGAN(**tiny_kwargs(real_consistency_weight=1.0))


@pytest.mark.parametrize("q_augment", [True, "shape"])
def test_q_augment_moves_only_qs_input_in_training_only(q_augment, monkeypatch):
    """InfoGAN's q_augment: in D's and G's steps D's logits read the fakes as they are and Q
    reads a second trunk pass over a transformed copy (every image moved, G's gradients
    flowing through it); in evaluation Q reads D's own features. ``"shape"`` adds the
    stroke, shear and aspect ranges to the transform; ``True`` uses rotation, zoom and shift
    alone."""
    model, data = fitted(InfoGAN, q_augment=q_augment)
    ranges = []
    monkeypatch.setattr(infogan_module, "random_affine",
                        lambda x, **kw: (ranges.append(kw), random_affine(x, **kw))[1])
    opt_g, opt_d = model.optimizers()
    x, y = data.x[:16], data.y[:16]
    trunk_in, g_out = [], []
    features = model.discriminator.features
    model.discriminator.features = lambda inp: (trunk_in.append(inp), features(inp))[1]
    model.generator.register_forward_hook(lambda m, args, out: g_out.append(out.detach()))
    model.discriminator_step(opt_d, x, y, stats=False)
    model.generator_step(opt_g, 16, y, stats=False)
    assert len(trunk_in) == 5  # D step: real, fake, Q's copy; G step: fake, Q's copy
    assert torch.equal(trunk_in[0], x)
    for plain, q_copy, fake in ((trunk_in[1], trunk_in[2], g_out[0]),
                                (trunk_in[3], trunk_in[4], g_out[1])):
        assert torch.equal(plain.detach(), fake)
        assert (q_copy.detach() - fake).abs().amax(dim=(1, 2, 3)).min() > 1e-3
    assert trunk_in[4].requires_grad
    shape = {"stroke": 0.5, "shear": 0.3, "aspect": 0.15}
    assert ranges == [shape if q_augment == "shape" else {}] * 2
    model.eval()
    h = torch.randn(4, model.discriminator.feature_dim)
    assert model.q_features(g_out[1][:4], h) is h


def trace_trunk(model):
    """Records every input to D's trunk, and its output, from now on."""
    inputs, outputs = [], []
    features = model.discriminator.features

    def traced(inp):
        inputs.append(inp)
        outputs.append(features(inp))
        return outputs[-1]

    model.discriminator.features = traced
    return inputs, outputs


@pytest.mark.parametrize("q_augment", [False, "shape"])
def test_real_info_weight_makes_q_sort_the_real_batch_in_ds_step_only(q_augment):
    """real_info_weight adds lambda * clustering_loss of Q's categorical logits on the real
    batch to D's loss: Q reads the trunk features of D's own pass over the real batch (no extra
    pass; never q_augment's copy), the term is part of D's loss, and G's step, which has no
    real images, neither computes nor logs it."""
    model, data = fitted(InfoGAN, q_augment=q_augment, real_info_weight=2.0)
    opt_g, opt_d = model.optimizers()
    x, y = data.x[:16], data.y[:16]
    trunk_in, trunk_out = trace_trunk(model)
    q_in, q_cat = [], []

    def hook(module, args, out):
        q_in.append(args[0].detach())
        q_cat.append(out[0].detach())

    model.q_head.register_forward_hook(hook)
    logs = model.discriminator_step(opt_d, x, y, stats=False)
    assert len(trunk_in) == (3 if q_augment else 2)  # real, fake, [Q's copy of the fake]
    assert torch.equal(trunk_in[0], x)
    assert len(q_in) == 2
    assert torch.equal(q_in[-1], trunk_out[0].detach())  # the pass D made for the real batch
    assert logs["train/info_real"].item() == pytest.approx(2 * clustering_loss(q_cat[-1]).item())

    terms = ("d_adv_loss", "info_cat", "info_cont", "info_real")
    assert logs["train/d_loss"].item() == pytest.approx(sum(logs[f"train/{t}"].item() for t in terms))

    g_logs = model.generator_step(opt_g, 16, y, stats=False)
    assert not any("info_real" in k for k in g_logs)


def test_real_consistency_weight_compares_q_on_each_real_image_and_on_its_copy():
    """real_consistency_weight: one more trunk pass in D's step, over q_augment's copy of the
    real batch (every image moved, with the q_augment ranges); the logged term is lambda times
    the cross-entropy of Q's prediction on the copy against its prediction on D's own pass over
    the batch; it is part of D's loss, and G's step neither computes nor logs it."""
    model, data = fitted(InfoGAN, q_augment="shape", real_consistency_weight=2.0)
    opt_g, opt_d = model.optimizers()
    x, y = data.x[:16], data.y[:16]
    trunk_in, _ = trace_trunk(model)
    q_cat = []
    model.q_head.register_forward_hook(lambda m, args, out: q_cat.append(out[0].detach()))
    logs = model.discriminator_step(opt_d, x, y, stats=False)
    assert len(trunk_in) == 4  # real, fake, Q's copy of the fake, Q's copy of the real batch
    assert torch.equal(trunk_in[0], x)
    assert (trunk_in[3].detach() - x).abs().amax(dim=(1, 2, 3)).min() > 1e-3
    assert len(q_cat) == 3  # the fake's copy, the real batch, the real batch's copy
    expected = 2 * self_augmentation_loss(q_cat[1], q_cat[2])
    assert logs["train/info_real_consistency"].item() == pytest.approx(expected.item())
    assert "train/info_real" not in logs
    terms = ("d_adv_loss", "info_cat", "info_cont", "info_real_consistency")
    assert logs["train/d_loss"].item() == pytest.approx(sum(logs[f"train/{t}"].item() for t in terms))
    g_logs = model.generator_step(opt_g, 16, y, stats=False)
    assert not any("info_real" in k for k in g_logs)


def test_d_weight_penalty_adds_two_lambda_w_to_ds_gradient_and_is_logged():
    """Seed 001, penalising D's weights: the D step's loss gains the term lambda * sum ||W||^2
    over D's conv and linear weights (logged as train/d_weight_penalty), so its gradient gains
    exactly 2 lambda W on those weights and nothing on biases and norm parameters. It is a
    loss term, not the optimizer's weight decay; 0 turns it off."""
    lam, data = 0.25, TinyData(shape=(1, 16, 16))  # 16 x 16: a D with a batch-norm layer
    logger = Collect()
    model = DCGAN(**tiny_kwargs(d_weight_penalty=lam, data_shape=(1, 16, 16)))
    cpu_trainer(logger=logger, log_every_n_steps=1, limit_train_batches=2).fit(model, data)
    written = [m for _, m in logger.steps if "train/d_loss" in m]
    assert written and all("train/d_weight_penalty" in m for m in written)
    assert all(group["weight_decay"] == 0 for opt in model.optimizers()
               for group in opt.optimizer.param_groups)

    opt_g, opt_d = model.optimizers()
    x, y = data.x[:16], data.y[:16]
    params = dict(model.discriminator.named_parameters())
    weights = {f"{name}.weight" for name, m in model.discriminator.named_modules()
               if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)}
    start = snapshot(params.values())
    grads, logs = {}, {}
    for on in (True, False):
        model.hparams.d_weight_penalty = lam if on else 0.0
        with torch.no_grad():
            for p, s in zip(params.values(), start, strict=True):
                p.copy_(s)
        torch.manual_seed(3)  # the same z for both steps
        logs[on] = model.discriminator_step(opt_d, x, y)
        grads[on] = {name: p.grad.clone() for name, p in params.items()}

    expected = lam * sum((s**2).sum() for name, s in zip(params, start, strict=True)
                         if name in weights)
    assert logs[True]["train/d_weight_penalty"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert logs[True]["train/d_loss"].item() == pytest.approx(
        logs[True]["train/d_adv_loss"].item() + expected.item(), rel=1e-5)
    assert "train/d_weight_penalty" not in logs[False]
    assert logs[False]["train/d_loss"].item() == logs[False]["train/d_adv_loss"].item()
    assert weights == {"trunk.0.weight", "trunk.2.weight", "head.weight"}  # 2 convs, the head
    assert set(params) - weights == {"trunk.0.bias", "trunk.3.weight", "trunk.3.bias", "head.bias"}
    for (name, on), off, s in zip(grads[True].items(), grads[False].values(), start, strict=True):
        added = 2 * lam * s if name in weights else torch.zeros_like(s)
        assert torch.allclose(on - off, added, atol=1e-6), name


def test_d_weight_penalty_must_not_be_negative():
    with pytest.raises(ConfigError, match=r"^model.d_weight_penalty: must be >= 0, got -0.1$"):
        DCGAN(**tiny_kwargs(d_weight_penalty=-0.1))


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


@pytest.mark.parametrize("kind, top", [(True, 63.0), ("mean", 1.0)])
def test_minibatch_features_of_a_collapsed_batch_sum_or_average(kind, top):
    """A batch of 64 equal samples: each feature is 63 (the sum) or 1 (the mean); the mean
    keeps D's input on the scale of its other features whatever the batch size."""
    model = VanillaGAN(**tiny_kwargs(arch="mlp", minibatch_features=kind))
    layer = model.discriminator.minibatch
    h = torch.randn(1, layer.T.shape[0]).expand(64, -1)
    torch.testing.assert_close(layer(h)[:, h.shape[1]:], torch.full((64, 16), top))


class GStates(DCGAN):
    """Records G's weights and buffers after every G step."""

    def generator_step(self, *args, **kwargs):
        logs = super().generator_step(*args, **kwargs)
        self.g_states = [*getattr(self, "g_states", []), copy.deepcopy(self.generator.state_dict())]
        return logs


def test_g_ema_averages_g_after_every_g_step_and_sampling_uses_the_average():
    model = GStates(**tiny_kwargs(g_ema=0.2))
    cpu_trainer(limit_train_batches=3).fit(model, TinyData())
    g1, g2, g3 = model.g_states
    # the first update copies G; the n-th after it is beta * average + (1 - beta) * G with
    # beta = min(g_ema, (1 + n) / (10 + n)): 2/11 (the ramp), then 0.2 (g_ema)
    b1, b2 = 2 / 11, 0.2
    expected = {
        k: b2 * (b1 * g1[k] + (1 - b1) * g2[k]) + (1 - b2) * g3[k]
        for k, v in g3.items() if v.is_floating_point()
    }
    averaged = model.generator_ema.module.state_dict()
    assert {k for k in averaged if averaged[k].is_floating_point()} == set(expected)
    for k, v in expected.items():  # weights and batch-norm statistics alike
        torch.testing.assert_close(averaged[k], v, msg=k)
    assert not torch.allclose(averaged["project.weight"], g3["project.weight"])
    assert not any(p.requires_grad for p in model.generator_ema.parameters())

    def draw(m):
        return m.sample(4, generator=torch.Generator().manual_seed(1))

    from_average = draw(model)
    model.generator_ema.module.load_state_dict(model.generator.state_dict())
    assert not torch.allclose(from_average, draw(model))  # sampling read the average
    assert model.generator.training  # G's own mode untouched by sampling


def test_g_ema_warmup_forgets_the_initial_weights():
    """A fixed decay of 0.999 keeps 0.999 ** 750 = 47% of the first copy (random weights) after
    750 updates (WGAN's G steps in the mnist5k budget); the ramp leaves under 1%."""
    averaged, current = [torch.zeros(3)], [torch.ones(3)]
    update = ema_warmup(0.999)
    for n in range(1, 751):
        update(averaged, current, torch.tensor(n))
    assert averaged[0].min() > 0.99


def test_g_ema_is_saved_and_must_be_a_decay(tmp_path):
    model = DCGAN(**tiny_kwargs(g_ema=0.5))
    trainer = cpu_trainer(limit_train_batches=2)
    trainer.fit(model, TinyData())
    trainer.save_checkpoint(tmp_path / "last.ckpt")
    restored = DCGAN.load_from_checkpoint(tmp_path / "last.ckpt")
    for a, b in zip(restored.generator_ema.parameters(), model.generator_ema.parameters(),
                    strict=True):
        assert torch.equal(a, b)
    assert DCGAN(**tiny_kwargs()).generator_ema is None
    with pytest.raises(ConfigError, match="model.g_ema: a decay in"):
        DCGAN(**tiny_kwargs(g_ema=1.0))
