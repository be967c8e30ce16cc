"""No silent config change on resume, and no step past the end of a finished run.

What Lightning does with ``trainer.fit(ckpt_path=...)``: it builds the model, the data and
the callbacks from the *command's* config, then restores weights, optimizer states, loops and
callback states from the checkpoint. It never compares the two configs: a resume with another
learning rate, dataset or budget runs silently (an optimizer's learning rate is even taken
back from its saved state), and ganzoo's budget callback, which stopped a run after a batch,
let a resumed finished run take one more step.

What this module adds, called by :meth:`ganzoo.cli.GanzooCLI.fit` before ``trainer.fit``:

- :func:`resumed_run` finds what the checkpoint was trained with: the ``record.json`` of its
  run directory (the resolved config), else the model and data hyperparameters Lightning
  stored in the checkpoint;
- :func:`differences` compares the resolved configs key by key. Protocol keys (the model,
  the data, ``seed_everything``, and the settings of the callbacks in
  :data:`PROTOCOL_CALLBACKS`) must be equal; budget keys (:data:`BUDGET_KEYS`) too, unless
  the command says ``--extend_budget=true``; everything else is runtime and may differ
  (devices, nodes, accelerator, precision, logger, progress bar, speed knobs, checkpoints,
  how often to evaluate, where caches live, ...);
- :func:`check_resume` raises one line naming the differing keys, or returns the line that
  says the run is already done (finished or diverged), so the CLI trains nothing and changes
  no file.

The budget callback (:class:`ganzoo.training.Budget`) also checks its limits when training
starts, so a checkpoint at or past the budget takes no step whatever its record says.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganzoo.errors import ConfigError
from ganzoo.runs.records import read_record

#: The sections whose every key decides what a run learns (``model``, ``data``) and its seed.
PROTOCOL_SECTIONS = ("model", "data", "seed_everything")
#: Keys of those sections that only say how or where, not what: the data's location and
#: loading, and Adam's fused kernel (the same update up to rounding).
RUNTIME_KEYS = ("data.root", "data.download", "data.num_workers", "data.tensor_batches",
                "model.init_args.optimizer.fused")
#: How long a run trains: changing these needs ``--extend_budget=true``.
BUDGET_KEYS = ("budget", "trainer.max_epochs", "trainer.max_steps", "trainer.min_epochs",
               "trainer.min_steps", "trainer.limit_train_batches")
#: Callbacks that change what is learned or how it is measured, by class name, with the
#: settings of theirs that do not (when to evaluate, where to cache); adding or removing
#: one changes the protocol. Other callbacks' settings are runtime.
PROTOCOL_CALLBACKS = {
    "GeneratorEMA": (),
    "EvaluationCallback": ("every_n_epochs", "every_n_g_steps", "cache_dir"),
}
NOT_SET = "(not set)"


@dataclass(frozen=True)
class ResumedRun:
    """What a checkpoint was trained with: ``config`` (the resolved config of its record, or
    the model and data sections rebuilt from the checkpoint's hyperparameters, ``source``
    says which) and the record's ``status`` (None without a record); ``run_dir`` holds the
    record (else the checkpoint's folder)."""

    run_dir: Path
    config: dict[str, Any]
    source: str
    status: str | None
    record: dict[str, Any] | None


def plain(value: Any) -> Any:
    """``value`` as JSON would store it (tuples as lists, paths as strings)."""
    return json.loads(json.dumps(value, default=str))


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys of a nested config, ``trainer.callbacks`` keyed by callback class name."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if name == "trainer.callbacks":
            out.update(callback_keys(value))
        elif isinstance(value, dict) and value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def callback_keys(callbacks: Any) -> dict[str, Any]:
    """``trainer.callbacks.<Class>.<setting>`` for the :data:`PROTOCOL_CALLBACKS` a config
    lists (a callback without settings: ``trainer.callbacks.<Class>`` = its class path)."""
    entries = callbacks if isinstance(callbacks, list) else [callbacks] if callbacks else []
    out: dict[str, Any] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        name = str(entry.get("class_path", "")).rsplit(".", 1)[-1]
        if name not in PROTOCOL_CALLBACKS:
            continue
        settings = {k: v for k, v in (entry.get("init_args") or {}).items()
                    if k not in PROTOCOL_CALLBACKS[name]}
        key = f"trainer.callbacks.{name}"
        out.update(flatten(settings, f"{key}.") if settings else {key: entry["class_path"]})
    return out


def is_under(key: str, prefixes: tuple[str, ...]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def kind(key: str) -> str:
    """``protocol``, ``budget`` or ``runtime``."""
    if is_under(key, BUDGET_KEYS):
        return "budget"
    if is_under(key, RUNTIME_KEYS):
        return "runtime"
    if is_under(key, PROTOCOL_SECTIONS) or key.startswith("trainer.callbacks."):
        return "protocol"
    return "runtime"


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def differences(recorded: dict[str, Any], given: dict[str, Any], *,
                sections: tuple[str, ...] | None = None) -> list[tuple[str, str, Any, Any]]:
    """``(key, kind, recorded value, given value)`` of every protocol or budget key whose
    value differs (a key one side lacks shows as :data:`NOT_SET`), in key order; only keys
    under ``sections`` when given (a checkpoint without a record knows model and data)."""
    old, new = flatten(plain(recorded)), flatten(plain(given))
    found = []
    for key in sorted(set(old) | set(new)):
        what = kind(key)
        if what == "runtime" or (sections and not is_under(key, sections)):
            continue
        a, b = old.get(key, NOT_SET), new.get(key, NOT_SET)
        if not same(a, b):
            found.append((key, what, a, b))
    return found


def run_dir_of(checkpoint: Path) -> Path | None:
    """The run directory a checkpoint belongs to: the nearest of its folder and that folder's
    parent holding a ``record.json`` (``<run>/checkpoints/last.ckpt``, ``<run>/hpc_ckpt_1.ckpt``)."""
    for folder in (checkpoint.parent, checkpoint.parent.parent):
        if (folder / "record.json").is_file():
            return folder
    return None


def config_from_checkpoint(checkpoint: Path) -> dict[str, Any]:
    """The model and data sections of a config, from the hyperparameters Lightning stores in
    a checkpoint (``hyper_parameters``, ``datamodule_hyper_parameters``)."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False, mmap=True)
    model = dict(state.get("hyper_parameters") or {})
    data = dict(state.get("datamodule_hyper_parameters") or {})
    return {"model": {"init_args": model}, "data": data}


def resumed_run(checkpoint: str | Path) -> ResumedRun:
    """What ``checkpoint`` was trained with (see :class:`ResumedRun`)."""
    checkpoint = Path(checkpoint)
    run_dir = run_dir_of(checkpoint)
    record = read_record(run_dir) if run_dir is not None else None
    if run_dir is not None and record and isinstance(record.get("config"), dict):
        return ResumedRun(run_dir, record["config"], f"{run_dir}/record.json",
                          record.get("status"), record)
    return ResumedRun(checkpoint.parent, config_from_checkpoint(checkpoint), str(checkpoint),
                      None, None)


def show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def check_resume(run: ResumedRun, given: dict[str, Any], *, extend_budget: bool,
                 given_model_data: dict[str, Any] | None = None) -> str | None:
    """Raise :class:`ConfigError` (one line naming the keys) when the command's resolved
    config ``given`` differs from the run's in a protocol key, or in a budget key without
    ``extend_budget``; return the line saying the run is already done when there is nothing
    to train (None: resume). A checkpoint without a record is compared on its model and data
    hyperparameters, against ``given_model_data`` (the built model's and data module's)."""
    if run.record is None:
        found = differences(run.config, given_model_data or given, sections=("model", "data"))
    else:
        found = differences(run.config, given)
    budget_only = found and all(what == "budget" for _, what, _, _ in found)
    if extend_budget:
        found = [f for f in found if f[1] != "budget"]
    if found:
        was = ", ".join(f"{key}={show(a)}" for key, _, a, _ in found)
        gives = ", ".join(show(b) for _, _, _, b in found)
        hint = ("to train it further, add --extend_budget=true" if budget_only else
                "resume with the run's own config, or start a new run")
        raise ConfigError(f"ckpt_path: this run was trained with {was}; the command gives "
                          f"{gives} ({hint})")
    if run.status == "diverged":
        g_steps = ((run.record or {}).get("progress") or {}).get("g_steps")
        return f"ganzoo fit: {run.run_dir} diverged at G step {g_steps}; nothing to resume"
    if run.status == "finished" and not (extend_budget and budget_only):
        g_steps = ((run.record or {}).get("progress") or {}).get("g_steps")
        return (f"ganzoo fit: {run.run_dir} is already finished ({g_steps} G "
                f"steps); nothing to do (to train it further: a larger budget with "
                f"--extend_budget=true)")
    return None
