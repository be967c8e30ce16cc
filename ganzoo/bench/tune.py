"""``ganzoo tune FILE``: an equal, declared tuning budget for every variant (issue [3/6]).

Lucic et al. 2018 ("Are GANs Created Equal?") found most claimed differences between GAN
variants to come from unequal tuning. A tuning file (``experiments/tuning/mnist5k.yaml``)
declares, in one place, each variant's paper config, the settings held fixed and its search
space; every variant gets the same number of trials, each trained on the same non-table seeds
at the table's full budget and scored on the validation split (``data.val_size``), never on
the test split the final tables report.

Trials are drawn with the file's ``sampler_seed``: a ``log_uniform``/``uniform`` range gives a
number, a ``choice`` its options in equal shares over the trials (a seeded order). Each trial's
settings are written as one overlay config (``<runs>/<benchmark>/_trials/``) given after the
variant's own config; its runs are ordinary ``ganzoo fit`` runs, run (and resumed, finished
ones skipped) by the sweep runner. A trial's score is the mean of its seeds' final
validation metric; a seed that failed or diverged fails the trial.

Written here, since no library in the stack does it: the sampling, the expected best score
against the number of trials (Dodge et al. 2019, "Show Your Work", from the trials' empirical
distribution), and the edge check (a winner in the outer tenth of a range, or at the end of
an ordered choice, has not bracketed its optimum: widen the range and tune again).
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import math
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ganzoo.atomic import write_json_atomic, write_text_atomic
from ganzoo.bench.sweep import Run
from ganzoo.errors import ConfigError
from ganzoo.plotting import pyplot
from ganzoo.runs.naming import RunLocation
from ganzoo.runs.records import read_record
from ganzoo.yaml_files import read_yaml

KINDS = ("log_uniform", "uniform", "choice")
EDGE = 0.1  # the outer share of a range where a winner has not bracketed its optimum


@dataclass
class Trial:
    variant: str
    index: int
    params: dict[str, Any]
    round: int = 0  # 0: the first round
    runs: list[Run] = field(default_factory=list)
    scores: list[float | None] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    commits: list[str] = field(default_factory=list)  # of the finished runs' code

    @property
    def name(self) -> str:
        return f"{slug(self.variant)}_t{self.index}"

    @property
    def score(self) -> float | None:
        """Mean over seeds; None when a seed failed, diverged or has no score."""
        if not self.scores or any(s is None or not math.isfinite(s) for s in self.scores):
            return None
        return sum(self.scores) / len(self.scores)


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")


def load_tuning(path: str | Path) -> dict[str, Any]:
    """Read and check a tuning file; one line naming the bad field otherwise."""
    if not Path(path).is_file():
        raise ConfigError(f"tune: file {str(path)!r} does not exist")
    spec = read_yaml(path, "tune")
    where = f"tune: {path}"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: a tuning file is a YAML mapping")
    for key in ("name", "benchmark", "trials", "seeds", "score", "variants"):
        if key not in spec:
            raise ConfigError(f"{where}: missing `{key}`")
    if not isinstance(spec["trials"], int) or spec["trials"] < 1:
        raise ConfigError(f"{where}: trials: a positive integer, not {spec['trials']!r}")
    if not spec["seeds"] or not all(isinstance(s, int) for s in spec["seeds"]):
        raise ConfigError(f"{where}: seeds: a list of integers")
    extras = spec.get("extras") or {}
    for variant, entry in spec["variants"].items():
        if not Path(entry.get("config", "")).is_file():
            raise ConfigError(f"{where}: variants.{variant}.config: no file {entry.get('config')!r}")
        for key, dim in (entry.get("space") or {}).items():
            kind = next(iter(dim), None) if isinstance(dim, dict) and len(dim) == 1 else None
            if kind not in KINDS:
                raise ConfigError(f"{where}: variants.{variant}.space.{key}: one of "
                                  f"{', '.join(KINDS)}, not {dim!r}")
            if kind != "choice" and not (len(dim[kind]) == 2 and 0 < dim[kind][0] < dim[kind][1]):
                raise ConfigError(f"{where}: variants.{variant}.space.{key}: {kind} takes "
                                  f"[low, high] with 0 < low < high, not {dim[kind]!r}")
            if key == "extras":
                unknown = {e for option in dim[kind] for e in option} - set(extras)
                if unknown:
                    raise ConfigError(f"{where}: variants.{variant}.space.extras: unknown "
                                      f"{', '.join(sorted(unknown))}; declared: {', '.join(extras)}")
    for number, extra in enumerate(spec.get("rounds") or [], 2):
        here = f"{where}: rounds[{number - 2}]"
        if not isinstance(extra, dict) or not isinstance(extra.get("trials"), int) \
                or extra["trials"] < 1:
            raise ConfigError(f"{here}: a mapping with `trials`, a positive integer")
        for variant, dims in (extra.get("space") or {}).items():
            own = (spec["variants"].get(variant) or {}).get("space") or {}
            if variant not in spec["variants"]:
                raise ConfigError(f"{here}.space: no variant {variant!r}")
            for key, dim in dims.items():
                kind = next(iter(dim), None) if isinstance(dim, dict) and len(dim) == 1 else None
                if key not in own or kind not in own[key] or kind == "choice":
                    raise ConfigError(f"{here}.space.{variant}.{key}: a round replaces a range "
                                      f"of the variant's space with one of the same kind")
                if not (len(dim[kind]) == 2 and 0 < dim[kind][0] < dim[kind][1]):
                    raise ConfigError(f"{here}.space.{variant}.{key}: {kind} takes [low, high] "
                                      f"with 0 < low < high, not {dim[kind]!r}")
    return spec


def rounds(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The search's rounds: the first (``trials``, each variant's ``space``), then each of
    ``rounds:``. A later round gives every variant the same number of trials, so budgets stay
    equal, and may replace ranges of a variant's space: a winner at an edge widens its range."""
    first = {"trials": spec["trials"], "space": {}}
    return [first, *(spec.get("rounds") or [])]


