"""W&B logging that never costs a run: offline without credentials, no-op when W&B fails.

:class:`FailSafeWandbLogger` is every run's default logger (``trainer.logger`` in
:mod:`ganzoo.cli`). Without credentials (no ``WANDB_API_KEY``, no entry for the W&B host in
``~/.netrc``) it runs offline: the run lands in ``<run dir>/wandb/offline-run-*`` and can be
uploaded later with ``wandb sync <that dir>``. If starting W&B fails online it retries
offline once; if that fails too it warns once and the run goes on without W&B. Under DDP
Lightning creates the W&B run on global rank 0 only, so one training run is one W&B run.

:func:`read_offline_run` decodes an offline run's ``.wandb`` file with W&B's own protobuf
records (wandb 0.31 ships no Python reader of the file's block format).
"""

from __future__ import annotations

import json
import netrc
import os
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.loggers.logger import DummyExperiment
from lightning.pytorch.utilities import rank_zero_only, rank_zero_warn

DEFAULT_HOST = "https://api.wandb.ai"


def has_wandb_credentials(
    environ: dict[str, str] | None = None, netrc_path: str | None = None
) -> bool:
    """Whether W&B could log online: an API key in the environment or in ``~/.netrc``."""
    environ = os.environ if environ is None else environ
    if environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(environ.get("WANDB_BASE_URL", DEFAULT_HOST)).hostname or "api.wandb.ai"
    try:
        return netrc.netrc(netrc_path).authenticators(host) is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def wandb_mode(environ: dict[str, str] | None = None) -> str:
    """``WANDB_MODE`` if the user set it, else ``online`` with credentials, ``offline`` without."""
    environ = os.environ if environ is None else environ
    if environ.get("WANDB_MODE"):
        return environ["WANDB_MODE"]
    return "online" if has_wandb_credentials(environ) else "offline"


class FailSafeWandbLogger(WandbLogger):
    """Lightning's :class:`WandbLogger` that never fails or stalls a run.

    Args:
        save_dir: directory of the ``wandb/`` folder; the CLI sets it to the run directory.
        name: W&B run name; the CLI sets the ganzoo run name.
        group: W&B group; the CLI sets the benchmark name.
        project: W&B project (``$WANDB_PROJECT`` wins when set).
        mode: ``online``, ``offline`` or ``disabled``; None picks online only with credentials.
        init_timeout: seconds W&B may take to start before falling back (offline, then none).
        log_model: upload checkpoints as W&B artifacts (online only).
        **kwargs: passed on to ``wandb.init``.
    """

    def __init__(
        self,
        *,
        save_dir: str | None = None,
        name: str | None = None,
        group: str | None = None,
        project: str = "ganzoo",
        mode: str | None = None,
        init_timeout: float = 30.0,
        log_model: bool = False,
        **kwargs: Any,
    ) -> None:
        os.environ.setdefault("WANDB_SILENT", "true")
        self._mode = mode or wandb_mode()
        super().__init__(
            save_dir=save_dir or ".",
            name=name,
            project=os.environ.get("WANDB_PROJECT", project),
            log_model=log_model and self._mode == "online",
            group=group,
            **kwargs,
        )
        self._wandb_init.pop("anonymous", None)  # deprecated in wandb, warns when passed
        self._wandb_init["mode"] = self._mode
        self._init_timeout = init_timeout
        self._failed = False

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def failed(self) -> bool:
        """True once W&B could not start; the logger then does nothing."""
        return self._failed

    @property
    def experiment(self):
        if self._failed or rank_zero_only.rank != 0:
            return DummyExperiment()
        if self._experiment is None:
            self._start()
        return self._experiment if self._experiment is not None else DummyExperiment()

    def _start(self) -> None:
        import wandb

        if self._save_dir:
            Path(self._save_dir).mkdir(parents=True, exist_ok=True)
        self._wandb_init["settings"] = wandb.Settings(init_timeout=self._init_timeout)
        try:
            WandbLogger.experiment.fget(self)
            return
        except Exception as err:  # W&B down, bad key, no network, full disk, ...
            first_error = err
        if self._mode == "online":
            self._mode = self._wandb_init["mode"] = "offline"
            try:
                WandbLogger.experiment.fget(self)
                rank_zero_warn(f"W&B could not start online ({first_error!r}); logging offline")
                return
            except Exception as err:
                first_error = err
        self._failed = True
        self._experiment = None
        rank_zero_warn(f"W&B could not start ({first_error!r}); this run goes on without W&B")

    def _guarded(self, method: str, *args: Any, **kwargs: Any) -> None:
        if self._failed:
            return
        try:
            getattr(super(), method)(*args, **kwargs)
        except Exception as err:
            self._failed = True
            rank_zero_warn(f"W&B failed in {method} ({err!r}); this run goes on without W&B")

    @rank_zero_only
    def log_hyperparams(self, params, *args: Any, **kwargs: Any) -> None:
        self._guarded("log_hyperparams", params, *args, **kwargs)

    @rank_zero_only
    def log_metrics(self, metrics, step=None) -> None:
        self._guarded("log_metrics", metrics, step)

    def log_image(self, key, images, step=None, **kwargs: Any) -> None:
        self._guarded("log_image", key, images, step, **kwargs)

    def log_table(self, key, columns=None, data=None, dataframe=None, step=None) -> None:
        self._guarded("log_table", key, columns, data, dataframe, step)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """Finish the W&B run (so the next run in this process gets its own)."""
        self._guarded("finalize", status)
        if self._experiment is not None and not self._failed:
            try:
                self._experiment.finish(exit_code=0 if status == "success" else 1)
            except Exception as err:
                rank_zero_warn(f"W&B failed to finish the run ({err!r})")
            self._experiment = None


# ------------------------------------------------------------------ offline run files
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
