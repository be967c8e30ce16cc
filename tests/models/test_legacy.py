"""Configs of the former layout (every trick a model flag, ``WGAN`` with ``penalty``) still
run: the committed records upgrade to configs the CLI parses and instantiates, new configs
come back unchanged, and an old config file given to ``ganzoo fit`` is one line naming the
new key."""

import json
from pathlib import Path

import pytest
import yaml

from ganzoo.bench.reproduce import rerun_config
from ganzoo.cli import main, run_lightning_cli, upgrade_args
from ganzoo.errors import ConfigError
from ganzoo.models import WGANGP, InfoGAN, WGANClip
from ganzoo.models.legacy import legacy_keys, upgrade_config
from ganzoo.tricks import GeneratorEMA, QAugment, RealConsistency, RealInfo

ROOT = Path(__file__).resolve().parents[2]
# one recorded run per row of the main table as it was made in the former layout (kept here:
# results/mnist5k is now made by today's configs)
RUNS = json.loads((Path(__file__).parent / "data" / "former_layout_runs.json").read_text())["runs"]
ROWS = {e["row"]: e for e in reversed(RUNS)}


def test_the_committed_table_has_six_rows():
    assert len(ROWS) == 6, sorted(ROWS)


@pytest.mark.parametrize("row", sorted(ROWS))
def test_a_recorded_run_upgrades_to_a_config_that_instantiates(row, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    old = ROWS[row]["config"]
    new = upgrade_config(old)
    assert not legacy_keys(new) and legacy_keys(old)
    assert old == ROWS[row]["config"]  # pure
    new = rerun_config(new, tmp_path / "run")
    new["trainer"]["logger"] = False
    for key in ("ckpt_path", "weights_only"):  # fit's own arguments; run=False has none
        assert new.pop(key, None) in (None, False)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(new, sort_keys=False))
    cli = run_lightning_cli(["--config", str(path)], run=False)
    assert cli.model.table_label() == row.split(" ")[0]
    init = old["model"]["init_args"]
    assert cli.model.hparams.lr_g == init["lr_g"]
    emas = [c for c in cli.trainer.callbacks if isinstance(c, GeneratorEMA)]
    assert [c.decay for c in emas] == ([init["g_ema"]] if init["g_ema"] else [])
    if isinstance(cli.model, InfoGAN):
        assert isinstance(cli.model.q_augment, QAugment)
        assert cli.model.q_augment.ranges == init["q_augment"]
        kinds = [type(t) for t in cli.model.tricks]
        assert kinds == [RealInfo, RealConsistency][: len(kinds)]
    if isinstance(cli.model, WGANClip | WGANGP):
        assert cli.model.penalty == init["penalty"]


def test_upgrade_maps_every_former_flag_in_order():
    old = {"model": {"class_path": "ganzoo.models.WGAN", "init_args": {
        "penalty": "clip", "clip_value": 0.02, "gp_weight": 10.0, "optimizer": "rmsprop",
        "lr_g": 1e-3, "lr_schedule": "linear", "fused_optimizer": True, "label_smoothing": 0.0,
        "instance_noise": 0.5, "instance_noise_anneal_steps": 10, "d_augment": True,
        "d_weight_penalty": 1e-3, "g_ema": 0.99, "max_g_steps": 7, "max_images": None,
        "channels_last": True, "compile": False, "tf32": False, "fixed_noise_seed": 0,
        "conditioning": "concat"}},
        "trainer": {"callbacks": [{"class_path": "ganzoo.metrics.EvaluationCallback"}]}}
    new = upgrade_config(old)
    assert new["model"]["class_path"] == "ganzoo.models.WGANClip"
    assert new["model"]["init_args"] == {
        "clip_value": 0.02,
        "lr_g": 1e-3,
        "optimizer": {"name": "rmsprop", "schedule": "linear", "fused": True},
        "tricks": [
            {"class_path": "ganzoo.tricks.InstanceNoise", "init_args": {"std": 0.5, "anneal_steps": 10}},
            {"class_path": "ganzoo.tricks.DAugment", "init_args": {}},
            {"class_path": "ganzoo.tricks.DWeightPenalty", "init_args": {"weight": 1e-3}},
        ],
    }
    assert new["budget"] == {"max_g_steps": 7} and new["speed"] == {"channels_last": True}
    assert [c["class_path"] for c in new["trainer"]["callbacks"]] == [
        "ganzoo.tricks.GeneratorEMA", "ganzoo.metrics.EvaluationCallback"]
    smoothed = upgrade_config({"model": {"init_args": {"label_smoothing": 0.1, "fake_label": 0.2,
                                                       "loss": "minimax"}}})
    assert smoothed["model"]["init_args"]["loss"] == {
        "class_path": "ganzoo.tricks.LabelSmoothing",
        "init_args": {"alpha": 0.1, "beta": 0.2, "generator": "minimax"}}


