"""Where a run lives: ``<runs_dir>/<benchmark>/<run_name>/``, derived from its command line.

The same function serves ``ganzoo fit`` (which sets ``trainer.default_root_dir`` from it when
none is given) and ``ganzoo sweep`` (which needs the directory *before* launching a run, to
skip runs that already finished). Both read the same inputs, the LightningCLI arguments, so
they always agree, whether the run was started locally or by ``wandb agent``.

- ``run_name``: the config file stems joined by ``+``, then each override ``key=value``
  (sorted by key; the key shortened to its last component unless that is ambiguous), joined
  by ``__``. E.g. ``--config experiments/dcgan_mnist5k.yaml --seed_everything=1`` gives
  ``dcgan_mnist5k__seed_everything=1``. Long names are cut and end in a hash of the full one.
- ``benchmark``: the ``benchmark`` key if set, else ``data.dataset`` (the data module's
  default dataset when neither is set).
- ``runs_dir``: the ``runs_dir`` key, default ``runs``.

Keys that only choose the location (``benchmark``, ``run_name``, ``runs_dir``,
``trainer.default_root_dir``) or what is displayed and logged (``trainer.logger``,
``trainer.enable_progress_bar``, ``trainer.enable_model_summary``) do not enter the name:
they do not change the results.
"""

from __future__ import annotations

import hashlib
import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

LOCATION_KEYS = ("benchmark", "run_name", "runs_dir", "trainer.default_root_dir")
NOT_IN_NAME = (
    *LOCATION_KEYS,
    "ckpt_path",  # a resumed run continues in its own directory
    "checkpoint_every",  # how often it is saved, not what it trains
    "trainer.logger",
    "trainer.enable_progress_bar",
    "trainer.enable_model_summary",
)
SUBCOMMANDS = ("fit", "validate", "test", "predict")
DEFAULT_RUNS_DIR = "runs"
MAX_NAME_LENGTH = 120


@dataclass(frozen=True)
class RunLocation:
    benchmark: str
    name: str
    dir: Path


def split_cli_args(args: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Config file paths and ``(key, value)`` overrides, in order, from LightningCLI args.

    Understands ``--config X``, ``--config=X``, ``-c X``, ``--key=value`` and ``--key value``.
    A leading subcommand (``fit``, ...) is skipped.
    """
    tokens = list(args)
    if tokens and tokens[0] in SUBCOMMANDS:
        tokens = tokens[1:]
    configs: list[str] = []
    overrides: list[tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if not token.startswith("-"):
            continue
        key, sep, value = token.lstrip("-").partition("=")
        if not sep:
            has_value = i < len(tokens) and not tokens[i].startswith("--")
            value = tokens[i] if has_value else "true"
            i += has_value
        if key in ("config", "c"):
            configs.append(value)
        else:
            overrides.append((key, value))
    return configs, overrides


def run_name(args: list[str]) -> str:
    """The deterministic run name of a LightningCLI command line (see the module docstring)."""
    configs, overrides = split_cli_args(args)
    explicit = dict(overrides).get("run_name")
    if explicit:
        return sanitize(explicit)
    values = {
        k: v
        for k, v in overrides  # the last one wins
        if not any(k == p or k.startswith(p + ".") for p in NOT_IN_NAME)
    }
    last = [k.rsplit(".", 1)[-1] for k in values]
    parts = ["+".join(Path(c).stem for c in configs) or "run"]
    for key in sorted(values):
        short = key.rsplit(".", 1)[-1]
        parts.append(f"{short if last.count(short) == 1 else key}={values[key]}")
    name = sanitize("__".join(parts))
    if len(name) > MAX_NAME_LENGTH:
        digest = hashlib.sha1(name.encode()).hexdigest()[:10]
        name = f"{name[: MAX_NAME_LENGTH - 12]}__{digest}"
    return name


def sanitize(text: str) -> str:
    """Keep a name safe as one path component (letters, digits, ``._=+-``)."""
    return re.sub(r"[^A-Za-z0-9._=+-]+", "-", text).strip("-.") or "run"


def resolve_run_location(args: list[str]) -> RunLocation:
    """Benchmark, name and directory of the run that ``ganzoo fit <args>`` would make."""
    configs, overrides = split_cli_args(args)
    merged: dict[str, Any] = {}
    for path in configs:
        merged.update(flatten(load_yaml(path)))
    merged.update(dict(overrides))
    benchmark = sanitize(
        str(merged.get("benchmark") or merged.get("data.dataset") or default_dataset())
    )
    name = run_name(args)
    root = merged.get("trainer.default_root_dir")
    if root:
        return RunLocation(benchmark, Path(str(root)).name, Path(str(root)))
    runs_dir = Path(str(merged.get("runs_dir") or DEFAULT_RUNS_DIR))
    return RunLocation(benchmark, name, runs_dir / benchmark / name)


def load_yaml(path: str | Path) -> dict[str, Any]:
    with open(path) as fh:
        data = yaml.safe_load(fh)
    return data if isinstance(data, dict) else {}


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (lists and scalars are leaves)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{full}."))
        else:
            flat[full] = value
    return flat


def default_dataset() -> str:
    from ganzoo.data import GANDataModule

    return inspect.signature(GANDataModule.__init__).parameters["dataset"].default
