"""Table headers state the whole evaluation protocol, the real floor row and the agreement of
the two feature spaces, from the records alone; committed tables included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scipy import stats

from ganzoo.bench.protocol import NOT_RECORDED, complete
from ganzoo.bench.table import write_table
from ganzoo.data import GANDataModule
from ganzoo.metrics import evaluate
from ganzoo.models import VanillaGAN
from ganzoo.runs.records import write_json_atomic
from tests.bench.test_results_table import record

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = sorted(p.parent for p in (ROOT / "results").rglob("runs.json"))


def protocol_lines(md: str) -> list[str]:
    return [line for line in md.split("\n\n\n")[0].splitlines() if line.startswith("- Protocol")]


def done_protocols(results: Path) -> list[dict]:
    runs = json.loads((results / "runs.json").read_text())["runs"]
    found = [(r.get("final") or {}).get("protocol") for r in runs
             if r.get("status") in ("finished", "diverged")]
    return [p for p in found if p]


@pytest.mark.parametrize("results", COMMITTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_committed_table_states_its_protocol(results):
    md = (results / "table.md").read_text()
    lines = protocol_lines(md)
    protocols = done_protocols(results)
    assert lines and protocols
    assert "sha256 ?" not in md and "extractor none" not in md
    text = "\n".join(lines)
    columns = next(x for x in md.splitlines() if x.startswith("| rank | model |"))
    for p in protocols:
        if p["extractor"] == "none":
            assert "no feature extractor" in text and f"{p['num_fake']} generated samples" in text
        else:
            assert p["weights_sha256"] in text and len(p["weights_sha256"]) == 64  # in full
            assert f"{p['num_fake']} generated vs {p['num_real']} real images" in text
            assert f"of the `{p['reference_split']}` split (" in text
            assert f"KID over {p['kid_subsets']} subset" in text
            assert f"of {p['kid_subset_size']}" in text
            if "| precision |" in columns:
                assert "precision/recall k = " in text and "density/coverage k = " in text
        # "not recorded" only where the runs were evaluated before the field was recorded
        if all(complete(q) for q in protocols):
            assert NOT_RECORDED not in text
    floors = [p for p in protocols if "real_floor" in p]
    assert ("| floor | real (train vs" in md) == bool(floors)
    assert bool(floors) or "- Real floor: not recorded" in md
    assert sum(line.startswith("- Feature spaces:") for line in md.splitlines()) == 1


@pytest.fixture(scope="module")
def protocol(tmp_path_factory):
    """The protocol and metrics of one real evaluation (digits, 200 samples)."""
    dm = GANDataModule(dataset="digits")
    model = VanillaGAN(data_shape=dm.data_shape, num_classes=10, g_width=8, d_width=8)
    out = evaluate(model, dm, num_samples=200, batch_size=100, kid_subset_size=100,
                   kid_subsets=3, cache_dir=str(tmp_path_factory.mktemp("cache")))
    return out["protocol"], out["metrics"]


def test_a_table_of_new_records_is_complete_with_floor_row_and_space_agreement(tmp_path,
                                                                              protocol):
    p, metrics = protocol
    # FID orders A < B < C, FID in the autoencoder space A < C < B: one pair swapped
    fids = {"A": (1.0, 1.0), "B": (2.0, 3.0), "C": (3.0, 2.0)}
    for variant, (fid, fid_ae) in fids.items():
        for seed in range(2):
            values = {k: v for k, v in metrics.items() if k not in ("fid", "fid_ae")}
            rec = record(tmp_path, variant, seed, fid=fid + seed / 10,
                         fid_ae=fid_ae + seed / 10, **values)
            rec["final"]["protocol"] = p
            write_json_atomic(Path(rec["run_dir"]) / "record.json", rec)
    md = (write_table([tmp_path / "runs"], out_root=tmp_path / "results",
                      use_wandb=False)["b"] / "table.md").read_text()
    text = "\n".join(protocol_lines(md))
    assert NOT_RECORDED not in md
    assert p["weights_sha256"] in text and p["autoencoder_sha256"] in text
    assert "penultimate layer" in text and "128-d" in text and "64-d" in text
    assert f"200 generated vs {p['num_real']} real images of the `test` split " \
           f"({p['reference_size']} images)" in text
    assert "KID over 3 subsets of 100" in text and "k = 3" in text and "k = 5" in text
    assert "FID at 50, 100, 150, 200 generated images" in text
    assert "10 k-means cells" in text and "held out: the `test` split" in text
    floor = next(x for x in md.splitlines() if x.startswith("| floor | real (train vs test) |"))
    assert f"| {p['real_floor']['fid']:.2f} | — |" in floor  # its FID, no group letter
    assert "Real floor (row `real (train vs test)`, not ranked)" in md and "200 seeded" in md
    ranks = [x.split(" | ")[0] for x in md.split("### Every run")[0].splitlines()
             if x.startswith("| ") and "---" not in x][1:]
    assert ranks == ["| floor", "| 1", "| 2", "| 3"]  # the floor is not ranked
    tau = stats.kendalltau([1, 2, 3], [1, 3, 2]).statistic
    spaces = next(x for x in md.splitlines() if x.startswith("- Feature spaces:"))
    assert f"Kendall's τ = {tau:.2f}" in spaces and "3 rows" in spaces
    assert "they order 1 of 3 pairs differently: B ahead of C by FID, not by FID (AE)" in spaces


def test_old_records_say_what_was_not_recorded(tmp_path):
    for seed in range(2):
        record(tmp_path, "DCGAN", seed, fid=10.0 + seed)  # the former protocol: no new fields
    md = (write_table([tmp_path / "runs"], out_root=tmp_path / "results",
                      use_wandb=False)["b"] / "table.md").read_text()
    text = "\n".join(protocol_lines(md))
    assert "(layer not recorded, dimension not recorded; weights sha256 " + "ab" * 32 in text
    assert "(split size not recorded)" in text
    assert "- Real floor: not recorded" in md and "| floor |" not in md
    assert "- Feature spaces: FID in the autoencoder features not recorded" in md


def test_toy_tables_say_what_is_measured_instead_of_features(tmp_path):
    dm = GANDataModule(dataset="ring8", toy_samples=2000)
    model = VanillaGAN(data_shape=(2,), num_classes=1, arch="mlp", g_width=8, d_width=8)
    out = evaluate(model, dm, num_samples=500, cache_dir=str(tmp_path / "cache"))
    for seed in range(2):
        rec = record(tmp_path, "VanillaGAN", seed, fid=1.0)
        rec["final"] = {**rec["final"], "metrics": out["metrics"], "protocol": out["protocol"]}
        write_json_atomic(Path(rec["run_dir"]) / "record.json", rec)
    md = (write_table([tmp_path / "runs"], out_root=tmp_path / "results",
                      use_wandb=False)["b"] / "table.md").read_text()
    [line] = protocol_lines(md)
    assert line == ("- Protocol: no feature extractor: modes and densities on the 2-D samples; "
                    "500 generated samples against the known mixture (8 modes, std 0.05; high "
                    "quality: within 3.0 std of a mode); seed 0")
    assert "| floor | real (train vs density) | 8.00 |" in md  # every mode of the mixture
    assert "- Feature spaces: no FID in this table (toy data)" in md
