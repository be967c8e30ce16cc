"""EvaluationCallback and SampleGridCallback inside a Trainer (tiny MLP GAN on 8x8 digits)."""

from __future__ import annotations

import json
from unittest import mock

import pytest
import torch
from lightning.pytorch.loggers import Logger, WandbLogger
from PIL import Image

from ganzoo.data import GANDataModule
from ganzoo.metrics import EvaluationCallback, InceptionWeightsNotFoundError, SampleGridCallback
from ganzoo.metrics.callbacks import send_image
from ganzoo.metrics.grids import TRAVERSAL_STEPS, save_grid
from ganzoo.models import ConditionalGAN, InfoGAN, VanillaGAN
from ganzoo.training import Budget
from tests.helpers import cpu_trainer

EVAL = {"num_samples": 200, "batch_size": 100, "kid_subset_size": 100, "kid_subsets": 3}


class CaptureLogger(Logger):
    def __init__(self) -> None:
        super().__init__()
        self.logged: list[tuple[int | None, dict]] = []

    @property
    def name(self) -> str:
        return "capture"

    @property
    def version(self) -> int:
        return 0

    def log_metrics(self, metrics, step=None) -> None:
        self.logged.append((step, dict(metrics)))

    def log_hyperparams(self, params, *args, **kwargs) -> None:
        pass

    def values(self, key: str) -> list[float]:
        return [m[key] for _, m in self.logged if key in m]


def fit(tmp_path, eval_cache, *, epochs: int, every: int, every_g: int = 0, budget=None,
        **model_args):
    torch.manual_seed(0)
    dm = GANDataModule(dataset="digits", batch_size=32)
    model = VanillaGAN(
        data_shape=dm.data_shape, num_classes=dm.num_classes, g_width=16, d_width=16, **model_args
    )
    evaluation = EvaluationCallback(
        every_n_epochs=every, every_n_g_steps=every_g, cache_dir=str(eval_cache), **EVAL
    )
    grids = SampleGridCallback(every_n_epochs=every)
    logger = CaptureLogger()
    trainer = cpu_trainer(
        max_epochs=epochs,
        limit_train_batches=3,
        logger=logger,
        callbacks=[evaluation, grids, *([budget] if budget else [])],
        default_root_dir=tmp_path,
    )
    trainer.fit(model, datamodule=dm)
    return trainer, evaluation, grids, logger


def test_evaluates_every_n_generator_steps_at_that_step(tmp_path, eval_cache):
    trainer, evaluation, _, logger = fit(tmp_path, eval_cache, epochs=2, every=0, every_g=2)
    # 3 batches per epoch, one G step each: evaluations after G steps 2, 4, 6 (= the end)
    assert [h["g_steps"] for h in evaluation.history] == [2, 4, 6]
    assert [h["epoch"] for h in evaluation.history] == [0, 1, 1]
    steps = [step for step, metrics in logger.logged if "val/fid" in metrics]
    assert steps == [4, 8, 12]  # logged at global_step, which counts D and G steps (2 a batch)
    assert len(logger.values("val/fid")) == 3


def test_every_n_generator_steps_evaluates_once_per_step_with_several_critic_steps(
    tmp_path, eval_cache
):
    # n_critic 2: 6 D steps, G steps after D steps 2, 4, 6; batches 3 and 5 still show G steps
    # 1 and 2, which must not be evaluated again
    _, evaluation, _, _ = fit(tmp_path, eval_cache, epochs=2, every=0, every_g=1, n_critic=2)
    assert [h["g_steps"] for h in evaluation.history] == [1, 2, 3]


