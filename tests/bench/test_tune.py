"""``ganzoo tune``: equal budgets drawn from declared spaces, validation scores, the expected
best score against trials, the edge check, resumption, and one-line errors."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
import yaml

from ganzoo.__main__ import bench_command
from ganzoo.bench import tune
from ganzoo.cli import planned_location, run_lightning_cli
from ganzoo.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "experiments" / "tuning" / "mnist5k.yaml"
TABLE_SEEDS = {0, 1, 2}  # experiments/sweeps/mnist5k_compare.yaml


@pytest.fixture
def shipped(monkeypatch):
    monkeypatch.chdir(REPO)
    return tune.load_tuning(SHIPPED)


def test_the_shipped_search_is_equal_and_never_reads_table_seeds_or_the_test_split(shipped):
    trials = tune.sample(shipped)
    per_variant = {v: sum(t.variant == v for t in trials) for v in shipped["variants"]}
    assert set(per_variant.values()) == {tune.total_trials(shipped)} and shipped["trials"] >= 8
    assert len(shipped["seeds"]) >= 2 and not set(shipped["seeds"]) & TABLE_SEEDS
    protocol = shipped["protocol"]
    assert protocol["data"]["val_size"] > 0
    evaluation = [c for c in protocol["trainer"]["callbacks"] if c["class_path"].endswith(
        "EvaluationCallback")]
    assert [c["init_args"]["reference_split"] for c in evaluation] == ["val"]
    for trial in trials:  # every sampled value inside its round's declared range
        for key, dim in tune.round_space(shipped, trial.variant, trial.round).items():
            value = trial.params[key]
            if "choice" in dim:
                assert value in dim["choice"]
            else:
                low, high = next(iter(dim.values()))
                assert low * 0.999 <= value <= high * 1.001


def test_choices_come_in_equal_shares_and_sampling_is_a_function_of_the_file(shipped):
    trials = tune.sample(shipped)
    assert [t.params for t in trials] == [t.params for t in tune.sample(shipped)]
    infogan = [t.params["extras"] for t in trials if t.variant == "InfoGAN" and t.round == 0]
    options = shipped["variants"]["InfoGAN"]["space"]["extras"]["choice"]
    assert sorted(map(tuple, infogan)) == sorted(map(tuple, options * (8 // len(options))))
    other = copy.deepcopy(shipped)
    other["sampler_seed"] = 1
    assert [t.params for t in tune.sample(other)] != [t.params for t in trials]


def test_a_later_round_adds_equal_trials_and_leaves_the_earlier_ones_as_they_were(shipped):
    first = {k: v for k, v in copy.deepcopy(shipped).items() if k != "rounds"}
    before = tune.sample(first)
    widened = {**copy.deepcopy(first), "rounds": [{"trials": 3, "space": {
        "DCGAN": {"model.init_args.lr_d": {"log_uniform": [2.0e-3, 2.0e-2]}}}}]}
    after = tune.sample(widened)
    assert [(t.variant, t.index, t.params) for t in after if t.round == 0] == [
        (t.variant, t.index, t.params) for t in before]
    later = [t for t in after if t.round == 1]
    assert {v: sum(t.variant == v for t in later) for v in first["variants"]} == dict.fromkeys(
        first["variants"], 3)
    assert sorted(t.index for t in later if t.variant == "DCGAN") == [8, 9, 10]
    for t in later:
        lr_d = t.params["model.init_args.lr_d"]
        assert (2e-3 <= lr_d <= 2e-2) if t.variant == "DCGAN" else lr_d <= 2.0e-3 * 1.001
    # InfoGAN's four extras over three trials: three different ones, a seeded subset
    assert len({tuple(t.params["extras"]) for t in later if t.variant == "InfoGAN"}) == 3
    # the edge check reads the widest range over the rounds: 1.38e-3 was at the upper edge of
    # [2e-5, 2e-3], and is inside [2e-5, 2e-2]
    winner = next(t for t in before if t.variant == "DCGAN" and t.index == 6)
    assert any("upper edge" in e for e in tune.edges(first, winner))
    assert tune.edges(widened, winner) == []
    assert tune.total_trials(widened) == 11
    assert tune.rounds_note(widened) == " (8 in round 1, then 3 in round 2)"


def test_each_kind_of_trial_config_instantiates(shipped, tmp_path):
    """One trial per variant and extras choice, parsed and built by the CLI (nothing runs).
    Four trials on one seed give InfoGAN each of its four choices once, the others twice."""
    small = {**copy.deepcopy(shipped), "trials": 4, "seeds": shipped["seeds"][:1], "rounds": []}
    trials = tune.plan(small, planned_location, str(tmp_path))
    seen = set()
    for trial in trials:
        kind = (trial.variant, tuple(trial.params["extras"]))
        if kind in seen:
            continue
        seen.add(kind)
        args = trial.runs[0].command[4:]  # after `python -m ganzoo fit`
        cli = run_lightning_cli(args, run=False)  # in tmp_path: the test leaves nothing in runs/
        assert cli.datamodule.hparams.val_size == 500
        assert cli.model.hparams.lr_g == pytest.approx(trial.params["model.init_args.lr_g"])
        kinds = [type(c).__name__ for c in cli.trainer.callbacks]
        assert ("GeneratorEMA" in kinds) == ("ema" in trial.params["extras"])
        assert cli.model.__class__.__name__ in trial.variant.replace("-", "").replace(
            "clip", "Clip").replace("gp", "GP")
    assert len(seen) == 5 * 2 + 4


def test_the_expected_best_is_the_mean_for_one_trial_and_falls_to_the_minimum():
    scores = [3.0, 1.0, 2.0, 5.0]
    assert tune.expected_best(scores, 1) == pytest.approx(sum(scores) / 4)
    curve = [tune.expected_best(scores, n) for n in range(1, 60)]
    assert all(a >= b - 1e-12 for a, b in zip(curve, curve[1:], strict=False))
    assert curve[-1] == pytest.approx(1.0, abs=1e-6)
    # two trials: E[min] by enumeration of the 16 ordered pairs
    assert tune.expected_best(scores, 2) == pytest.approx(
        sum(min(a, b) for a in scores for b in scores) / 16)


def test_a_winner_at_the_edge_of_a_range_is_flagged(shipped):
    trial = tune.sample(shipped)[0]
    space = shipped["variants"][trial.variant]["space"]
    low, high = space["model.init_args.lr_g"]["log_uniform"]
    trial.params["model.init_args.lr_g"] = math.sqrt(low * high)
    trial.params["model.init_args.lr_d"] = math.sqrt(
        math.prod(space["model.init_args.lr_d"]["log_uniform"]))
    assert tune.edges(shipped, trial) == []
    trial.params["model.init_args.lr_g"] = high * 0.95
    (flag,) = tune.edges(shipped, trial)
    assert "lr_g" in flag and "upper edge" in flag and "widen" in flag


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.pop("seeds"), "missing `seeds`"),
    (lambda s: s.update(trials=0), "trials: a positive integer"),
    (lambda s: s["variants"]["DCGAN"]["space"].update(x={"normal": [0, 1]}), "one of log_uniform"),
    (lambda s: s["variants"]["DCGAN"]["space"].update(x={"log_uniform": [0.1, 0.01]}),
     "0 < low < high"),
    (lambda s: s["variants"]["DCGAN"]["space"].update(extras={"choice": [["nope"]]}),
     "unknown nope"),
    (lambda s: s["variants"]["DCGAN"].update(config="missing.yaml"), "no file 'missing.yaml'"),
    (lambda s: s.update(rounds=[{"trials": 0}]), r"rounds\[0\]: a mapping with `trials`"),
    (lambda s: s.update(rounds=[{"trials": 2, "space": {"DCGAN": {"model.init_args.beta1": {
        "uniform": [0.1, 0.9]}}}}]), "replaces a range of the variant's space"),
    (lambda s: s.update(rounds=[{"trials": 2, "space": {"BigGAN": {}}}]), "no variant 'BigGAN'"),
])
def test_a_bad_tuning_file_is_one_line(shipped, tmp_path, edit, message):
    spec = copy.deepcopy(shipped)
    edit(spec)
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(ConfigError, match=message):
        tune.load_tuning(path)


TINY = """
name: digits_tuning
benchmark: digits_tuning
trials: 2
seeds: [5]
score: fid
protocol:
  data: {val_size: 60}
  trainer:
    max_epochs: 1
    callbacks:
      - class_path: ganzoo.metrics.EvaluationCallback
        init_args: {every_n_epochs: 0, num_samples: 60, reference_split: val, metrics: [fid]}
