"""Numerical checks of the GAN theory in the seed notes, on 1D densities known exactly.

Each check sets what ganzoo computes (its losses from :mod:`ganzoo.losses`, its MLP
discriminator) against a closed form from the lecture notes (``shared/seeds``, cited by
number):

- :func:`proposition1`: a discriminator trained to convergence against a fixed generator
  approaches ``D*(x) = p_data / (p_data + p_g)`` (seed 000, Proposition 1), and with the soft
  targets ``1 - alpha`` (real) and ``beta`` (fake) the smoothed optimum
  ``((1 - alpha) p_data + beta p_g) / (p_data + p_g)`` (seed 003, "One-sided label smoothing").
- :func:`global_optimum`: ``V(D*, G) = -log 4 + 2 JSD(p_data || p_g)`` by quadrature for
  several pairs, ``-log 4`` when ``p_g = p_data`` (seed 002, "Global Optimality", proof of 2).
  The JSD comes from scipy's ``jensenshannon``, a code path independent of ``V``, and from its
  closed form where one exists.
- :func:`cost_gradients` and :func:`strong_discriminator_runs`: the gradient of the minimax,
  non-saturating and maximum-likelihood generator costs with respect to D's logit as a
  function of ``D(G(z))`` (seed 002, "Gradient Vanishing"; seeds 003 and 004), autograd through
  :mod:`ganzoo.losses` against the closed forms; and short runs from a pretrained, confident D
  in which the minimax generator stalls while the non-saturating one learns.
- :func:`mean_only_curve` and :func:`mean_only_descent`: a generator that can only move a
  Gaussian's mean; the curve of ``max_D V(D, G) = -log 4 + 2 JSD`` over that mean and the path
  gradient descent takes on it when each step uses the optimal D of the current generator
  (seed 002, "Graphical Explanation": the gradient of ``V(D*_G, G)`` at fixed ``D*_G`` is a
  (sub)gradient of ``max_D V``; checked against the curve's finite differences).

``labs/theory_report.py`` runs every check and writes ``results/theory.md`` with its plots;
``tests/test_theory.py`` runs each with a small budget and a loose tolerance.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.spatial.distance import jensenshannon
from torch import nn

from ganzoo.losses import LOSSES, d_bce
from ganzoo.metrics.toy import optimal_discriminator
from ganzoo.nets.mlp import MLPDiscriminator

Tensor = torch.Tensor
LOG4 = math.log(4.0)
Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# ----------------------------------------------------------------------------- densities
def _strata(n: int, generator: torch.Generator) -> Tensor:
    """One uniform draw in each of the ``n`` strata ``[i / n, (i + 1) / n)``."""
    u = torch.rand(n, generator=generator, dtype=torch.float64)
    return (torch.arange(n, dtype=torch.float64) + u) / n


@dataclass(frozen=True)
class Gaussians:
    """The mixture ``sum_k w_k N(means_k, stds_k^2)`` in 1D (one component: a Gaussian);
    equal weights when ``weights`` is empty."""

    means: tuple[float, ...]
    stds: tuple[float, ...]
    weights: tuple[float, ...] = ()

    def _params(self) -> tuple[Tensor, Tensor, Tensor]:
        """Means, stds and normalised weights as float64 tensors."""
        weights = self.weights or (1.0,) * len(self.means)
        m, s, w = (torch.tensor(v, dtype=torch.float64) for v in (self.means, self.stds, weights))
        return m, s, w / w.sum()

    def log_pdf(self, x: Tensor) -> Tensor:
        m, s, w = self._params()
        z = (x.double().unsqueeze(-1) - m) / s
        log_k = -0.5 * z**2 - torch.log(s) - 0.5 * math.log(2 * math.pi) + torch.log(w)
        return torch.logsumexp(log_k, dim=-1)

    def pdf(self, x: Tensor) -> Tensor:
        return self.log_pdf(x).exp()

    def sample(self, n: int, generator: torch.Generator, stratified: bool = False) -> Tensor:
        """``n`` draws; ``stratified``: each component gets its share ``w_k n`` of them (the
        fractional remainders go to components drawn at random) and its draws are one per
        stratum of equal probability, ``mean + std Phi^-1((i + U_i) / n_k)``: still samples
        of the density, with far less batch-to-batch noise (stratified Monte Carlo)."""
        m, s, w = self._params()
        if not stratified:
            comp = torch.multinomial(w, n, replacement=True, generator=generator)
            return m[comp] + s[comp] * torch.randn(n, generator=generator, dtype=torch.float64)
        counts = torch.floor(w * n).long()
        rest = n - int(counts.sum())
        if rest:
            counts[torch.multinomial(w * n - counts, rest, generator=generator)] += 1
        draws = [m[k] + s[k] * torch.special.ndtri(_strata(int(c), generator))
                 for k, c in enumerate(counts)]
        return torch.cat(draws)

    def support(self) -> tuple[float, float]:
        """An interval outside which the density is below ``exp(-72)`` of its peak (12 std)."""
        return (
            min(m - 12 * s for m, s in zip(self.means, self.stds, strict=True)),
            max(m + 12 * s for m, s in zip(self.means, self.stds, strict=True)),
        )

    @property
    def breakpoints(self) -> tuple[float, ...]:
        """Points where the density jumps: none."""
        return ()

    def __str__(self) -> str:
        k = len(self.means)
        _, _, w = self._params()
        terms = []
        for i, (m, s) in enumerate(zip(self.means, self.stds, strict=True)):
            weight = "" if k == 1 else f"{float(w[i]):.2g} "
            terms.append(f"{weight}N({m:g}, {s:g}²)")
        return " + ".join(terms)


@dataclass(frozen=True)
class Uniform:
    """The uniform density on ``[lo, hi]``: jumps at both ends, mass 0 outside."""

    lo: float
    hi: float

    def log_pdf(self, x: Tensor) -> Tensor:
        x = x.double()
        inside = (x >= self.lo) & (x <= self.hi)
        inside_value = torch.tensor(-math.log(self.hi - self.lo), dtype=torch.float64)
        return torch.where(inside, inside_value, -math.inf)

    def pdf(self, x: Tensor) -> Tensor:
        return self.log_pdf(x).exp()

    def sample(self, n: int, generator: torch.Generator, stratified: bool = False) -> Tensor:
        u = _strata(n, generator) if stratified else torch.rand(
            n, generator=generator, dtype=torch.float64
        )
        return self.lo + (self.hi - self.lo) * u

    def support(self) -> tuple[float, float]:
        return self.lo, self.hi

    @property
    def breakpoints(self) -> tuple[float, ...]:
        return self.lo, self.hi

    def __str__(self) -> str:
        return f"U[{self.lo:g}, {self.hi:g}]"


Density = Gaussians | Uniform


def quadrature(*densities: Density, width: float = 0.02, order: int = 16) -> tuple[Tensor, Tensor]:
    """Nodes and weights of composite Gauss-Legendre quadrature over the union of the
    densities' supports, cut at every jump of a density (a uniform's ends) so that each piece
    integrates a smooth function: pieces of at most ``width`` with ``order`` nodes each."""
    lo = min(d.support()[0] for d in densities)
    hi = max(d.support()[1] for d in densities)
    cuts = sorted({lo, hi, *(b for d in densities for b in d.breakpoints if lo < b < hi)})
    base_x, base_w = np.polynomial.legendre.leggauss(order)
    xs, ws = [], []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        pieces = max(1, math.ceil((b - a) / width))
        edges = np.linspace(a, b, pieces + 1)
        half = (edges[1:] - edges[:-1])[:, None] / 2
        mid = (edges[1:] + edges[:-1])[:, None] / 2
        xs.append((mid + half * base_x).ravel())
        ws.append((half * base_w).ravel())
    return torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ws))


# ----------------------------------------------------------------------------- global optimum
def value(d_logit: Callable[[Tensor], Tensor], p_data: Density, p_g: Density) -> float:
    """``V(D, G) = int p_data log D + p_g log(1 - D) dx`` for ``D = sigmoid(d_logit)``, by
    quadrature (seed 000, Eq. 1 as an integral). ``log D = -softplus(-a)`` and
    ``log(1 - D) = -softplus(a)`` as in :mod:`ganzoo.losses`; a term whose density is 0 counts
    0 (``0 log 0 = 0``), so D may be certain (logit +-inf) where only one density has mass."""
    x, w = quadrature(p_data, p_g)
    a = d_logit(x)
    pd, pg = p_data.pdf(x), p_g.pdf(x)
    real = torch.where(pd > 0, -pd * F.softplus(-a), 0.0)
    fake = torch.where(pg > 0, -pg * F.softplus(a), 0.0)
    return float((w * (real + fake)).sum())


def optimal_logit(p_data: Density, p_g: Density) -> Callable[[Tensor], Tensor]:
    """The logit of ``D* = p_data / (p_data + p_g)``: ``log p_data - log p_g`` (computed from
    the log densities, so D* stays exact where one density underflows)."""
    return lambda x: p_data.log_pdf(x) - p_g.log_pdf(x)


def optimal_value(p_data: Density, p_g: Density) -> float:
    """``max_D V(D, G) = V(D*, G)`` (Proposition 1)."""
    return value(optimal_logit(p_data, p_g), p_data, p_g)


def jensen_shannon(p_data: Density, p_g: Density) -> float:
    """``JSD(p_data || p_g)`` in nats by scipy's ``jensenshannon`` over the quadrature
    masses (it returns the square root of the divergence; the bin width cancels inside)."""
    x, w = quadrature(p_data, p_g)
    return float(jensenshannon((p_data.pdf(x) * w).numpy(), (p_g.pdf(x) * w).numpy())) ** 2


@dataclass(frozen=True)
class Pair:
    """A (p_data, p_g) pair for :func:`global_optimum`, with its JSD in closed form if known."""

    name: str
    p_data: Density
    p_g: Density
    exact_jsd: float | None = None


PROP1_DATA = Gaussians(means=(-1.5, 1.0), stds=(0.5, 0.8))
PROP1_G = Gaussians(means=(0.5,), stds=(1.5,))

PAIRS = (
    Pair("equal Gaussians", Gaussians((0.0,), (1.0,)), Gaussians((0.0,), (1.0,)), 0.0),
    Pair("equal mixtures", PROP1_DATA, PROP1_DATA, 0.0),
    Pair("mean shifted by 1", Gaussians((0.0,), (1.0,)), Gaussians((1.0,), (1.0,))),
    Pair("std doubled", Gaussians((0.0,), (1.0,)), Gaussians((0.0,), (2.0,))),
    Pair("mean shifted by 6", Gaussians((0.0,), (1.0,)), Gaussians((6.0,), (1.0,))),
    Pair("Proposition 1 pair", PROP1_DATA, PROP1_G),
    Pair("half-overlapping uniforms", Uniform(0.0, 1.0), Uniform(0.5, 1.5), math.log(2) / 2),
    Pair("disjoint uniforms", Uniform(0.0, 1.0), Uniform(2.0, 3.0), math.log(2)),
)


def global_optimum(pairs: tuple[Pair, ...] = PAIRS) -> list[dict]:
    """Per pair: ``V(D*, G)``, the JSD, ``-log 4 + 2 JSD`` and ``|V - (-log 4 + 2 JSD)|``;
    where the JSD has a closed form, also the error of the numerical JSD against it."""
    rows = []
    for pair in pairs:
        v = optimal_value(pair.p_data, pair.p_g)
        jsd = jensen_shannon(pair.p_data, pair.p_g)
        bound = -LOG4 + 2 * jsd
        rows.append({
            "pair": pair.name,
            "p_data": str(pair.p_data),
            "p_g": str(pair.p_g),
            "value": v,
            "jsd": jsd,
            "bound": bound,
            "error": abs(v - bound),
            "exact_jsd": pair.exact_jsd,
            "jsd_error": None if pair.exact_jsd is None else abs(jsd - pair.exact_jsd),
        })
    return rows


# ----------------------------------------------------------------------------- Proposition 1
def train_discriminator(
    p_data: Density,
    p_g: Density,
    *,
    real_label: float = 1.0,
    fake_label: float = 0.0,
    steps: int = 6000,
    batch: int = 1024,
    lr: float = 1e-2,
    hidden: tuple[int, ...] = (64, 64),
    seed: int = 0,
    progress: Progress = _quiet,
) -> MLPDiscriminator:
    """Train ganzoo's MLP discriminator against a fixed generator to convergence.

    Every step draws a fresh stratified batch from ``p_data`` and from ``p_g`` and takes an
    Adam step on :func:`ganzoo.losses.d_bce` with the given targets. Stratified batches and a
    learning rate that decays to 0 on a cosine keep the minibatch noise small, so D settles
    at the optimum of the expected cost (what Proposition 1 is about) rather than near it.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    d = MLPDiscriminator(data_shape=(1,), hidden=hidden)
    opt = torch.optim.Adam(d.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for step in range(steps):
        real = p_data.sample(batch, gen, stratified=True).float().view(-1, 1)
        fake = p_g.sample(batch, gen, stratified=True).float().view(-1, 1)
        loss = d_bce(d(real), d(fake), real_label, fake_label)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
        if (step + 1) % max(1, steps // 4) == 0:
            progress(f"    D step {step + 1}/{steps}: loss {loss.item():.4f}")
    return d.eval()


@torch.no_grad()
def _logits(d: nn.Module, x: Tensor) -> Tensor:
    return d(x.float().view(-1, 1)).double().view(-1)


def discriminator_probs(d: nn.Module, x: Tensor) -> Tensor:
    """``sigmoid(D(x))`` in float64 on 1D points ``x``."""
    return torch.sigmoid(_logits(d, x))


def proposition1(
    p_data: Density = PROP1_DATA,
    p_g: Density = PROP1_G,
    *,
    real_label: float = 1.0,
    fake_label: float = 0.0,
    region_fraction: float = 0.01,
    grid_range: tuple[float, float] = (-6.0, 6.0),
    grid_points: int = 1201,
    **train,
) -> dict:
    """Train D against the fixed ``p_g`` and compare it with the (smoothed) optimum on a grid.

    The error is measured over the region where ``(p_data + p_g) / 2`` is at least
    ``region_fraction`` of its maximum: outside it D is trained on almost no samples (and
    where neither density has mass D* is not even defined). The region's bounds and the mass
    it holds are returned with the errors; the region must lie inside ``grid_range``. Also
    returned: ``V(D, G)`` of the trained D (as a value of the minimax game, meaningful for the
    targets (1, 0)) next to ``V(D*, G)``, its maximum.
    """
    start = time.time()
    d = train_discriminator(p_data, p_g, real_label=real_label, fake_label=fake_label, **train)
    grid = torch.linspace(*grid_range, grid_points, dtype=torch.float64)
    pd, pg = p_data.pdf(grid), p_g.pdf(grid)
    d_star = optimal_discriminator(pd, pg, real_label, fake_label)
    d_probs = discriminator_probs(d, grid)
    mixture = (pd + pg) / 2
    region = mixture >= region_fraction * mixture.max()
    if region[0] or region[-1]:
        raise ValueError(f"grid_range {grid_range} cuts the region where p_data + p_g has mass")
    error = (d_probs - d_star).abs()
    nodes, weights = quadrature(p_data, p_g)
    mix_nodes = (p_data.pdf(nodes) + p_g.pdf(nodes)) / 2
    threshold = region_fraction * float(mixture.max())
    mass = float((weights * mix_nodes * (mix_nodes >= threshold)).sum())
    return {
        "real_label": real_label,
        "fake_label": fake_label,
        "grid": grid,
        "p_data": pd,
        "p_g": pg,
        "d": d_probs,
        "d_star": d_star,
        "region": region,
        "region_bounds": (float(grid[region].min()), float(grid[region].max())),
        "region_contiguous": bool((region.int().diff() != 0).sum() <= 2),
        "region_mass": mass,
        "max_error": float(error[region].max()),
        "value_trained": value(lambda x: _logits(d, x), p_data, p_g),
        "value_optimal": optimal_value(p_data, p_g),
        "mean_error": float((error * mixture)[region].sum() / mixture[region].sum()),
        "seconds": time.time() - start,
    }


# ----------------------------------------------------------------------------- saturation
def analytic_cost_gradient(loss: str, d: Tensor) -> Tensor:
    """``dJ(G)/da`` per sample as a function of ``D = sigmoid(a)``, ``a`` D's logit on G(z):
    minimax ``d/da log(1 - sigmoid(a)) = -D`` (seed 002), non-saturating
    ``d/da -log sigmoid(a) = D - 1`` (seed 003), maximum likelihood
    ``d/da -1/2 exp(a) = -1/2 D / (1 - D)`` (seed 004, ``sigma^-1(D) = a``)."""
    closed_forms = {"minimax": -d, "nonsaturating": d - 1, "ml": -0.5 * d / (1 - d)}
    return closed_forms[loss]


SATURATION_LOSSES = ("minimax", "nonsaturating", "ml")


def cost_gradients(d_values: Tensor, loss: str) -> Tensor:
    """Autograd of ganzoo's generator cost ``LOSSES[loss].g`` with respect to each logit
    ``a = sigma^-1(D(G(z)))``. The cost is a batch mean, so the per-sample gradient (what
    reaches G through that sample) is the batch size times the gradient of the mean."""
    d = d_values.double()
    a = torch.log(d) - torch.log1p(-d)
    a.requires_grad_(True)
    cost = LOSSES[loss].g(a)
    (grad,) = torch.autograd.grad(cost, a)
    return grad * len(a)


class AffineGenerator(nn.Module):
    """``G(z) = mean + exp(log_std) * z`` with ``z ~ N(0, 1)``: a 1D Gaussian generator whose
    mean and spread are its only parameters."""

    def __init__(self, mean: float, std: float) -> None:
        super().__init__()
        self.mean = nn.Parameter(torch.tensor(float(mean)))
        self.log_std = nn.Parameter(torch.tensor(math.log(std)))

    def forward(self, z: Tensor) -> Tensor:
        return self.mean + self.log_std.exp() * z


def _d_step(d: nn.Module, g: nn.Module, opt, p_data: Density, batch: int, gen) -> None:
    """One BCE step of D on a batch of data and a batch of G's samples (G frozen)."""
    real = p_data.sample(batch, gen).float().view(-1, 1)
    with torch.no_grad():
        fake = g(torch.randn(batch, 1, generator=gen))
    loss = d_bce(d(real), d(fake))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def strong_discriminator_runs(
    losses: tuple[str, ...] = SATURATION_LOSSES,
    *,
    p_data: Density = Gaussians((2.0,), (0.5,)),
    g_mean: float = -2.0,
    g_std: float = 0.5,
    pretrain_steps: int = 500,
    steps: int = 300,
    batch: int = 256,
    lr_d: float = 1e-3,
    lr_g: float = 0.05,
    seed: int = 0,
    progress: Progress = _quiet,
) -> dict:
    """Start every generator cost from the same confident discriminator and watch G.

    D (ganzoo's MLP) is first trained for ``pretrain_steps`` Adam steps on ``p_data`` against
    the initial :class:`AffineGenerator` ``N(g_mean, g_std^2)``, so that ``D(G(z))`` is tiny.
    Then, per cost, a copy of that D and of G play ``steps`` rounds of Algorithm 1 with k = 1
    (one D step, then one G step) with fresh samples from the same seed. G uses plain SGD: the
    saturation is a statement about the gradient's size, which Adam would rescale away.

    Returns ``{"initial_d_fake": ..., "runs": {loss: {"mean", "std", "d_fake", "grad_mean"}}}``
    with one entry per G step in each list (before that step's update).
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    d0 = MLPDiscriminator(data_shape=(1,), hidden=(64, 64))
    g0 = AffineGenerator(g_mean, g_std)
    opt = torch.optim.Adam(d0.parameters(), lr=lr_d)
    for _ in range(pretrain_steps):
        _d_step(d0, g0, opt, p_data, batch, gen)
    with torch.no_grad():
        initial = float(torch.sigmoid(d0(g0(torch.randn(4096, 1, generator=gen)))).mean())
    progress(f"    pretrained D: mean D(G(z)) = {initial:.2e}")
    runs = {}
    for loss_name in losses:
        d, g = copy.deepcopy(d0), copy.deepcopy(g0)
        opt_d = torch.optim.Adam(d.parameters(), lr=lr_d)
        opt_d.load_state_dict(opt.state_dict())
        opt_g = torch.optim.SGD(g.parameters(), lr=lr_g)
        gen = torch.Generator().manual_seed(seed + 1)
        history: dict[str, list[float]] = {"mean": [], "std": [], "d_fake": [], "grad_mean": []}
        for _ in range(steps):
            _d_step(d, g, opt_d, p_data, batch, gen)
            logits = d(g(torch.randn(batch, 1, generator=gen)))
            g_loss = LOSSES[loss_name].g(logits)
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            history["mean"].append(g.mean.item())
            history["std"].append(g.log_std.exp().item())
            history["d_fake"].append(float(torch.sigmoid(logits.detach()).mean()))
            history["grad_mean"].append(float(g.mean.grad))
            d.zero_grad(set_to_none=True)  # G's step must not leave gradients on D
            opt_g.step()
        runs[loss_name] = history
        progress(
            f"    {loss_name}: G mean {g_mean:+.2f} -> {g.mean.item():+.2f} after {steps} G steps"
        )
    return {"initial_d_fake": initial, "runs": runs, "data_mean": float(p_data.means[0])}


# ----------------------------------------------------------------------------- mean-only G
def mean_only_curve(p_data: Density, std: float, means: Tensor) -> Tensor:
    """``max_D V(D, G_mu) = V(D*, G_mu)`` for ``G_mu = N(mu, std^2)`` at each ``mu``."""
    values = [optimal_value(p_data, Gaussians((float(m),), (std,))) for m in means]
    return torch.tensor(values, dtype=torch.float64)


def standard_normal_quantiles(n: int) -> Tensor:
    """``Phi^-1((i + 1/2) / n)``: ``n`` equally weighted points whose mean of ``f`` is a
    deterministic estimate of ``E f(z)`` for ``z ~ N(0, 1)`` (a quasi-random batch)."""
    u = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    return torch.distributions.Normal(0.0, 1.0).icdf(u)


def mean_only_gradient(p_data: Density, std: float, mu: float, loss: str, z: Tensor) -> float:
    """G's gradient ``dJ/dmu`` for ``G(z) = mu + std z`` against the discriminator that is
    optimal for the *current* ``mu`` and held fixed: its logit ``log p_data - log p_g`` is
    evaluated at the reparameterised samples, and ``J`` is ganzoo's cost ``LOSSES[loss].g``."""
    d_star = optimal_logit(p_data, Gaussians((mu,), (std,)))
    mean = torch.tensor(mu, dtype=torch.float64, requires_grad=True)
    logits = d_star(mean + std * z)
    (grad,) = torch.autograd.grad(LOSSES[loss].g(logits), mean)
    return float(grad)


def mean_only_descent(
    p_data: Density,
    std: float,
    start: float,
    *,
    loss: str = "minimax",
    lr: float = 0.5,
    steps: int = 60,
    samples: int = 20001,
) -> dict:
    """Gradient descent on the generator's mean, each step against ``D*`` of the current G
    (what the notes propose in place of the intractable ``max_D`` at every G).

    Returns the path: ``mu`` and ``value = V(D*, G_mu)`` before each step and after the last
    one, and the gradient of each step.
    """
    z = standard_normal_quantiles(samples)
    mus, grads = [float(start)], []
    for _ in range(steps):
        grads.append(mean_only_gradient(p_data, std, mus[-1], loss, z))
        mus.append(mus[-1] - lr * grads[-1])
    values = mean_only_curve(p_data, std, torch.tensor(mus))
    return {"loss": loss, "lr": lr, "mu": mus, "value": values.tolist(), "grad": grads}


def danskin_check(p_data: Density, std: float, mus: list[float], samples: int = 20001,
                  h: float = 1e-3) -> float:
    """Largest ``|dJ_minimax/dmu at fixed D*_mu - dC/dmu|`` over ``mus``, where ``C(mu) =
    V(D*_mu, G_mu)`` is differentiated by central differences: the gradient G follows with the
    optimal D of its current self held fixed is the gradient of ``max_D V`` (seed 002)."""
    z = standard_normal_quantiles(samples)
    worst = 0.0
    for mu in mus:
        ends = mean_only_curve(p_data, std, torch.tensor([mu - h, mu + h], dtype=torch.float64))
        finite = float(ends[1] - ends[0]) / (2 * h)
        worst = max(worst, abs(mean_only_gradient(p_data, std, mu, "minimax", z) - finite))
    return worst
