"""Row labels declare the recipe: every setting in which a row's model departs from its
variant's paper recipe (the class defaults), and every attachment, is in its label."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ganzoo.bench import recipe
from ganzoo.cli import run_lightning_cli
from ganzoo.models.vanilla import ALGORITHM1
from ganzoo.tricks.base import Trick

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / "experiments").glob("*_mnist5k.yaml")) + sorted(
    (REPO / "experiments" / "paper").glob("*.yaml"))
SKIP = set(recipe.NOT_RECIPE) | {"data_shape", "num_classes"}


def resolved(cli) -> dict:
    parser = cli._parser(cli.subcommand)
    return yaml.safe_load(parser.dump(cli.config, skip_none=False, skip_check=True))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_departure_from_the_paper_recipe_is_in_the_label(path, tmp_path, monkeypatch):
    """The oracle is the instantiated model, not the config: its hyperparameters against those
    of the same class built with its defaults, and its tricks and callbacks as objects."""
    monkeypatch.chdir(tmp_path)
    cli = run_lightning_cli(["--config", str(path)], run=False)
    model = cli.model
    default = type(model)(data_shape=model.data_shape, num_classes=model.hparams.num_classes)
    label = recipe.label(type(model).__name__, resolved(cli))
    implied = set(ALGORITHM1) if "+algorithm1=True" in label else set()  # its documented recipe
    for key, value in model.hparams.items():
        if (key in SKIP | implied or key.startswith("_")
                or str(value) == str(default.hparams.get(key))):
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
    assert label.startswith("InfoGAN +CatGAN(3) +IMSAT(3) +q_aug(shape)"), label
    notes = [e.note for e in recipe.extras(resolved(tuned))]
    assert any("ganzoo.tricks.RealInfo(weight=3" in n for n in notes)


def test_conditional_rows_are_told_apart():
    assert recipe.is_conditional({"model": {"class_path": "ganzoo.models.ConditionalGAN"}})
    assert not recipe.is_conditional({"model": {"class_path": "ganzoo.models.InfoGAN"}})