extras:
  ema: {trainer: {callbacks: [{class_path: ganzoo.tricks.GeneratorEMA, init_args: {decay: 0.9}}]}}
variants:
  DCGAN:
    config: experiments/dcgan_digits.yaml
    fixed: {model.init_args.g_width: 8, model.init_args.d_width: 8}
    space:
      model.init_args.lr_g: {log_uniform: [1.0e-4, 1.0e-2]}
      extras: {choice: [[], [ema]]}
  VanillaGAN:
    config: experiments/vanilla_digits.yaml
    fixed: {model.init_args.g_width: 8, model.init_args.d_width: 8}
    space:
      model.init_args.lr_g: {log_uniform: [1.0e-4, 1.0e-2]}
"""


@pytest.mark.slow
def test_a_tiny_search_runs_scores_on_val_reports_and_resumes(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    args = ["tune", str(path), "--workers", "2", "--runs_dir", str(tmp_path / "runs"),
            "--out", str(tmp_path / "results")]
    assert bench_command(args) == 0
    out = tmp_path / "results" / "digits_tuning"
    text = (out / "tuning.md").read_text()
    assert "Trials scored per variant: DCGAN 2, VanillaGAN 2 (max/min 1.00)" in text
    assert "Runs made at commit " in text and "(4 runs)" in text
    found = json.loads((out / "tuning.json").read_text())
    assert found["trials_scored"] == {"DCGAN": 2, "VanillaGAN": 2} and found["ratio"] == 1.0
    assert set(found["winners"]) == {"DCGAN", "VanillaGAN"}
    assert "DCGAN 2, VanillaGAN 2 (max/min 1.00)" in tune.header_note(out)
    assert text.count("Best: trial") == 2 and "Expected best over n trials: n=1" in text
    assert (out / "expected_best.png").stat().st_size > 1000
    assert {p.name for p in (out / "winners").iterdir()} == {"dcgan.yaml", "vanillagan.yaml"}
    assert len((out / "trials.csv").read_text().splitlines()) == 1 + 4
    records = list((tmp_path / "runs" / "digits_tuning").glob("*/record.json"))
    assert len(records) == 4
    for record in records:
        final = yaml.safe_load(record.read_text())["final"]
        assert final["protocol"]["reference_split"] == "val"
    capsys.readouterr()
    assert bench_command(args) == 0  # again: every run is done, nothing trains
    assert "0 to run" in capsys.readouterr().out


def test_the_table_note_states_the_trials_per_variant_and_their_ratio(tmp_path):
    assert tune.header_note(tmp_path) is None  # no search: no line
    (tmp_path / "tuning.json").write_text(json.dumps({
        "command": "ganzoo tune x.yaml", "seeds": [100, 101], "val_size": 500,
        "trials_scored": {"DCGAN": 8, "InfoGAN": 7}}))
    note = tune.header_note(tmp_path)
    assert "Trials scored per variant: DCGAN 8, InfoGAN 7 (max/min 1.14)" in note
    assert "seeds 100, 101 on the 500-image validation split" in note
    assert tune.ratio({"A": 8, "B": 0}) is None
    (tmp_path / "tuning.json").write_text("{")
    with pytest.raises(ConfigError, match="tuning.json is unreadable"):
        tune.header_note(tmp_path)
