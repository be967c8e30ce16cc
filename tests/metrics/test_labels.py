"""InfoGAN code accuracy and CGAN label consistency, with oracle generators that return real
digits the classifier gets right: of the class given by the code/label, or ignoring it."""

from __future__ import annotations

import pytest
import torch

from ganzoo.metrics import evaluate, extract
from ganzoo.metrics.labels import label_consistency, matched_accuracy
from ganzoo.models import ConditionalGAN, InfoGAN

CODE_TO_CLASS = torch.tensor([3, 1, 4, 0, 5, 9, 2, 6, 8, 7])  # any permutation: codes have no names


@pytest.fixture(scope="module")
def bank(digits_dm, digits_domain):
    """Real test digits per class, only those the classifier labels correctly."""
    x, y = digits_dm.split("test").tensors
    _, logits = extract(digits_domain, x)
    ok = logits.argmax(1) == y
    return [x[ok & (y == c)] for c in range(10)]


def pick_images(bank, classes: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    which = (z[:, 0].abs() * 1e4).long()
    return torch.stack(
        [bank[c][i % len(bank[c])] for c, i in zip(classes.tolist(), which.tolist(), strict=True)]
    )


def ignored(z: torch.Tensor) -> torch.Tensor:
    return (z[:, 1].abs() * 1e4).long() % 10


class OracleInfoGAN(InfoGAN):
    def __init__(self, *, bank, follow: bool, **kwargs) -> None:
        super().__init__(arch="mlp", g_width=8, d_width=8, **kwargs)
        self.bank, self.follow = bank, follow

    def generate(self, latent):
        z = latent["z"].cpu()
        classes = CODE_TO_CLASS[latent["cat"].cpu()] if self.follow else ignored(z)
        return pick_images(self.bank, classes, z)


class OracleCGAN(ConditionalGAN):
    def __init__(self, *, bank, follow: bool, **kwargs) -> None:
        super().__init__(arch="mlp", g_width=8, d_width=8, **kwargs)
        self.bank, self.follow = bank, follow

    def generate(self, latent):
        z = latent["z"].cpu()
        classes = latent["labels"].cpu() if self.follow else ignored(z)
        return pick_images(self.bank, classes, z)


SETTINGS = {"num_samples": 600, "batch_size": 200, "kid_subset_size": 100, "kid_subsets": 5}


@pytest.mark.parametrize("follow", [True, False])
def test_infogan_code_accuracy(digits_dm, bank, eval_cache, follow):
    model = OracleInfoGAN(bank=bank, follow=follow, data_shape=(1, 8, 8), num_classes=10)
    result = evaluate(model, digits_dm, cache_dir=eval_cache, **SETTINGS)
    accuracy = result["metrics"]["code_accuracy"]
    print(f"code accuracy, generator {'uses' if follow else 'ignores'} the code: {accuracy:.3f}")
    if follow:
        assert accuracy == 1.0
    else:  # chance is 10%; the best one-to-one matching of a random table lies a bit above it
        assert 0.05 < accuracy < 0.2
    assert "label_accuracy" not in result["metrics"]


@pytest.mark.parametrize("follow, expected", [(True, 1.0), (False, 0.1)])
def test_cgan_label_consistency_and_per_class_fid(digits_dm, bank, eval_cache, follow, expected):
    model = OracleCGAN(bank=bank, follow=follow, data_shape=(1, 8, 8), num_classes=10)
    metrics = evaluate(model, digits_dm, cache_dir=eval_cache, **SETTINGS)["metrics"]
    print(
        f"label consistency, generator {'uses' if follow else 'ignores'} the label: "
        f"{metrics['label_accuracy']:.3f}; per-class FID mean {metrics['fid_per_class_mean']:.2f}"
    )
    assert metrics["label_accuracy"] == pytest.approx(expected, abs=0.0 if follow else 0.05)
    assert all(f"fid_class_{c}" in metrics for c in range(10))
    assert "code_accuracy" not in metrics


def test_per_class_fid_is_lower_when_the_label_is_followed(digits_dm, bank, eval_cache):
    per_class = {}
    for follow in (True, False):
        model = OracleCGAN(bank=bank, follow=follow, data_shape=(1, 8, 8), num_classes=10)
        per_class[follow] = evaluate(model, digits_dm, cache_dir=eval_cache, **SETTINGS)["metrics"]
    assert per_class[True]["fid_per_class_mean"] < 0.25 * per_class[False]["fid_per_class_mean"]


def test_matched_accuracy_finds_the_permutation():
    confusion = torch.zeros(4, 4, dtype=torch.float64)
    mapping = {0: 2, 1: 0, 2: 3, 3: 1}
    for code, cls in mapping.items():
        confusion[code, cls] = 10
    confusion[0, 0] = 1
    accuracy, found = matched_accuracy(confusion)
    assert found == mapping and accuracy == pytest.approx(40 / 41)
    assert label_consistency(torch.eye(3) * 5) == 1.0
