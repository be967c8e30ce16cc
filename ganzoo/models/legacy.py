"""Configs written before the tricks became attachments (issue 24), in the new layout.

The committed ``results/*/runs.json`` record full configs of the former layout: every trick
a flag of ``model.init_args`` (``g_ema``, ``d_augment``, ``instance_noise``,
``label_smoothing``, ...), the optimizer as five flags, the budget and speed knobs on the
model, and ``ganzoo.models.WGAN`` with ``penalty: clip | gp``. :func:`upgrade_config` maps
such a config onto today's: ``ganzoo reproduce`` reruns records through it, and ``ganzoo
fit`` runs a config file or override written the old way through it
(:func:`ganzoo.cli.upgrade_args`; the run keeps the name its arguments give it).
"""

from __future__ import annotations

import copy
from typing import Any

from ganzoo.errors import ConfigError

TRICKS = "ganzoo.tricks"
OPTIMIZER_KEYS = {"optimizer": "name", "betas": "betas", "momentum": "momentum",
                  "lr_schedule": "schedule", "fused_optimizer": "fused"}
SECTIONS = {"max_g_steps": "budget", "max_images": "budget", "channels_last": "speed",
            "compile": "speed", "tf32": "speed"}
# each old key -> where it went
NEW_HOME = {
    "g_ema": "trainer.callbacks: ganzoo.tricks.GeneratorEMA (decay)",
    "d_augment": "model.init_args.tricks: ganzoo.tricks.DAugment",
    "instance_noise": "model.init_args.tricks: ganzoo.tricks.InstanceNoise (std, anneal_steps)",
    "instance_noise_anneal_steps": "model.init_args.tricks: ganzoo.tricks.InstanceNoise",
    "d_weight_penalty": "model.init_args.tricks: ganzoo.tricks.DWeightPenalty (weight)",
    "real_info_weight": "model.init_args.tricks: ganzoo.tricks.RealInfo (weight)",
    "real_consistency_weight": "model.init_args.tricks: ganzoo.tricks.RealConsistency (weight)",
    "label_smoothing": "model.init_args.loss: ganzoo.tricks.LabelSmoothing (alpha, beta)",
    "fake_label": "model.init_args.loss: ganzoo.tricks.LabelSmoothing (beta)",
    "penalty": "model.class_path: ganzoo.models.WGANClip or ganzoo.models.WGANGP",
    "minibatch_features": "model.init_args.tricks: ganzoo.tricks.MinibatchFeatures (average)",
    "fixed_noise_seed": "nothing (the fixed latents' seed is 0)",
    "reuse_fake": "model.init_args.tricks: ganzoo.tricks.ReuseFake",
    **{k: f"model.init_args.optimizer.{v}" for k, v in OPTIMIZER_KEYS.items() if k != "optimizer"},
    **{k: f"{v}.{k}" for k, v in SECTIONS.items()},
}


# class paths that moved: the runs' own machinery left ganzoo.bench for ganzoo.runs
MOVED = {"ganzoo.bench.FailSafeWandbLogger": "ganzoo.runs.FailSafeWandbLogger",
         "ganzoo.bench.RunRecordCallback": "ganzoo.runs.RunRecordCallback"}


def moved_paths(node: Any) -> list[str]:
    """The moved class paths (:data:`MOVED`) anywhere in ``node``."""
    if isinstance(node, dict):
        return [p for v in node.values() for p in moved_paths(v)]
    if isinstance(node, list):
        return [p for v in node for p in moved_paths(v)]
    return [node] if isinstance(node, str) and node in MOVED else []


