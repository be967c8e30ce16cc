"""ganzoo table: rows = variants, the mean over seeds with its 95% interval and n, sorted by
the headline metric with significance groups, diverged runs shown as such."""

import csv
import io
import json
import shutil
import statistics
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy import stats

from ganzoo.bench.table import csv_table, curves, load_runs, mean_curve, write_table
from ganzoo.runs.records import write_json_atomic

PROTOCOL = {
    "extractor": "domain",
    "weights_sha256": "ab" * 32,
    "reference_split": "test",
    "num_real": 1000,
    "num_fake": 1000,
    "kid_subset_size": 500,
    "seed": 0,
}


def record(
    tmp_path,
    variant,
    seed,
    status="finished",
    fid=None,
    extra_model=None,
    g_steps=100,
    n_critic=1,
    history=None,
    **metrics,
):
    """A record.json as RunRecordCallback writes it; ``history``: (g_steps, wall time, fid)
    per evaluation before the final one."""
    model = {"class_path": f"ganzoo.models.{variant.split('-')[0]}", "init_args": {"lr_g": 2e-4}}
    model["init_args"].update(extra_model or {})
    name = f"{variant}_{seed}_{len(list(tmp_path.glob('runs/b/*')))}"
    run_dir = tmp_path / "runs" / "b" / name
    final = None
    entries = [
        {"epoch": i + 1, "g_steps": g, "metrics": {"fid": f, "is": 1.5}, "wall_time_s": t}
        for i, (g, t, f) in enumerate(history or [])
    ]
    if fid is not None:
        final = {
            "epoch": 9,
            "g_steps": g_steps,
            "metrics": {
                "fid": fid,
                "is": 2.0,
                "is_std": 0.1,
                "kid": fid / 1000,
                "kid_std": 0.0,
                **metrics,
            },
            "protocol": PROTOCOL,
            "wall_time_s": 50.0,
        }
        entries.append(final)
    rec = {
        "schema": 1,
        "status": status,
        "benchmark": "b",
        "run_name": name,
        "run_dir": str(run_dir),
        "variant": variant,
        "seed": seed,
        "config": {
            "seed_everything": seed,
            "model": model,
            "data": {"dataset": "digits"},
            "trainer": {"max_epochs": 10, "default_root_dir": str(run_dir)},
        },
        "git": {"commit": "c0ffee" * 6 + "abcd", "dirty": False},
        "versions": {"torch": "2.14.1"},
        "device": {"cpu": "test cpu", "cpu_count": 2, "torch_threads": 1, "cuda_devices": []},
        "ended_at": "2026-11-28T00:00:00+00:00",
        "wall_time_s": 40.0 + seed,
        "progress": {
            "g_steps": g_steps,
            "d_steps": g_steps * n_critic,
            "images_seen": g_steps * n_critic * 64,
        },
        "final": final,
        "best": final,
        "history": entries,
        "grids": [],
    }
    write_json_atomic(run_dir / "record.json", rec)
    return rec


def test_mean_std_n_per_variant(tmp_path):
    fids = [10.0, 12.0, 17.0]
    for seed, fid in enumerate(fids):
        record(tmp_path, "DCGAN", seed, fid=fid)
    record(tmp_path, "InfoGAN", 0, fid=30.0, code_accuracy=0.8, fid_class_0=31.0)
    out = write_table([tmp_path / "runs"], out_root=tmp_path / "results", use_wandb=False)["b"]
    rows = list(csv.DictReader(io.StringIO((out / "table.csv").read_text())))
    dcgan = next(r for r in rows if r["model"] == "DCGAN")
    assert float(dcgan["fid_mean"]) == pytest.approx(statistics.fmean(fids))
    assert float(dcgan["fid_std"]) == pytest.approx(statistics.stdev(fids))
    assert dcgan["fid_n"] == "3" and dcgan["n_finished"] == "3"
    assert float(dcgan["wall_time_s_mean"]) == pytest.approx(41.0)
    assert dcgan["code_accuracy_n"] == "0"
    md = (out / "table.md").read_text()
    low, high = stats.t.interval(0.95, 2, statistics.fmean(fids), stats.sem(fids))
    assert f"| DCGAN | {statistics.fmean(fids):.2f} [{low:.2f}, {high:.2f}] |" in md
    assert float(dcgan["fid_ci_low"]) == pytest.approx(low)
    # n = 1: no interval; the stand-in config departs from InfoGAN's paper lr_g (1e-3)
    assert "| InfoGAN +lr_g=0.0002 | 30.00 |" in md and "0.800" in md
    assert "fid_class_0" not in md and "fid_class_0_mean" in rows[0]  # breakdown: CSV only
    assert "extractor `domain`" in md and "1000 generated vs 1000 real" in md
    manifest = json.loads((out / "runs.json").read_text())
    assert len(manifest["runs"]) == 4 and manifest["runs"][0]["config"]["model"]


