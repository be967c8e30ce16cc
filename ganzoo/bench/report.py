"""``ganzoo report RESULTS_DIR... --out DIR``: one static site over results directories.

    ganzoo report results/* --out /tmp/site                  # every committed table
    ganzoo report runs/tables/mnist5k --against results/mnist5k --out runs/site

Reads only what ``ganzoo table`` committed: each directory's ``runs.json`` and the PNGs beside
it (curves, ``grids/``, ``grids_over_time/``); a directory without runs.json whose
subdirectories hold one (``results/vanilla_grid25_long/grid25``) stands for them. Writes
``DIR/index.html`` (one line per study: title, rows, seeds, the headline metric's best row)
and per study ``DIR/<study>/index.html``: the protocol and budget header, the table (95%
intervals, significance groups; sortable by any column), the verdict against ``--against``
sets of the same benchmark, the curves, every row's grid and grids over time side by side, a
drill-down per row (every seed's numbers, config as run, command, commit, machine) and a model
card per row (``cards/<row>.md``, :mod:`ganzoo.bench.cards`). The site is self-contained: CSS
and JS inline, images copied next to the pages, no network at build or view time.

What does what: :mod:`ganzoo.bench.table` computes every number (``summary_table``: cells,
intervals, group letters, formats from :mod:`ganzoo.metrics.registry`; ``header_lines``: the
header of table.md); :mod:`ganzoo.bench.verdict` the cells against ``--against``; Jinja2
renders the pages from ``ganzoo/bench/templates/`` with autoescaping on. A bad input (no
runs.json, a runs.json of an older format, a missing grid) prints one line and the index says
what is missing; the rest of the site is built.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

from ganzoo.bench import cards
from ganzoo.bench.table import (
    COST,
    COST_TITLES,
    best_runs,
    floor_row,
    fmt,
    header_lines,
    header_notes,
    headline_metrics,
    load_manifest,
    load_runs,
    median_runs,
    summary_table,
)
from ganzoo.bench.verdict import COLUMNS, RULE, cell_texts, compare_sets, load_margins, summary_line
from ganzoo.errors import ConfigError
from ganzoo.metrics.registry import measure
from ganzoo.runs.naming import sanitize
from ganzoo.runs.records import DONE_STATUSES, cost

REQUIRED_KEYS = ("row", "run_name", "status", "seed", "config", "final")  # of each runs.json entry
MARKER = ".ganzoo-report"  # in every site: a directory without it is never cleared
IMAGE_DIRS = ("grids", "grids_over_time")


@dataclass
class Study:
    """One results directory of the site: its index line, and what went wrong if it failed."""

    source: Path
    slug: str
    title: str = ""
    page: str | None = None
    rows: int = 0
    seeds: str = ""
    headline: str = ""
    problem: str | None = None
    warnings: list[str] = field(default_factory=list)


def environment() -> jinja2.Environment:
    """Jinja2 over the package's templates; autoescaping for ``.html`` templates (the card
    templates are markdown)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ganzoo.bench", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",)),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["code_spans"] = code_spans
    return env


def code_spans(text: str) -> list[tuple[str, bool]]:
    """``a `b` c`` -> ``[("a ", False), ("b", True), (" c", False)]``: the template renders
    the parts in backticks as ``<code>``."""
    return [(part, i % 2 == 1) for i, part in enumerate(str(text).split("`")) if part]


# ------------------------------------------------------------------ inputs
def find_studies(dirs: Iterable[str | Path], out: Path) -> list[Study]:
    """The studies of ``dirs``: each directory holding runs.json, else its subdirectories that
    hold one; anything else a :class:`Study` with its ``problem``. The output directory (and
    what is inside it) is skipped: ``ganzoo report results/* --out results/site`` again."""
    found: list[Study] = []
    for path in map(Path, dirs):
        if path.resolve().is_relative_to(out.resolve()):
            continue
        if not path.is_dir():
            problem = "not a directory" if path.exists() else "does not exist"
            found.append(Study(path, "", problem=f"{path}: {problem}"))
        elif (path / "runs.json").is_file():
            found.append(Study(path, ""))
        else:
            inner = sorted(p.parent for p in path.glob("*/runs.json"))
            found += [Study(p, "") for p in inner] or [Study(path, "", problem=(
                f"{path}: no runs.json (not a results directory written by `ganzoo table`)"))]
    readable = [s for s in found if s.problem is None]
    for study, (slug, title) in zip(readable, names([s.source for s in readable]), strict=True):
        study.slug, study.title = slug, title
    return found


