"""The main job's numeric precision: ``ganzoo compare --precision auto|32-true|bf16-mixed``.

``auto`` (the default) trains the comparison in bf16 autocast (Lightning's ``bf16-mixed``)
on a CPU with native bf16 instructions (``avx512_bf16`` or AMX, read from /proc/cpuinfo) when
the runs go to that CPU, and in float32 everywhere else: on CPUs without them (autocast there
runs emulated kernels, slower than float32) and on GPUs (not measured for this job yet; pass
``--precision bf16-mixed``). On the 2-core AMD EPYC machine bf16 took 0.81x float32's summed
run time, and ``ganzoo verdict`` of that table against the float32 ones found no cell
DIFFERENT (docs/speed.md). The choice is never hidden: it is a run argument
(``--trainer.precision=bf16-mixed``), so it enters the run names (float32 and bf16 runs never
share a directory), the records (``ganzoo reproduce`` replays it) and the row labels
(``+bf16-mixed``, :mod:`ganzoo.bench.recipe`). Float32 adds nothing: those runs keep the names
and labels of the committed table's runs.

Lightning has the precision plugins; what it lacks is the choice per machine, written here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganzoo.errors import ConfigError

AUTO, FLOAT32, BF16 = "auto", "32-true", "bf16-mixed"
CHOICES = (AUTO, FLOAT32, BF16)
BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of native bf16 instructions
SWEEP_KEY = "trainer.precision"


@dataclass(frozen=True)
class Choice:
    precision: str  # FLOAT32 or BF16
    why: str  # one line for the log and the table's notes

    def run_args(self) -> list[str]:
        """What each run gets: nothing for float32 (Lightning's default, the committed runs)."""
        return [] if self.precision == FLOAT32 else [f"--{SWEEP_KEY}={self.precision}"]


def cpu_bf16_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> tuple[str, ...]:
    """The native-bf16 flags this CPU has (none off Linux)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return ()
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines()
                  if line.startswith("flags")), [])
    return tuple(f for f in BF16_FLAGS if f in flags)


def choose(requested: str, sweep: dict[str, Any], gpus: int,
           flags: tuple[str, ...] | None = None) -> Choice | None:
    """The precision of a comparison's runs; None when the sweep file sets it itself (its
    runs then carry it already). ``flags``: the CPU's bf16 flags (default: this CPU's)."""
    if requested not in CHOICES:
        raise ConfigError(f"compare: --precision {requested!r}: choose one of {', '.join(CHOICES)}")
    if SWEEP_KEY in (sweep.get("parameters") or {}):
        if requested != AUTO:
            raise ConfigError(f"compare: the sweep file sets {SWEEP_KEY}; drop --precision "
                              f"{requested} or the sweep's parameter")
        return None
    if requested == FLOAT32:
        return Choice(FLOAT32, "float32 (--precision 32-true)")
    if requested == BF16:
        return Choice(BF16, "bf16 autocast (--precision bf16-mixed)")
    if gpus:
        return Choice(FLOAT32, "float32 (auto: the runs go to GPUs; --precision bf16-mixed "
                               "for autocast there)")
    flags = cpu_bf16_flags() if flags is None else flags
    if flags:
        return Choice(BF16, f"bf16 autocast (auto: this CPU has {'/'.join(flags)}; "
                            "--precision 32-true for float32)")
    return Choice(FLOAT32, "float32 (auto: this CPU has no native bf16)")