def test_seeds_are_listed_in_numeric_order(tmp_path):
    """Seed 2 before seed 10, in the header and in the list of every run (as text, 10 would
    come first)."""
    for seed in (10, 3, 2):
        record(tmp_path, "DCGAN", seed, fid=float(seed))
    out = write_table([tmp_path / "runs"], out_root=tmp_path / "results", use_wandb=False)["b"]
    md = (out / "table.md").read_text()
    assert "`seed_everything` in {2, 3, 10}" in md
    every = md.split("### Every run")[1]
    assert every.index("| DCGAN | 2 |") < every.index("| DCGAN | 3 |") < every.index("| DCGAN | 10 |")
    assert list(json.loads((out / "runs.json").read_text())["runs"][i]["seed"] for i in range(3)) == [2, 3, 10]


def test_reverse_kl_sits_beside_modes_covered_and_high_quality_share(tmp_path):
    record(tmp_path, "VanillaGAN", 0, fid=1.0, reverse_kl=0.5, d_optimal_gap=0.1,
           modes_covered=3.0, hq_percent=40.0)
    out = write_table([tmp_path / "runs"], out_root=tmp_path / "results", use_wandb=False)["b"]
    header = next(line for line in (out / "table.md").read_text().splitlines()
                  if line.startswith("| model |"))
    assert "| modes_covered | hq_percent | reverse_kl |" in header


def test_diverged_runs_show_as_diverged(tmp_path):
    record(tmp_path, "WGAN-clip", 0, status="diverged", fid=float("nan"))
    record(tmp_path, "WGAN-clip", 1, status="diverged")
    record(tmp_path, "DCGAN", 0, fid=10.0)
    record(tmp_path, "DCGAN", 1, status="diverged", fid=999.0)
    record(tmp_path, "DCGAN", 2, fid=14.0)
    record(tmp_path, "DCGAN", 3, status="running")
    out = write_table([tmp_path / "runs"], out_root=tmp_path / "results", use_wandb=False)["b"]
    md = (out / "table.md").read_text()
    wgan = next(line for line in md.splitlines() if "| WGAN-clip |" in line)
    assert wgan.count("diverged") >= 3 and "nan" not in wgan.lower()
    dcgan = next(line for line in md.splitlines() if "| DCGAN |" in line)
    low, high = stats.t.interval(0.95, 1, 12.0, stats.sem([10.0, 14.0]))
    assert f"12.00 [{low:.2f}, {high:.2f}]" in dcgan and "2/3 finished" in dcgan  # not 999
    assert "Excluded (not finished)" in md and "(running)" in md
    rows = {r["model"]: r for r in csv.DictReader(io.StringIO((out / "table.csv").read_text()))}
    assert rows["WGAN-clip"]["status"] == "diverged" and rows["WGAN-clip"]["fid_mean"] == ""
    assert rows["DCGAN"]["n_diverged"] == "1"


def test_rows_split_by_config_not_seed_and_labels_say_what_differs(tmp_path):
    recs = [record(tmp_path, "DCGAN", s, fid=10.0 + s) for s in range(2)]
    recs += [record(tmp_path, "DCGAN", s, fid=20.0, extra_model={"lr_g": 1e-3}) for s in range(2)]
    runs = load_runs(recs)
    assert sorted(set(runs.model)) == ["DCGAN (lr_g=0.0002)", "DCGAN (lr_g=0.001)"]
    assert runs.groupby("model").size().tolist() == [2, 2]
    assert "DCGAN (lr_g=0.001)" in csv_table(runs).to_csv()


