"""Model cards of a report: ``<study>/cards/<row>.md`` for each row with a finished run.

A card describes the row's best run (lowest final FID, or the toy tables' most modes covered:
the run whose grid ``ganzoo table`` keeps) and its median run (the middle seed by the same
metric), naming each run, seed and the checkpoint path the run had
(``<run_dir>/checkpoints/last.ckpt``, not committed: the command and commit re-create it). It
opens with the YAML ``model-index`` front matter that Hugging Face model cards use (PyYAML
writes it), one entry per described run with that run's final metrics; then the variant and
its recipe (read from the config as run: model class, loss, tricks by ``class_path``, G's
moving average, optimizer and learning rates), data and budget, the row's metrics with their
95% intervals and groups, the evaluation protocol, intended use and limits. Jinja2 renders the
markdown (``templates/card.md``); every number comes from :mod:`ganzoo.bench.table`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import yaml

from ganzoo.bench.table import (
    budget_settings,
    final_metrics,
    fmt,
    label_value,
)
from ganzoo.metrics.registry import measure
from ganzoo.runs.naming import sanitize

# former config layout: tricks as model flags (value when off)
FLAG_TRICKS = {"label_smoothing": 0.0, "fake_label": 0.0, "instance_noise": 0.0,
               "d_augment": False, "d_weight_penalty": 0.0, "minibatch_features": False,
               "q_augment": False}
NETWORK_KEYS = ("arch", "latent_dim", "g_width", "d_width", "g_norm", "d_norm", "conditioning")


def checkpoint_path(entry: dict[str, Any]) -> str:
    """Where the run kept its last checkpoint, from its recorded run directory."""
    run_dir = entry.get("run_dir")
    return f"{run_dir}/checkpoints/last.ckpt" if run_dir else "not recorded"


def task(entry: dict[str, Any]) -> dict[str, str]:
    """The model-index task: label-conditioned when the run was scored on label accuracy
    (only a label-conditioned G is), 2-D toy data when it was scored on modes."""
    metrics = (entry.get("final") or {}).get("metrics") or {}
    if "modes_covered" in metrics:
        return {"type": "other", "name": "2-D toy mixture generation (mode coverage)"}
    if "label_accuracy" in metrics:
        return {"type": "conditional-image-generation", "name": "Class-conditional image generation"}
    return {"type": "unconditional-image-generation", "name": "Unconditional image generation"}


def model_index(benchmark: str, label: str, described: list[dict[str, Any]]) -> dict[str, Any]:
    """The front matter: tags and one model-index entry per described run."""
    entries = []
    for item in described:
        entry = item["entry"]
        protocol = (entry.get("final") or {}).get("protocol") or {}
        dataset = str(((entry.get("config") or {}).get("data") or {}).get("dataset") or benchmark)
        space = protocol.get("extractor")
        metrics = [{"type": m, "value": float(v),
                    "name": measure(m).label + (f" ({space} features)" if space not in (None, "none") else "")}
                   for m, v in final_metrics(entry).items() if "_class_" not in m]
        entries.append({
            "name": f"ganzoo {benchmark} {label}, {item['which']} run (seed {entry.get('seed')})",
            "results": [{"task": task(entry),
                         "dataset": {"name": dataset, "type": dataset,
                                     "split": str(protocol.get("reference_split") or "?")},
                         "metrics": metrics}],
        })
    kind = task(described[0]["entry"])["type"]
    return {"tags": ["ganzoo", "gan", "pytorch-lightning", kind], "model-index": entries}


def recipe(config: dict[str, Any]) -> list[str]:
    """The variant and its recipe extras, in words, from the config as run."""
    model = config.get("model") or {}
    args = model.get("init_args") or {}
    optimizer = args.get("optimizer")
    opt = optimizer if isinstance(optimizer, dict) else {"name": optimizer}
    betas = opt.get("betas", args.get("betas"))
    callbacks = (config.get("trainer") or {}).get("callbacks") or []
    ema = [label_value(c) for c in callbacks if isinstance(c, dict)
           and str(c.get("class_path", "")).endswith("GeneratorEMA")]
    if not ema and args.get("g_ema"):
        ema = [f"g_ema={args['g_ema']} (a model argument of the former config layout)"]
    tricks = args.get("tricks")
    trick_text = label_value(tricks) if isinstance(tricks, list) and tricks else "none"
    flags = [f"{k}={args[k]}" for k, off in FLAG_TRICKS.items() if k in args and args[k] != off]
    loss = args.get("loss")
    lines = [
        f"Model: `{model.get('class_path', '?')}`",
        f"Loss: {label_value(loss) if isinstance(loss, dict) else loss or 'the variant default'}",
        f"Tricks (by class_path): {trick_text}" + (f"; as model flags: {', '.join(flags)}" if flags else ""),
        f"Generator moving average: {', '.join(ema) or 'none'}",
        f"Optimizer: {opt.get('name') or 'the variant default'}"
        + (f", betas {betas}" if betas is not None else "")
        + f"; lr_g {args.get('lr_g', '?')}, lr_d {args.get('lr_d', '?')}; "
        f"n_critic {args.get('n_critic', 1)} D step(s) per G step",
        "Networks: " + ", ".join(f"{k}={args[k]}" for k in NETWORK_KEYS if k in args),
    ]
    return lines


def write_card(cards_dir: Path, benchmark: str, label: str, runs: pd.DataFrame, summary,
               best: pd.Series, medians: dict[str, dict], header: list[str],
               env: jinja2.Environment) -> str | None:
    """Write ``cards_dir/<row>.md``; its path relative to the study page (None for a row
    with no finished run: no checkpoint to describe)."""
    if label not in best or label not in medians:
        return None
    top, middle = best[label], medians[label]
    if top.get("run_name") == middle.get("run_name"):
        described = [{"which": "best and median", "entry": top}]
    else:
        described = [{"which": "best", "entry": top}, {"which": "median", "entry": middle}]
    stats = summary.stats.loc[label]
    position = summary.rows.index(label)
    metric_lines = []
    for metric in summary.metrics:
        if not stats.get(f"{metric}_n"):
            continue  # a metric of other rows (label accuracy of a conditional model)
        group = summary.groups.get(metric, {}).get(label, ("", ""))
        values = [fmt(final_metrics(d["entry"]).get(metric), metric) for d in described]
        metric_lines.append([measure(metric).label, summary.cells[position][summary.keys.index(metric)],
                             group[0] or "—", *values])
    config = top.get("config") or {}
    data = config.get("data") or {}
    front = yaml.safe_dump(model_index(benchmark, label, described), sort_keys=False,
                           allow_unicode=True)
    extractor = ((top.get("final") or {}).get("protocol") or {}).get("extractor")
    text = env.get_template("card.md").render(
        front_matter=front, benchmark=benchmark, label=label, described=described,
        checkpoint=checkpoint_path, recipe=recipe(config), data=data,
        budget=[line for line in header if line.startswith("Budget:")]
        + [f"This run: {budget_settings(top)}"],
        n=int(stats["n_finished"]), metric_lines=metric_lines,
        protocol=[line for line in header if line.startswith(("Protocol:", "Values:", "Groups:"))],
        extractor=extractor, dataset=str(data.get("dataset") or benchmark),
        cost=[f"{t}: {summary.cells[position][summary.keys.index(c)]}"
              for c, t in zip(summary.keys, summary.columns, strict=True)
              if c in ("g_steps", "d_steps", "images_seen", "wall_time_s")],
    )
    name = f"{sanitize(label)}.md"
    cards_dir.mkdir(parents=True, exist_ok=True)
    (cards_dir / name).write_text(text)
    return f"cards/{name}"
