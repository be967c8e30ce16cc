"""The torchmetrics path agrees with torch-fidelity's own API on the same samples and extractor.

Both see the identical uint8 images and the same (committed mnist5k domain) extractor, so
only the metric arithmetic differs: torchmetrics accumulates float64 sums and takes the
matrix square root through eigenvalues; torch-fidelity uses numpy's float64 mean/cov and
``scipy.linalg.sqrtm``; both compute KID's kernels in float32. Tolerance: relative 1e-4
for all three (FID: different but exact float64 algorithms; KID: float32 summation order;
observed agreement ~1e-7 or better). IS uses one split and KID subsets as large as the
sets, because the two libraries shuffle with different RNGs (torch vs numpy): with those
settings the shuffles cannot change the value.
"""

from __future__ import annotations

import pytest
import torch
import torch_fidelity

from ganzoo.metrics import extract, frechet_distance, inception_score, kernel_distance, to_uint8
from ganzoo.metrics.torch_fidelity_bridge import UInt8Images, register_with_torch_fidelity


@pytest.mark.filterwarnings("ignore:std:UserWarning")  # the IS std of a single split
def test_torchmetrics_path_matches_torch_fidelity(mnist_dm, mnist_domain):
    g = torch.Generator().manual_seed(0)
    real = mnist_dm.split("test").tensors[0][torch.randperm(1000, generator=g)[:400]]
    # "fakes": other real digits, blurred a little, so the FID is clearly non-zero
    fakes = mnist_dm.split("train").tensors[0][torch.randperm(4000, generator=g)[:400]]
    fakes = torch.nn.functional.avg_pool2d(fakes, 3, stride=1, padding=1)
    real_u8, fake_u8 = to_uint8(real), to_uint8(fakes)

    real_f, _ = extract(mnist_domain, real_u8)
    fake_f, fake_logits = extract(mnist_domain, fake_u8)
    ours = {
        "fid": frechet_distance(real_f, fake_f),
        "is": inception_score(fake_logits, splits=1)[0],
        "kid": kernel_distance(real_f, fake_f, subset_size=400, subsets=2)[0],
    }

    name = register_with_torch_fidelity(mnist_domain)
    theirs = torch_fidelity.calculate_metrics(
        input1=UInt8Images(fake_u8),
        input2=UInt8Images(real_u8),
        feature_extractor=name,
        fid=True,
        isc=True,
        kid=True,
        isc_splits=1,
        kid_subset_size=400,
        kid_subsets=2,
        cuda=False,
        cache=False,
        save_cpu_ram=True,
        verbose=False,
        batch_size=200,
    )
    print({"ganzoo (torchmetrics)": ours, "torch-fidelity": theirs})
    assert ours["fid"] > 1.0 and ours["is"] > 2.0
    assert ours["fid"] == pytest.approx(theirs["frechet_inception_distance"], rel=1e-4)
    assert ours["is"] == pytest.approx(theirs["inception_score_mean"], rel=1e-4)
    assert ours["kid"] == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-4)
