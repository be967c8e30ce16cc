"""ganzoo report: a self-contained static site from committed results directories (no network
while building, no remote assets), the table as table.md shows it, one line per bad input
with the rest of the site built, autoescaped pages, and model cards with YAML front matter."""

from __future__ import annotations

import json
import re
import shutil
import socket
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from ganzoo.bench import main as bench_main
from ganzoo.bench.report import build_site
from ganzoo.bench.table import load_runs, summary_table
from ganzoo.bench.verdict import compare_sets, summary_line

REPO = Path(__file__).resolve().parents[2]
MNIST = REPO / "results" / "mnist5k"


def locate(args):  # report never places runs
    raise AssertionError("report must not plan runs")


class Page(HTMLParser):
    """What the tests read of a page: every src/href, and the main table's rows as text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.links: list[str] = []
        self.rows: list[list[str]] = []
        self.sort_keys: list[list[str]] = []
        self.row_labels: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.floor: list[list[str]] = []  # the real floor, in the table's foot (not sorted)
        self._in_results = self._in_body = self._in_foot = False
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.links += [attrs[k] for k in ("src", "href") if k in attrs]
        if tag == "table":
            self._in_results = attrs.get("id") == "results"
        elif self._in_results and tag == "th":
            self.headers.append(attrs)
        elif self._in_results and tag == "tbody":
            self._in_body = True
        elif self._in_results and tag == "tfoot":
            self._in_body, self._in_foot = False, True
        elif self._in_foot and tag == "tr":
            self.floor.append([])
        elif self._in_foot and tag == "td":
            self._cell = []
        elif self._in_body and tag == "tr":
            self.rows.append([])
            self.sort_keys.append([])
            self.row_labels.append(attrs["data-row"])
        elif self._in_body and tag == "td":
            self._cell = []
            self.sort_keys[-1].append(attrs["data-sort"])

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            (self.floor if self._in_foot else self.rows)[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._in_results = self._in_body = self._in_foot = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def main_table(table_md: Path, floor: bool = False) -> list[list[str]]:
    """The cells of table.md's main table (the lines before ``### Every run``): its ranked
    rows, or with ``floor`` its real-floor row(s)."""
    text = table_md.read_text().split("### Every run")[0]
    lines = [line for line in text.splitlines() if line.startswith("| ")][1:]
    cells = [[c.strip() for c in line.strip("|").split(" | ")] for line in lines]
    return [row for row in cells if (row[0] == "floor") == floor]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site of two committed tables, built with every socket connection refused."""
    out = tmp_path_factory.mktemp("report") / "site"
    with pytest.MonkeyPatch.context() as patch:
        def refuse(*args, **kwargs):
            raise OSError("no network in this test")

        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket, "create_connection", refuse)
        studies = build_site([MNIST, REPO / "results" / "mnist5k_sn_rpgan"], out)
    assert [s.problem for s in studies] == [None, None]
    return out


def test_the_page_shows_table_md_with_intervals_and_groups(site):
    page = Page((site / "mnist5k" / "index.html").read_text())
    expected = main_table(MNIST / "table.md")  # written by `ganzoo table` from the same runs
    assert page.rows == expected
    assert page.floor == main_table(MNIST / "table.md", floor=True) != []  # below, not sorted
    assert page.row_labels == [row[1].split(" +")[0] for row in expected]  # rows, no recipe tokens
    assert [h["data-key"] for h in page.headers][:4] == ["rank", "model", "fid", "fid_group"]
    fid = next(h for h in page.headers if h["data-key"] == "fid")
    assert fid["aria-sort"] == "ascending" and fid["title"] == "lower is better"


def test_every_cell_carries_its_sort_key(site):
    page = Page((site / "mnist5k" / "index.html").read_text())
    summary = summary_table(load_runs(json.loads((MNIST / "runs.json").read_text())["runs"]))
    assert len(page.sort_keys) == len(summary.values) == 6
    for keys, values in zip(page.sort_keys, summary.values, strict=True):
        assert len(keys) == len(values) == len(summary.columns)
        for key, value in zip(keys, values, strict=True):
            if value is None:
                assert key == ""  # no value: sorted last
            elif isinstance(value, str):
                assert key == value
            else:
                assert float(key) == pytest.approx(value, rel=1e-12)
    fid = summary.keys.index("fid")
    means = [float(keys[fid]) for keys in page.sort_keys]
    # by FID within each block: the unconditional rows, then the label-supervised one
    assert means[:5] == sorted(means[:5]) and summary.rows[5] == "ConditionalGAN"
    assert [k[0] for k in page.sort_keys] == list("123456")


