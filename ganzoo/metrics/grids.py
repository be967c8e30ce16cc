"""Sample grids from the model's fixed latent batch, and plots for toy data.

* unconditional images: the fixed samples, 8 per row;
* conditional GANs: one row per class, the same fixed noise in every row;
* InfoGAN: one row per categorical code value; the columns traverse each continuous code
  from -1 to 1 (the others at 0), all with the same noise vector, so only the codes vary
  (Chen et al. 2016, Fig. 2);
* toy data: a scatter (2D) or histogram (1D) of samples over the mixture modes; for 1D
  with a sigmoid discriminator also ``D(x)`` against the optimal ``D*(x)`` of its label
  targets and instance noise (:mod:`ganzoo.metrics.toy`).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torchvision.utils import make_grid, save_image

from ganzoo.atomic import atomic_path
from ganzoo.data.registry import toy_centers
from ganzoo.metrics.plan import EvalPlan, plan_for
from ganzoo.metrics.toy import GeneratorDensity, optimal_discriminator
from ganzoo.plotting import pyplot

Tensor = torch.Tensor

COLUMNS = 8
TRAVERSAL_STEPS = 7
TOY_SAMPLES = 2000


def grid_latent(model, plan: EvalPlan) -> tuple[dict[str, Tensor], int]:
    """The latent batch of the grid and its number of columns."""
    fixed = model.fixed_latent()
    z = fixed["z"]
    if plan.codes:
        codes = model.latent_codes()
        k, c = codes.categorical, codes.continuous
        steps = torch.linspace(-1, 1, TRAVERSAL_STEPS, device=z.device)
        cols = max(c, 1) * TRAVERSAL_STEPS if c else min(COLUMNS, len(z))
        cont = torch.zeros(cols, c, device=z.device)
        for j in range(c):
            cont[j * TRAVERSAL_STEPS : (j + 1) * TRAVERSAL_STEPS, j] = steps
        zs = z[:1].expand(cols, -1) if c else z[:cols]
        latent = {
            "z": zs.repeat(k, 1),
            "cat": torch.arange(k, device=z.device).repeat_interleave(cols),
            "cont": cont.repeat(k, 1),
        }
        return latent, cols
    if plan.conditional:
        cols = min(COLUMNS, len(z))
        classes = model.num_classes
        labels = torch.arange(classes, device=z.device).repeat_interleave(cols)
        return {"z": z[:cols].repeat(classes, 1), "labels": labels}, cols
    return dict(fixed), min(COLUMNS, len(z))


def image_grid(model, datamodule) -> Tensor:
    """The grid as a float image (C, H, W) in [0, 1]."""
    latent, cols = grid_latent(model, plan_for(model, datamodule))
    images = model.generate_eval(latent).float().cpu()
    return make_grid(images, nrow=cols, normalize=True, value_range=(-1, 1), pad_value=1.0)


def toy_figure(model, datamodule, path: Path) -> None:
    plt = pyplot()

    centers = toy_centers(datamodule.dataset_name)
    std = datamodule.hparams.toy_std
    x = model.sample(TOY_SAMPLES, generator=torch.Generator().manual_seed(0)).float().cpu()
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    if x.shape[1] == 1:
        density = GeneratorDensity(centers, std, noise_std=model.noise_std())
        density.update(x)
        grid, p_data, p_g = density.compute()
        ax.plot(grid, p_data, label="p_data (smoothed)", color="k")
        ax.plot(grid, p_g, label="p_g (KDE)", color="tab:green")
        ax.set_xlabel("x")
        if plan_for(model, datamodule).optimal_d:
            ax2 = ax.twinx()
            ax2.plot(
                grid,
                model.d_probability(grid.view(-1, 1).float()),
                label="D(x)",
                color="tab:blue",
            )
            d_star = optimal_discriminator(p_data, p_g, model.real_label, model.fake_label)
            support = (p_data + p_g) > 1e-3 * float((p_data + p_g).max())
            d_star[~support] = float("nan")  # undefined where neither density has mass
            ax2.plot(grid, d_star, "--", label="D*(x)", color="tab:red")
            ax2.set_ylim(0, 1)
            ax2.legend(loc="upper right", fontsize=7)
        ax.legend(loc="upper left", fontsize=7)
    else:
        ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.4, color="tab:green", label="samples")
        ax.scatter(centers[:, 0], centers[:, 1], s=20, marker="x", color="k", label="modes")
        ax.set_aspect("equal")
        ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp)
    plt.close(fig)


def save_grid(model, datamodule, path: str | Path) -> Path:
    """Write the model's grid (or toy plot) as a PNG at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if datamodule.is_toy:
        toy_figure(model, datamodule, path)
    else:
        with atomic_path(path) as tmp:
            save_image(image_grid(model, datamodule), tmp)
    return path