def test_plot_and_best_grid(tmp_path):
    for seed, fid in enumerate([12.0, 10.0]):
        rec = record(tmp_path, "DCGAN", seed, fid=fid)
        grid = tmp_path / rec["run_dir"] / "grids" / "final.png"
        grid.parent.mkdir(parents=True)
        grid.write_bytes(b"png of seed %d" % seed)
    out = write_table([tmp_path / "runs"], out_root=tmp_path / "results", use_wandb=False)["b"]
    assert (out / "grids" / "DCGAN.png").read_bytes() == b"png of seed 1"  # lowest FID
    assert (out / "fid_vs_wall_time.png").stat().st_size > 1000


def test_comparison_is_logged_as_a_wandb_table(tmp_path, monkeypatch):
    from wandb_files import read_offline_run

    monkeypatch.setenv("WANDB_MODE", "offline")
    for seed in range(2):
        record(tmp_path, "DCGAN", seed, fid=10.0 + seed)
    write_table([tmp_path / "runs"], out_root=tmp_path / "results", wandb_dir=tmp_path / "wb")
    [run] = (tmp_path / "wb" / "wandb").glob("offline-run-*")
    rows = read_offline_run(run)["history"]
    table = next(row["b/comparison"] for row in rows if "b/comparison" in row)
    assert table["_type"] == "table-file" and table["nrows"] == 1
    data = json.loads((run / "files" / table["path"]).read_text())
    assert data["columns"][:4] == ["model", "n", "n_diverged", "fid_mean"]
    assert data["data"][0][:4] == ["DCGAN", 2, 0, 10.5]
    low = data["columns"].index("fid_ci_low")
    assert data["data"][0][low] == pytest.approx(stats.t.interval(0.95, 1, 10.5, 0.5)[0])
    for plot in ("fid_vs_wall_time", "fid_vs_g_steps", "is_vs_g_steps"):  # curves as images
        assert any(f"b/{plot}" in row for row in rows), plot
    assert data["columns"][-10:-8] == ["g_steps_mean", "g_steps_std"]
    assert data["columns"][-2:] == ["images_per_s_mean", "images_per_s_std"]


def test_the_table_as_shown_and_the_grids_are_logged_to_wandb(tmp_path, monkeypatch):
    """The same view online: the displayed table (intervals, group letters) as a wandb.Table,
    each row's best grid and its grids over time as wandb.Images, in the table's W&B run."""
    from wandb_files import read_offline_run

    monkeypatch.setenv("WANDB_MODE", "offline")
    fids = {"DCGAN": [10.0, 10.5, 9.5], "VanillaGAN": [30.0, 31.0, 29.0]}
    for variant, values in fids.items():
        for seed, fid in enumerate(values):
            grids = Path(record(tmp_path, variant, seed, fid=fid)["run_dir"]) / "grids"
            grids.mkdir(parents=True)
            for epoch in (1, 2, 3):
                plt.imsave(grids / f"epoch_{epoch:04d}.png", np.full((120, 120), epoch / 4))
            plt.imsave(grids / "final.png", np.full((120, 120), fid / 40))
    out = write_table([tmp_path / "runs"], out_root=tmp_path / "results",
                      wandb_dir=tmp_path / "wb")["b"]
    [run] = (tmp_path / "wb" / "wandb").glob("offline-run-*")
    rows = read_offline_run(run)["history"]
    shown = next(row["b/table"] for row in rows if "b/table" in row)
    assert shown["_type"] == "table-file" and shown["nrows"] == 2
    data = json.loads((run / "files" / shown["path"]).read_text())
    assert data["columns"][:5] == ["rank", "model", "FID", "FID group", "IS"]
    first, last = data["data"]
    assert first[:2] == ["1", "DCGAN"] and first[3] == "a" and last[:2] == ["2", "VanillaGAN +lr_g=0.0002"]
    low, high = stats.t.interval(0.95, 2, 10.0, statistics.stdev(fids["DCGAN"]) / 3**0.5)
    assert first[2] == f"{10.0:.2f} [{low:.2f}, {high:.2f}]"  # as table.md prints it
    assert (out / "table.md").read_text().count(f"| {first[2]} | a |") == 1
    comparison = next(row["b/comparison"] for row in rows if "b/comparison" in row)
    numbers = json.loads((run / "files" / comparison["path"]).read_text())
    assert {"fid_ci_low", "fid_ci_high", "fid_group", "fid_rank"} <= set(numbers["columns"])
    for key in ("b/best_grid/DCGAN", "b/best_grid/VanillaGAN", "b/grids_over_time/DCGAN"):
        image = next(row[key] for row in rows if key in row)
        assert image["_type"] == "images/separated" and image["count"] == 1, key
    media = list((run / "files" / "media" / "images").rglob("*.png"))
    assert len(media) >= 3 + 4  # the curves, two best grids, two grids over time


