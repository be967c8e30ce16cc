"""A config file that names a base (``config: BASE``): the base's values under the file's, lists
extended with ``key+:``, the run named by the file given, and one-line errors."""

from __future__ import annotations

import pytest
import yaml

from ganzoo.cli import expand_bases, planned_location, run_lightning_cli
from ganzoo.errors import GanzooError

BASE = """
data: {dataset: digits, batch_size: 8}
trainer:
  max_epochs: 3
  callbacks:
    - class_path: ganzoo.metrics.SampleGridCallback
      init_args: {every_n_epochs: 2}
"""
VARIANT = """
config: bench/_base.yaml
model: {class_path: ganzoo.models.DCGAN, init_args: {g_width: 8, d_width: 8}}
data: {batch_size: 4}
trainer:
  callbacks+:
    - class_path: ganzoo.tricks.GeneratorEMA
      init_args: {decay: 0.9}
"""


@pytest.fixture
def variant(tmp_path):
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "_base.yaml").write_text(BASE)
    path = tmp_path / "dcgan_bench.yaml"
    path.write_text(VARIANT)
    return path


def test_the_base_comes_first_and_the_file_without_its_config_key_after(variant):
    args = expand_bases(["fit", "--config", str(variant), "--seed_everything=1"])
    assert args[:3] == ["fit", "--config", str(variant.parent / "bench" / "_base.yaml")]
    assert args[3] == "--config" and args[5:] == ["--seed_everything=1"]
    rest = yaml.safe_load(open(args[4]))
    assert "config" not in rest and rest["data"] == {"batch_size": 4}
    assert expand_bases(["fit", f"--config={args[2]}"]) == ["fit", "--config", args[2]]


def test_the_variant_overrides_the_base_and_extends_its_lists(variant, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cli = run_lightning_cli(["--config", str(variant)], run=False)
    assert cli.datamodule.hparams.batch_size == 4  # the variant's value
    assert cli.trainer.max_epochs == 3  # the base's
    kinds = [type(c).__name__ for c in cli.trainer.callbacks]
    assert "SampleGridCallback" in kinds and "GeneratorEMA" in kinds


def test_the_run_is_named_by_the_file_given(variant):
    location = planned_location(["fit", "--config", str(variant), "--seed_everything=1"])
    assert location.name == "dcgan_bench__seed_everything=1"
    assert location.benchmark == "digits"


@pytest.mark.parametrize("base, message", [
    ("missing.yaml", "names the base missing.yaml, but"),
    ("[a.yaml, b.yaml]", "`config` names one base file"),
    ("self.yaml", "its bases name each other"),
])
def test_a_bad_base_is_one_line(tmp_path, base, message):
    path = tmp_path / "self.yaml"
    path.write_text(f"config: {base}\nmodel: {{class_path: ganzoo.models.DCGAN}}\n")
    with pytest.raises(GanzooError, match=message):
        expand_bases(["fit", "--config", str(path)])
