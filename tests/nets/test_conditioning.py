"""How a conditional D reads the label: ``concat`` at its input, ``projection`` at its head,
``both`` at both; each path, switched off, removes only its own dependence on the label."""

import pytest
import torch

from ganzoo.nets.factory import make_discriminator

PATHS = [("concat", True, False), ("projection", False, True), ("both", True, True)]


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
@pytest.mark.parametrize(("conditioning", "concat", "project"), PATHS)
def test_d_reads_the_label_where_its_conditioning_says(arch, conditioning, concat, project):
    torch.manual_seed(0)
    d = make_discriminator(arch, data_shape=(1, 16, 16), num_classes=4, width=8, norm="none",
                           conditioning=conditioning, minibatch_features=False).eval()
    x = torch.rand(6, 1, 16, 16) * 2 - 1
    a, b = torch.zeros(6, dtype=torch.long), torch.full((6,), 3)
    assert (d.projection is not None) == project
    h_a, h_b = d.features(x, a), d.features(x, b)
    assert (not torch.allclose(h_a, h_b)) == concat  # the input path
    if project:  # the head adds <embed(y), h> on top of the features
        with torch.no_grad():
            d.projection.embed.weight.normal_()
            plain = d.head(h_a).squeeze(1)
            term = (d.projection.embed(a) * h_a).sum(1)
            assert torch.allclose(d(x, a), plain + term, atol=1e-5)
            assert not torch.allclose(d(x, a, h=h_a), d(x, b, h=h_a))
