"""The speed knobs (speed.channels_last, speed.compile, speed.tf32, trainer.precision
bf16-mixed, trainer.benchmark): each runs on CPU with the results it promises, or stops with
one line saying what it needs."""

import subprocess
import sys

import pytest
import torch

import ganzoo.training.speed as speed
from ganzoo.errors import ConfigError
from ganzoo.models import DCGAN, WGANGP, InfoGAN, OptimizerSpec, WGANClip
from ganzoo.training import SpeedKnobs
from tests.helpers import TinyData, cpu_trainer, tiny_kwargs


def trained(cls, trainer_kw=None, knobs=None, **kw):
    torch.manual_seed(0)
    model = cls(**tiny_kwargs(**kw))
    callbacks = [SpeedKnobs(**(knobs or {}))]
    cpu_trainer(limit_train_batches=2, callbacks=callbacks, **(trainer_kw or {})).fit(model, TinyData())
    return model


def test_channels_last_is_the_conv_default_and_trains_the_same_model():
    assert DCGAN(**tiny_kwargs()).convolutional()
    assert not DCGAN(**tiny_kwargs(arch="mlp")).convolutional()
    plain = trained(DCGAN, knobs={"channels_last": False})
    fast = trained(DCGAN)
    conv = next(m for m in fast.generator.modules() if isinstance(m, torch.nn.ConvTranspose2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    for a, b in zip(plain.parameters(), fast.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-5), "channels_last changed what was learned"


def test_channels_last_needs_conv_networks():
    with pytest.raises(ConfigError, match="speed.channels_last: a memory format"):
        trained(DCGAN, knobs={"channels_last": True}, arch="mlp")


def test_compile_without_a_compiler_warns_and_trains(monkeypatch):
    monkeypatch.setattr(speed.shutil, "which", lambda name: None)
    with pytest.warns(UserWarning, match="speed.compile: inductor needs a C\\+\\+ compiler"):
        model = trained(DCGAN, knobs={"compile": True})
    assert model.d_steps == 2


def test_compile_leaves_out_what_needs_a_double_backward():
    gp = WGANGP(**tiny_kwargs())
    assert gp.compiled_modules() == [gp.generator]
    clip = WGANClip(**tiny_kwargs())
    assert clip.compiled_modules() == [clip.generator, clip.discriminator]
    info = InfoGAN(**tiny_kwargs())
    assert info.q_head in info.compiled_modules()


@pytest.mark.slow
def test_compile_trains_with_a_compiler():
    if speed.compile_unavailable(None) and not torch.cuda.is_available():
        pytest.skip("no C++ compiler for inductor")
    model = trained(DCGAN, knobs={"compile": True})
    assert model.d_steps == 2 and not model.diverged


def test_tf32_on_cpu_is_one_line_error(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "ganzoo", "fit", "--config", "experiments/dcgan_digits.yaml",
         "--speed.tf32=true", "--trainer.logger=false", "--trainer.max_epochs=1",
         f"--runs_dir={tmp_path}"],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 2, out.stderr[-2000:]
    lines = [line for line in out.stderr.splitlines() if line.startswith("ganzoo: error:")]
    assert lines == ["ganzoo: error: speed.tf32: TensorFloat-32 needs a CUDA GPU "
                     "(trainer.accelerator=gpu)"], out.stderr[-2000:]


def test_bf16_mixed_trains_wgan_gp_on_cpu():
    model = trained(WGANGP, trainer_kw={"precision": "bf16-mixed"}, n_critic=1)
    assert model.d_steps == 2 and model.g_steps == 2 and not model.diverged
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_cudnn_benchmark_flag_runs_on_cpu():
    model = trained(DCGAN, trainer_kw={"benchmark": True})
    assert model.d_steps == 2


def test_fused_adam_is_the_default_and_takes_the_same_step():
    fused = trained(DCGAN)
    plain = trained(DCGAN, optimizer=OptimizerSpec(fused=False))
    opt_g, opt_d = fused.optimizers()
    assert opt_g.optimizer.defaults["fused"] and opt_d.optimizer.defaults["fused"]
    assert not plain.optimizers()[0].optimizer.defaults["fused"]
    for a, b in zip(fused.parameters(), plain.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-5)
