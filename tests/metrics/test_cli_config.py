"""The callbacks are configured from a LightningCLI YAML (keyword-only, type-hinted args)."""

from __future__ import annotations

import pytest
import yaml

from ganzoo.cli import run_lightning_cli
from ganzoo.errors import GanzooError, find_user_error
from ganzoo.metrics import EvaluationCallback, SampleGridCallback


def config(tmp_path, evaluation_args: dict):
    path = tmp_path / "run.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "model": {"class_path": "ganzoo.models.VanillaGAN"},
                "data": {"dataset": "digits"},
                "trainer": {
                    "logger": False,
                    "default_root_dir": str(tmp_path),
                    "callbacks": [
                        {
                            "class_path": "ganzoo.metrics.EvaluationCallback",
                            "init_args": evaluation_args,
                        },
                        {
                            "class_path": "ganzoo.metrics.SampleGridCallback",
                            "init_args": {"every_n_epochs": 2},
                        },
                    ],
                },
            }
        )
    )
    return ["--config", str(path)]


def test_yaml_fields_reach_the_callbacks(tmp_path):
    args = {
        "every_n_epochs": 3,
        "num_samples": 300,
        "reference_split": "train",
        "kid_subset_size": 50,
        "seed": 7,
        "extractor": "domain",
    }
    cli = run_lightning_cli(config(tmp_path, args), run=False)
    evaluation = next(c for c in cli.trainer.callbacks if isinstance(c, EvaluationCallback))
    grids = next(c for c in cli.trainer.callbacks if isinstance(c, SampleGridCallback))
    assert evaluation.every_n_epochs == 3 and grids.every_n_epochs == 2
    ev = evaluation.evaluator
    assert (ev.num_samples, ev.reference_split, ev.kid_subset_size, ev.seed) == (
        300,
        "train",
        50,
        7,
    )


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"reference_split": "validation"}, "reference_split"),
        ({"extractor": "vgg"}, "extractor"),
        ({"num_sample": 10}, "num_sample"),
        ({"num_samples": 1}, "num_samples"),
        ({"metrics": ["fid", "precison_recall"]}, "metrics"),
    ],
)
def test_bad_values_fail_with_one_line_naming_the_field(tmp_path, bad, field):
    with pytest.raises(Exception) as err:
        run_lightning_cli(config(tmp_path, bad), run=False)
    user_error = find_user_error(err.value)
    assert isinstance(user_error, GanzooError)
    assert field in str(user_error)


def test_metrics_are_picked_by_name(tmp_path):
    args = {"metrics": ["precision_recall", "fid"]}
    cli = run_lightning_cli(config(tmp_path, args), run=False)
    evaluation = next(c for c in cli.trainer.callbacks if isinstance(c, EvaluationCallback))
    assert [m.name for m in evaluation.evaluator.metrics] == ["fid", "precision_recall"]