def names(paths: list[Path]) -> list[tuple[str, str]]:
    """Each study's page directory and title: its path below the inputs' common parent,
    ``-`` joined for the directory (``vanilla_grid25_long-grid25``, unique) and ``/`` joined
    for the title."""
    if not paths:
        return []
    resolved = [p.resolve() for p in paths]
    common = Path(os.path.commonpath([p.parent for p in resolved]))
    taken: set[str] = set()
    found = []
    for path in resolved:
        parts = path.relative_to(common).parts or (path.name,)
        base = sanitize("-".join(parts))
        slug, i = base, 2
        while slug in taken:
            slug, i = f"{base}-{i}", i + 1
        taken.add(slug)
        found.append((slug, "/".join(parts)))
    return found


def read_runs(source: Path) -> dict[str, Any]:
    """``source/runs.json`` with every entry holding :data:`REQUIRED_KEYS` (one-line errors)."""
    manifest = load_manifest(source, "report")
    for i, entry in enumerate(manifest["runs"]):
        if not isinstance(entry, dict):
            raise ConfigError(f"report: {source}/runs.json: run {i} is not an object")
        missing = [k for k in REQUIRED_KEYS if k not in entry]
        if missing:
            raise ConfigError(
                f"report: {source}/runs.json: run {i} ({entry.get('run_name', '?')}) lacks "
                f"{', '.join(missing)}: an older format; rewrite it with `ganzoo table` over "
                "its run directories")
        if not isinstance(entry["config"], dict) or not isinstance(entry["final"], dict | None):
            raise ConfigError(f"report: {source}/runs.json: run {i}: config and final must be "
                              "objects")
    return manifest


def read_against(dirs: Iterable[str | Path], say: Callable[[str], None]) -> list[tuple[Path, dict]]:
    """The ``--against`` sets (directory, runs.json) that can be read; a line for the others."""
    sets = []
    for path in map(Path, dirs):
        try:
            sets.append((path, read_runs(path)))
        except ConfigError as err:
            say(f"{err}; no verdict against it")
    return sets


# ------------------------------------------------------------------ one study
def build_study(study: Study, site: Path, against: list[tuple[Path, dict]],
                env: jinja2.Environment) -> None:
    """Write ``site/<slug>/``: the page, its images and the model cards; fill in the index
    line. One-line errors (:class:`ConfigError`) for a study that cannot be read."""
    manifest = read_runs(study.source)
    entries = manifest["runs"]
    runs = load_runs(entries)
    if runs.empty:
        raise ConfigError(f"report: {study.source}/runs.json holds no finished or diverged run")
    summary = summary_table(runs)
    benchmark = str(manifest.get("benchmark") or study.slug)
    out = site / study.slug
    copy_images(study.source, out)
    notes = header_notes(study.source / "table.md")
    header = [line.removeprefix("- ") for line in
              header_lines(runs, str(manifest.get("command") or "?"), notes, summary.groups)]
    best = best_runs(runs)
    medians = median_runs(runs)
    row_pages = []
    for label in summary.rows:
        grid, caption = row_grid(study.source, label, best.get(label), medians.get(label))
        if grid is None and label in best:
            study.warnings.append(f"report: {study.source}: row {label}: {caption}")
        over_time = f"grids_over_time/{sanitize(label)}.png"
        row_pages.append({
            "label": label, "id": "row-" + sanitize(label), "grid": grid, "caption": caption,
            "over_time": over_time if (study.source / over_time).is_file() else None,
            "card": cards.write_card(out / "cards", benchmark, label, runs, summary, best,
                                     medians, header, env),
            "runs": [seed_view(r, summary.metrics) for r in runs[runs.model == label].record],
        })
    primary = next(iter(headline_metrics(runs)), None)
    study.rows = len(summary.rows)
    counts = sorted({int(n) for n in summary.stats.n_finished if n})
    study.seeds = "/".join(map(str, counts)) or "0"
    study.headline = headline(summary, primary)
    html = env.get_template("study.html").render(
        title=study.title, benchmark=benchmark, source=str(study.source), summary=summary,
        columns=columns(summary), rows=row_pages, primary=primary,
        floor=floor_row(runs, summary),
        curves=sorted(p.name for p in study.source.glob("*.png")),
        verdicts=[verdict_view(study, entries, a_dir, a) for a_dir, a in against
                  if a.get("benchmark") == manifest.get("benchmark")],
        excluded=[f"{e.get('run_name')} ({e.get('status')})" for e in entries
                  if e.get("status") not in DONE_STATUSES],
        metric_titles=[measure(m).label for m in summary.metrics],
        cost_titles=list(COST_TITLES.values()), **split_header(header),
    )
    (out / "index.html").write_text(html)
    study.page = f"{study.slug}/index.html"


