"""Statistics over training seeds: equivalence verdicts, intervals and significance groups.

A comparison suite compares numbers that vary from seed to seed, so every claim here is a
statement about seeds (DESIGN.md §6):

- :func:`judge`: do two result sets agree? Two one-sided tests (TOST) on Welch's difference of
  means against a declared margin ``delta``: REPRODUCED when the 90% confidence interval of
  ``d = mean_B - mean_A`` lies inside ``(-delta, delta)`` (both one-sided tests at 5%),
  DIFFERENT when the 95% interval lies entirely outside it, INCONCLUSIVE otherwise, with the
  seeds per side that would settle it at 80% power at the observed spread: those that show
  equivalence when no true difference exists (:func:`seeds_needed`) while the observed
  difference lies inside the margin, else those that show the observed difference
  (:func:`seeds_to_differ`).
- :func:`mean_interval`: the 95% interval of a row's mean (t-interval below 10 seeds, BCa
  bootstrap from 10).
- :func:`significance_groups`: which rows a table can tell apart: pairwise Welch tests,
  Holm-adjusted over all pairs, as compact letters (rows sharing a letter are not separable)
  and a range of ranks.

scipy.stats does the tests, intervals and the bootstrap (``ttest_ind(...).confidence_interval``,
``bootstrap``). Written here because scipy lacks them: Holm's step-down adjustment (scipy has
only Benjamini-Hochberg), the compact letter display (Piepho 2004) and the TOST seed count.
Every function takes values already on the comparison scale (:func:`on_scale`) and accepts
leading batch dimensions where it says so, which is how :mod:`ganzoo.bench.calibration`
simulates thousands of verdicts at once.
"""

from __future__ import annotations

import math
import string
import warnings
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import stats

REPRODUCED, INCONCLUSIVE, DIFFERENT = "REPRODUCED", "INCONCLUSIVE", "DIFFERENT"
VERDICTS = (REPRODUCED, INCONCLUSIVE, DIFFERENT)
ALPHA = 0.05  # each one-sided test of the TOST; family-wise level of the groups
POWER = 0.80  # of the seed count that settles an inconclusive cell
BOOTSTRAP_FROM = 10  # seeds from which a mean's interval is a BCa bootstrap, not a t-interval


def on_scale(values, log: bool) -> np.ndarray:
    """``values`` as floats on the comparison scale (natural log for ratio margins); raises
    ValueError for a non-positive value on the log scale."""
    array = np.asarray(values, dtype=float)
    if not log:
        return array
    if np.any(array <= 0):
        raise ValueError("a value <= 0 has no log ratio")
    return np.log(array)


@dataclass(frozen=True)
class Judgement:
    """The verdict on one cell. ``d`` and the intervals are ``mean_B - mean_A`` on the
    comparison scale; ``n_needed`` is set for INCONCLUSIVE cells whose spread is known."""

    verdict: str
    d: float
    ci90: tuple[float, float]
    ci95: tuple[float, float]
    se: float
    df: float
    n_needed: int | None = None
    note: str = ""


def welch(a: np.ndarray, b: np.ndarray):
    """``(d, se, df, ci90, ci95)`` of ``mean(b) - mean(a)`` along the last axis (Welch), each an
    array over the leading axes; the intervals as ``(low, high)`` pairs of arrays. With no
    spread on either side the intervals shrink to ``d``."""
    d = b.mean(axis=-1) - a.mean(axis=-1)
    var = a.var(axis=-1, ddof=1) / a.shape[-1] + b.var(axis=-1, ddof=1) / b.shape[-1]
    se = np.sqrt(var)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # no spread: scipy's NaN, replaced below
        result = stats.ttest_ind(b, a, axis=-1, equal_var=False)
        intervals = [result.confidence_interval(level) for level in (0.90, 0.95)]
    flat = se == 0
    cis = [(np.where(flat, d, ci.low), np.where(flat, d, ci.high)) for ci in intervals]
    return d, se, np.where(flat, np.inf, result.df), cis[0], cis[1]


def classify(ci90, ci95, delta) -> np.ndarray:
    """The verdict of each interval pair (arrays over the same axes) against ``delta``."""
    inside = (ci90[0] > -delta) & (ci90[1] < delta)
    outside = (ci95[0] >= delta) | (ci95[1] <= -delta)
    return np.where(inside, REPRODUCED, np.where(outside, DIFFERENT, INCONCLUSIVE))


