"""GAN losses as pure functions of discriminator outputs.

Every function takes *logits* (pre-sigmoid discriminator outputs, or raw critic values for
the Wasserstein/hinge/least-squares families) and returns a scalar to **minimise**. Working on
logits keeps the log-sigmoid terms numerically stable: ``log D(x) = -softplus(-a)`` and
``log(1 - D(x)) = -softplus(a)`` for ``D = sigmoid(a)``.

Discriminator losses are named ``d_<name>``, generator losses ``g_<name>``; :data:`LOSSES`
maps each public loss name to its pair (StudioGAN's convention).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ganzoo.errors import ConfigError

Tensor = torch.Tensor


def bce_with_targets(logits: Tensor, target: float) -> Tensor:
    """Binary cross-entropy of ``sigmoid(logits)`` against a constant soft target.

    Args:
        logits: discriminator logits ``a``.
        target: the label ``t`` in [0, 1] (1 = real, 0 = fake; 0.9 for one-sided smoothing).

    Returns:
        ``mean(t * softplus(-a) + (1 - t) * softplus(a))``.
    """
    return (target * F.softplus(-logits) + (1.0 - target) * F.softplus(logits)).mean()


def d_bce(real: Tensor, fake: Tensor, real_label: float = 1.0, fake_label: float = 0.0) -> Tensor:
    """Discriminator cost of the minimax game (seed 003: J(D)), up to the factor 1/2.

    ``-E log D(x) - E log(1 - D(G(z)))``, with optional soft targets: ``real_label = 1 - alpha``
    and ``fake_label = beta`` give the alpha/beta smoothing of Salimans et al. (2016);
    ``real_label = 0.9, fake_label = 0`` is one-sided label smoothing.

    Args:
        real: logits on data samples.
        fake: logits on generated samples.
        real_label: target for data samples.
        fake_label: target for generated samples.

    Returns:
        the scalar loss to minimise.
    """
    return bce_with_targets(real, real_label) + bce_with_targets(fake, fake_label)


def g_minimax(fake: Tensor) -> Tensor:
    """Saturating generator cost ``E log(1 - D(G(z)))`` (Goodfellow et al. 2014, Algorithm 1).

    Its gradient with respect to the logit is ``-sigmoid(a)``, which vanishes as
    ``D(G(z)) -> 0``: the saturation the seed notes (002, 003) describe.
    """
    return -F.softplus(fake).mean()


def g_nonsaturating(fake: Tensor) -> Tensor:
    """Non-saturating generator cost ``-E log D(G(z))`` (seed 003, "Non-Saturating game").

    Gradient with respect to the logit is ``sigmoid(a) - 1``: close to -1 where D rejects the
    samples, so the generator still learns early in training.
    """
    return F.softplus(-fake).mean()


def g_maximum_likelihood(fake: Tensor) -> Tensor:
    """Maximum-likelihood generator cost ``-1/2 E exp(sigma^-1(D(G(z))))`` (seed 004).

    ``sigma^-1(D)`` is the logit itself, so this is ``-0.5 * mean(exp(a))``. With an optimal
    discriminator its expected gradient equals that of KL(p_data || p_g) (Goodfellow 2014b).
    Large logits overflow ``exp``; the training loop's divergence guard catches that.
    """
    return -0.5 * torch.exp(fake).mean()


def d_wasserstein(real: Tensor, fake: Tensor) -> Tensor:
    """Critic loss ``E f(G(z)) - E f(x)`` (Arjovsky et al. 2017, Eq. 3, negated to minimise)."""
    return fake.mean() - real.mean()


def g_wasserstein(fake: Tensor) -> Tensor:
    """Generator loss ``-E f(G(z))`` of the Wasserstein GAN."""
    return -fake.mean()


def d_hinge(real: Tensor, fake: Tensor) -> Tensor:
    """Hinge discriminator loss ``E relu(1 - D(x)) + E relu(1 + D(G(z)))`` (Lim & Ye 2017)."""
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def g_hinge(fake: Tensor) -> Tensor:
    """Hinge generator loss ``-E D(G(z))``."""
    return -fake.mean()


def d_least_squares(real: Tensor, fake: Tensor) -> Tensor:
    """LSGAN discriminator loss ``1/2 E (D(x) - 1)^2 + 1/2 E D(G(z))^2`` (Mao et al. 2017, a=0, b=c=1)."""
    return 0.5 * ((real - 1.0) ** 2).mean() + 0.5 * (fake**2).mean()


def g_least_squares(fake: Tensor) -> Tensor:
    """LSGAN generator loss ``1/2 E (D(G(z)) - 1)^2``."""
    return 0.5 * ((fake - 1.0) ** 2).mean()


class LossPair:
    """A discriminator loss and a generator loss that belong together, on D's logits.

    ``d(real, fake)`` is D's loss; ``g(fake, real)`` is G's, where ``real`` (D's logits on the
    real batch in G's step) is computed only for a pair with ``needs_real_in_g`` (a
    relativistic loss) and is None otherwise. ``probabilistic`` is true when D's output is a
    logit of D(x) in (0, 1), so ``sigmoid`` of it is a probability worth logging; ``targets``
    are the BCE targets (real, fake) D is trained towards. A pair with settings is a subclass
    chosen by ``class_path`` (:class:`ganzoo.tricks.LabelSmoothing`); the plain pairs are
    named in :data:`LOSSES`.
    """

    name: str = "custom"
    probabilistic: bool = False
    needs_real_in_g: bool = False
    targets: tuple[float, float] = (1.0, 0.0)

    def d(self, real: Tensor, fake: Tensor) -> Tensor:
        raise NotImplementedError

    def g(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        raise NotImplementedError


class NamedPair(LossPair):
    """A pair of the pure functions above, under its name in :data:`LOSSES`."""

    def __init__(self, name: str, d: Callable[[Tensor, Tensor], Tensor],
                 g: Callable[[Tensor], Tensor], probabilistic: bool) -> None:
        self.name, self._d, self._g, self.probabilistic = name, d, g, probabilistic

    def d(self, real: Tensor, fake: Tensor) -> Tensor:
        return self._d(real, fake)

    def g(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        return self._g(fake)


LOSSES: dict[str, LossPair] = {
    name: NamedPair(name, d, g, probabilistic)
    for name, d, g, probabilistic in (
        ("minimax", d_bce, g_minimax, True),
        ("nonsaturating", d_bce, g_nonsaturating, True),
        ("ml", d_bce, g_maximum_likelihood, True),
        ("wasserstein", d_wasserstein, g_wasserstein, False),
        ("hinge", d_hinge, g_hinge, False),
        ("least_squares", d_least_squares, g_least_squares, False),
    )
}


def get_loss(name: str, field: str = "model.loss") -> LossPair:
    """Look a loss pair up by name; an unknown name is a :class:`ConfigError` listing the choices."""
    try:
        return LOSSES[name]
    except KeyError:
        allowed = ", ".join(sorted(LOSSES))
        raise ConfigError(f"{field}: unknown loss {name!r}; allowed: {allowed}") from None