def _renamed(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _renamed(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_renamed(v) for v in node]
    return MOVED.get(node, node) if isinstance(node, str) else node


# former flags whose attachment a current config may already hold
COUNTERPART = {"g_ema": "GeneratorEMA", "d_augment": "DAugment", "instance_noise": "InstanceNoise",
               "d_weight_penalty": "DWeightPenalty", "real_info_weight": "RealInfo",
               "real_consistency_weight": "RealConsistency",
               "minibatch_features": "MinibatchFeatures", "reuse_fake": "ReuseFake"}


def has_class(config: dict[str, Any], name: str) -> bool:
    """Whether ``config``'s tricks or callbacks hold ``ganzoo.tricks.<name>``."""
    init = (config.get("model") or {}).get("init_args") or {}
    callbacks = (config.get("trainer") or {}).get("callbacks") or []
    items = [*(init.get("tricks") or []), *(callbacks if isinstance(callbacks, list) else [callbacks])]
    return any(isinstance(i, dict) and i.get("class_path") == f"{TRICKS}.{name}" for i in items)


def trick(name: str, **init_args: Any) -> dict[str, Any]:
    return {"class_path": f"{TRICKS}.{name}", "init_args": init_args}


def legacy_keys(config: dict[str, Any]) -> list[str]:
    """The former layout's keys in ``config``'s ``model.init_args``, and its moved class
    paths."""
    model = config.get("model") or {}
    init = model.get("init_args") or {}
    old = [k for k in init if k in NEW_HOME or k == "q_augment" and not isinstance(init[k], dict)]
    if "noise" in init and not str(model.get("class_path", "")).endswith("InfoGAN"):
        old.append("noise")
    if isinstance(init.get("optimizer"), str):
        old.append("optimizer")
    return old + moved_paths(config)


def upgrade_config(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` (a recorded or written config, as plain data) in the current layout; a new
    config comes back equal. Pure: the argument is not changed."""
    config = _renamed(copy.deepcopy(config))
    model = config.get("model") or {}
    init = model.get("init_args")
    if not isinstance(init, dict) or not legacy_keys(config):
        return config
    clash = [k for k in legacy_keys(config) if k in COUNTERPART and has_class(
        config, COUNTERPART[k])]
    if clash:
        key = clash[0]
        raise ConfigError(
            f"model.{key}: this config already has ganzoo.tricks.{COUNTERPART[key]} "
            f"({NEW_HOME[key].split(':')[0]}); set it there: the former flag and its "
            "attachment cannot be combined")
    class_path = model.get("class_path", "")
    if class_path.rsplit(".", 1)[-1] == "WGAN":
        penalty = init.pop("penalty", "gp")
        if penalty not in ("clip", "gp"):
            raise ConfigError(f"model.penalty: unknown {penalty!r}; allowed: clip, gp")
        new = "WGANClip" if penalty == "clip" else "WGANGP"
        model["class_path"] = class_path[: -len("WGAN")] + new
        init.pop("gp_weight" if penalty == "clip" else "clip_value", None)
    if not class_path.endswith("ConditionalGAN"):
        init.pop("conditioning", None)
    if not class_path.endswith("InfoGAN") and init.pop("noise", "normal") != "normal":
        raise ConfigError(f"model.noise: only InfoGAN draws uniform noise, not {class_path}")
    # the optimizer's former flags; a record of today's layout with one former flag
    # (reuse_fake) already holds the optimizer as a dict, which stays as it is
    optimizer = {new: init.pop(old) for old, new in OPTIMIZER_KEYS.items()
                 if old in init and not (old == "optimizer" and isinstance(init[old], dict))}
    if optimizer:
        init["optimizer"] = {**(init.get("optimizer") or {}), **optimizer}
    for key, section in SECTIONS.items():
        if key in init:
            value = init.pop(key)
            if value not in (None, False) or key == "channels_last":
                config.setdefault(section, {})[key] = value
    seed = init.pop("fixed_noise_seed", 0)
    if seed:
        raise ConfigError(f"model.fixed_noise_seed: {seed} is gone (the fixed latents' seed is 0)")
    alpha, beta = init.pop("label_smoothing", 0.0) or 0.0, init.pop("fake_label", 0.0) or 0.0
    if alpha or beta:
        generator = init.get("loss") or "nonsaturating"
        init["loss"] = trick("LabelSmoothing", alpha=alpha, beta=beta, generator=generator)
    tricks = list(init.get("tricks") or [])
    features = init.pop("minibatch_features", False)
    if features:
        tricks.append(trick("MinibatchFeatures", average=features == "mean"))
    std = init.pop("instance_noise", 0.0) or 0.0
    anneal = init.pop("instance_noise_anneal_steps", 0) or 0
    if std:
        tricks.append(trick("InstanceNoise", std=std, anneal_steps=anneal))
    if init.pop("d_augment", False):
        tricks.append(trick("DAugment"))
    for key, name in (("real_info_weight", "RealInfo"), ("real_consistency_weight",
                                                          "RealConsistency"),
                      ("d_weight_penalty", "DWeightPenalty")):
        weight = init.pop(key, 0.0) or 0.0
        if weight:
            tricks.append(trick(name, weight=weight))
    if init.pop("reuse_fake", False):
        tricks.append(trick("ReuseFake"))
    if tricks:
        init["tricks"] = tricks
    if "q_augment" in init and not isinstance(init["q_augment"], dict):
        q = init.pop("q_augment")
        if q:
            init["q_augment"] = trick("QAugment", ranges="shape" if q == "shape" else "affine")
    decay = init.pop("g_ema", 0.0) or 0.0
    if decay:
        trainer = config.setdefault("trainer", {})
        callbacks = trainer.get("callbacks") or []
        callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
        trainer["callbacks"] = [trick("GeneratorEMA", decay=decay), *callbacks]
    return config
