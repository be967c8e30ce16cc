"""What runs inside one ``ganzoo fit``: where the run lives (:mod:`~ganzoo.runs.naming`), its
record (:mod:`~ganzoo.runs.records`) and its W&B logger (:mod:`~ganzoo.runs.wandb_logger`).
:mod:`ganzoo.bench` reads what these write; nothing here imports ``bench`` or ``cli``."""

from ganzoo.runs.records import RunRecordCallback
from ganzoo.runs.wandb_logger import FailSafeWandbLogger

__all__ = ["FailSafeWandbLogger", "RunRecordCallback"]
