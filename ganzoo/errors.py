"""User-facing errors: one line, naming the field and what is allowed."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager


class GanzooError(Exception):
    """Base class for errors the CLI reports as one line without a traceback."""


class ConfigError(GanzooError, ValueError):
    """A configuration value is invalid (bad field value, impossible combination)."""


class DataNotFoundError(GanzooError, FileNotFoundError):
    """Dataset files are missing and could not be fetched."""


def require(condition: bool, message: str) -> None:
    """Raise :class:`ConfigError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(message)


def find_user_error(err: BaseException | None) -> GanzooError | None:
    """The :class:`GanzooError` behind ``err`` (jsonargparse wraps errors raised in
    ``__init__`` while instantiating classes), or None for a genuine bug."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, GanzooError):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


@contextmanager
def one_line_errors() -> Iterator[None]:
    """A user error inside the block prints ``ganzoo: error: ...`` and exits with status 2;
    anything else (a bug) keeps its traceback."""
    try:
        yield
    except Exception as err:
        user_error = find_user_error(err)
        if user_error is None:
            raise
        print(f"ganzoo: error: {user_error}", file=sys.stderr)
        sys.exit(2)
