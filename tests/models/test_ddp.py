"""Both networks train under DDP on 2 CPU processes (gloo), with the strategy the CLI picks.

Lightning's own GAN example fails under plain DDP because a D step leaves G's parameters
without gradients (Lightning #20328, #20866); ganzoo uses
``ddp_find_unused_parameters_true`` whenever more than one device is requested.
"""

import json
import subprocess
import sys
import textwrap

import pytest

from ganzoo.cli import DDP_STRATEGY, wants_several_devices

SCRIPT = textwrap.dedent(
    """
    import json, sys, torch, lightning as L
    from ganzoo.data import GANDataModule
    from ganzoo.models import DCGAN, WGANGP, InfoGAN, ConditionalGAN
    from ganzoo.training import Budget, RankStreams
    from ganzoo.tricks import GeneratorEMA, ReuseFake

    out = sys.argv[1]
    results = {}
    for cls, kw in [(DCGAN, {}), (WGANGP, {"n_critic": 2}),
                    (InfoGAN, {}), (ConditionalGAN, {"conditioning": "projection"}),
                    (DCGAN, {"tricks": [ReuseFake()]}),  # the G step reads the critic step's fakes
                    (WGANGP, {"n_critic": 2, "gp_every": 2, "tricks": [ReuseFake()]})]:
        name = cls.__name__ + ("+reuse_fake" if kw.get("tricks") else "")
        L.seed_everything(0)
        dm = GANDataModule(dataset="digits", batch_size=16)
        model = cls(data_shape=dm.data_shape, num_classes=dm.num_classes, g_width=8, d_width=8,
                    latent_dim=8, num_fixed_samples=4, **kw)
        g0 = [p.detach().clone() for p in model.generator.parameters()]
        d0 = [p.detach().clone() for p in model.d_parameters()]
        trainer = L.Trainer(accelerator="cpu", devices=2, strategy="STRATEGY", max_epochs=10,
                            logger=False, enable_checkpointing=False, enable_progress_bar=False,
                            enable_model_summary=False,
                            callbacks=[Budget(max_g_steps=3), RankStreams(),
                                       *([GeneratorEMA(decay=0.9)] if cls is DCGAN else [])])
        trainer.fit(model, dm)
        g = torch.cat([p.detach().flatten() for p in model.generator.parameters()])
        d = torch.cat([p.detach().flatten() for p in model.d_parameters()])
        results[name] = {
            "g_steps": model.g_steps, "d_steps": model.d_steps,
            "g_sum": g.double().sum().item(), "d_sum": d.double().sum().item(),
            "g_moved": any(not torch.equal(a, b) for a, b in zip(g0, model.generator.parameters())),
            "d_moved": any(not torch.equal(a, b) for a, b in zip(d0, model.d_parameters())),
        }
        if model.generator_ema is not None:  # G's moving average, kept by every rank alike
            avg = torch.cat([p.detach().flatten() for p in model.generator_ema.parameters()])
            results[name]["ema_sum"] = avg.double().sum().item()
    with open(f"{out}.rank{trainer.global_rank}.json", "w") as f:
        json.dump(results, f)
    """
).replace("STRATEGY", DDP_STRATEGY)


@pytest.mark.slow
def test_both_networks_train_under_ddp_on_two_processes(tmp_path):
    script = tmp_path / "ddp_run.py"
    script.write_text(SCRIPT)
    out = tmp_path / "result"
    proc = subprocess.run([sys.executable, str(script), str(out)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"result.rank{r}.json").read_text()) for r in (0, 1)]
    for name, r0 in ranks[0].items():
        r1 = ranks[1][name]
        assert r0["g_steps"] == r1["g_steps"] == 3, name
        assert r0["g_moved"] and r0["d_moved"], name
        # gradients are averaged across ranks, so the replicas stay identical
        assert r0["g_sum"] == r1["g_sum"] and r0["d_sum"] == r1["d_sum"], name
        assert r0.get("ema_sum") == r1.get("ema_sum"), name
        assert r0.get("ema_sum", 0.0) != r0["g_sum"], name  # the average is not G itself
    assert "ema_sum" in ranks[0]["DCGAN"] and "ema_sum" in ranks[0]["DCGAN+reuse_fake"]
    assert {"DCGAN+reuse_fake", "WGANGP+reuse_fake"} <= set(ranks[0])


def test_cli_picks_the_unused_parameter_strategy_for_several_devices():
    assert wants_several_devices(2) and wants_several_devices("2") and wants_several_devices([0, 1])
    assert not wants_several_devices(1) and not wants_several_devices("1")