def test_runs_from_several_commits_are_flagged(tmp_path):
    first = record(tmp_path, "DCGAN", 0, fid=10.0)
    second = record(tmp_path, "DCGAN", 1, fid=11.0)
    second["git"]["commit"] = "f" * 40
    write_json_atomic(Path(second["run_dir"]) / "record.json", second)
    out = write_table([tmp_path / "runs"], out_root=tmp_path / "results", use_wandb=False)["b"]
    md = (out / "table.md").read_text()
    assert "WARNING: the runs come from 2 commits" in md
    assert first["git"]["commit"][:12] in md and "f" * 12 in md


def test_cost_beside_quality_and_budget_line(tmp_path):
    for seed in range(3):
        record(tmp_path, "DCGAN", seed, fid=10.0 + seed)
        record(tmp_path, "WGAN-gp", seed, fid=20.0 + seed, n_critic=5)
    out = write_table([tmp_path / "runs"], out_root=tmp_path / "results", use_wandb=False)["b"]
    md = (out / "table.md").read_text()
    assert "| G steps | D steps | images seen | wall time | images/s | n |" in md
    rate = [6400 / (40 + s) for s in range(3)]
    rate_cell = f"{statistics.fmean(rate):,.0f} ± {statistics.stdev(rate):,.0f}"
    dcgan = next(line for line in md.splitlines() if "| DCGAN |" in line)
    assert f"| 100 | 100 | 6,400 | 41s ± 1s | {rate_cell} | 3 |" in dcgan
    wgan = next(line for line in md.splitlines() if "| WGAN-gp +lr_g=0.0002 |" in line)  # not the paper lr
    assert "| 100 | 500 | 32,000 |" in wgan  # 5 critic steps per generator step
    budget = next(line for line in md.splitlines() if line.startswith("- Budget:"))
    assert budget == (
        "- Budget: equal generator steps (100 G steps per run; D steps: 100 (DCGAN); "
        "500 (WGAN-gp), n_critic D steps per G step; diverged runs stop early)"
    )
    assert "- Budget settings: DCGAN: max_epochs=10" in md
    runs_head = next(line for line in md.splitlines() if line.startswith("| model | seed |"))
    assert runs_head.endswith("| G steps | wall time | images/s | run |")
    rows = {r["model"]: r for r in csv.DictReader(io.StringIO((out / "table.csv").read_text()))}
    assert float(rows["WGAN-gp"]["d_steps_mean"]) == 500
    assert float(rows["DCGAN"]["images_per_s_mean"]) == pytest.approx(statistics.fmean(rate))


def test_budget_line_names_equal_real_images(tmp_path):
    record(tmp_path, "DCGAN", 0, fid=10.0, g_steps=500)
    record(tmp_path, "WGAN-gp", 0, fid=20.0, g_steps=100, n_critic=5)
    out = write_table([tmp_path / "runs"], out_root=tmp_path / "results", use_wandb=False)["b"]
    budget = next(line for line in (out / "table.md").read_text().splitlines() if "Budget:" in line)
    assert budget == (
        "- Budget: equal real images (32,000 per run = 500 D steps; G steps: 100 (WGAN-gp); "
        "500 (DCGAN), one G step per n_critic D steps; diverged runs stop early)"
    )