def test_the_site_is_self_contained(site):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) == 3  # the index and two studies
    for path in pages:
        text = path.read_text()
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), path
        assert "<style>" in text and "<script>" in text  # inline, no stylesheet or script file
        for link in Page(text).links:
            if link.startswith(("#", "data:")):
                continue
            target = (path.parent / re.sub(r"%([0-9A-F]{2})",
                                           lambda m: chr(int(m[1], 16)), link)).resolve()
            assert target.is_file(), f"{path}: {link}"
    images = [p.relative_to(site / "mnist5k").as_posix() for p in (site / "mnist5k").rglob("*.png")]
    committed = [p.relative_to(MNIST).as_posix() for p in MNIST.rglob("*.png")]
    assert sorted(images) == sorted(committed)


def test_the_index_lists_every_study(site):
    index = (site / "index.html").read_text()
    assert index.count("<li>") == 2
    assert '<a href="mnist5k/index.html">mnist5k</a>' in index
    assert '<a href="mnist5k_sn_rpgan/index.html">mnist5k_sn_rpgan</a>' in index
    best = main_table(MNIST / "table.md")[0]  # the best by FID
    assert f"6 rows, 3 seeds a row; best by FID: {best[1]} {best[2]} (group {best[3]})" in index


def test_the_drill_down_holds_every_seed_with_config_command_commit_machine(site):
    html = (site / "mnist5k" / "index.html").read_text()
    entries = json.loads((MNIST / "runs.json").read_text())["runs"]
    assert html.count('<details class="seed">') == len(entries) == 18
    for entry in entries:
        assert f"({entry['run_name']}): config, command, commit, machine" in html
        assert entry["git"]["commit"] in html
    assert "ganzoo fit --config=experiments/dcgan_mnist5k.yaml --seed_everything=1" in html
    assert "class_path: ganzoo.models.DCGAN" in html  # the config as YAML
    table = (MNIST / "table.md").read_text()
    machine = re.search(r"^- Machine: ([^;]+);", table, re.M).group(1)  # "AMD EPYC, 2 CPU cores, no GPU"
    assert machine in html
    assert "extractor <code>domain</code>" in html and "<code>test</code> split" in html
    images = re.search(r"equal real images \(([\d,]+) per run", table).group(1)
    assert f"equal real images ({images} per run" in html  # the budget, in words


def test_model_cards_have_model_index_front_matter(site):
    entries = json.loads((MNIST / "runs.json").read_text())["runs"]
    dcgan = sorted((e for e in entries if e["row"] == "DCGAN"),
                   key=lambda e: e["final"]["metrics"]["fid"])
    text = (site / "mnist5k" / "cards" / "DCGAN.md").read_text()
    _, front, body = text.split("---\n", 2)
    card = yaml.safe_load(front)
    best, median = card["model-index"]
    for described, entry in ((best, dcgan[0]), (median, dcgan[1])):
        assert f"seed {entry['seed']}" in described["name"]
        [result] = described["results"]
        assert result["task"]["type"] == "unconditional-image-generation"
        assert result["dataset"]["name"] == "mnist5k"
        fid = next(m for m in result["metrics"] if m["type"] == "fid")
        assert fid["value"] == entry["final"]["metrics"]["fid"]
        assert f"`{entry['run_dir']}/checkpoints/last.ckpt`" in body
    row = next(r for r in main_table(MNIST / "table.md") if r[1].split(" +")[0] == "DCGAN")
    assert f"FID | {row[2]} | {row[3]} |" in body  # the row's interval and group
    assert "not comparable with Inception FID" in body
    hp = dcgan[0]["config"]["model"]["init_args"]
    assert re.search(r"Generator moving average: [^\n]*0\.999", body)
    assert f"lr_g {hp['lr_g']:g}, lr_d {hp['lr_d']:g}" in body
    cgan = yaml.safe_load((site / "mnist5k/cards/ConditionalGAN.md").read_text().split("---\n")[1])
    assert cgan["model-index"][0]["results"][0]["task"]["type"] == "conditional-image-generation"
    sn = (site / "mnist5k_sn_rpgan" / "cards" / "DCGAN-hinge.md").read_text()
    assert "SpectralNorm(power_iterations=1)" in sn and "GeneratorEMA(decay=0.999)" in sn


