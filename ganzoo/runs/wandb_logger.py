"""W&B logging that never costs a run: offline without credentials, no-op when W&B fails.

:class:`FailSafeWandbLogger` is every run's default logger (``trainer.logger`` in
:mod:`ganzoo.cli`). Lightning's ``WandbLogger`` lets a W&B failure (service down, no network,
full disk) fail the run and asks for a login without credentials; this one logs offline without
credentials (``wandb sync`` later), retries offline once when starting online fails, and else,
or when W&B fails while logging, warns once and goes on without W&B. Errors raised by its caller
(a wrong argument: our bug) propagate.
"""

from __future__ import annotations

import netrc
import os
from pathlib import Path
from traceback import walk_tb
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
    except (OSError, netrc.NetrcParseError):  # no ~/.netrc, or one W&B could not read either
        return False


def raised_inside_wandb(err: BaseException) -> bool:
    """Whether ``err`` came through W&B's own code (service down, disk full, bad key) rather than
    from its caller alone, whose errors (a wrong argument: our bug) must propagate."""
    import wandb

    root = os.path.dirname(wandb.__file__) + os.sep
    return any(frame.f_code.co_filename.startswith(root) for frame, _ in walk_tb(err.__traceback__))


class FailSafeWandbLogger(WandbLogger):
    """Lightning's :class:`WandbLogger` that never fails or stalls a run (the CLI sets
    ``save_dir`` to the run directory, ``name`` to the run name, ``group`` to the benchmark).

    Args:
        project: W&B project (``$WANDB_PROJECT`` wins when set).
        mode: ``online``, ``offline`` or ``disabled``; default: ``$WANDB_MODE``, else online
            only with credentials.
        init_timeout: seconds W&B may take to start before falling back (offline, then none).
        log_model: upload checkpoints as W&B artifacts (online only).
        **kwargs: passed on to ``wandb.init``.
    """

    def __init__(self, *, save_dir: str | None = None, name: str | None = None,
                 group: str | None = None, project: str = "ganzoo", mode: str | None = None,
                 init_timeout: float = 30.0, log_model: bool = False, **kwargs: Any) -> None:
        os.environ.setdefault("WANDB_SILENT", "true")
        self.mode = mode or os.environ.get("WANDB_MODE") or (
            "online" if has_wandb_credentials() else "offline")
        super().__init__(save_dir=save_dir or ".", name=name, group=group,
                         project=os.environ.get("WANDB_PROJECT", project),
                         log_model=log_model and self.mode == "online", **kwargs)
        self._wandb_init.pop("anonymous", None)  # deprecated in wandb, warns when passed
        self._wandb_init["mode"] = self.mode
        self._init_timeout = init_timeout
        self.failed = False  # once W&B could not start or failed: the logger does nothing

    @property
    def experiment(self):
        if self.failed or rank_zero_only.rank != 0:
            return DummyExperiment()
        if self._experiment is None:
            self._start()
        return self._experiment if self._experiment is not None else DummyExperiment()

    def _start(self) -> None:
        import wandb

        if self._save_dir:
            Path(self._save_dir).mkdir(parents=True, exist_ok=True)
        self._wandb_init["settings"] = wandb.Settings(init_timeout=self._init_timeout)
        modes = ["online", "offline"] if self.mode == "online" else [self.mode]
        for mode in modes:
            self.mode = self._wandb_init["mode"] = mode
            try:
                WandbLogger.experiment.fget(self)
            # wandb.init fails in many ways (down, bad key, no network, full disk): all are
            # reported below and the run goes on
            except Exception as err:
                error = err
                continue
            if mode != modes[0]:
                rank_zero_warn(f"W&B could not start online ({error!r}); logging offline")
            return
        self._fail(f"could not start ({error!r})")

    def _fail(self, why: str) -> None:
        self.failed = True
        self._experiment = None
        rank_zero_warn(f"W&B {why}; this run goes on without W&B")

    def _guarded(self, what: str, call, *args: Any, **kwargs: Any) -> None:
        if self.failed:
            return
        try:
            call(*args, **kwargs)
        except Exception as err:
            if not raised_inside_wandb(err):
                raise
            self._fail(f"failed in {what} ({err!r})")

    def log_hyperparams(self, params, *args: Any, **kwargs: Any) -> None:
        self._guarded("log_hyperparams", super().log_hyperparams, params, *args, **kwargs)

    def log_metrics(self, metrics, step=None) -> None:
        self._guarded("log_metrics", super().log_metrics, metrics, step)

    def log_image(self, key, images, step=None, **kwargs: Any) -> None:
        self._guarded("log_image", super().log_image, key, images, step, **kwargs)

    def log_table(self, key, columns=None, data=None, dataframe=None, step=None) -> None:
        self._guarded("log_table", super().log_table, key, columns, data, dataframe, step)

    def finalize(self, status: str) -> None:
        """Finish the W&B run (so the next run in this process gets its own)."""
        self._guarded("finalize", super().finalize, status)
        if self._experiment is not None and not self.failed:
            self._guarded("finish", self._experiment.finish, exit_code=int(status != "success"))
        self._experiment = None