def test_budget_line_says_when_runs_share_neither_images_nor_g_steps(tmp_path):
    record(tmp_path, "DCGAN", 0, fid=10.0, g_steps=100)
    record(tmp_path, "WGAN-clip", 0, fid=20.0, g_steps=30, n_critic=5)
    out = write_table([tmp_path / "runs"], out_root=tmp_path / "results", use_wandb=False)["b"]
    budget = next(line for line in (out / "table.md").read_text().splitlines() if "Budget:" in line)
    assert "share neither real images nor generator steps" in budget
    assert "G steps 30 (WGAN-clip); 100 (DCGAN)" in budget
    assert "equal generator steps (" not in budget


def test_curves_from_evaluation_histories(tmp_path):
    for seed, (early, late) in enumerate([(60.0, 30.0), (80.0, 20.0)]):
        record(
            tmp_path,
            "DCGAN",
            seed,
            fid=10.0 + seed,
            history=[(10, 5.0 + seed, early), (50, 20.0 + seed, late)],
        )
    record(tmp_path, "InfoGAN", 0, fid=8.0, history=[(10, 6.0, 40.0)], code_accuracy=0.5)
    record(tmp_path, "DCGAN", 5, status="diverged", history=[(10, 5.0, 900.0)])
    out = write_table([tmp_path / "runs"], out_root=tmp_path / "results", use_wandb=False)["b"]
    for name in ("fid_vs_g_steps.png", "fid_vs_wall_time.png", "is_vs_g_steps.png"):
        assert (out / name).stat().st_size > 1000, name
    lines = list(csv.DictReader(io.StringIO((out / "curves.csv").read_text())))
    assert len(lines) == 3 + 3 + 2 + 1  # every evaluation of every run, diverged included
    assert list(lines[0])[:8] == [
        "model",
        "run",
        "seed",
        "status",
        "epoch",
        "g_steps",
        "wall_time_s",
        "fid",
    ]
    info = [line for line in lines if line["model"] == "InfoGAN"]
    assert info[-1]["code_accuracy"] == "0.5" and info[0]["code_accuracy"] == ""
    assert [float(line["fid"]) for line in lines if line["status"] == "diverged"] == [900.0]
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "runs").rglob("record.json"))]
    history = curves(load_runs(records))
    dcgan = history[history.model == "DCGAN"]
    points = mean_curve(dcgan, "fid", "g_steps")
    assert points.x.tolist() == [10, 50, 100]
    assert points["mean"].tolist() == [70.0, 25.0, 10.5]  # the diverged run is left out
    assert points.low.tolist() == [60.0, 20.0, 10.0] and points.high.tolist() == [80.0, 30.0, 11.0]
    points = mean_curve(dcgan, "fid", "wall_time_s")
    assert points.x.tolist() == [5.5, 20.5, 50.0]  # wall time of each evaluation, mean over seeds


