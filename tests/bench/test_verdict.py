"""`ganzoo verdict A B` on the committed main table: against itself nothing differs, a doubled
FID or a code accuracy 0.10 lower is DIFFERENT (exit 1), bad input is one line and writes
nothing."""

import copy
import json
import re
import shutil
from pathlib import Path

import pytest

from ganzoo.__main__ import bench_command as bench_main
from ganzoo.bench.verdict import verdict
from ganzoo.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "results" / "mnist5k"


def results_copy(tmp_path, name, change=None):
    """A copy of the committed runs.json in ``tmp_path/name``, its runs passed to ``change``."""
    manifest = json.loads((COMMITTED / "runs.json").read_text())
    if change:
        change(manifest)
    out = tmp_path / name
    out.mkdir()
    (out / "runs.json").write_text(json.dumps(manifest))
    return out


def run_verdict(capsys, *args):
    code = bench_main(["verdict", *map(str, args)])
    return code, capsys.readouterr().out


def counts(out):
    found = re.search(r"^(\d+) REPRODUCED, (\d+) INCONCLUSIVE, (\d+) DIFFERENT$", out, re.M)
    return [int(n) for n in found.groups()]


def line(out, row, metric):
    return next(x for x in out.splitlines() if x.startswith(f"| {row} | {metric} |"))


def scale(row, metric, factor=None, shift=None):
    def change(manifest):
        for run in manifest["runs"]:
            if run["row"] == row:
                metrics = run["final"]["metrics"]
                metrics[metric] = metrics[metric] * (factor or 1) + (shift or 0)

    return change


def test_the_committed_table_against_itself(tmp_path, capsys):
    code, out = run_verdict(capsys, COMMITTED, COMMITTED, "--json", tmp_path / "v.json")
    assert code == 0
    reproduced, inconclusive, different = counts(out)
    assert different == 0 and reproduced >= 18  # the 18 counter cells at least
    assert line(out, "WGAN-gp", "fid").endswith("| x1.15 | REPRODUCED |")  # CV 3%
    assert "INCONCLUSIVE (needs" in line(out, "ConditionalGAN", "fid")  # CV 18%: 3 seeds cannot say
    assert "B reuses A's seeds 0, 1, 2" in out
    data = json.loads((tmp_path / "v.json").read_text())
    assert data["summary"] == {"REPRODUCED": reproduced, "INCONCLUSIVE": inconclusive,
                               "DIFFERENT": 0}
    cell = next(c for c in data["cells"] if c["row"] == "WGAN-gp" and c["metric"] == "fid")
    assert {"row", "metric", "verdict", "d", "ci90", "ci95", "delta", "n_needed"} <= set(cell)
    assert cell["d"] == 0 and cell["ci90"][0] < 0 < cell["ci90"][1] and cell["scale"] == "log"
    assert cell["a"]["seeds"] == [0, 1, 2] and cell["a"]["n"] == 3


@pytest.mark.parametrize("row", ["VanillaGAN", "DCGAN", "ConditionalGAN", "WGAN-clip", "WGAN-gp"])
def test_a_doubled_fid_is_different(tmp_path, capsys, row):
    doubled = results_copy(tmp_path, "b", scale(row, "fid", factor=2.0))
    code, out = run_verdict(capsys, COMMITTED, doubled)
    assert code == 1
    assert line(out, row, "fid").endswith("| DIFFERENT |")
    assert counts(out)[2] == 1


def test_a_lower_label_accuracy_is_different(tmp_path, capsys):
    lower = results_copy(tmp_path, "b", scale("ConditionalGAN", "label_accuracy", shift=-0.10))
    code, out = run_verdict(capsys, COMMITTED, lower, "--json", tmp_path / "v.json")
    assert code == 1 and line(out, "ConditionalGAN", "label_accuracy").endswith("| DIFFERENT |")
    cell = next(c for c in json.loads((tmp_path / "v.json").read_text())["cells"]
                if c["metric"] == "label_accuracy")
    assert cell["d"] == pytest.approx(-0.10) and cell["delta"] == 0.015
    assert cell["ci95"][1] < -0.015