@pytest.mark.parametrize("path", sorted((ROOT / "experiments").rglob("*.yaml")),
                         ids=lambda p: str(p.relative_to(ROOT / "experiments")))
def test_new_configs_come_back_unchanged(path):
    config = yaml.safe_load(path.read_text())
    if "parameters" in config:  # a sweep file
        return
    assert upgrade_config(config) == config and not legacy_keys(config)


def test_an_old_config_file_and_old_overrides_fit_upgraded(tmp_path):
    """``ganzoo fit`` of a former-layout file and override runs the upgraded config under the
    name its arguments give it."""
    path = tmp_path / "old.yaml"
    path.write_text("model:\n  class_path: ganzoo.models.WGAN\n  init_args:\n    penalty: clip\n"
                    "    g_width: 8\n    d_width: 8\n    num_fixed_samples: 4\n")
    main(["fit", "--config", str(path), "--model.init_args.g_ema=0.5", "--data.dataset=digits",
          "--trainer.max_epochs=1", "--trainer.limit_train_batches=2", "--trainer.logger=false",
          "--trainer.enable_progress_bar=false", f"--runs_dir={tmp_path / 'runs'}"])
    (run,) = (tmp_path / "runs" / "digits").iterdir()
    assert run.name.startswith("old__") and "g_ema=0.5" in run.name  # from the args as given
    config = json.loads((run / "record.json").read_text())["config"]
    assert config["model"]["class_path"] == "ganzoo.models.WGANClip"
    assert config["trainer"]["callbacks"][0]["class_path"] == "ganzoo.tricks.GeneratorEMA"
    assert config["trainer"]["callbacks"][0]["init_args"] == {"decay": 0.5}


def test_upgrade_args_leaves_new_args_alone_and_reads_class_paths_given_as_values():
    new = ["fit", "--model=ganzoo.models.VanillaGAN", "--model.init_args.g_width=16"]
    assert upgrade_args(new) == new
    old = upgrade_args(["fit", "--model=ganzoo.models.WGAN", "--model.init_args.penalty=clip",
                        "--model.init_args.g_width=16", "--data.dataset=digits"])
    assert old[:2] == ["fit", "--config"] and old[3:] == ["--data.dataset=digits"]
    assert yaml.safe_load(Path(old[2]).read_text())["model"] == {
        "class_path": "ganzoo.models.WGANClip", "init_args": {"g_width": 16}}


def test_moved_class_paths_are_renamed_wherever_they_appear():
    old = {"trainer": {"logger": {"class_path": "ganzoo.bench.FailSafeWandbLogger"},
                       "callbacks": [{"class_path": "ganzoo.bench.RunRecordCallback"}]}}
    assert legacy_keys(old) == ["ganzoo.bench.FailSafeWandbLogger", "ganzoo.bench.RunRecordCallback"]
    new = upgrade_config(old)
    assert new["trainer"]["logger"]["class_path"] == "ganzoo.runs.FailSafeWandbLogger"
    assert new["trainer"]["callbacks"][0]["class_path"] == "ganzoo.runs.RunRecordCallback"
    assert not legacy_keys(new) and upgrade_config(new) == new


def test_a_former_flag_beside_its_attachment_is_one_line_not_a_silent_double():
    """``--model.init_args.g_ema=0.0`` over a config with the GeneratorEMA callback would keep
    the average it asks to drop; ``real_info_weight`` over RealInfo would add a second term."""
    config = {"model": {"class_path": "ganzoo.models.InfoGAN", "init_args": {
        "real_info_weight": 0.0, "tricks": [{"class_path": "ganzoo.tricks.RealInfo"}]}}}
    with pytest.raises(ConfigError, match="model.real_info_weight: this config already has "
                       "ganzoo.tricks.RealInfo"):
        upgrade_config(config)
    config = {"model": {"class_path": "ganzoo.models.DCGAN", "init_args": {"g_ema": 0.0}},
              "trainer": {"callbacks": [{"class_path": "ganzoo.tricks.GeneratorEMA"}]}}
    with pytest.raises(ConfigError, match="model.g_ema: .*GeneratorEMA"):
        upgrade_config(config)