def total_trials(spec: dict[str, Any]) -> int:
    """Trials per variant over all rounds."""
    return sum(r["trials"] for r in rounds(spec))


def round_space(spec: dict[str, Any], variant: str, number: int) -> dict[str, Any]:
    """``variant``'s space in round ``number`` (0 is the first): its own, with the round's
    replacements."""
    space = dict(spec["variants"][variant].get("space") or {})
    space.update((rounds(spec)[number].get("space") or {}).get(variant) or {})
    return space


def sample(spec: dict[str, Any]) -> list[Trial]:
    """Every variant's trials, a pure function of the file (seeded per variant by name, and
    per round after the first, so a later round leaves the earlier trials as they were)."""
    trials = []
    for variant in spec["variants"]:
        index = 0
        for number, this in enumerate(rounds(spec)):
            key_ = f"{spec.get('sampler_seed', 0)}/{variant}"
            rng = random.Random(key_ if number == 0 else f"{key_}/round {number + 1}")
            space, n = round_space(spec, variant, number), this["trials"]
            shares = {}
            for key, dim in space.items():
                if "choice" in dim:  # equal shares, in a seeded order (a seeded subset when
                    options = dim["choice"]  # the round has fewer trials than options)
                    cycle = [options[i % len(options)] for i in range(
                        math.ceil(n / len(options)) * len(options))]
                    rng.shuffle(cycle)
                    shares[key] = cycle[:n]
            for i in range(n):
                params = {}
                for key, dim in space.items():
                    if "choice" in dim:
                        params[key] = shares[key][i]
                    elif "uniform" in dim:
                        params[key] = float(f"{rng.uniform(*dim['uniform']):.3g}")
                    else:
                        low, high = (math.log(v) for v in dim["log_uniform"])
                        params[key] = float(f"{math.exp(rng.uniform(low, high)):.3g}")
                trials.append(Trial(variant, index, params, round=number))
                index += 1
    return trials


