"""Reads offline W&B runs back for the tests: decodes a ``.wandb`` file with W&B's own protobuf
records (wandb 0.31 ships no Python reader of the file's block format)."""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_HEADER = struct.Struct("<4sHB")  # ":W&B", magic 0xBEE1, version
_RECORD = struct.Struct("<IHB")  # crc32, length, type (1 full, 2 first, 3 middle, 4 last)
_BLOCK = 32768


def iter_wandb_records(path: str | Path) -> Iterator[Any]:
    """The protobuf ``Record`` messages of a ``.wandb`` file (LevelDB-log framing).

    A record still being written (the file ends inside it) ends the iteration.
    """
    from google.protobuf.message import DecodeError
    from wandb.proto import wandb_internal_pb2

    data = Path(path).read_bytes()
    ident, magic, _version = _HEADER.unpack_from(data, 0)
    if ident != b":W&B" or magic != 0xBEE1:
        raise ValueError(f"{path}: not a W&B run file")
    pos, pending = _HEADER.size, b""
    while pos + _RECORD.size <= len(data):
        left_in_block = _BLOCK - pos % _BLOCK
        if left_in_block < _RECORD.size:
            pos += left_in_block  # block trailer: zero padding
            continue
        _crc, length, kind = _RECORD.unpack_from(data, pos)
        if kind == 0 and length == 0:
            pos += left_in_block
            continue
        end = pos + _RECORD.size + length
        if end > len(data):
            return  # still being written
        chunk = data[pos + _RECORD.size : end]
        pos = end
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            try:
                record.ParseFromString(pending)
            except DecodeError:
                if pos >= len(data.rstrip(b"\0")):
                    return  # the tail was not flushed yet
                raise
            yield record
            pending = b""


def read_offline_run(run_dir: str | Path, wait_s: float = 30.0) -> dict[str, Any]:
    """Summarise an offline W&B run directory (``.../wandb/offline-run-*``).

    W&B's writer process may still be flushing the file after ``finish()`` returns: this
    waits up to ``wait_s`` seconds for the run's exit record.

    Returns ``{"history": [row, ...], "config": {...}, "summary": {...}, "files": [...],
    "complete": bool}`` where each history row maps keys to their decoded JSON values
    (nested keys, such as the parts of a logged image, become nested dicts).
    """
    run_dir = Path(run_dir)
    deadline = time.monotonic() + wait_s
    while True:
        files = sorted(run_dir.glob("*.wandb"))
        out = _summarise(files[0]) if files else None
        if (out and out["complete"]) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if out is None:
        raise FileNotFoundError(f"{run_dir}: no .wandb file")
    return out


def _summarise(path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {
        "history": [],
        "config": {},
        "summary": {},
        "files": [],
        "complete": False,
    }
    for record in iter_wandb_records(path):
        kind = record.WhichOneof("record_type")
        if kind == "history":
            row: dict[str, Any] = {}
            for item in record.history.item:
                _set_item(row, item)
            out["history"].append(row)
        elif kind == "config":
            for item in record.config.update:
                _set_item(out["config"], item)
        elif kind == "summary":
            for item in record.summary.update:
                _set_item(out["summary"], item)
        elif kind == "files":
            out["files"] += [f.path for f in record.files.files]
        elif kind == "exit":
            out["complete"] = True
    return out


def _set_item(target: dict[str, Any], item: Any) -> None:
    path = [item.key] if item.key else list(item.nested_key)
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = json.loads(item.value_json)