def judge(a, b, delta: float) -> Judgement:
    """The equivalence verdict of samples ``a`` (reference) and ``b`` (values on the comparison
    scale, one per training seed) with margin ``delta``."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        spread = [np.std(s, ddof=1) for s in (a, b) if len(s) > 1]
        d = float(b.mean() - a.mean()) if len(a) and len(b) else math.nan
        return Judgement(
            INCONCLUSIVE, d, (math.nan, math.nan), (math.nan, math.nan), math.nan, math.nan,
            seeds_needed(float(spread[0]), delta) if spread else None,
            "one seed on a side: no spread to test against",
        )
    d, se, df, ci90, ci95 = welch(a, b)
    verdict = str(classify(ci90, ci95, delta))
    n_needed, note = None, ""
    if verdict == INCONCLUSIVE:
        df_pooled = len(a) + len(b) - 2
        pooled = ((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / df_pooled
        if abs(d) < delta:
            n_needed = seeds_needed(math.sqrt(pooled), delta)
        else:
            n_needed, note = seeds_to_differ(math.sqrt(pooled), delta, abs(float(d))), \
                "the difference lies outside the margin: seeds to show it"
    ci90, ci95 = ((float(low), float(high)) for low, high in (ci90, ci95))
    return Judgement(verdict, float(d), ci90, ci95, float(se), float(df), n_needed, note)


def _variance_grid(n: int, sigma: float, grid: int):
    """Both samples' variances on a quantile grid of their chi-square laws (``n`` seeds each,
    spread ``sigma``): Welch's standard error and df at each grid point."""
    levels = (np.arange(grid) + 0.5) / grid
    var = sigma**2 * stats.chi2.ppf(levels, n - 1) / (n - 1)
    va, vb = np.meshgrid(var, var)
    se = np.sqrt((va + vb) / n)
    return se, (va + vb) ** 2 * (n - 1) / (va**2 + vb**2)


def tost_power(n: int, sigma: float, delta: float, alpha: float = ALPHA,
               grid: int = 120) -> float:
    """P(REPRODUCED) of :func:`judge` for two samples of ``n`` seeds with spread ``sigma`` and
    no true difference: the exact probability under normal seeds, integrated over both sample
    variances (a quantile grid of their chi-square laws) because Welch's degrees of freedom
    and the standard error depend on them. Given the variances, ``d ~ N(0, 2 sigma^2 / n)``
    is independent of them, and REPRODUCED is ``|d| < delta - t(1 - alpha, df) * SE``."""
    if sigma == 0:
        return 1.0
    se, df = _variance_grid(n, sigma, grid)
    room = delta - stats.t.ppf(1 - alpha, df) * se
    inside = 2 * stats.norm.cdf(room / (sigma * math.sqrt(2 / n))) - 1
    return float(np.mean(np.clip(inside, 0.0, 1.0)))


def difference_power(n: int, sigma: float, delta: float, shift: float, grid: int = 120) -> float:
    """P(DIFFERENT) of :func:`judge` for two samples of ``n`` seeds with spread ``sigma`` whose
    true difference is ``shift`` (> delta): ``d - t(0.975, df) * SE >= delta``, integrated over
    the sample variances as in :func:`tost_power`."""
    if sigma == 0:
        return 1.0
    se, df = _variance_grid(n, sigma, grid)
    needed = delta + stats.t.ppf(0.975, df) * se
    return float(np.mean(stats.norm.sf((needed - shift) / (sigma * math.sqrt(2 / n)))))


def smallest_n(power_at, start: int, power: float = POWER) -> int:
    """The smallest ``n >= 2`` with ``power_at(n) >= power`` (power grows with n), searched by
    doubling from ``start`` and bisecting."""
    low, high = 1, max(2, start)  # power_at(low) < power is the invariant
    while power_at(high) < power:
        low, high = high, 2 * high
    while high - low > 1:
        middle = (low + high) // 2
        if power_at(middle) >= power:
            high = middle
        else:
            low = middle
    return high


def seeds_to_differ(sigma: float, delta: float, shift: float, power: float = POWER) -> int:
    """Seeds per side at which a true difference of ``shift`` (the observed one, outside the
    margin) is found DIFFERENT with probability ``power``."""
    if sigma == 0:
        return 2
    start = math.ceil(2 * (stats.norm.ppf(0.975) + stats.norm.ppf(power)) ** 2
                      * (sigma / (shift - delta)) ** 2)
    return smallest_n(lambda n: difference_power(n, sigma, delta, shift), start, power)


def seeds_needed(sigma: float, delta: float, power: float = POWER, alpha: float = ALPHA) -> int:
    """Seeds per side for which two one-sided tests at ``alpha`` find two samples with no true
    difference equivalent within ``delta`` with probability ``power``, at spread ``sigma``.

    The textbook count, ``n = 2 (q(1 - alpha) + q(1 - (1 - power) / 2))^2 sigma^2 / delta^2``
    with normal quantiles iterated with Student t quantiles at ``df = 2n - 2``, assumes the
    spread is known: at a handful of seeds the estimated spread is itself noisy and Welch's
    df falls towards ``n - 1``, and that count fell short (simulated power 0.45-0.62 where it
    said 2 seeds; ``ganzoo calibrate``). So the formula only brackets the search: the result
    is the smallest ``n >= 2`` whose :func:`tost_power` reaches ``power``."""
    if sigma == 0:
        return 2
    factor = 2 * (sigma / delta) ** 2
    tail = 1 - (1 - power) / 2
    n = factor * (stats.norm.ppf(1 - alpha) + stats.norm.ppf(tail)) ** 2
    for _ in range(100):
        df = max(2 * n - 2, 1.0)
        again = factor * (stats.t.ppf(1 - alpha, df) + stats.t.ppf(tail, df)) ** 2
        if abs(again - n) < 1e-9:
            break
        n = again
    return smallest_n(lambda k: tost_power(k, sigma, delta, alpha), math.ceil(n), power)