def set_dotted(config: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    for part in parents:
        config = config.setdefault(part, {})
    config[leaf] = value


def merge(base: dict[str, Any], layer: dict[str, Any]) -> None:
    """``layer`` into ``base``: mappings recursively, lists appended, anything else replaced."""
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        elif isinstance(value, list) and isinstance(base.get(key), list):
            base[key] = base[key] + copy.deepcopy(value)
        else:
            base[key] = copy.deepcopy(value)


def overlay(spec: dict[str, Any], trial: Trial) -> dict[str, Any]:
    """The trial's overlay config: the protocol, the variant's fixed settings, its extras and
    its sampled values (the variant's own config comes before it)."""
    entry = spec["variants"][trial.variant]
    config = copy.deepcopy(spec.get("protocol") or {})
    for key, value in (entry.get("fixed") or {}).items():
        set_dotted(config, key, value)
    for key, value in trial.params.items():
        if key == "extras":
            for name in value:
                merge(config, spec["extras"][name])
        else:
            set_dotted(config, key, value)
    return config


def plan(spec: dict[str, Any], locate: Callable[[list[str]], RunLocation],
         runs_dir: str = "runs") -> list[Trial]:
    """The trials with their runs, in rounds (every variant's trial 0, then trial 1, ...: an
    interrupted search leaves each variant as far along as the others); writes each trial's
    overlay config."""
    trials = sample(spec)
    folder = Path(runs_dir) / spec["benchmark"] / "_trials"
    folder.mkdir(parents=True, exist_ok=True)
    for trial in trials:
        path = folder / f"{trial.name}.yaml"
        text = (f"# trial {trial.index} of {trial.variant} ({spec['name']}): "
                f"{describe(trial.params)}\n") + yaml.safe_dump(overlay(spec, trial), sort_keys=False)
        # the runs' names carry the overlay's and the config's digest: an edited tuning file
        # or variant config gives new runs instead of reusing runs of other settings
        config = spec["variants"][trial.variant]["config"]
        digest = hashlib.sha256("".join([text, *chain_texts(Path(config))]).encode()).hexdigest()[:8]
        if not path.is_file() or path.read_text() != text:
            write_text_atomic(path, text)
        for seed in spec["seeds"]:
            args = ["fit", "--config", config, "--config", str(path), f"--seed_everything={seed}",
                    f"--benchmark={spec['benchmark']}", f"--run_name={trial.name}_{digest}_s{seed}",
                    f"--runs_dir={runs_dir}"]
            where = locate(args)
            trial.runs.append(Run(where.name, where.dir, [sys.executable, "-m", "ganzoo", *args]))
    return sorted(trials, key=lambda t: t.index)


def chain_texts(path: Path) -> list[str]:
    """The texts of ``path`` and of the bases it names (``config:``), outermost last."""
    texts = [path.read_text()]
    base = (yaml.safe_load(texts[0]) or {}).get("config")
    return texts + chain_texts(path.parent / base) if isinstance(base, str) else texts


def describe(params: dict[str, Any]) -> str:
    return ", ".join(f"{k.rsplit('.', 1)[-1]}={'+'.join(v) or 'none' if k == 'extras' else v}"
                     for k, v in params.items())


def collect(spec: dict[str, Any], trials: list[Trial]) -> None:
    """Each trial's per-seed final scores from its runs' records."""
    for trial in trials:
        trial.scores, trial.statuses, trial.commits = [], [], []
        for run in trial.runs:
            record = read_record(run.dir) or {}
            trial.statuses.append(record.get("status", "pending"))
            git = record.get("git") or {}
            if git.get("commit"):
                trial.commits.append(str(git["commit"])[:12] + (" (dirty)" if git.get("dirty")
                                                                 else ""))
            final = (record.get("final") or {}).get("metrics") or {}
            value = final.get(spec["score"]) if record.get("status") == "finished" else None
            trial.scores.append(float(value) if isinstance(value, int | float) else None)


def expected_best(scores: list[float], n: int) -> float:
    """E[min of n trials drawn with replacement from ``scores``] (Dodge et al. 2019, Eq. 1
    for a minimised score): sum_i v_(i) [((N-i+1)/N)^n - ((N-i)/N)^n], v sorted ascending."""
    v, big_n = sorted(scores), len(scores)
    return sum(x * (((big_n - i) / big_n) ** n - ((big_n - i - 1) / big_n) ** n)
               for i, x in enumerate(v))


def edges(spec: dict[str, Any], trial: Trial) -> list[str]:
    """The sampled values of ``trial`` that sit at an edge of their range (its widest over the
    rounds) or of their choice."""
    found = []
    spaces = [round_space(spec, trial.variant, n) for n in range(len(rounds(spec)))]
    for key, dim in spaces[0].items():
        value = trial.params[key]
        if "choice" in dim:
            options = dim["choice"]
            ordered = all(isinstance(o, int | float) for o in options) and len(options) > 2
            if ordered and value in (min(options), max(options)):
                found.append(f"{key}={value} is the end of its choice {options}")
            continue
        ranges = [space[key].get("log_uniform") or space[key]["uniform"] for space in spaces]
        low, high = min(r[0] for r in ranges), max(r[1] for r in ranges)  # over all rounds
        log = "log_uniform" in dim
        scale = (lambda x: math.log(x)) if log else (lambda x: x)
        where = (scale(value) - scale(low)) / (scale(high) - scale(low))
        if where < EDGE or where > 1 - EDGE:
            side = "lower" if where < EDGE else "upper"
            found.append(f"{key}={value:g} is at the {side} edge of [{low:g}, {high:g}]: widen it")
    return found


def report(spec: dict[str, Any], trials: list[Trial], out: Path, source: str) -> str:
    """Write tuning.md, tuning.json, trials.csv, expected_best.png and winners/ into ``out``;
    return the markdown."""
    out.mkdir(parents=True, exist_ok=True)
    by_variant: dict[str, list[Trial]] = {}
    for trial in trials:
        by_variant.setdefault(trial.variant, []).append(trial)
    counts = {v: sum(t.score is not None for t in ts) for v, ts in by_variant.items()}
    planned = {v: len(ts) for v, ts in by_variant.items()}
    val_size = ((spec.get("protocol") or {}).get("data") or {}).get("val_size")
    lines = [f"# {spec['name']}: equal tuning budgets", "",
             f"Made by `ganzoo tune {source}`. {total_trials(spec)} trials per variant"
             f"{rounds_note(spec)}, each over "
             f"seeds {', '.join(map(str, spec['seeds']))} (not table seeds) at the benchmark's "
             f"full budget; score: mean final validation `{spec['score']}` (data.val_size "
             f"{val_size}; the test split is not read). {budget_line(counts)}; planned: "
             + ", ".join(f"{v} {planned[v]}" for v in by_variant) + ".", commits_line(trials), ""]
    rows = [["variant", "trial", "round", "settings", *(f"seed {s}" for s in spec["seeds"]),
             "score"]]
    winners: dict[str, dict[str, Any]] = {}
    fig, ax = pyplot().subplots(figsize=(6, 4))
    for variant, ts in by_variant.items():
        scored = [t for t in ts if t.score is not None]
        for t in ts:
            rows.append([variant, str(t.index), str(t.round + 1), describe(t.params),
                         *("—" if s is None else f"{s:.3f}" for s in t.scores),
                         status(t)])
        if not scored:
            lines += [f"## {variant}", "", "No trial scored yet.", ""]
            continue
        best = min(scored, key=lambda t: t.score)
        curve = [expected_best([t.score for t in scored], n) for n in range(1, len(scored) + 1)]
        ax.plot(range(1, len(curve) + 1), curve, marker="o", label=variant)
        lines += [f"## {variant}", "", f"Best: trial {best.index}, {describe(best.params)}: "
                  f"{spec['score']} {best.score:.3f}.",
                  "Expected best over n trials: " + ", ".join(
                      f"n={n} {c:.3f}" for n, c in enumerate(curve, 1)) + ".", ""]
        lines += [f"- EDGE: {e}" for e in edges(spec, best)] or ["- bracketed: no value at an edge"]
        lines.append("")
        winner = f"winners/{slug(variant)}.yaml"
        write_text_atomic(out / winner,
                          f"# {variant}: the winner of {spec['name']} (trial {best.index}); its "
                          f"diff over {spec['variants'][variant]['config']}\n"
                          + yaml.safe_dump(overlay(spec, best), sort_keys=False))
        winners[variant] = {"trial": best.index, "settings": describe(best.params),
                            "score": best.score, "config": winner, "edges": edges(spec, best),
                            "expected_best": curve}
    ax.set(xlabel="trials", ylabel=f"expected best validation {spec['score']}", yscale="log")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "expected_best.png", dpi=120)
    pyplot().close(fig)
    with open(out / "trials.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    write_json_atomic(out / "tuning.json", {
        "name": spec["name"], "command": f"ganzoo tune {source}", "score": spec["score"],
        "seeds": spec["seeds"], "val_size": val_size, "trials_planned": planned,
        "rounds": [{"trials": r["trials"], "why": r.get("why")} for r in rounds(spec)],
        "trials_scored": counts, "ratio": ratio(counts), "winners": winners})
    table = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    table += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    text = "\n".join([*lines, "## Trials", "", *table, "",
                      "![expected best](expected_best.png)", ""])
    write_text_atomic(out / "tuning.md", text)
    return text


