"""Row labels declare the recipe: every setting in which a row's model departs from its
variant's paper recipe (the model its experiments/paper/ config builds), and every attachment,
is in its label."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ganzoo.bench import recipe
from ganzoo.cli import run_lightning_cli
from ganzoo.runs.records import with_model_hparams
from ganzoo.tricks.base import Trick

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / "experiments").glob("*_mnist5k.yaml")) + sorted(
    (REPO / "experiments" / "paper").glob("*.yaml"))
SKIP = set(recipe.NOT_RECIPE) | {"data_shape", "num_classes"}
PAPER = REPO / "experiments" / "paper"


def resolved(cli) -> dict:
    """The config as a run records it (record.json, runs.json): the model's resolved hparams."""
    parser = cli._parser(cli.subcommand)
    config = yaml.safe_load(parser.dump(cli.config, skip_none=False, skip_check=True))
    return with_model_hparams(config, cli.model)


def paper_model(cls: type):
    """The model that the experiments/paper/ config of ``cls`` builds: the paper's recipe
    (None for a variant without one)."""
    for path in sorted(PAPER.glob("*.yaml")):
        if yaml.safe_load(path.read_text())["model"]["class_path"].endswith(f".{cls.__name__}"):
            return run_lightning_cli(["--config", str(path)], run=False).model
    return None


def optimizer_text(spec) -> str:
    """An OptimizerSpec as its optimizer reads it (Adam ignores momentum, SGD betas)."""
    fields = dict(spec) if isinstance(spec, dict) else vars(spec)  # hparams hold plain dicts
    unused = recipe.UNUSED.get(fields["name"], ())
    return str({k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()
                if k not in unused})


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_departure_from_the_paper_recipe_is_in_the_label(path, tmp_path, monkeypatch):
    """The oracle is the instantiated model, not the config: its hyperparameters against those
    of the model its variant's paper config builds, and its tricks and callbacks as objects."""
    monkeypatch.chdir(tmp_path)
    cli = run_lightning_cli(["--config", str(path)], run=False)
    model = cli.model
    paper = paper_model(type(model))
    if paper is None:  # a variant outside the paper table (RpGAN): its class defaults
        paper = type(model)(data_shape=model.data_shape, num_classes=model.hparams.num_classes)
    label = recipe.label(type(model).__name__, resolved(cli))
    if path.parent == PAPER:
        assert label == type(model).__name__, f"{path.name}: a paper config adds {label!r}"
    for key, value in model.hparams.items():
        other = paper.hparams.get(key)
        if key == "optimizer":
            value, other = optimizer_text(value), optimizer_text(other)
        if key in SKIP or key.startswith("_") or str(value) == str(other):
            continue
        name = "width" if key in ("g_width", "d_width") and f"+width={value}" in label else key
        assert f"+{name}=" in label, f"{path.name}: {key}={value} missing from {label!r}"
    attached = [*getattr(model, "tricks", []), getattr(model, "q_augment", None),
                *cli.trainer.callbacks]
    for thing in attached:
        short = getattr(type(thing), "short", None)
        if short and (isinstance(thing, Trick) or type(thing).__module__.startswith("ganzoo.tricks")):
            assert f"+{short}" in label, f"{path.name}: {type(thing).__name__} missing: {label!r}"


def test_a_paper_config_adds_nothing_and_tricks_show_their_changed_arguments(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    paper = run_lightning_cli(["--config", str(REPO / "experiments/paper/dcgan_mnist5k.yaml")],
                              run=False)
    assert recipe.label("DCGAN", resolved(paper)) == "DCGAN"
    tuned = run_lightning_cli(["--config", str(REPO / "experiments/infogan_mnist5k.yaml")],
                              run=False)
    label = recipe.label("InfoGAN", resolved(tuned))
    assert label.startswith("InfoGAN +CatGAN(3) +IMSAT(3) +reuse_fake +q_aug(shape)"), label
    notes = [e.note for e in recipe.extras(resolved(tuned))]
    assert any(".RealInfo(weight=3" in n for n in notes)


def test_vanilla_rows_differ_from_algorithm1_not_from_the_class_defaults(tmp_path, monkeypatch):
    """VanillaGAN's defaults (non-saturating, Adam) are not its paper's recipe: the tuned row
    names the loss and optimizer it trains with instead of the paper's minimax SGD."""
    monkeypatch.chdir(tmp_path)
    tuned = run_lightning_cli(["--config", str(REPO / "experiments/vanilla_mnist5k.yaml")],
                              run=False)
    label = recipe.label("VanillaGAN", resolved(tuned))
    assert "+optimizer=adam" in label and "+loss=nonsaturating" in label, label
    assert "+momentum" not in label and "+algorithm1" not in label, label  # Adam reads no momentum


def test_conditional_rows_are_told_apart():
    assert recipe.is_conditional({"model": {"class_path": "ganzoo.models.ConditionalGAN"}})
    assert not recipe.is_conditional({"model": {"class_path": "ganzoo.models.InfoGAN"}})


@pytest.mark.parametrize("precision, token", [(None, None), ("32-true", None), (32, None),
                                              ("bf16-mixed", "+bf16-mixed"),
                                              ("16-mixed", "+16-mixed")])
def test_a_precision_other_than_float32_is_in_the_label(tmp_path, monkeypatch, precision, token):
    monkeypatch.chdir(tmp_path)
    cli = run_lightning_cli(["--config", str(PAPER / "dcgan_mnist5k.yaml")], run=False)
    config = resolved(cli)
    config["trainer"]["precision"] = precision
    label = recipe.label("DCGAN", config)
    assert label == ("DCGAN" if token is None else f"DCGAN {token}"), label
