"""Precision/recall and density/coverage against small cases whose answer is known."""

from __future__ import annotations

import pytest
import torch

from ganzoo.errors import ConfigError
from ganzoo.metrics.registry import METRICS, select
from ganzoo.metrics.scores import prdc


def col(*values):
    return torch.tensor(values, dtype=torch.float64).view(-1, 1)


def test_hand_computed_1d_case():
    """reals 0,1,2,3 with k=1 have radius 1; fakes 0.5 and 10 have radius 9.5."""
    real, fake = col(0, 1, 2, 3), col(0.5, 10)
    assert prdc.knn_radii(real, 1).tolist() == [1, 1, 1, 1]
    precision, recall = prdc.precision_recall(real, fake, k=1)
    assert precision == 0.5  # 0.5 is inside the balls of 0 and 1; 10 is in none
    assert recall == 1.0  # every real is within 9.5 of a fake
    density, coverage = prdc.density_coverage(real, fake, k=1)
    assert density == 1.0  # (2 balls + 0 balls) / (k * 2 fakes)
    assert coverage == 0.5  # the balls of 0 and 1 hold a fake, those of 2 and 3 do not


def test_identical_sets_and_disjoint_sets():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 4, generator=g)
    assert prdc.precision_recall(x, x) == (1.0, 1.0)
    density, coverage = prdc.density_coverage(x, x, k=5)
    assert coverage == 1.0
    # each real ball holds its own centre and its 5 neighbours: (k + 1) / k on average
    assert density == pytest.approx(6 / 5)
    far = x + 100.0
    assert prdc.precision_recall(x, far) == (0.0, 0.0)
    assert prdc.density_coverage(x, far) == (0.0, 0.0)


def test_collapse_keeps_precision_and_loses_recall_and_coverage():
    g = torch.Generator().manual_seed(1)
    real = torch.randn(500, 2, generator=g, dtype=torch.float64)
    collapsed = real[real[:, 0] > 1.0]  # fakes from one corner of the real set only
    precision, recall = prdc.precision_recall(real, collapsed)
    density, coverage = prdc.density_coverage(real, collapsed)
    assert precision == 1.0 and recall < 0.5 and coverage < 0.3


def test_same_distribution_gives_density_and_coverage_near_their_ideal():
    g = torch.Generator().manual_seed(2)
    real = torch.randn(2000, 3, generator=g)
    fake = torch.randn(2000, 3, generator=g)
    density, coverage = prdc.density_coverage(real, fake)
    assert abs(density - 1.0) < 0.1
    assert coverage > 0.9  # Naeem et al.: 1 - 2^-k = 0.97 for large samples
    blocks = prdc.BLOCK
    prdc.BLOCK = 7  # the row blocks do not change the answer
    try:
        assert prdc.density_coverage(real, fake) == (density, coverage)
    finally:
        prdc.BLOCK = blocks


def test_registry_selects_by_name():
    assert {"precision_recall", "density_coverage", "fid", "code_accuracy"} <= set(METRICS)
    assert [m.name for m in select(["kid", "fid"])] == ["fid", "kid"]
    with pytest.raises(ConfigError, match="unknown 'fdi'; allowed: fid"):
        select(["fdi"])


def test_evaluation_computes_only_the_picked_metrics_and_records_k(tmp_path):
    from ganzoo.data import GANDataModule
    from ganzoo.metrics import evaluate
    from ganzoo.models import VanillaGAN

    dm = GANDataModule(dataset="digits")
    model = VanillaGAN(data_shape=(1, 8, 8), num_classes=10, g_width=8, d_width=8)
    out = evaluate(model, dm, num_samples=200, kid_subset_size=50, cache_dir=str(tmp_path),
                   metrics=["precision_recall", "fid"])
    assert set(out["metrics"]) == {"fid", "precision", "recall"}
    assert out["protocol"]["precision_recall_k"] == prdc.PR_K
    assert 0.0 <= out["metrics"]["precision"] <= 1.0


def test_every_module_in_scores_is_imported_by_the_registry():
    """A metric in its own file under ganzoo/metrics/scores/ needs no import line anywhere."""
    import pkgutil
    import sys

    from ganzoo.metrics import builtin, scores  # noqa: F401

    names = [m.name for m in pkgutil.iter_modules(scores.__path__)]
    assert "prdc" in names
    assert all(f"ganzoo.metrics.scores.{n}" in sys.modules for n in names)
    assert {"precision", "recall"} <= {o for spec in METRICS.values() for o in spec.outputs}


def test_the_reference_radii_are_computed_once_per_run_and_change_nothing(tmp_path, monkeypatch):
    """The k-NN radii of the reference features are computed at the first evaluation only;
    the second evaluation, reading them, gives the values the first computed."""
    from ganzoo.data import GANDataModule
    from ganzoo.metrics import Evaluator
    from ganzoo.models import VanillaGAN

    sizes = []
    knn_radii = prdc.knn_radii
    monkeypatch.setattr(prdc, "knn_radii",
                        lambda x, k: sizes.append((len(x), k)) or knn_radii(x, k))
    dm = GANDataModule(dataset="digits")
    model = VanillaGAN(data_shape=(1, 8, 8), num_classes=10, g_width=8, d_width=8)
    evaluator = Evaluator(num_samples=200, kid_subset_size=50, cache_dir=str(tmp_path),
                          metrics=["precision_recall", "density_coverage"], real_floor=False)
    first = evaluator(model, dm)
    second = evaluator(model, dm)
    n_real = first["protocol"]["num_real"]
    assert n_real != 200
    assert sizes == [(n_real, prdc.PR_K), (200, prdc.PR_K), (n_real, prdc.DC_K), (200, prdc.PR_K)]
    assert first["metrics"] == second["metrics"]
