"""FID / IS / KID with the committed mnist5k domain classifier: sanity values of the metrics."""

from __future__ import annotations

import pytest
import torch
from torchmetrics.image.kid import KernelInceptionDistance

from ganzoo.metrics import extract, frechet_distance, inception_score, kernel_distance
from ganzoo.metrics.fidelity import Precomputed, WholeRealSetKID, seeded


def test_fid_of_a_set_against_itself_is_zero(mnist_test_features):
    features, _ = mnist_test_features
    assert abs(frechet_distance(features, features)) < 1e-6


def test_fid_real_vs_real_is_small_and_noise_is_large(
    mnist_dm, mnist_domain, mnist_test_features, mnist_train_features
):
    test_features, _ = mnist_test_features
    train_features, _ = mnist_train_features
    shuffled = train_features[
        torch.randperm(len(train_features), generator=torch.Generator().manual_seed(0))
    ]
    real_vs_real = frechet_distance(test_features, shuffled[: len(test_features)])
    noise = torch.randint(
        0, 256, (1000, 1, 28, 28), generator=torch.Generator().manual_seed(0), dtype=torch.uint8
    )
    noise_features, _ = extract(mnist_domain, noise)
    noise_fid = frechet_distance(test_features, noise_features)
    print(
        f"FID real test vs 1000 shuffled train: {real_vs_real:.4f}; "
        f"vs uniform noise: {noise_fid:.2f}"
    )
    assert real_vs_real < 0.02 * noise_fid
    assert noise_fid > 10 * real_vs_real


def test_inception_score_of_real_digits_is_high(mnist_test_features):
    _, logits = mnist_test_features
    mean, std = inception_score(logits, splits=10, seed=0)
    print(f"IS of the mnist5k test split (domain classifier): {mean:.3f} +- {std:.3f}")
    assert mean >= 9.0


def test_inception_score_of_one_repeated_image_is_one(mnist_dm, mnist_domain):
    image = mnist_dm.split("test")[0][0]
    _, logits = extract(mnist_domain, image.expand(500, -1, -1, -1))
    mean, _ = inception_score(logits)
    assert abs(mean - 1.0) < 1e-6


def test_is_and_kid_are_seeded_and_leave_the_global_rng_alone(mnist_test_features):
    features, logits = mnist_test_features
    torch.manual_seed(123)
    before = torch.get_rng_state()
    first = (
        inception_score(logits, seed=1),
        kernel_distance(features[:500], features[500:], subset_size=100, subsets=5, seed=1),
    )
    second = (
        inception_score(logits, seed=1),
        kernel_distance(features[:500], features[500:], subset_size=100, subsets=5, seed=1),
    )
    assert first == second
    assert torch.equal(torch.get_rng_state(), before)
    assert inception_score(logits, seed=2) != first[0]


def test_kid_subset_size_is_clamped_to_the_smaller_set(mnist_test_features):
    features, _ = mnist_test_features  # sorted by class: shuffle before splitting
    features = features[torch.randperm(len(features), generator=torch.Generator().manual_seed(0))]
    kid, _, size, count = kernel_distance(
        features[:300], features[300:380], subset_size=1000, subsets=3
    )
    far = kernel_distance(features[:300], features[-80:] + 3.0, subset_size=1000, subsets=3)[0]
    assert (size, count) == (80, 3)
    assert abs(kid) < 0.05 * far


@pytest.mark.filterwarnings("ignore:Metric `Kernel Inception Distance` will save")
def test_kid_with_whole_sets_as_subsets_computes_one_subset(mnist_test_features):
    """Every subset would be the whole of both sets: the unbiased MMD does not depend on the
    order, so one subset gives the value of any number of them (std 0)."""
    features, _ = mnist_test_features
    a, b = features[::2], features[1::2] + 0.1
    one = kernel_distance(a, b, subset_size=1000, subsets=100)
    assert one[2:] == (500, 1) and one[1] == 0.0
    many = KernelInceptionDistance(
        feature=Precomputed(a.shape[1], torch.float32), subset_size=500, subsets=5
    )
    many.update(a, real=True)
    many.update(b, real=False)
    assert float(many.compute()[0]) == pytest.approx(one[0], rel=1e-5)


@pytest.mark.filterwarnings("ignore:Metric `Kernel Inception Distance` will save")
@pytest.mark.parametrize("n_real", [200, 300])
def test_whole_real_set_kid_equals_torchmetrics(mnist_test_features, n_real):
    """The real kernel computed once (real set = subset size) or torchmetrics' path (larger
    real set): the same subsets and the same values as torchmetrics' own KID."""
    features, _ = mnist_test_features
    real, fake = features[:n_real], features[300:800] + 0.05
    values = []
    for cls in (KernelInceptionDistance, WholeRealSetKID):
        metric = cls(feature=Precomputed(real.shape[1], torch.float32), subset_size=200, subsets=7)
        metric.update(real, real=True)
        metric.update(fake, real=False)
        with seeded(3):
            values.append([float(v) for v in metric.compute()])
    assert values[1] == pytest.approx(values[0], rel=1e-4)
    assert values[0][1] > 0  # the fake subsets differ, so the subsets' values do
