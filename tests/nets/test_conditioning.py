"""How a conditional D reads the label: ``concat`` at its input, ``projection`` at its head,
``both`` at both; each path, switched off, removes only its own dependence on the label."""

import pytest
import torch
from torch import nn

from ganzoo.errors import ConfigError
from ganzoo.nets.blocks import ClassBatchNorm
from ganzoo.nets.factory import make_discriminator, make_generator

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


def test_class_batch_norm_applies_each_samples_own_scale_and_shift():
    """Batch statistics over the whole batch, then the scale and shift of each row's label."""
    torch.manual_seed(0)
    norm = ClassBatchNorm(3, num_classes=2, batch_norm=nn.BatchNorm2d)
    with torch.no_grad():
        norm.scale.weight.copy_(torch.tensor([[1.0] * 3, [2.0] * 3]))
        norm.shift.weight.copy_(torch.tensor([[0.0] * 3, [5.0] * 3]))
    h, labels = torch.randn(4, 3, 2, 2), torch.tensor([0, 1, 0, 1])
    plain = nn.functional.batch_norm(h, None, None, training=True)
    out = norm(h, labels)
    assert torch.allclose(out[labels == 0], plain[labels == 0], atol=1e-5)
    assert torch.allclose(out[labels == 1], 2 * plain[labels == 1] + 5, atol=1e-5)


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_class_norm_generator_reads_the_label_in_every_norm_layer(arch):
    """With the input embedding's label term removed, a class-norm G still follows the
    label (through its norm layers); a batch-norm G then does not."""
    outputs = {}
    for norm in ("class", "batch"):
        torch.manual_seed(0)
        g = make_generator(arch, latent_dim=8, data_shape=(1, 16, 16), num_classes=4,
                           width=8, norm=norm)
        with torch.no_grad():
            g.label_embed.weight.zero_()
            if norm == "class":
                for layer in g.modules():
                    if isinstance(layer, ClassBatchNorm):
                        layer.shift.weight.normal_()
        z = torch.randn(6, 8)
        a, b = torch.zeros(6, dtype=torch.long), torch.full((6,), 3)
        outputs[norm] = torch.allclose(g(z, a), g(z, b))
    assert outputs == {"class": False, "batch": True}


def test_class_norm_needs_labels():
    with pytest.raises(ConfigError, match="g_norm: 'class'"):
        make_generator("dcgan", latent_dim=8, data_shape=(1, 16, 16), num_classes=0, width=8,
                       norm="class")
