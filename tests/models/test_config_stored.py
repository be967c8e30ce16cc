"""The config stored is the config that ran: a ``None`` default ("the paper's value") is
stored resolved in the model's hparams, in what loggers receive and in ``record.json``; an
explicit value is kept, and a combination that cannot run as written is an error."""

import pytest

from ganzoo.cli import main
from ganzoo.errors import ConfigError
from ganzoo.models import (
    DCGAN,
    WGANGP,
    ConditionalGAN,
    InfoGAN,
    OptimizerSpec,
    VanillaGAN,
    WGANClip,
)
from ganzoo.runs.records import read_record
from tests.helpers import tiny_kwargs

PAPER = {
    WGANClip: {"d_norm": "batch", "lr_g": 5e-5, "lr_d": 5e-5, "optimizer": {"name": "rmsprop"}},
    WGANGP: {"d_norm": "layer", "lr_g": 1e-4, "lr_d": 1e-4,
             "optimizer": {"name": "adam", "betas": (0.0, 0.9)}},
}
ALGORITHM1 = {"loss": "minimax", "lr_g": 0.1, "lr_d": 0.1,
              "optimizer": {"name": "sgd", "momentum": 0.5}}


def stored(hparams, expected):
    """The entries of ``hparams`` named in ``expected`` (nested for the optimizer)."""
    out = {}
    for k, v in expected.items():
        if isinstance(v, dict):
            out[k] = {f: tuple(hparams[k][f]) if f == "betas" else hparams[k][f] for f in v}
        else:
            out[k] = hparams[k]
    return out


@pytest.mark.parametrize("cls", [WGANClip, WGANGP])
def test_wgan_stores_the_paper_values_it_runs_with(cls):
    model = cls(**tiny_kwargs())
    expected = PAPER[cls]
    assert stored(model.hparams, expected) == expected
    # hparams_initial is what Lightning hands the loggers (W&B config, hparams.yaml)
    assert stored(model.hparams_initial, expected) == expected
    opt_g, opt_d = model.configure_optimizers()[0]
    assert type(opt_d).__name__.lower() == expected["optimizer"]["name"]
    assert opt_d.defaults["lr"] == expected["lr_d"] and opt_g.defaults["lr"] == expected["lr_g"]


def test_wgan_explicit_values_win_and_zero_is_not_missing():
    spec = OptimizerSpec(name="adam", betas=(0.1, 0.2))
    model = WGANClip(**tiny_kwargs(optimizer=spec, lr_g=1e-3))
    hp = model.hparams
    assert (hp.optimizer["name"], hp.lr_g, hp.lr_d) == ("adam", 1e-3, 5e-5)
    assert model.hparams_initial.optimizer["betas"] == (0.1, 0.2)
    with pytest.raises(ConfigError, match=r"^model.lr_d: must be > 0, got 0$"):
        WGANClip(**tiny_kwargs(lr_d=0))


def test_vanilla_algorithm1_defaults_are_sgd_lr_and_momentum():
    model = VanillaGAN(**tiny_kwargs(algorithm1=True))
    assert stored(model.hparams, ALGORITHM1) == ALGORITHM1
    assert stored(model.hparams_initial, ALGORITHM1) == ALGORITHM1
    opt_g, opt_d = model.configure_optimizers()[0]
    assert (opt_d.defaults["lr"], opt_d.defaults["momentum"]) == (0.1, 0.5)
    # without algorithm1 the None defaults are the base class's
    plain = VanillaGAN(**tiny_kwargs())
    expected = {"loss": "nonsaturating", "lr_g": 2e-4, "optimizer": {"name": "adam", "momentum": 0.0}}
    assert stored(plain.hparams_initial, expected) == expected


def test_vanilla_algorithm1_keeps_an_explicit_sgd():
    spec = OptimizerSpec(name="sgd", momentum=0)
    model = VanillaGAN(**tiny_kwargs(algorithm1=True, optimizer=spec, lr_d=0.05))
    hp = model.hparams
    assert (hp.optimizer["momentum"], hp.lr_d, hp.lr_g) == (0, 0.05, 0.1)
    opt_d = model.configure_optimizers()[0][1]
    assert (opt_d.defaults["momentum"], opt_d.defaults["lr"]) == (0, 0.05)
    # consistent explicit values (e.g. a recorded config re-run) are accepted as they are
    again = VanillaGAN(**tiny_kwargs(algorithm1=True, loss="minimax", optimizer=spec))
    assert (again.hparams.loss, again.hparams.optimizer["name"]) == ("minimax", "sgd")


@pytest.mark.parametrize(
    "field,value,pattern",
    [
        (
            "loss",
            "nonsaturating",
            r"^model.loss: algorithm1 trains with 'minimax', not "
            r"'nonsaturating'; .*algorithm1: false",
        ),
        ("optimizer", OptimizerSpec(name="adam"),
         r"^model.optimizer: algorithm1 trains with 'sgd', not 'adam'; "),
    ],
)
def test_vanilla_algorithm1_contradicted_is_an_error(field, value, pattern):
    with pytest.raises(ConfigError, match=pattern) as info:
        VanillaGAN(**tiny_kwargs(algorithm1=True, **{field: value}))
    assert "\n" not in str(info.value)


WASSERSTEIN_ERROR = (
    "model.loss: 'wasserstein' needs a Lipschitz constraint on the critic; "
    "use ganzoo.models.WGANClip or ganzoo.models.WGANGP"
)


@pytest.mark.parametrize("cls", [DCGAN, VanillaGAN, ConditionalGAN, InfoGAN])
def test_wasserstein_without_a_lipschitz_critic_is_an_error(cls):
    with pytest.raises(ConfigError) as info:
        cls(**tiny_kwargs(loss="wasserstein"))
    assert str(info.value) == WASSERSTEIN_ERROR


def test_wgan_declares_its_lipschitz_critic_and_builds():
    assert WGANGP.lipschitz_critic and WGANClip.lipschitz_critic and not DCGAN.lipschitz_critic
    model = WGANGP(**tiny_kwargs())
    assert model.hparams.loss == "wasserstein" and model.loss_pair.probabilistic is False


# the class path goes first: init_args given before it would be read for the default class
CLI = [
    "--data.dataset=digits",
    "--trainer.max_epochs=1",
    "--trainer.logger=false",
    "--trainer.limit_train_batches=1",
    "--trainer.enable_checkpointing=false",
    "--trainer.enable_progress_bar=false",
    "--model.init_args.g_width=8",
    "--model.init_args.d_width=8",
    "--model.init_args.num_fixed_samples=4",
]


@pytest.mark.parametrize(
    "model_args,expected",
    [
        (["--model.class_path=WGANClip"], PAPER[WGANClip]),
        (["--model.class_path=VanillaGAN", "--model.init_args.algorithm1=true"], ALGORITHM1),
    ],
    ids=["wgan-clip", "vanilla-algorithm1"],
)
def test_record_config_holds_the_resolved_values(tmp_path, model_args, expected):
    main(["fit", *model_args, *CLI, f"--trainer.default_root_dir={tmp_path}"])
    init_args = read_record(tmp_path)["config"]["model"]["init_args"]
    assert stored(init_args, expected) == expected  # no null "paper default" left
