"""Every experiment config parses and instantiates through the CLI (nothing is downloaded or
trained), cites its source, is a short diff over its benchmark's base, and every dataset has
its configs."""

from pathlib import Path

import pytest
import yaml

from ganzoo.cli import run_lightning_cli
from ganzoo.models import VARIANTS, GANModule

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
CONFIGS = sorted(EXPERIMENTS.glob("*.yaml"))
PAPERS = ("Goodfellow", "Radford", "Arjovsky", "Gulrajani", "Mirza", "Chen", "Huang")
MAX_DIFF_LINES = 15


def layered(path: Path) -> dict:
    """``path``'s YAML over the base it names (mappings merged; enough for the keys read here)."""
    config = yaml.safe_load(path.read_text())
    base = config.pop("config", None)
    if base is None:
        return config
    merged = layered(path.parent / base)
    for key, value in config.items():
        merged[key] = {**merged.get(key, {}), **value} if isinstance(value, dict) else value
    return merged


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_instantiates(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative data roots point at an empty directory
    cli = run_lightning_cli(["--config", str(path)], run=False)
    assert isinstance(cli.model, GANModule)
    config = layered(path)
    assert cli.datamodule.hparams.dataset == config["data"]["dataset"]
    assert not cli.datamodule.hparams.download  # offline: never fetch
    assert cli.model.data_shape == tuple(cli.datamodule.data_shape)
    assert Path(cli.trainer.default_root_dir).parts[-2] == config["data"]["dataset"]
    kinds = {type(c).__name__ for c in cli.trainer.callbacks}
    assert {"EvaluationCallback", "SampleGridCallback", "RunRecordCallback"} <= kinds


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_cites_its_source(path):
    header = path.read_text().split("model:")[0]
    assert any(name in header for name in PAPERS), f"{path.name}: cite the paper in a comment"


def test_every_dataset_has_configs():
    datasets = {layered(p)["data"]["dataset"] for p in CONFIGS}
    assert datasets >= {
        "mnist5k",
        "digits",
        "mnist",
        "fashion_mnist",
        "cifar10",
        "celeba",
        "ring8",
        "grid25",
        "gauss1d",
    }
    mnist5k = {p.stem for p in CONFIGS if p.stem.endswith("_mnist5k")}
    assert mnist5k >= {
        f"{m}_mnist5k" for m in ("vanilla", "dcgan", "wgan_clip", "wgan_gp", "cgan", "infogan")
    }


def test_every_registered_variant_has_an_mnist5k_config():
    """A variant is one module, one test and one config: the registry and the mnist5k
    benchmark's configs name the same classes."""
    named = set()
    for path in CONFIGS:
        if path.stem.endswith("_mnist5k"):
            named.add(yaml.safe_load(path.read_text())["model"]["class_path"].rsplit(".", 1)[-1])
    assert named == set(VARIANTS)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_a_variant_config_is_a_short_diff_over_its_benchmark_base(path):
    """The data, budget and evaluation protocol live once per benchmark, in
    ``experiments/<dataset>/_base.yaml``; a variant's file adds <= 15 lines of YAML."""
    config = yaml.safe_load(path.read_text())
    dataset = layered(path)["data"]["dataset"]
    assert config.get("config") == f"{dataset}/_base.yaml", path.name
    assert "data" not in config, f"{path.name}: the data belong in {dataset}/_base.yaml"
    lines = [ln for ln in path.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert len(lines) <= MAX_DIFF_LINES, f"{path.name}: {len(lines)} lines of YAML"
