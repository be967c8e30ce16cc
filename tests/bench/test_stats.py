"""ganzoo.bench.stats and ganzoo.bench.calibration: the verdict's error rates, the seed count
that settles a cell, intervals, Holm and the compact letters. Simulations use fixed seeds; the
bounds leave three Monte Carlo standard errors around each goal."""

import math
import re

import numpy as np
import pytest
from scipy import stats

from ganzoo.bench.calibration import false_separation_rate, rate
from ganzoo.bench.stats import (
    DIFFERENT,
    INCONCLUSIVE,
    REPRODUCED,
    compact_letters,
    holm,
    judge,
    mean_interval,
    seeds_needed,
    seeds_to_differ,
    significance_groups,
    tost_power,
)

DELTA = math.log(1.15)  # the FID margin on the log scale
REPS = 4000
SE = math.sqrt(0.25 / REPS)  # the largest Monte Carlo standard error of a rate


def test_judge_reads_the_intervals_against_the_margin():
    low_spread = np.log([12.47, 12.50, 13.10])  # VanillaGAN's committed FIDs
    assert judge(low_spread, low_spread, DELTA).verdict == REPRODUCED
    doubled = judge(low_spread, low_spread + math.log(2), DELTA)
    assert doubled.verdict == DIFFERENT and doubled.d == pytest.approx(math.log(2))
    ci = stats.ttest_ind(low_spread + math.log(2), low_spread, equal_var=False)
    assert doubled.ci95 == pytest.approx(tuple(ci.confidence_interval(0.95)))
    noisy = np.log([0.77, 1.12, 1.47])  # InfoGAN's: 3 seeds cannot settle a 15% margin
    same = judge(noisy, noisy, DELTA)
    assert same.verdict == INCONCLUSIVE and same.n_needed == seeds_needed(np.std(noisy, ddof=1), DELTA)
    assert judge([1.0, 1.0], [1.0, 1.0], 0.01).verdict == REPRODUCED  # no spread at all
    one = judge([1.0], [1.0, 1.1, 1.0], 0.015)
    assert one.verdict == INCONCLUSIVE and "one seed" in one.note and one.n_needed > 2


@pytest.mark.parametrize("ratio", [0.1, 0.3, 0.7, 1.5])
def test_the_recommended_seed_count_has_the_promised_power(ratio):
    sigma = ratio * DELTA
    n = seeds_needed(sigma, DELTA)
    assert tost_power(n, sigma, DELTA) >= 0.80 > tost_power(n - 1, sigma, DELTA) or n == 2
    simulated = rate(np.random.default_rng(1), sigma, DELTA, n, 0.0, REPS, REPRODUCED)
    assert simulated >= 0.80 - 3 * SE
    assert abs(simulated - tost_power(n, sigma, DELTA)) < 3 * SE
    textbook = 2 * (stats.norm.ppf(0.95) + stats.norm.ppf(0.90)) ** 2 * ratio**2
    assert n >= textbook  # estimating the spread only costs seeds


@pytest.mark.parametrize("ratio", [0.2, 0.5, 1.0, 2.0])
def test_a_true_shift_of_two_margins_is_never_reproduced(ratio):
    rng = np.random.default_rng(2)
    for n in (2, 3, 5, 10, 20, 50):
        assert rate(rng, ratio * DELTA, DELTA, n, 2 * DELTA, REPS, REPRODUCED) <= 0.05
    # at the margin itself, the two one-sided tests' 5% (Welch's df: within Monte Carlo error)
    edge = rate(rng, ratio * DELTA, DELTA, seeds_needed(ratio * DELTA, DELTA), DELTA, REPS,
                REPRODUCED)
    assert edge <= 0.05 + 3 * SE


@pytest.mark.parametrize("ratio", [0.2, 0.4, 0.6])
def test_a_true_shift_of_two_margins_is_found_at_ten_seeds_when_the_spread_allows(ratio):
    found = rate(np.random.default_rng(3), ratio * DELTA, DELTA, 10, 2 * DELTA, REPS, DIFFERENT)
    assert found >= 0.80


