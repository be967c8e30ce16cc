"""Atomic file writing: a reader (or a crash, a kill, a full disk) never leaves a half-written
file behind. Every file ganzoo writes goes through :func:`atomic_path`: the content is written
to a temporary file in the same directory, flushed to disk, then moved over the target with
``os.replace`` (atomic on POSIX and Windows); if writing fails, the temporary file is removed
and the previous file is left as it was. Python's standard library has no such helper.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; write to it in the block. On success it replaces
    ``path``; on an error it is removed and the error propagates, ``path`` untouched.
    The temporary name keeps ``path``'s suffix, for writers that choose a format by it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json_atomic(path: str | Path, obj: Any, default=None) -> None:
    """``obj`` as indented JSON (``default`` converts what json cannot)."""
    write_text_atomic(path, json.dumps(obj, indent=2, default=default) + "\n")
