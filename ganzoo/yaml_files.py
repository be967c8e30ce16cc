"""Reading the YAML files users write (configs, sweeps), with one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ganzoo.errors import ConfigError


def read_yaml(path: str | Path, what: str) -> Any:
    """The YAML data in ``path``; a one-line error ``<what>: <path> is not valid YAML at line
    L, column C: <problem>`` (or cannot be read)."""
    try:
        return yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{what}: {path} is not valid YAML{where}: {problem}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{what}: cannot read {path}: {err}") from None