def test_groups_separate_rows_with_no_true_difference_at_most_five_percent_of_the_time():
    sigmas = [0.06, 0.15, 0.32, 0.03, 0.09, 0.035]  # the committed FID rows' log spreads
    fwer = false_separation_rate(np.random.default_rng(4), sigmas, 3, REPS)
    assert fwer <= 0.05 + 3 * SE
    assert false_separation_rate(np.random.default_rng(5), [0.1] * 6, 10, REPS) <= 0.05 + 3 * SE


def test_groups_tell_apart_what_differs_and_no_more():
    rows = [np.array([1.0, 1.1, 0.9]), np.array([1.05, 1.0, 1.1]), np.array([3.0, 3.1, 2.9])]
    groups = significance_groups(rows)
    assert groups.letters == ["a", "a", "b"] and groups.ranks == [(1, 2), (1, 2), (3, 3)]
    raw = stats.ttest_ind(rows[0], rows[2], equal_var=False).pvalue
    assert groups.adjusted[0, 2] == pytest.approx(min(1.0, 2 * raw)) or groups.adjusted[0, 2] >= raw


def test_holm_and_compact_letters():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([[0.5, 0.001, 0.2]])[0] == pytest.approx([0.5, 0.003, 0.4])
    assert compact_letters(3, set()) == ["a", "a", "a"]
    assert compact_letters(3, {(0, 2)}) == ["a", "ab", "b"]
    assert compact_letters(4, {(0, 2), (0, 3), (1, 3)}) == ["a", "ab", "bc", "c"]
    assert compact_letters(3, {(0, 1), (0, 2), (1, 2)}) == ["a", "b", "c"]


def test_mean_interval_is_a_t_interval_below_ten_seeds_and_a_bca_bootstrap_from_ten():
    small = [1.0, 2.0, 4.0]
    expected = stats.t.interval(0.95, 2, np.mean(small), stats.sem(small))
    assert mean_interval(small) == pytest.approx(expected)
    large = np.random.default_rng(6).lognormal(size=12)
    low, high = mean_interval(large)
    assert mean_interval(large) == (low, high)  # a fixed resampling seed
    assert low < large.mean() < high and (low, high) != pytest.approx(
        stats.t.interval(0.95, 11, large.mean(), stats.sem(large)))
    assert all(math.isnan(v) for v in mean_interval([3.0]))


def test_calibrate_reports_each_figure_for_the_committed_table(capsys):
    from pathlib import Path

    from ganzoo.__main__ import bench_command as bench_main

    committed = Path(__file__).resolve().parents[2] / "results" / "mnist5k"
    assert bench_main(["calibrate", str(committed), "--reps", "300"]) == 0
    out = capsys.readouterr().out
    found = dict(re.findall(r"^(P\(.*?\)[^:]*): min ([0-9.]+)", out, re.M))
    assert len(found) == 5, out
    assert float(found["P(REPRODUCED | shift 2 delta), max over n in (2, 3, 5, 10, 20, 50)"]) == 0
    groups = re.findall(r"^groups (\w+): P\(any false separation \| no true difference\) = "
                        r"([0-9.]+) over 6 rows at n = 3", out, re.M)
    assert [g[0] for g in groups] == ["fid", "kid"]
    assert all(float(g[1]) <= 0.05 + 3 * math.sqrt(0.25 / 300) for g in groups)
    assert "| InfoGAN | code_accuracy |" in out


@pytest.mark.parametrize("shift", [1.5, 2.5, 5.0])
def test_an_observed_difference_outside_the_margin_gets_the_seeds_that_show_it(shift):
    sigma = 2.3 * DELTA  # InfoGAN's FID spread
    n = seeds_to_differ(sigma, DELTA, shift * DELTA)
    found = rate(np.random.default_rng(7), sigma, DELTA, n, shift * DELTA, REPS, DIFFERENT)
    assert found >= 0.80 - 3 * SE
    assert rate(np.random.default_rng(7), sigma, DELTA, max(2, n // 2), shift * DELTA, REPS,
                DIFFERENT) < found
    doubled = judge(np.log([0.77, 1.12, 1.47]), np.log([1.54, 2.24, 2.94]), DELTA)
    assert doubled.verdict == INCONCLUSIVE and "outside the margin" in doubled.note
    assert doubled.n_needed == seeds_to_differ(np.std(np.log([0.77, 1.12, 1.47]), ddof=1),
                                               DELTA, math.log(2))
