"""Command line: ``ganzoo fit --config experiments/dcgan_mnist5k.yaml`` (LightningCLI).

Training subcommands (``fit``, ``validate``, ...) are LightningCLI's: a config picks the model
by ``class_path`` (one of :data:`ganzoo.models.VARIANTS`), its tricks by ``class_path`` too
(:mod:`ganzoo.tricks`), and any field can be overridden, e.g. ``--model.init_args.lr_g=1e-4
--data.batch_size=32``. The data module's shape and class count are linked into the model.
Every fit gets the callbacks of :mod:`ganzoo.training`: ``budget.*`` (max_g_steps,
max_images) and ``speed.*`` (channels_last, compile, tf32) are their config sections. A config
or override of the former layout (tricks as model flags, ``WGAN`` with ``penalty``) runs
upgraded (:func:`upgrade_args`). The benchmark commands (``sweep``, ``table``, ``reproduce``,
``compare``) live in :mod:`ganzoo.bench`.

User errors (unknown model or dataset, impossible image size, invalid values, missing
config file) print one line, ``ganzoo: error: <field>: <what is allowed>``, and exit 2.

Every run gets a directory ``runs/<benchmark>/<run_name>/`` (``trainer.default_root_dir``
unless set; see :mod:`ganzoo.runs.naming`) holding ``record.json`` (written by
:class:`ganzoo.runs.RunRecordCallback`, added to every run), ``config.yaml``,
``checkpoints/``, ``grids/`` and ``wandb/`` (the default logger is
:class:`ganzoo.runs.FailSafeWandbLogger`: offline without credentials, never fails a run;
``--trainer.logger=false`` turns it off). The top-level keys ``benchmark``, ``run_name`` and
``runs_dir`` choose that directory.

``ganzoo fit`` ends with one line (global rank 0), also when the run diverged, was interrupted
or failed, e.g. ``ganzoo fit: finished in 1m52s, 1000 G steps; fid=4.12 is=8.310
code_accuracy=0.930; record: runs/mnist5k/<run>/record.json``.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch
import yaml
from jsonargparse import Namespace
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.utilities import rank_zero_only

from ganzoo.bench.table import final_metrics, fmt
from ganzoo.data import GANDataModule
from ganzoo.errors import GanzooError, one_line_errors, require
from ganzoo.models import VARIANTS, GANModule
from ganzoo.models.legacy import legacy_keys, upgrade_config
from ganzoo.runs.naming import RunLocation, run_location, split_cli_args
from ganzoo.runs.records import RunRecordCallback, clock, read_record, with_model_hparams
from ganzoo.training import (
    Budget,
    DivergenceGuard,
    GuardedCheckpoint,
    InterruptCheckpoint,
    LocalCheckpointIO,
    PeriodicCheckpoint,
    RankStreams,
    SpeedKnobs,
)
from ganzoo.training.checkpoints import CHECKPOINT_EVERY
from ganzoo.training.distributed import (
    check_launch_env,
    ddp_strategy,
    ddp_timeout,
    distributed_error,
)
from ganzoo.training.hooks import skip_unused_step_hooks
from ganzoo.training.resume_guard import check_resume, resumed_run
from ganzoo.training.slurm import RequeueAtBatchEnd, hpc_checkpoint, under_slurm
from ganzoo.tricks import GeneratorEMA
from ganzoo.yaml_files import read_yaml

DDP_STRATEGY = "ddp_find_unused_parameters_true"
WANDB_LOGGER = "ganzoo.runs.FailSafeWandbLogger"


class OneLineParser(LightningArgumentParser):
    """Reports parse errors in one line instead of the usage text."""

    def error(self, message: str, ex: Exception | None = None):
        raise GanzooError(condense_parser_error(str(message)))


MODEL_NAMES = tuple(VARIANTS)


def condense_parser_error(message: str) -> str:
    """Turn jsonargparse's multi-line report into ``<field>: <first real problem>``."""
    text = message.replace("\\n", "\n")
    keys = re.findall(r'Parser key "([^"]+)"', text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    problems = [
        line[2:].strip("'\"") for line in lines if line.startswith("- ") and "NoneType" not in line
    ]
    detail = problems[0] if problems else (lines[1] if len(lines) > 1 else lines[0])
    detail = " ".join(re.sub(r'Parser key "[^"]+":', "", detail).split()).strip("'\" ")
    field = ".init_args.".join(keys) if keys else ""
    if "import path" in detail:
        field = "model.class_path" if field == "model" else field
        detail += f"; allowed: {', '.join(MODEL_NAMES)}"
    return f"{field}: {detail}" if field else detail


class GanzooCLI(LightningCLI):
    """LightningCLI over :class:`GANModule` subclasses and :class:`GANDataModule`."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.link_arguments(
            "data.data_shape", "model.init_args.data_shape", apply_on="instantiate"
        )
        parser.link_arguments(
            "data.num_classes", "model.init_args.num_classes", apply_on="instantiate"
        )
        parser.add_lightning_class_args(Budget, "budget")
        parser.add_lightning_class_args(SpeedKnobs, "speed")
        parser.add_argument(
            "--benchmark",
            type=str | None,
            default=None,
            help="Benchmark of this run (default: data.dataset).",
        )
        parser.add_argument(
            "--run_name",
            type=str | None,
            default=None,
            help="Run name (default: derived from the config files and overrides).",
        )
        parser.add_argument(
            "--runs_dir", type=str, default="runs", help="Root of the run directories."
        )
        parser.add_argument(
            "--checkpoint_every",
            type=int,
            default=CHECKPOINT_EVERY,
            help="Write checkpoints/last.ckpt every this many generator steps (0: only at "
            "epoch ends, a minute or more apart), so a killed run resumes with --ckpt_path "
            "last losing at most that.",
        )
        parser.add_argument(
            "--extend_budget",
            type=bool,
            default=False,
            help="With --ckpt_path: let the budget (budget.*, trainer.max_epochs, ...) differ "
            "from the run's, to train a run further; any other protocol change stays an error.",
        )
        parser.add_argument(
            "--ddp_timeout",
            type=float | None,
            default=None,
            help="Seconds DDP waits for every process to join (and for each collective); "
            "default $GANZOO_DDP_TIMEOUT, else Lightning's 30 minutes.",
        )

    def parse_arguments(self, parser: LightningArgumentParser, args) -> None:
        """Keeps the raw arguments: the run name derives from them (ganzoo.runs.naming)."""
        raw = sys.argv[1:] if args is None else args
        self.raw_args = list(raw) if isinstance(raw, list | tuple) else []
        for path in split_cli_args(self.raw_args)[0]:
            check_config_file(path)
        super().parse_arguments(parser, upgrade_args(expand_bases(self.raw_args)) if args is None
                                or isinstance(args, list | tuple) else args)
        # before LightningCLI reads the checkpoint's hyperparameters (a traceback otherwise)
        sub = self.config.get("subcommand")
        section = self.config.get(sub) if sub else self.config
        check_checkpoint(section.get("ckpt_path") if section is not None else None)

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        trainer = config.trainer
        several = wants_several_devices(trainer.devices) or (trainer.num_nodes or 1) > 1
        if trainer.strategy == "auto" and several:
            # D steps leave G's parameters without gradients (and vice versa): plain DDP
            # raises "parameters that were not used in producing the loss".
            trainer.strategy = DDP_STRATEGY
        if trainer.sync_batchnorm and (
            str(trainer.accelerator) == "cpu" or not torch.cuda.is_available()
        ):
            raise GanzooError(
                "trainer.sync_batchnorm: torch's SyncBatchNorm runs on GPUs only; on CPU each "
                "process normalizes its own batch (leave it false)"
            )
        every = config.get("checkpoint_every", CHECKPOINT_EVERY)
        require(every >= 0, f"checkpoint_every: must be >= 0, got {every}")
        check_launch_env(trainer.num_nodes, trainer.devices)
        ddp_timeout(config.get("ddp_timeout"))  # a bad $GANZOO_DDP_TIMEOUT fails here
        max_epochs = trainer.max_epochs
        if max_epochs is not None and max_epochs < -1:
            raise GanzooError(
                f"trainer.max_epochs: must be >= 0, or -1 for no limit; got {max_epochs}"
            )
        self.location = run_location(config, self.raw_args)
        if trainer.default_root_dir is None:
            trainer.default_root_dir = str(self.location.dir)
        if self.subcommand == "fit":
            config.ckpt_path = resume_point(config.get("ckpt_path"), Path(trainer.default_root_dir),
                                            checkpointing=trainer.enable_checkpointing is not False)
        try:
            Path(trainer.default_root_dir).mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise GanzooError(
                f"trainer.default_root_dir: cannot create {trainer.default_root_dir}: "
                f"{err.strerror or err}"
            ) from None
        logger = trainer.logger
        if getattr(logger, "class_path", None) == WANDB_LOGGER:
            init = logger.init_args
            # absolute: a W&B service shared with another process resolves paths in its own cwd
            init.save_dir = init.save_dir or str(Path(trainer.default_root_dir).resolve())
            init.name = init.name or Path(trainer.default_root_dir).name
            init.group = init.group or self.location.benchmark
            if config.get("ckpt_path"):  # a resumed run continues its W&B run
                previous = read_record(trainer.default_root_dir) or {}
                init.id = init.get("id") or previous.get("wandb_id")

    def instantiate_trainer(self, **kwargs):
        parser = self._parser(self.subcommand)
        config = self.config.get(str(self.subcommand), self.config)
        resolved = yaml.safe_load(parser.dump(config, skip_none=False, skip_check=True))
        record = RunRecordCallback(
            config=resolved,
            argv=["ganzoo", *self.raw_args],
            benchmark=self.location.benchmark,
            run_name=Path(config.trainer.default_root_dir).name,
        )
        given = self._get(self.config_init, "trainer", default={}).get("callbacks") or []
        given = given if isinstance(given, list) else [given]
        if config.trainer.enable_checkpointing is not False and not any(
            isinstance(c, ModelCheckpoint) for c in given
        ):
            # Lightning's default checkpoint, except that it never saves a diverged model
            kwargs.setdefault("callbacks", [*given, GuardedCheckpoint()])
        trainer = super().instantiate_trainer(**kwargs)
        # G's average moves before any callback samples from it in the same batch, and the
        # divergence guard marks a run before any callback evaluates or checkpoints it
        first = [c for c in trainer.callbacks if isinstance(c, GeneratorEMA)]
        rest = [c for c in trainer.callbacks if not isinstance(c, GeneratorEMA)]
        trainer.callbacks = [*first, DivergenceGuard(), *rest, RankStreams(), record]
        for checkpoint in trainer.checkpoint_callbacks:
            if getattr(checkpoint, "dirpath", None) is None:
                checkpoint.dirpath = str(Path(trainer.default_root_dir) / "checkpoints")
            if getattr(checkpoint, "save_last", False) is None:
                # so that the same command plus `--ckpt_path last` resumes the run (its
                # directory does not depend on ckpt_path: ganzoo.runs.naming)
                checkpoint.save_last = True
                # a resumed run rewrites last.ckpt; Lightning would write last-v1.ckpt beside it
                checkpoint._enable_version_counter = False
        if trainer.checkpoint_callbacks:
            dirpath = trainer.checkpoint_callbacks[0].dirpath
            trainer.callbacks.append(InterruptCheckpoint(dirpath))
            every = config.get("checkpoint_every", CHECKPOINT_EVERY)
            if every:
                trainer.callbacks.append(PeriodicCheckpoint(dirpath, every))
        # last: its hpc checkpoint is taken after everything else a batch end does
        trainer.callbacks.append(RequeueAtBatchEnd())
        skip_unused_step_hooks(trainer.callbacks)
        if type(trainer.strategy.checkpoint_io) is TorchCheckpointIO:  # not one the config chose
            trainer.strategy.checkpoint_io = LocalCheckpointIO()
        return trainer

    def _instantiate_trainer(self, config: dict[str, Any], callbacks: list) -> Any:
        """With ``ddp_timeout``, a DDP strategy given by name is built with that timeout."""
        section = self.config.get(str(self.subcommand), self.config)
        seconds = ddp_timeout(section.get("ddp_timeout"))
        strategy = config.get("strategy")
        if seconds is not None and isinstance(strategy, str) and strategy.startswith("ddp"):
            config = {**config, "strategy": ddp_strategy(strategy, seconds)}
        return super()._instantiate_trainer(config, callbacks)

    def fit(self, model, **kwargs) -> None:
        """``trainer.fit``, then the one-line summary of the run (global rank 0 only). A
        resume is checked first (:mod:`ganzoo.training.resume_guard`): a changed protocol is
        a one-line error, and a run already done says so and trains nothing."""
        done = self.check_resume(model, kwargs.get("ckpt_path"))
        if done:
            if rank_zero_only.rank == 0:
                print(done, flush=True)
            return
        section = self.config.get(str(self.subcommand), self.config)
        try:
            self.trainer.fit(model, **kwargs)
        except Exception as err:
            line = distributed_error(err, ddp_timeout(section.get("ddp_timeout")))
            if line is None:
                raise
            raise GanzooError(line) from err
        finally:
            record = next(
                (c for c in self.trainer.callbacks if isinstance(c, RunRecordCallback)), None
            )
            if self.trainer.is_global_zero and record is not None and record.record:
                print(fit_summary(record.record, record.path), flush=True)

    def check_resume(self, model, ckpt_path: str | None) -> str | None:
        """The resume guard on the checkpoint ``ckpt_path`` names (a file, ``last`` or
        ``hpc``; Lightning's other keywords are not checked): raises on a changed protocol,
        returns the line of a run already done, else None."""
        run_dir = Path(self.trainer.default_root_dir)
        named = {"last": run_dir / "checkpoints" / "last.ckpt", "hpc": hpc_checkpoint(run_dir)}
        path = named.get(ckpt_path, ckpt_path) if ckpt_path not in ("best", "registry") else None
        if not path or not Path(path).is_file():
            return None
        section = self.config.get(str(self.subcommand), self.config)
        record = next(c for c in self.trainer.callbacks if isinstance(c, RunRecordCallback))
        datamodule = self.datamodule
        return check_resume(
            resumed_run(path),
            with_model_hparams(record.config, model),
            extend_budget=bool(section.get("extend_budget")),
            given_model_data={"model": {"init_args": dict(model.hparams)},
                              "data": dict(datamodule.hparams) if datamodule is not None else {}},
        )


def expand_bases(args: list[str]) -> list[str]:
    """``args`` with each config file that names a base (a top-level ``config: BASE``, relative
    to the file, as ``experiments/dcgan_mnist5k.yaml`` names ``mnist5k/_base.yaml``) given as
    ``--config BASE --config REST``: the base first, then the file without its ``config`` key.

    jsonargparse reads such a nested ``config`` key itself, but a list in the file then
    replaces the base's list even when written ``callbacks+:``; given as two ``--config``
    files, ``+`` appends as on the command line. Bases may name bases. The run's name still
    derives from the args as given."""
    out: list[str] = []
    tokens = list(args)
    while tokens:
        token = tokens.pop(0)
        key, sep, value = token.partition("=")
        if key in ("--config", "-c") and (sep or tokens):
            path = value if sep else tokens.pop(0)
            out += [f for p in config_layers(Path(path), ()) for f in ("--config", str(p))]
        else:
            out.append(token)
    return out


def config_layers(path: Path, seen: tuple[Path, ...]) -> list[Path]:
    """``path``'s bases, outermost first, then ``path`` itself (a temporary copy without its
    ``config`` key when it has one)."""
    if not path.is_file():
        return [path]  # jsonargparse's own message names a missing file
    check_config_file(str(path))
    content = read_yaml(path, "config")
    base = content.pop("config", None)
    if base is None:
        return [path]
    if not isinstance(base, str):
        raise GanzooError(f"config: {path}: `config` names one base file, not {base!r}")
    base_path = (path.parent / base).resolve()
    if base_path in seen:
        raise GanzooError(f"config: {path}: its bases name each other ({base})")
    if not base_path.is_file():
        raise GanzooError(f"config: {path} names the base {base}, but {base_path} does not exist")
    folder = tempfile.mkdtemp(prefix="ganzoo-config-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # read once, at parse time
    rest = Path(folder) / path.name
    rest.write_text(yaml.safe_dump(content, sort_keys=False))
    return [*config_layers(base_path, (*seen, path.resolve())), rest]


def upgrade_args(args: list[str]) -> list[str]:
    """``args`` with a former-layout config (``ganzoo.models.legacy``: tricks as model flags,
    ``WGAN`` with ``penalty``) in today's layout: the config files and the ``model.*``
    overrides are merged as LightningCLI would (later wins, lists replaced), upgraded and
    passed as one config file, the other overrides as they were. Other args come back as they
    are. The run's name still derives from the args as given (``raw_args``)."""
    configs, overrides = split_cli_args(args)
    layers = [read_yaml(path, "config") or {} for path in configs if Path(path).is_file()]
    model = [(k, v) for k, v in overrides if k == "model" or k.startswith("model.")]
    merged: dict[str, Any] = {}
    for layer in layers:
        merge_into(merged, layer)
    for key, value in model:  # "--model=X" and "--model.init_args.loss=Y" name class paths
        node = merged
        *parents, leaf = key.split(".")
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {"class_path": node[part]} if isinstance(node.get(part), str) else {}
            node = node[part]
        parsed = yaml.safe_load(value)
        if isinstance(parsed, str) and isinstance(node.get(leaf), dict | None) and (
                key == "model" or "." in parsed):
            parsed = {"class_path": parsed}
        if isinstance(parsed, dict) and isinstance(node.get(leaf), dict):
            merge_into(node[leaf], parsed)
        else:
            node[leaf] = parsed
    if not legacy_keys(merged):
        return args
    path = Path(tempfile.mkdtemp(prefix="ganzoo-upgraded-")) / "config.yaml"
    path.write_text(yaml.safe_dump(upgrade_config(merged), sort_keys=False))
    head = args[:1] if args and not args[0].startswith("-") else []
    rest = [f"--{k}={v}" for k, v in overrides if (k, v) not in model]
    return [*head, "--config", str(path), *rest]


def merge_into(base: dict[str, Any], layer: dict[str, Any]) -> None:
    """``layer`` merged into ``base`` in place: mappings recursively, anything else replaced."""
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge_into(base[key], value)
        else:
            base[key] = value


def check_config_file(path: str) -> None:
    """One line for a config file that is empty, not YAML, or not a mapping (jsonargparse's own
    messages for these say ``2`` or ``Unexpected config:`` without the file); a missing file
    is left to jsonargparse, whose message names it."""
    if not Path(path).is_file():
        return
    content = read_yaml(path, "config")
    if content is None:
        raise GanzooError(f"config: {path} is empty; give model, data and trainer sections")
    if not isinstance(content, dict):
        raise GanzooError(
            f"config: {path} must be a mapping of sections (model, data, trainer, ...), "
            f"not a {type(content).__name__}"
        )


def check_checkpoint(ckpt_path: str | None, hint: str | None = None) -> None:
    """``ckpt_path`` names a readable checkpoint (or one of Lightning's keywords)."""
    if not ckpt_path or ckpt_path in ("last", "best", "hpc", "registry"):
        return
    path = Path(ckpt_path)
    if not path.is_file():
        raise GanzooError(f"ckpt_path: no checkpoint file at {ckpt_path}")
    # torch checkpoints are zip archives whose directory sits at the end: a truncated file
    # (a kill or a full disk while saving) fails this test before torch.load's traceback
    if not zipfile.is_zipfile(path):
        raise GanzooError(
            f"ckpt_path: {ckpt_path} is not a readable checkpoint (truncated or corrupt); "
            + (hint or "delete it and resume from an earlier one in the same checkpoints/ folder")
        )


def resume_point(ckpt_path: str | None, run_dir: Path, checkpointing: bool = True) -> str | None:
    """``ckpt_path`` as the fit will use it, named, so that the resume guard sees every
    resume. Lightning resumes by itself when ``ckpt_path`` is unset: from the highest hpc
    checkpoint under Slurm (:mod:`ganzoo.training.slurm`), else from ``last`` wherever an
    ``OnExceptionCheckpoint`` (ganzoo's :class:`InterruptCheckpoint`, added with
    ``checkpointing``) left one: the same command run again continues its run. Here those
    become ``hpc`` and ``last``, after checking that the file is readable. An explicit ``last``
    must find this run's
    ``checkpoints/last.ckpt`` (Lightning would warn and start a new run: the run directory
    follows from the command, so a changed value there names another run)."""
    if ckpt_path == "last":
        last = run_dir / "checkpoints" / "last.ckpt"
        if not last.is_file():
            raise GanzooError(
                f"ckpt_path: last: no checkpoint of this run at {last} (the run directory "
                f"follows from the command's config files and overrides, so a changed value "
                f"names a new run: drop --ckpt_path to start it, or resume a run with its own "
                f"command, `ganzoo resume RUN_DIR`)")
        check_checkpoint(str(last))
    automatic = ckpt_path is None and under_slurm()  # Lightning's own hpc resume
    hpc = hpc_checkpoint(run_dir) if ckpt_path == "hpc" or automatic else None
    if ckpt_path == "hpc" and hpc is None:
        raise GanzooError(f"ckpt_path: hpc: no hpc_ckpt_<N>.ckpt in {run_dir}")
    if hpc is not None:
        earlier = hpc_checkpoint(run_dir, below=hpc)
        fallback = earlier.name if earlier else "checkpoints/last.ckpt"
        check_checkpoint(str(hpc), f"move it out of {run_dir} and start the job again to "
                         f"resume from {fallback}")
        return "hpc"
    if ckpt_path is None and checkpointing and (run_dir / "checkpoints" / "last.ckpt").is_file():
        check_checkpoint(str(run_dir / "checkpoints" / "last.ckpt"))
        return "last"
    return ckpt_path


def fit_summary(record: dict, path: Path | str) -> str:
    """``ganzoo fit: <status> in <wall time>, <G steps>; <final metrics>; record: <path>``.

    The metrics are the last evaluation's (without per-class breakdowns and within-run
    spreads); when it was made before the end of training, its G step is given.
    """
    status = record.get("status")
    g_steps = (record.get("progress") or {}).get("g_steps")
    wall = clock(record.get("wall_time_s") or 0.0)
    if status == "finished":
        head = f"finished in {wall}, {g_steps} G steps"
    else:
        head = f"{status} after {wall} at G step {g_steps}"
    final = record.get("final") or {}
    metrics = {k: v for k, v in final_metrics(record).items() if "_class_" not in k}
    shown = " ".join(f"{k}={fmt(v, k)}" for k, v in metrics.items()) or "no evaluation"
    if metrics and final.get("g_steps") != g_steps:
        shown = f"last evaluation (G step {final.get('g_steps')}): {shown}"
    error = f"; {record['error']}" if record.get("error") else ""
    return f"ganzoo fit: {head}; {shown}{error}; record: {path}"


def wants_several_devices(devices) -> bool:
    if isinstance(devices, list | tuple):
        return len(devices) > 1
    if str(devices) in ("auto", "-1"):
        return torch.cuda.device_count() > 1
    try:
        return int(devices) > 1
    except (TypeError, ValueError):
        return "," in str(devices)


#: Batches between progress-bar redraws when stdout is not a terminal (a sweep's stdout.log,
#: a pipe, a batch job). Lightning's bar redraws every batch by default: each main-job run
#: wrote 1 MB of redraws to its stdout.log (7 KB now), and the redraws cost 0.3 ms of CPU per
#: batch (VanillaGAN, 1,000 batches: 15.7 s of CPU with the bar, 15.35 s without).
NON_TERMINAL_REFRESH = 50


def quiet_progress_bar() -> None:
    """Redraw Lightning's progress bar every :data:`NON_TERMINAL_REFRESH` batches when stdout
    is not a terminal, through the ``TQDM_MINITERS`` variable Lightning's ``TQDMProgressBar``
    reads (a value the user set wins)."""
    if not sys.stdout.isatty():
        os.environ.setdefault("TQDM_MINITERS", str(NON_TERMINAL_REFRESH))


def run_lightning_cli(
    args: list[str] | None = None, run: bool = True, cli_class: type[GanzooCLI] = GanzooCLI
) -> GanzooCLI:
    quiet_progress_bar()
    return cli_class(
        GANModule,
        GANDataModule,
        parser_class=OneLineParser,
        subclass_mode_model=True,
        seed_everything_default=0,
        trainer_defaults={"logger": {"class_path": WANDB_LOGGER}},
        save_config_kwargs={"overwrite": True},
        args=args,
        run=run,
    )


class _ParserOnly(GanzooCLI):
    """Builds the ``ganzoo`` parser and stops: :func:`planned_location` parses with it."""

    def parse_arguments(self, parser: LightningArgumentParser, args) -> None:
        self.config = Namespace(subcommand=None, seed_everything=False)

    def before_instantiate_classes(self) -> None:
        pass

    def instantiate_classes(self) -> None:
        pass


@functools.cache
def _parser() -> LightningArgumentParser:
    return run_lightning_cli([], cli_class=_ParserOnly).parser


def planned_location(args: list[str]) -> RunLocation:
    """Where ``ganzoo <args>`` (``fit --config ...``) will put its run, parsed by the same
    parser as the run itself (nothing is instantiated); a bad argument is a one-line error."""
    for path in split_cli_args(args)[0]:
        check_config_file(path)
    config = _parser().parse_args(upgrade_args(expand_bases(list(args))))
    return run_location(config[config.subcommand], args)


def main(argv: list[str] | None = None) -> None:
    """``ganzoo fit ...`` (and LightningCLI's other subcommands) with one-line user errors."""
    with one_line_errors():
        run_lightning_cli(argv)