def test_evaluates_every_epoch_logs_and_writes_once_per_evaluation(tmp_path, eval_cache):
    trainer, evaluation, grids, logger = fit(tmp_path, eval_cache, epochs=2, every=1)
    history = evaluation.history
    # two epoch-end evaluations; the end of fit is at the same g_steps, so not repeated
    assert [h["epoch"] for h in history] == [1, 2]
    assert history[0]["g_steps"] < history[1]["g_steps"] == trainer.lightning_module.g_steps
    protocol = history[-1]["protocol"]
    assert protocol["extractor"] == "domain" and len(protocol["weights_sha256"]) == 64
    assert protocol["reference_split"] == "test" and protocol["num_fake"] == 200
    assert protocol["num_real"] == len(trainer.datamodule.split("test"))
    assert protocol["kid_subset_size"] == 100 and protocol["kid_subsets"] == 3
    assert protocol["seed"] == 0
    assert set(history[-1]["metrics"]) == {
        "fid", "is", "is_std", "kid", "kid_std", "precision", "recall", "density", "coverage",
        "fid_inf", "memorization", "fid_ae", "kid_ae", "kid_ae_std",
    }
    assert set(protocol["real_floor"]) == set(history[-1]["metrics"]) - {"memorization"}
    lines = (tmp_path / "evaluations.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == history
    assert logger.values("val/fid") == pytest.approx([h["metrics"]["fid"] for h in history])
    names = sorted(p.name for p in (tmp_path / "grids").iterdir())
    assert names == ["epoch_0001.png", "epoch_0002.png", "final.png"]
    assert [p.name for p in grids.paths] == ["epoch_0001.png", "epoch_0002.png", "final.png"]


def test_early_stop_still_evaluates_at_the_end(tmp_path, eval_cache):
    trainer, evaluation, _, logger = fit(tmp_path, eval_cache, epochs=5, every=3,
                                         budget=Budget(max_g_steps=2))
    assert len(evaluation.history) == 1
    assert evaluation.history[0]["g_steps"] == 2
    assert logger.values("val/fid") == [evaluation.history[0]["metrics"]["fid"]]
    assert float(trainer.callback_metrics["val/fid"]) == pytest.approx(
        evaluation.history[0]["metrics"]["fid"]
    )


def test_history_survives_a_checkpoint_round_trip():
    callback = EvaluationCallback()
    callback.history = [{"epoch": 1, "g_steps": 5, "metrics": {}, "protocol": {}}]
    restored = EvaluationCallback()
    restored.load_state_dict(callback.state_dict())
    assert restored.history == callback.history


def png_size(path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size  # (width, height)


def test_grid_layouts(tmp_path):
    dm = GANDataModule(dataset="digits")
    cgan = ConditionalGAN(data_shape=(1, 8, 8), num_classes=10, arch="mlp", g_width=8, d_width=8)
    # one row per class, 8 columns; each 8x8 tile has 2 px padding
    assert png_size(save_grid(cgan, dm, tmp_path / "cgan.png")) == (8 * 10 + 2, 10 * 10 + 2)
    info = InfoGAN(
        data_shape=(1, 8, 8), num_classes=10, arch="mlp", g_width=8, d_width=8, continuous_dim=2
    )
    cols = 2 * TRAVERSAL_STEPS  # one traversal per continuous code
    assert png_size(save_grid(info, dm, tmp_path / "info.png")) == (cols * 10 + 2, 10 * 10 + 2)
    toy = GANDataModule(dataset="ring8", toy_samples=100)
    vanilla = VanillaGAN(data_shape=(2,), num_classes=8, g_width=8, d_width=8)
    assert save_grid(vanilla, toy, tmp_path / "toy.png").stat().st_size > 0


def test_grids_go_to_wandb_and_are_skipped_by_other_loggers(tmp_path):
    dm = GANDataModule(dataset="digits")
    model = VanillaGAN(data_shape=(1, 8, 8), num_classes=10, g_width=8, d_width=8)
    path = save_grid(model, dm, tmp_path / "g.png")
    wandb = mock.MagicMock(spec=WandbLogger)
    send_image(wandb, path, model, dm, step=7)
    wandb.log_image.assert_called_once_with(key="samples", images=[str(path)], step=7)
    send_image(CaptureLogger(), path, model, dm, step=7)  # no image API: nothing happens


def test_evaluation_leaves_the_training_rng_alone(tmp_path):
    """Evaluating must not change the random stream training continues with."""
    from ganzoo.metrics import evaluate

    dm = GANDataModule(dataset="digits")
    model = ConditionalGAN(data_shape=(1, 8, 8), num_classes=10, arch="mlp", g_width=8, d_width=8)
    torch.manual_seed(0)
    before = torch.get_rng_state()
    evaluate(model, dm, cache_dir=tmp_path, **EVAL)  # first use: computes the real features
    evaluate(model, dm, cache_dir=tmp_path, **EVAL)
    assert torch.equal(torch.get_rng_state(), before)


def test_a_missing_extractor_fails_before_training(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setenv("GANZOO_OFFLINE", "1")
    monkeypatch.delenv("GANZOO_INCEPTION_WEIGHTS", raising=False)
    dm = GANDataModule(dataset="digits", batch_size=32)
    model = VanillaGAN(data_shape=dm.data_shape, num_classes=dm.num_classes, g_width=8, d_width=8)
    trainer = cpu_trainer(
        limit_train_batches=2,
        default_root_dir=tmp_path,
        callbacks=[EvaluationCallback(extractor="inception", cache_dir=str(tmp_path))],
    )
    with pytest.raises(InceptionWeightsNotFoundError):
        trainer.fit(model, datamodule=dm)
    assert model.g_steps == 0
