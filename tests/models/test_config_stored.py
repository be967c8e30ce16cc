"""The config stored is the config that ran: a ``None`` default ("the paper's value") is
stored resolved in the model's hparams, in what loggers receive and in ``record.json``; an
explicit value is kept, and a combination that cannot run as written is an error."""

import pytest

from ganzoo.bench.records import read_record
from ganzoo.cli import main
from ganzoo.errors import ConfigError
from ganzoo.models import DCGAN, WGAN, ConditionalGAN, InfoGAN, VanillaGAN
from tests.helpers import tiny_kwargs

PAPER = {
    "clip": {
        "optimizer": "rmsprop",
        "lr_g": 5e-5,
        "lr_d": 5e-5,
        "betas": (0.5, 0.999),
        "d_norm": "batch",
    },
    "gp": {"optimizer": "adam", "lr_g": 1e-4, "lr_d": 1e-4, "betas": (0.0, 0.9), "d_norm": "layer"},
}


def stored(hparams, keys):
    return {k: tuple(hparams[k]) if k == "betas" and hparams[k] else hparams[k] for k in keys}


@pytest.mark.parametrize("penalty", ["clip", "gp"])
def test_wgan_stores_the_paper_values_it_runs_with(penalty):
    model = WGAN(**tiny_kwargs(penalty=penalty))
    expected = PAPER[penalty]
    assert stored(model.hparams, expected) == expected
    # hparams_initial is what Lightning hands the loggers (W&B config, hparams.yaml)
    assert stored(model.hparams_initial, expected) == expected
    opt_g, opt_d = model.configure_optimizers()[0]
    assert type(opt_d).__name__.lower() == expected["optimizer"]
    assert opt_d.defaults["lr"] == expected["lr_d"] and opt_g.defaults["lr"] == expected["lr_g"]


def test_wgan_explicit_values_win_and_zero_is_not_missing():
    model = WGAN(**tiny_kwargs(penalty="clip", optimizer="adam", lr_g=1e-3, betas=(0.1, 0.2)))
    assert (model.hparams.optimizer, model.hparams.lr_g, model.hparams.lr_d) == ("adam", 1e-3, 5e-5)
    assert model.hparams_initial.betas == (0.1, 0.2)
    with pytest.raises(ConfigError, match=r"^model.lr_d: must be > 0, got 0$"):
        WGAN(**tiny_kwargs(penalty="clip", lr_d=0))


def test_vanilla_algorithm1_defaults_are_sgd_lr_and_momentum():
    model = VanillaGAN(**tiny_kwargs(algorithm1=True))
    expected = {"loss": "minimax", "optimizer": "sgd", "lr_g": 0.1, "lr_d": 0.1, "momentum": 0.5}
    assert stored(model.hparams, expected) == expected
    assert stored(model.hparams_initial, expected) == expected
    opt_g, opt_d = model.configure_optimizers()[0]
    assert (opt_d.defaults["lr"], opt_d.defaults["momentum"]) == (0.1, 0.5)
    # without algorithm1 the None defaults are the base class's
    plain = VanillaGAN(**tiny_kwargs())
    expected = {"loss": "nonsaturating", "optimizer": "adam", "lr_g": 2e-4, "momentum": 0.0}
    assert stored(plain.hparams_initial, expected) == expected


def test_vanilla_algorithm1_keeps_explicit_momentum_and_lr():
    model = VanillaGAN(**tiny_kwargs(algorithm1=True, momentum=0, lr_d=0.05))
    assert (model.hparams.momentum, model.hparams.lr_d, model.hparams.lr_g) == (0, 0.05, 0.1)
    opt_d = model.configure_optimizers()[0][1]
    assert (opt_d.defaults["momentum"], opt_d.defaults["lr"]) == (0, 0.05)
    # consistent explicit values (e.g. a recorded config re-run) are accepted as they are
    again = VanillaGAN(**tiny_kwargs(algorithm1=True, loss="minimax", optimizer="sgd"))
    assert (again.hparams.loss, again.hparams.optimizer) == ("minimax", "sgd")


@pytest.mark.parametrize(
    "field,value,pattern",
    [
        (
            "loss",
            "nonsaturating",
            r"^model.loss: algorithm1 trains with 'minimax', not "
            r"'nonsaturating'; .*algorithm1: false",
        ),
        ("optimizer", "adam", r"^model.optimizer: algorithm1 trains with 'sgd', not 'adam'; "),
    ],
)
def test_vanilla_algorithm1_contradicted_is_an_error(field, value, pattern):
    with pytest.raises(ConfigError, match=pattern) as info:
        VanillaGAN(**tiny_kwargs(algorithm1=True, **{field: value}))
    assert "\n" not in str(info.value)


WASSERSTEIN_ERROR = (
    "model.loss: 'wasserstein' needs a Lipschitz constraint on the critic; "
    "use ganzoo.models.WGAN (penalty: clip or gp)"
)


@pytest.mark.parametrize("cls", [DCGAN, VanillaGAN, ConditionalGAN, InfoGAN])
def test_wasserstein_without_a_lipschitz_critic_is_an_error(cls):
    with pytest.raises(ConfigError) as info:
        cls(**tiny_kwargs(loss="wasserstein"))
    assert str(info.value) == WASSERSTEIN_ERROR


def test_wgan_declares_its_lipschitz_critic_and_builds():
    assert WGAN.lipschitz_critic and not DCGAN.lipschitz_critic
    model = WGAN(**tiny_kwargs(penalty="gp"))
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
        (["--model.class_path=WGAN", "--model.init_args.penalty=clip"], PAPER["clip"]),
        (
            ["--model.class_path=VanillaGAN", "--model.init_args.algorithm1=true"],
            {"loss": "minimax", "optimizer": "sgd", "lr_g": 0.1, "lr_d": 0.1, "momentum": 0.5},
        ),
    ],
    ids=["wgan-clip", "vanilla-algorithm1"],
)
def test_record_config_holds_the_resolved_values(tmp_path, model_args, expected):
    main(["fit", *model_args, *CLI, f"--trainer.default_root_dir={tmp_path}"])
    init_args = read_record(tmp_path)["config"]["model"]["init_args"]
    assert stored(init_args, expected) == expected  # no null "paper default" left