def copy_images(source: Path, out: Path) -> None:
    """The PNGs of a results directory (curves at its top, grids, grids over time), to the
    same relative paths under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for path in [*source.glob("*.png"), *(p for d in IMAGE_DIRS for p in source.glob(f"{d}/**/*.png"))]:
        target = out / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def row_grid(source: Path, label: str, best: dict | None,
             median: dict | None) -> tuple[str | None, str]:
    """The row's sample grid (a path relative to the page) and its caption: the median seed's
    grid where the table kept one per seed (``grids/<row>/<run>.png`` or ``seed_<seed>.png``),
    otherwise ``grids/<row>.png`` (``ganzoo table`` writes the median seed's since issue 25;
    older tables kept the best run's); None and what is missing when there is none."""
    slug = sanitize(label)
    if median is not None and (source / "grids" / slug).is_dir():
        for name in (f"{median.get('run_name')}.png", f"seed_{median.get('seed')}.png"):
            if (source / "grids" / slug / name).is_file():
                return f"grids/{slug}/{name}", f"final grid of the median seed ({median.get('seed')})"
    if (source / "grids" / f"{slug}.png").is_file():
        seed = f" (seed {best.get('seed')})" if best is not None else ""
        return f"grids/{slug}.png", f"final grid of the best run{seed}"
    if best is None:
        return None, "no finished run: no grid"
    return None, f"grid image grids/{slug}.png is missing"


def seed_view(entry: dict[str, Any], metrics: list[str]) -> dict[str, Any]:
    """What the drill-down shows of one run: its numbers and how it was made."""
    final = ((entry.get("final") or {}).get("metrics")) or {}
    spent = cost(entry)
    git = entry.get("git") or {}
    commit = git.get("commit") or "not recorded"
    argv = entry.get("argv")
    return {
        "seed": entry.get("seed"), "status": entry.get("status"), "run": entry.get("run_name"),
        "numbers": [("diverged" if entry.get("status") == "diverged" else fmt(final.get(m), m),
                    final.get(m)) for m in metrics],
        "cost": [(fmt(spent[c], c), spent[c]) for c in COST],
        "config": yaml.safe_dump(entry.get("config"), sort_keys=False, default_flow_style=False),
        "command": shlex.join(map(str, argv)) if isinstance(argv, list) else "not recorded",
        "commit": commit + (" (with uncommitted changes)" if git.get("dirty") else ""),
        "machine": machine_text(entry.get("device")),
        "versions": ", ".join(f"{k} {v}" for k, v in (entry.get("versions") or {}).items() if v),
        "run_dir": entry.get("run_dir"), "checkpoint": cards.checkpoint_path(entry),
        "started": entry.get("started_at"), "ended": entry.get("ended_at"),
    }


def machine_text(device: Any) -> str:
    if not isinstance(device, dict) or not device:
        return "not recorded"
    gpus = ", ".join(device.get("cuda_devices") or []) or "no GPU"
    return (f"{device.get('cpu', '?')}, {device.get('cpu_count', '?')} CPU cores, {gpus}; "
            f"{device.get('torch_threads', '?')} torch thread(s); {device.get('accelerator', '?')}, "
            f"{device.get('strategy', '?')}, world size {device.get('world_size', '?')}; host "
            f"{device.get('host', '?')} ({device.get('platform', '?')})")


PROTOCOL_KEYS = ("Protocol", "Values", "Cost", "Budget", "Budget settings", "Rows", "Groups",
                 "WARNING")


def split_header(header: list[str]) -> dict[str, list[tuple[str, str]]]:
    """table.md's header bullets as (key, text): ``protocol`` (what was measured and how,
    the budget, the statistics) and ``provenance`` (command, dates, commit, machine, notes)."""
    items = [tuple(line.split(": ", 1)) if ": " in line else ("Note", line) for line in header]
    return {"protocol": [i for i in items if i[0] in PROTOCOL_KEYS],
            "provenance": [i for i in items if i[0] not in PROTOCOL_KEYS]}


def columns(summary) -> list[dict[str, Any]]:
    """The table's header cells: title, sort type, and which way is better."""
    found = []
    for key, title in zip(summary.keys, summary.columns, strict=True):
        numeric = key not in ("model",) and not key.endswith("_group")
        better = None if key in ("rank", "model", "n", *COST) or key.endswith("_group") else (
            measure(key).higher_is_better)
        hint = {True: "higher is better", False: "lower is better"}.get(better, "")
        found.append({"key": key, "title": title, "type": "number" if numeric else "text",
                      "hint": hint, "better": better})
    return found


def headline(summary, primary: str | None) -> str:
    """``FID: ConditionalGAN 0.60 [0.51, 0.69] (group a)``, the index's best row."""
    if primary is None or not summary.rows:
        return "no headline metric"
    first = summary.cells[0]
    text = f"{measure(primary).label}: {first[1]} {first[summary.keys.index(primary)]}"
    if f"{primary}_group" in summary.keys:
        text += f" (group {first[summary.keys.index(f'{primary}_group')]})"
    return text


def verdict_view(study: Study, entries: list[dict], a_dir: Path, a: dict) -> dict[str, Any]:
    """The verdict cells (:func:`ganzoo.bench.verdict.compare_sets`) of this study (B) against
    ``a_dir`` (A), for the rows A has."""
    rows = {e["row"] for e in a["runs"]}
    fresh = [e for e in entries if e["row"] in rows]
    cells = compare_sets(a["runs"], fresh, load_margins(a_dir))
    return {"a": str(a_dir), "b": str(study.source), "rule": RULE, "columns": COLUMNS,
            "cells": [{"texts": cell_texts(c), "verdict": c.verdict} for c in cells],
            "summary": summary_line(cells),
            "not_in_a": sorted({e["row"] for e in entries} - rows)}


# ------------------------------------------------------------------ the site
def prepare(out: Path) -> Path:
    """A fresh build directory beside ``out``; ``out`` itself must be new, empty or a site
    this command wrote (never cleared otherwise)."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise ConfigError(f"report: --out {out} exists and is not a site written by `ganzoo "
                          "report`; give a new or empty directory")
    building = out.with_name(f".{out.name}.building")
    if building.exists():
        shutil.rmtree(building)
    building.mkdir(parents=True)
    (building / MARKER).write_text("written by `ganzoo report`; rebuilt as a whole\n")
    return building


def build_site(dirs: Iterable[str | Path], out: str | Path, against: Iterable[str | Path] = (),
               say: Callable[[str], None] | None = None) -> list[Study]:
    """Build the site of ``dirs`` into ``out`` (replacing a site built there before); the
    studies, those that failed with their ``problem``. ``say`` prints the one-line messages."""
    say = say or (lambda line: print(line, file=sys.stderr))
    out = Path(out)
    studies = find_studies(dirs, out)
    building = prepare(out)
    env = environment()
    sets = read_against(against, say)
    for study in studies:
        if study.problem is None:
            try:
                build_study(study, building, sets, env)
            except ConfigError as err:
                study.problem = str(err).removeprefix("report: ")
                shutil.rmtree(building / study.slug, ignore_errors=True)
                say(f"{err}; skipped")
                continue
            for line in study.warnings:
                say(line)
        else:
            say(f"report: {study.problem}; skipped")
    index = env.get_template("index.html").render(studies=studies)
    (building / "index.html").write_text(index)
    if out.exists():
        shutil.rmtree(out)
    building.rename(out)
    return studies


def report(dirs: list[str | Path], out: str | Path,
           against: Iterable[str | Path] = ()) -> tuple[list[Study], float]:
    """``ganzoo report``: build the site; the studies and the build time in seconds. A
    :class:`ConfigError` when no study could be built (the index still says why)."""
    start = time.perf_counter()
    studies = build_site(dirs, out, against)
    if not any(s.page for s in studies):
        raise ConfigError(f"report: no study built from {' '.join(map(str, dirs))}; each needs "
                          f"the runs.json that `ganzoo table` writes (see {Path(out)}/index.html)")
    return studies, time.perf_counter() - start
