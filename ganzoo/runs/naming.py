"""Where a run lives: ``<runs_dir>/<benchmark>/<run_name>/``, from the config LightningCLI parsed.

``ganzoo fit`` places its run with :func:`run_location`; ``ganzoo sweep`` needs the directory
before a run starts (to skip finished runs) and parses its command with the same parser
(``ganzoo.cli.planned_location``, passed in as ``locate``). Written here: the name, from the command line, which the
parsed config no longer tells apart from the defaults: the ``run_name`` key, else the config file
stems joined by ``+`` and each override ``key=value`` (sorted, shortened to its last component
unless ambiguous) joined by ``__``, e.g. ``dcgan_mnist5k__seed_everything=1``; long names end in a
hash. :data:`NOT_IN_NAME` keys choose only the location, checkpoint or display: they enter
neither run names nor table rows.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NOT_IN_NAME = ("benchmark", "run_name", "runs_dir", "trainer.default_root_dir", "ckpt_path",
               "checkpoint_every", "trainer.logger", "trainer.enable_progress_bar",
               "trainer.enable_model_summary", "extend_budget", "ddp_timeout")
SUBCOMMANDS = ("fit", "validate", "test", "predict")
MAX_NAME_LENGTH = 120


@dataclass(frozen=True)
class RunLocation:
    benchmark: str
    name: str
    dir: Path


def is_under(key: str, prefixes: tuple[str, ...]) -> bool:
    """Whether the dotted ``key`` is one of ``prefixes`` or lies inside one."""
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def split_cli_args(args: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Config file paths and ``(key, value)`` overrides, in order, from LightningCLI args
    (``--config X``, ``--config=X``, ``-c X``, ``--key=value``, ``--key value``)."""
    tokens = list(args[1:] if args and args[0] in SUBCOMMANDS else args)
    configs: list[str] = []
    overrides: list[tuple[str, str]] = []
    while tokens:
        token = tokens.pop(0)
        if not token.startswith("-"):
            continue
        key, sep, value = token.lstrip("-").partition("=")
        if not sep:
            value = tokens.pop(0) if tokens and not tokens[0].startswith("--") else "true"
        if key in ("config", "c"):
            configs.append(value)
        else:
            overrides.append((key, value))
    return configs, overrides


def run_name(args: list[str], explicit: str | None = None) -> str:
    """The run name of a LightningCLI command line (see the module docstring)."""
    if explicit:
        return sanitize(explicit)
    configs, overrides = split_cli_args(args)
    values = {k: v for k, v in overrides if not is_under(k, NOT_IN_NAME)}  # the last one wins
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


def run_location(config: Any, args: list[str]) -> RunLocation:
    """Benchmark (``benchmark``, else ``data.dataset``), name and directory of a run
    (``trainer.default_root_dir`` when set) from its parsed config and command line."""
    benchmark = sanitize(str(config.benchmark or config.data.dataset))
    root = config.trainer.default_root_dir
    if root:
        return RunLocation(benchmark, Path(str(root)).name, Path(str(root)))
    name = run_name(args, config.run_name)
    return RunLocation(benchmark, name, Path(str(config.runs_dir)) / benchmark / name)