def test_a_truncated_record_is_skipped_with_a_warning(tmp_path, capsys):
    record(tmp_path, "DCGAN", 0, fid=10.0)
    bad = tmp_path / "runs" / "b" / "broken" / "record.json"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"status": "finished", "final": {"metr')
    out = write_table([tmp_path / "runs"], out_root=tmp_path / "results", use_wandb=False)["b"]
    err = capsys.readouterr().err
    assert f"ganzoo table: warning: skipping {bad}: unreadable run record" in err
    assert "| DCGAN |" in (out / "table.md").read_text()


def test_a_baseline_with_one_setting_departures_labels_only_the_departures(tmp_path):
    recs = [record(tmp_path, "DCGAN", s, fid=10.0) for s in range(2)]
    recs += [record(tmp_path, "DCGAN", s, fid=11.0, extra_model={"label_smoothing": 0.1})
             for s in range(2)]
    recs += [record(tmp_path, "DCGAN", s, fid=12.0, extra_model={"g_norm": "virtual"})
             for s in range(2)]
    labels = load_runs(recs).groupby("model", sort=False).size()
    assert labels.to_dict() == {"DCGAN": 2, "DCGAN (g_norm=virtual)": 2,
                                "DCGAN (label_smoothing=0.1)": 2}


def toy_record(tmp_path, seed, modes_by_epoch, hq_by_epoch, extra_model=None):
    """A finished toy run: no FID, the toy metrics every epoch, a scatter PNG per epoch."""
    rec = record(tmp_path, "VanillaGAN", seed, fid=1.0, extra_model=extra_model)
    rec["history"] = [
        {"epoch": e + 1, "g_steps": 10 * (e + 1), "wall_time_s": float(e),
         "metrics": {"modes_covered": m, "hq_percent": h, "reverse_kl": 0.1}}
        for e, (m, h) in enumerate(zip(modes_by_epoch, hq_by_epoch, strict=True))
    ]
    rec["final"] = rec["best"] = rec["history"][-1]
    write_json_atomic(Path(rec["run_dir"]) / "record.json", rec)
    grids = Path(rec["run_dir"]) / "grids"
    grids.mkdir(parents=True)
    for e in range(len(modes_by_epoch)):
        plt.imsave(grids / f"epoch_{e + 1:04d}.png", np.full((200, 240), e / 10 + seed / 100))
    (grids / "final.png").write_bytes(b"final of seed %d" % seed)
    return rec


def test_toy_tables_plot_modes_and_quality_per_epoch_and_grids_over_time(tmp_path):
    toy_record(tmp_path, 0, [1, 2, 3, 3, 3, 3, 3, 3], [5, 10, 20, 30, 30, 30, 30, 30])
    toy_record(tmp_path, 1, [2, 4, 6, 8, 8, 8, 8, 8], [5, 10, 40, 50, 60, 60, 60, 60])
    out = write_table([tmp_path / "runs"], out_root=tmp_path / "results", use_wandb=False)["b"]
    for name in ("modes_covered_vs_epoch.png", "hq_percent_vs_epoch.png"):
        assert (out / name).stat().st_size > 1000, name
    assert not (out / "fid_vs_g_steps.png").exists()  # no FID in any history
    assert (out / "grids" / "VanillaGAN.png").read_bytes() == b"final of seed 1"  # most modes
    strip = plt.imread(out / "grids_over_time" / "VanillaGAN.png")  # 6 of the 8 snapshots
    assert strip.shape[1] >= 6 * 240 / 2 and strip.shape[1] > 4 * strip.shape[0]
    records = [json.loads(p.read_text()) for p in sorted((tmp_path / "runs").rglob("record.json"))]
    points = mean_curve(curves(load_runs(records)), "modes_covered", "epoch")
    assert points.x.tolist() == list(range(1, 9)) and points["mean"].tolist()[-1] == 5.5


def test_rows_sorted_by_fid_with_groups_ranks_and_the_test_in_the_header(tmp_path):
    fids = {"VanillaGAN": [30.0, 31.0, 29.5], "DCGAN": [10.0, 10.4, 9.8], "WGAN-gp": [10.2, 9.9, 10.5]}
    for variant, values in fids.items():
        for seed, fid in enumerate(values):
            record(tmp_path, variant, seed, fid=fid)
    out = write_table([tmp_path / "runs"], out_root=tmp_path / "results", use_wandb=False)["b"]
    md = (out / "table.md").read_text()
    main = md.split("### Every run")[0]
    head = next(x for x in main.splitlines() if x.startswith("| rank | model |"))
    assert head.startswith("| rank | model | FID | FID group | IS | KID | KID group |")
    order = [x.split(" | ")[1].split(" +")[0]  # the row, without its recipe tokens
             for x in main.splitlines() if x.startswith("| ") and "---" not in x][1:]
    assert order == ["DCGAN", "WGAN-gp", "VanillaGAN"]  # by mean FID, best first
    dcgan, wgan, vanilla = (next(x for x in main.splitlines() if f"| {v} " in x) for v in order)
    assert dcgan.startswith("| 1-2 | DCGAN |") and "| a |" in dcgan
    assert wgan.startswith("| 1-2 | WGAN-gp +lr_g=0.0002 |") and "| a |" in wgan  # not separable
    assert vanilla.startswith("| 3 | VanillaGAN +lr_g=0.0002 |") and "| b |" in vanilla
    assert ("Holm-adjusted over all 3 pairs of rows per metric at family α = 0.05" in md
            and "pairwise Welch t-tests on each metric's scale (log for FID, KID)" in md
            and "n = 3 seeds per row" in md)
    rows = list(csv.DictReader(io.StringIO((out / "table.csv").read_text())))
    assert [r["model"] for r in rows] == order
    assert [r["fid_group"] for r in rows] == ["a", "a", "b"] and rows[2]["fid_rank"] == "3"


def test_one_rounding_rule_per_column(tmp_path):
    for seed, (precision, fid) in enumerate([(0.5, 1.234), (0.61234, 12.3), (0.7, 123.456)]):
        record(tmp_path, "DCGAN", seed, fid=fid, precision=precision)
    out = write_table([tmp_path / "runs"], out_root=tmp_path / "results", use_wandb=False)["b"]
    every = (out / "table.md").read_text().split("### Every run")[1]
    cells = [x.split(" | ") for x in every.splitlines() if x.startswith("| DCGAN |")]
    assert [c[3] for c in cells] == ["1.23", "12.30", "123.46"]  # FID: 2 decimals
    assert [c[6] for c in cells] == ["0.500", "0.612", "0.700"]  # precision: 3 decimals


def test_rerender_rewrites_the_table_from_runs_json_alone(tmp_path):
    for seed in range(3):
        record(tmp_path, "DCGAN", seed, fid=10.0 + seed)
        record(tmp_path, "VanillaGAN", seed, fid=30.0 + seed)
    notes = ["Wall time of this command: 1m00s"]
    out = write_table([tmp_path / "runs"], out_root=tmp_path / "results", use_wandb=False,
                      command="ganzoo compare", notes=notes)["b"]
    before = (out / "table.md").read_text()
    manifest = (out / "runs.json").read_text()
    shutil.rmtree(tmp_path / "runs")  # the run directories are not committed
    (out / "table.md").write_text(before.replace("| rank | model |", "| old layout |"))
    from ganzoo.bench.table import rerender

    rerender(out, "ganzoo table --rerender results/b")
    after = (out / "table.md").read_text()
    assert "- Command: `ganzoo compare`" in after and "- Wall time of this command: 1m00s" in after
    assert "- Re-rendered from runs.json by `ganzoo table --rerender results/b` at commit" in after
    assert after.split("### Every run")[1] == before.split("### Every run")[1]
    assert after.split("\n\n\n")[1] == before.split("\n\n\n")[1]  # the same table as from records
    assert (out / "runs.json").read_text() == manifest
    rerender(out, "ganzoo table --rerender results/b")  # again: one re-render note, not two
    assert (out / "table.md").read_text().count("Re-rendered from runs.json") == 1


def test_rerender_with_a_later_search_round_replaces_the_tuning_line(tmp_path):
    for seed in range(2):
        record(tmp_path, "DCGAN", seed, fid=10.0 + seed)
    out = write_table([tmp_path / "runs"], out_root=tmp_path / "results", use_wandb=False,
                      notes=["Tuning: 8 trials", "Wall time of this command: 1m00s"])["b"]
    from ganzoo.bench.table import rerender

    rerender(out, "ganzoo table --rerender --tuning t results/b", tuning="Tuning: 10 trials")
    text = (out / "table.md").read_text()
    assert "- Tuning: 10 trials" in text and "8 trials" not in text
    assert "- Wall time of this command: 1m00s" in text


def test_rows_that_differ_in_their_tricks_are_labelled_by_the_tricks_class_names(tmp_path):
    sn = [{"class_path": "ganzoo.tricks.spectral_norm.SpectralNorm",
           "init_args": {"power_iterations": 1}}]
    recs = [record(tmp_path, "DCGAN", s, fid=10.0, extra_model={"tricks": []}) for s in range(2)]
    recs += [record(tmp_path, "DCGAN", s, fid=9.0, extra_model={"tricks": sn}) for s in range(2)]
    assert sorted(set(load_runs(recs).model)) == [
        "DCGAN (tricks=SpectralNorm(power_iterations=1))", "DCGAN (tricks=none)"]