def copy_results(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def test_bad_inputs_give_one_line_each_and_the_rest_is_built(tmp_path, capsys):
    good = copy_results(MNIST, tmp_path / "in" / "good")
    no_grid = copy_results(MNIST, tmp_path / "in" / "no_grid")
    (no_grid / "grids" / "DCGAN.png").unlink()
    shutil.rmtree(no_grid / "grids" / "DCGAN")  # the per-seed grids too
    old = copy_results(REPO / "results" / "mnist5k_long", tmp_path / "in" / "old")
    manifest = json.loads((old / "runs.json").read_text())
    for entry in manifest["runs"]:
        del entry["row"], entry["final"]  # as runs.json was before rows and finals were kept
    (old / "runs.json").write_text(json.dumps(manifest))
    (tmp_path / "in" / "empty").mkdir()
    broken = tmp_path / "in" / "broken"
    broken.mkdir()
    (broken / "runs.json").write_text("{ not json")
    out = tmp_path / "site"
    dirs = [good, no_grid, old, tmp_path / "in" / "empty", broken, tmp_path / "in" / "nothing"]
    assert bench_main(["report", *map(str, dirs), "--out", str(out)], locate) == 0
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 5, captured.err
    assert f"report: {no_grid}: row DCGAN: grid image grids/DCGAN.png is missing" in lines
    assert any(line.startswith(f"report: {old}/runs.json: run 0 (") and "lacks row, final: an "
               "older format" in line for line in lines)
    assert f"report: {tmp_path / 'in' / 'empty'}: no runs.json (not a results directory " \
           "written by `ganzoo table`); skipped" in lines
    assert any(line.startswith(f"report: {broken}/runs.json is unreadable") for line in lines)
    assert f"report: {tmp_path / 'in' / 'nothing'}: does not exist; skipped" in lines
    assert "Traceback" not in captured.err + captured.out
    assert re.search(r"^report: .*/site/index.html \(built in \d+\.\d s\)$", captured.out, re.M)
    index = (out / "index.html").read_text()
    assert index.count("<li>") == 2 and index.count('<li class="problem">') == 4
    assert "lacks row, final: an older format" in index and "does not exist" in index
    assert "(1 image(s) missing: see the page)" in index
    page = (out / "no_grid" / "index.html").read_text()
    assert '<div class="missing">grid image grids/DCGAN.png is missing</div>' in page
    assert Page(page).rows == main_table(MNIST / "table.md")  # the rest of the page is there
    assert not (out / "old").exists() and (out / "good" / "index.html").is_file()


def test_no_study_built_is_exit_status_2_with_one_line(tmp_path, capsys):
    from ganzoo.__main__ import main

    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit) as exit_info:
        main(["report", str(tmp_path / "empty"), "--out", str(tmp_path / "site")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("ganzoo: error: report: no study built from ")
    assert (tmp_path / "site" / "index.html").is_file()  # saying what is missing


def test_a_directory_of_tables_stands_for_them_and_the_output_is_skipped(tmp_path, capsys):
    root = tmp_path / "results"
    copy_results(REPO / "results" / "vanilla_grid25_long", root / "vanilla_long")
    copy_results(REPO / "results" / "wgan_gp_grid25_long", root / "wgan_long")
    out = root / "site"
    build_site([root / "vanilla_long", root / "wgan_long"], out)
    studies = build_site(sorted(root.iterdir()), out)  # results/* again, the site among them
    assert [(s.slug, s.title) for s in studies] == [("vanilla_long-grid25", "vanilla_long/grid25"),
                                                    ("wgan_long-grid25", "wgan_long/grid25")]
    assert sorted(p.name for p in out.iterdir()) == [".ganzoo-report", "index.html",
                                                     "vanilla_long-grid25", "wgan_long-grid25"]
    assert capsys.readouterr().err == ""


def test_out_must_be_new_empty_or_a_site(tmp_path):
    from ganzoo.errors import ConfigError

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="is not a site written by `ganzoo report`"):
        build_site([MNIST], tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    build_site([MNIST], tmp_path / "site")
    (tmp_path / "site" / "stale").mkdir()
    build_site([MNIST], tmp_path / "site")  # a site is rebuilt as a whole
    assert not (tmp_path / "site" / "stale").exists()


def test_pages_are_autoescaped(tmp_path):
    source = copy_results(REPO / "results" / "mnist5k_long", tmp_path / "evil")
    manifest = json.loads((source / "runs.json").read_text())
    for entry in manifest["runs"]:
        entry["variant"] = "<script>alert('x')</script>"
        entry["config"]["model"]["init_args"]["note"] = "</pre><img src=x onerror=alert(1)>"
    (source / "runs.json").write_text(json.dumps(manifest))
    build_site([source], tmp_path / "site")
    html = (tmp_path / "site" / "evil" / "index.html").read_text()
    assert html.count("<script>") == 1  # the page's own sorting script
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_the_verdict_against_another_set(tmp_path):
    shifted = copy_results(MNIST, tmp_path / "rerun")
    manifest = json.loads((shifted / "runs.json").read_text())
    for entry in manifest["runs"]:
        if entry["row"] == "VanillaGAN":
            entry["final"]["metrics"]["fid"] *= 3  # a real change: DIFFERENT
    (shifted / "runs.json").write_text(json.dumps(manifest))
    build_site([shifted], tmp_path / "site", against=[MNIST])
    html = (tmp_path / "site" / "rerun" / "index.html").read_text()
    assert f"Verdict: this table (B) against {MNIST} (A)" in html
    committed = json.loads((MNIST / "runs.json").read_text())["runs"]
    expected = summary_line(compare_sets(committed, manifest["runs"]))
    assert f"<strong>{expected}</strong>" in html and "0 DIFFERENT" not in expected
    row = re.search(r'<tr class="verdict-DIFFERENT"><td data-sort="VanillaGAN">VanillaGAN</td>'
                    r'<td data-sort="fid">fid</td>', html)
    assert row, "VanillaGAN's tripled FID is DIFFERENT"


def test_grids_kept_per_seed_show_the_median_seed(tmp_path):
    source = copy_results(MNIST, tmp_path / "per_seed")
    entries = [e for e in json.loads((source / "runs.json").read_text())["runs"]
               if e["row"] == "DCGAN"]
    shutil.rmtree(source / "grids" / "DCGAN")  # kept per seed by run name: named by seed here
    (source / "grids" / "DCGAN").mkdir()
    for entry in entries:
        shutil.copyfile(source / "grids" / "DCGAN.png",
                        source / "grids" / "DCGAN" / f"seed_{entry['seed']}.png")
    median = sorted(entries, key=lambda e: e["final"]["metrics"]["fid"])[1]["seed"]
    build_site([source], tmp_path / "site")
    html = (tmp_path / "site" / "per_seed" / "index.html").read_text()
    assert f'<img src="grids/DCGAN/seed_{median}.png" alt="samples of DCGAN">' in html
    assert f"final grid of the median seed ({median})" in html
    assert (tmp_path / "site" / "per_seed" / "grids" / "DCGAN" / f"seed_{median}.png").is_file()


def test_the_real_floor_sits_below_the_ranked_rows(tmp_path):
    source = copy_results(MNIST, tmp_path / "floored")
    manifest = json.loads((source / "runs.json").read_text())
    for entry in manifest["runs"]:
        entry["final"]["protocol"].update(real_floor={"fid": 0.3125}, real_floor_n=1000,
                                          real_floor_split="train")
    (source / "runs.json").write_text(json.dumps(manifest))
    build_site([source], tmp_path / "site")
    page = Page((tmp_path / "site" / "floored" / "index.html").read_text())
    (floor,) = page.floor
    assert floor[:3] == ["floor", "real (train vs test)", "0.31"]  # FID to 2 places
    assert len(floor) == len(page.rows[0]) and "real (train vs test)" not in page.row_labels
