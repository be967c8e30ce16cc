"""ganzoo's DCGAN against a plain PyTorch DCGAN (``benchmarks/bare_dcgan.py``) at the same budget.

    .venv/bin/python benchmarks/bench_dcgan.py [--images 100000] [--seeds 0 1 2] [--workers 2]
        [--config experiments/dcgan_mnist5k.yaml] [--out results/dcgan_vs_bare] [-- OVERRIDES]

Both train on the 4,000-image mnist5k training split for the same number of real images
(one G step per D step; the bare loop at batch 64, ganzoo at its config's batch, stopped by
``budget.max_images``), one torch thread per run, ``--workers`` runs side by side. ganzoo's model is built from ``--config`` through the CLI exactly as
``ganzoo fit`` builds it (its callbacks included; extra CLI overrides after ``--``). Both are
scored the same way: ``--samples`` fakes drawn with a fixed seed, G in eval mode, against the
1,000-image test split, features and class predictions of the committed mnist5k domain
classifier. Prints and writes ``table.md`` (per seed, and median over seeds) with the
ratio of the medians, FID(ganzoo) / FID(bare).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
ROOT = Path(__file__).resolve().parents[1]
BATCH = 64


def score(images: torch.Tensor, seed: int) -> dict[str, float]:
    """FID / IS against the mnist5k test split and the smallest predicted class share."""
    from ganzoo.data import GANDataModule
    from ganzoo.metrics.extractor_registry import build_extractor
    from ganzoo.metrics.extractors import extract
    from ganzoo.metrics.fidelity import fidelity_scores
    from ganzoo.metrics.real_stats import real_features

    dm = GANDataModule(dataset="mnist5k")
    extractor = build_extractor("domain", dm)
    real = real_features(dm, "test", extractor)
    features, logits = extract(extractor, images)
    scores, _ = fidelity_scores(real.features, features, logits, kid_subset_size=1000, seed=seed)
    shares = torch.bincount(logits.argmax(1), minlength=10).double() / len(images)
    return {"fid": scores["fid"], "is": scores["is"], "min_class": float(shares.min())}


def run_bare(seed: int, images: int, samples: int) -> torch.Tensor:
    import bare_dcgan

    from ganzoo.data import GANDataModule

    x = GANDataModule(dataset="mnist5k").split("train").tensors[0]
    g = bare_dcgan.train(x, images=images, seed=seed, batch=BATCH)
    return bare_dcgan.sample(g, samples, seed=10_000 + seed)


def run_ganzoo(seed: int, images: int, samples: int, config: str, overrides: list[str]):
    import logging

    from ganzoo.cli import run_lightning_cli

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        cli = run_lightning_cli(
            [
                "--config", config,
                f"--seed_everything={seed}",
                # the config's batch (and so its G steps); the budget is the real images
                f"--budget.max_images={images}",
                "--trainer.max_epochs=-1",
                "--trainer.logger=false",
                "--trainer.enable_progress_bar=false",
                f"--runs_dir={tmp}",
                *overrides,
            ],
            run=False,
        )
        cli.trainer.fit(cli.model, cli.datamodule)
        model = cli.model
        assert model.images_seen >= images, (model.images_seen, images)
        gen = torch.Generator().manual_seed(10_000 + seed)
        samples = torch.cat([model.sample(500, generator=gen) for _ in range(samples // 500)])
        # the settings the bare loop does not share, as they ran (config and overrides)
        hp = model.hparams
        ran = (f"batch {cli.datamodule.batch_size}, lr_g {hp.lr_g:g}, lr_d {hp.lr_d:g}, "
               f"g_ema {next((c.decay for c in cli.trainer.callbacks if hasattr(c, 'decay')), 0):g}")
        return samples, ran


def ganzoo_settings(rows: list[dict]) -> str:
    """The settings ganzoo's runs trained with (the same for every seed)."""
    return "; ".join(sorted({r["ran"] for r in rows if r["ran"]}))


def job(kind: str, seed: int, args) -> dict:
    torch.set_num_threads(1)
    start = time.perf_counter()
    ran = None
    if kind == "bare":
        images = run_bare(seed, args.images, args.samples)
    else:
        images, ran = run_ganzoo(seed, args.images, args.samples, args.config, args.overrides)
    seconds = time.perf_counter() - start
    return {"kind": kind, "seed": seed, "seconds": seconds, "ran": ran, **score(images, seed)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=100_000)
    p.add_argument("--samples", type=int, default=5000)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--config", default="experiments/dcgan_mnist5k.yaml")
    p.add_argument("--out", default="results/dcgan_vs_bare")
    p.add_argument("overrides", nargs="*", help="ganzoo CLI overrides (after --)")
    args = p.parse_args()
    from ganzoo.runs.records import cpu_model, git_info

    os.chdir(ROOT)
    commit = git_info()
    jobs = [(kind, seed) for seed in args.seeds for kind in ("ganzoo", "bare")]
    rows = []
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(job, kind, seed, args) for kind, seed in jobs]
        for f in futures:
            rows.append(f.result())
            r = rows[-1]
            print(f"[{len(rows)}/{len(jobs)}] {r['kind']} seed {r['seed']}: FID {r['fid']:.2f} "
                  f"IS {r['is']:.2f} min class share {r['min_class']:.3f} ({r['seconds']:.0f}s)",
                  flush=True)
    lines = [
        "# ganzoo DCGAN vs a bare PyTorch DCGAN, same data and budget",
        "",
        f"- Command: `.venv/bin/python benchmarks/bench_dcgan.py {' '.join(sys.argv[1:])}`".rstrip(),
        f"- Date: {datetime.now(UTC):%Y-%m-%dT%H:%M}Z; machine: {cpu_model()}, "
        f"{os.cpu_count()} cores, torch {torch.__version__}; 1 thread per run",
        f"- Commit: {str(commit['commit'])[:12]}"
        + (" (with uncommitted changes)" if commit["dirty"] else ""),
        f"- Budget: {args.images:,} real images (bare batch {BATCH}, ganzoo its config's; one G "
        f"step per D step); "
        f"ganzoo config `{args.config}` {' '.join(args.overrides)}".rstrip(),
        f"- ganzoo trained with {ganzoo_settings(rows)} (its config and any overrides), the "
        "bare loop with the plain recipe (Adam 2e-4, no average): the ratio compares the two "
        "as configured",
        f"- Scored: {args.samples} samples vs the 1,000-image mnist5k test split, domain "
        "classifier features; min class = smallest share of a predicted class (0.1 = even)",
        "",
        "| loop | seed | FID | IS | min class | train+sample s |",
        "|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: (r["kind"], r["seed"])):
        lines.append(f"| {r['kind']} | {r['seed']} | {r['fid']:.2f} | {r['is']:.2f} | "
                     f"{r['min_class']:.3f} | {r['seconds']:.0f} |")
    med = {k: {m: statistics.median(r[m] for r in rows if r["kind"] == k)
               for m in ("fid", "is", "min_class")} for k in ("ganzoo", "bare")}
    for k in ("ganzoo", "bare"):
        lines.append(f"| {k} | median | {med[k]['fid']:.2f} | {med[k]['is']:.2f} | "
                     f"{med[k]['min_class']:.3f} | |")
    ratio = med["ganzoo"]["fid"] / med["bare"]["fid"]
    lines += ["", f"FID ratio ganzoo / bare (medians): {ratio:.2f} (goal <= 1.10)",
              f"- train+sample s: {args.workers} runs at a time share the cores: not a speed "
              "figure (benchmarks/bench_speed.py, results/performance.md)"]
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(text)


if __name__ == "__main__":
    main()