def mean_interval(values, confidence: float = 0.95) -> tuple[float, float]:
    """The ``confidence`` interval of the mean of ``values`` (one per seed): Student's t below
    :data:`BOOTSTRAP_FROM` values, a BCa bootstrap (fixed resampling seed, so a table is
    reproducible) from there on; NaNs for fewer than two values."""
    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return math.nan, math.nan
    if np.all(x == x[0]):
        return float(x[0]), float(x[0])
    if len(x) < BOOTSTRAP_FROM:
        with warnings.catch_warnings():  # nearly equal values: scipy warns, the interval is fine
            warnings.simplefilter("ignore", RuntimeWarning)
            ci = stats.ttest_1samp(x, 0.0).confidence_interval(confidence)
    else:
        ci = stats.bootstrap((x,), np.mean, confidence_level=confidence, method="BCa",
                             n_resamples=9999, rng=np.random.default_rng(0)).confidence_interval
    return float(ci.low), float(ci.high)


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values along the last axis: the k-th smallest of m is
    multiplied by ``m - k + 1``, made monotone, capped at 1."""
    p = np.asarray(pvalues, dtype=float)
    m = p.shape[-1]
    order = np.argsort(p, axis=-1)
    ranked = np.take_along_axis(p, order, axis=-1) * (m - np.arange(m))
    ranked = np.minimum(np.maximum.accumulate(ranked, axis=-1), 1.0)
    adjusted = np.empty_like(ranked)
    np.put_along_axis(adjusted, order, ranked, axis=-1)
    return adjusted


def pairwise_p(samples: list[np.ndarray]) -> dict[tuple[int, int], float]:
    """Two-sided Welch p-value of every pair of samples (on the comparison scale). A pair whose
    samples have no spread differs (p = 0) unless their means are equal (p = 1); a pair with a
    one-seed sample cannot be tested (p = 1)."""
    p = {}
    for i, j in combinations(range(len(samples)), 2):
        a, b = samples[i], samples[j]
        if len(a) < 2 or len(b) < 2:
            p[i, j] = 1.0
        elif a.var(ddof=1) + b.var(ddof=1) == 0:
            p[i, j] = 1.0 if a.mean() == b.mean() else 0.0
        else:
            with warnings.catch_warnings():  # nearly equal samples: scipy warns, p is fine
                warnings.simplefilter("ignore", RuntimeWarning)
                p[i, j] = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    return p


def compact_letters(count: int, separated: set[tuple[int, int]]) -> list[str]:
    """Letters for ``count`` items in their display order such that two items share a letter
    exactly when no chain of separations forbids it: Piepho's (2004) insert-and-absorb. Each
    separated pair ``(i, j)`` splits every letter holding both; letters contained in another
    are absorbed. The letter of the first item is ``a``."""
    columns = [set(range(count))]
    for i, j in sorted(separated):
        split = []
        for column in columns:
            if i in column and j in column:
                split += [column - {i}, column - {j}]
            else:
                split.append(column)
        columns = [c for c in split if not any(c < other for other in split)]
        columns = [c for k, c in enumerate(columns) if c not in columns[:k]]
    columns.sort(key=lambda c: (min(c), sorted(c)))
    letters = string.ascii_lowercase + string.ascii_uppercase
    return ["".join(letters[k] for k, c in enumerate(columns) if item in c) for item in range(count)]


@dataclass(frozen=True)
class Groups:
    """Significance groups of rows in display order (best first)."""

    letters: list[str]
    ranks: list[tuple[int, int]]  # (best, worst) rank each row can take
    adjusted: dict[tuple[int, int], float]  # Holm-adjusted p per pair of positions


def significance_groups(samples: list[np.ndarray], alpha: float = ALPHA) -> Groups:
    """Groups of ``samples`` (per row, on the comparison scale, ordered best first): pairs whose
    Holm-adjusted Welch p is below ``alpha`` are separated. A row's rank runs from one more than
    the rows separated above it to the row count less those separated below it."""
    raw = pairwise_p(samples)
    pairs = list(raw)
    adjusted = dict(zip(pairs, holm([raw[p] for p in pairs]), strict=True)) if pairs else {}
    separated = {p for p, value in adjusted.items() if value < alpha}
    count = len(samples)
    above = [sum((j, i) in separated for j in range(i)) for i in range(count)]
    below = [sum((i, j) in separated for j in range(i + 1, count)) for i in range(count)]
    ranks = [(1 + above[i], count - below[i]) for i in range(count)]
    return Groups(compact_letters(count, separated), ranks, adjusted)


def rank_text(rank: tuple[int, int]) -> str:
    """``2`` for a settled rank, ``1-3`` for a range of ranks."""
    best, worst = rank
    return str(best) if best == worst else f"{best}-{worst}"
