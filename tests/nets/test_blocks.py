"""Reference and virtual batch norm (seed 003) against torch's batch norm on the batches that
define them: R alone for reference batch norm, R plus the one example for virtual batch norm."""

import pytest
import torch
from torch import nn

from ganzoo.errors import ConfigError
from ganzoo.nets.blocks import ReferenceBatchNorm, VirtualBatchNorm, generator_norm

M = 6  # reference rows


def batch_norm_like(norm, shape):
    """A torch batch norm with ``norm``'s scale and shift."""
    bn = (nn.BatchNorm1d if len(shape) == 1 else nn.BatchNorm2d)(shape[0])
    bn.load_state_dict({"weight": norm.weight, "bias": norm.bias}, strict=False)
    return bn


def inputs(shape):
    torch.manual_seed(0)
    h = torch.randn(M + 4, *shape) * 3 + 1  # rows 0..5 are R, rows 6..9 the batch
    ref_norm = ReferenceBatchNorm(shape[0], reference_size=M)
    with torch.no_grad():
        ref_norm.weight.normal_(1, 0.5), ref_norm.bias.normal_(0, 0.5)
    virtual_norm = VirtualBatchNorm(shape[0], reference_size=M)
    virtual_norm.load_state_dict(ref_norm.state_dict())  # the same scale and shift
    return h, ref_norm, virtual_norm


@pytest.mark.parametrize("shape", [(4,), (4, 3, 3)], ids=["features", "maps"])
def test_reference_batch_norm_normalises_every_row_with_the_reference_batch_only(shape):
    """Every row is normalised with R's mean and (biased) variance: R's rows get what batch
    norm over R gives them, every other row what an eval-mode batch norm holding R's
    statistics gives it, whatever the other rows are."""
    h, ref_norm, _ = inputs(shape)
    out = ref_norm(h)
    bn = batch_norm_like(ref_norm, shape).train()
    assert torch.allclose(out[:M], bn(h[:M]), atol=1e-5)  # R's own normalisation
    dims = [0, *range(2, h.dim())]
    var, mean = torch.var_mean(h[:M], dim=dims, correction=0)
    bn.eval()
    bn.running_mean.copy_(mean), bn.running_var.copy_(var)
    assert torch.allclose(out, bn(h), atol=1e-5)
    # a row equal to a reference row gets exactly the reference row's output
    assert torch.allclose(ref_norm(torch.cat([h, h[2:3]]))[-1], out[2], atol=1e-6)
    others = torch.cat([h[:M], torch.randn(3, *shape) * 10, h[M:]])
    assert torch.allclose(ref_norm(others)[-4:], out[M:], atol=1e-6)


@pytest.mark.parametrize("shape", [(4,), (4, 3, 3)], ids=["features", "maps"])
def test_virtual_batch_norm_normalises_each_row_with_the_reference_batch_plus_itself(shape):
    """Virtual batch norm: row x_i gets what batch norm over {x_i} U R gives it, which is not
    what reference batch norm (R alone) gives it; R's rows get R's own normalisation in both."""
    h, ref_norm, virtual_norm = inputs(shape)
    out = virtual_norm(h)
    bn = batch_norm_like(virtual_norm, shape).train()
    assert torch.allclose(out[:M], bn(h[:M]), atol=1e-5)
    for i in range(M, len(h)):
        assert torch.allclose(out[i], bn(torch.cat([h[:M], h[i : i + 1]]))[-1], atol=1e-5)
    assert torch.allclose(out[:M], ref_norm(h)[:M], atol=1e-5)
    assert not torch.allclose(out[M:], ref_norm(h)[M:], atol=1e-2)


def test_generator_norm_names_the_allowed_kinds():
    with pytest.raises(ConfigError, match=r"^model.g_norm: unknown 'group'; allowed: batch, "
                       r"class, reference, virtual, none$"):
        generator_norm("group", 4, batch_norm=nn.BatchNorm2d, reference_size=M)