def commits_line(trials: list[Trial]) -> str:
    """Which code the runs were made with: ``Runs made at commit 16a972ba83a1 (96 runs).``"""
    counts: dict[str, int] = {}
    for commit in (c for t in trials for c in t.commits):
        counts[commit] = counts.get(commit, 0) + 1
    if not counts:
        return "Runs made at: no run has finished."
    return "Runs made at commit " + ", ".join(f"{c} ({n} runs)" for c, n in counts.items()) + "."


def rounds_note(spec: dict[str, Any]) -> str:
    """`` (8 in round 1, then 2 in round 2: why)``; empty for a search of one round."""
    later = rounds(spec)[1:]
    if not later:
        return ""
    return (f" ({spec['trials']} in round 1, then " + ", ".join(
        f"{r['trials']} in round {n}" + (f": {r['why']}" if r.get("why") else "")
        for n, r in enumerate(later, 2)) + ")")


def ratio(counts: dict[str, int]) -> float | None:
    """Max over min of the trials scored per variant (the goal is 1.0); None when a variant
    has none."""
    return max(counts.values()) / min(counts.values()) if counts and min(counts.values()) else None


def budget_line(counts: dict[str, int]) -> str:
    """``Trials scored per variant: A 8, B 7 (max/min 1.14)``."""
    r = ratio(counts)
    return ("Trials scored per variant: " + ", ".join(f"{v} {n}" for v, n in counts.items())
            + f" (max/min {'n/a' if r is None else f'{r:.2f}'})")


def header_note(tuning_dir: str | Path) -> str | None:
    """The line a results table's header gets from the search its configs won
    (``tuning_dir/tuning.json``, written by :func:`report`); None when there is none."""
    path = Path(tuning_dir) / "tuning.json"
    if not path.is_file():
        return None
    try:
        found = json.loads(path.read_text())
        counts = found["trials_scored"]
        seeds = ", ".join(map(str, found["seeds"]))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ConfigError(f"tune: {path} is unreadable ({err}); rewrite it with "
                          "`ganzoo tune FILE`") from None
    return (f"Tuning: every variant's config is the winner of an equal search "
            f"({path.parent}/tuning.md, `{found.get('command')}`); {budget_line(counts)}, each "
            f"over seeds {seeds} on the {found.get('val_size')}-image validation split")


def status(trial: Trial) -> str:
    """The trial's score, or why it has none: ``failed`` (a seed diverged or failed) or
    ``pending`` (a seed has not finished)."""
    if trial.score is not None:
        return f"{trial.score:.3f}"
    return "failed" if {"diverged", "failed"} & set(trial.statuses) else "pending"