def test_a_margins_file_beside_the_runs_overrides_the_registry(tmp_path, capsys):
    committed = results_copy(tmp_path, "a")
    (committed / "margins.yaml").write_text("fid: {ratio: 3.0}\n")
    doubled = results_copy(tmp_path, "b", scale("VanillaGAN", "fid", factor=2.0))
    code, out = run_verdict(capsys, committed, doubled)
    assert code == 0 and line(out, "VanillaGAN", "fid").endswith("| x3 | REPRODUCED |")
    assert f"margins from {committed / 'margins.yaml'}" in out
    (committed / "margins.yaml").write_text("fid: {percent: 3}\n")
    with pytest.raises(ConfigError, match="margin: unknown kind 'percent'"):
        bench_main(["verdict", str(committed), str(doubled)])


def drop_row(manifest):
    manifest["runs"] = [r for r in manifest["runs"] if r["row"] != "DCGAN"]


def one_seed(manifest):
    manifest["runs"] = [r for r in manifest["runs"] if r["row"] != "DCGAN" or r["seed"] == 0]


def drop_metric(manifest):
    for run in manifest["runs"]:
        run["final"]["metrics"].pop("recall")


def other_benchmark(manifest):
    manifest["benchmark"] = "cifar10"


@pytest.mark.parametrize(
    "change,message",
    [
        (None, r"verdict: .*missing/runs.json not found; give a directory written by `ganzoo table`"),
        (other_benchmark, r"verdict: .* is benchmark 'mnist5k' and .* is 'cifar10'; compare "),
        (drop_row, r"verdict: the rows differ: only in A \['DCGAN'\], only in B none"),
        (one_seed, r"verdict: DCGAN has 1 finished run\(s\) in B .*needs at least 2 a side"),
        (drop_metric, r"verdict: ConditionalGAN: the metrics differ: only in A \['recall'\]"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, change, message):
    b = results_copy(tmp_path, "b", change) if change else tmp_path / "missing"
    out = tmp_path / "v.json"
    with pytest.raises(ConfigError, match=message):
        bench_main(["verdict", str(COMMITTED), str(b), "--json", str(out)])
    assert not out.exists()


def test_the_cli_exit_status_and_one_line_error(tmp_path):
    import subprocess
    import sys

    b = results_copy(tmp_path, "b", scale("DCGAN", "fid", factor=2.0))
    run = subprocess.run([sys.executable, "-m", "ganzoo", "verdict", str(COMMITTED), str(b)],
                         capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 1 and "1 DIFFERENT" in run.stdout.splitlines()[-1]
    shutil.rmtree(b)
    run = subprocess.run([sys.executable, "-m", "ganzoo", "verdict", str(COMMITTED), str(b)],
                         capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1
    assert "Traceback" not in run.stderr


def test_a_copy_with_new_seeds_keeps_its_seeds_in_the_report(tmp_path, capsys):
    def reseed(manifest):
        for run in manifest["runs"]:
            run["seed"] += 3

    b = results_copy(tmp_path, "b", reseed)
    _, out = run_verdict(capsys, COMMITTED, b)
    assert f"Seeds: A ({COMMITTED}) 0, 1, 2; B ({b}) 3, 4, 5" in out and "reuses" not in out
    assert copy.deepcopy(counts(out))[2] == 0


def test_a_column_new_in_b_is_shown_not_judged(tmp_path):
    def drop_fid_inf(manifest):  # A: a table made before the column existed
        for run in manifest["runs"]:
            run["final"]["metrics"].pop("fid_inf")

    a = results_copy(tmp_path, "a", drop_fid_inf)
    cells, _ = verdict(a, COMMITTED)
    new = [c for c in cells if c.metric == "fid_inf"]
    assert len(new) == 6 and all(c.verdict == "info" and c.note == "only in B: not compared"
                                 for c in new)
    assert "DIFFERENT" not in {c.verdict for c in cells if c.metric == "fid"}  # the same runs
