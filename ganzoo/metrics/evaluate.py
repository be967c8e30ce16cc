"""Evaluate a GAN: generate samples, compute the metrics that apply, record the protocol.

:func:`evaluate` works inside a Trainer (the :class:`~ganzoo.metrics.EvaluationCallback` calls
it on every rank) and outside one (the benchmark's reproduce checks). Its result::

    {"epoch": int, "g_steps": int,
     "metrics": {"fid", "is", "is_std", "kid", "kid_std", + the other metrics that apply},
     "protocol": {"extractor", "weights_sha256", "feature_layer", "num_features",
                  "reference_split", "reference_size", "num_real", "num_fake",
                  "kid_subset_size", "kid_subsets", "seed", "batch_size",
                  + each metric's settings, "real_floor", "real_floor_n", "real_floor_split"}}

(toy data: ``"measured_on"`` says what is measured instead of features). The real floor
(:mod:`ganzoo.metrics.floor`) is the same metrics for real training images in place of the
fakes, computed once per protocol and cached.

Samples. The ``num_samples`` fakes are cut into chunks of ``batch_size``; chunk ``i`` is drawn
with its own seed ``SeedSequence([seed, i])``, and under DDP rank ``r`` of ``W`` generates the
contiguous run of chunks ``[r * n / W, (r + 1) * n / W)``. Seeds are therefore distinct across
ranks and reproducible, and 1 process and W processes evaluate the identical sample set, in the
same order. G samples in eval mode (batch norm uses running statistics), so a sample does not
depend on the chunk it is in.

Reference. The real features of ``reference_split`` (all of it, or ``num_real`` images) come
from the on-disk cache (:mod:`ganzoo.metrics.real_stats`); rank 0 computes them first, the
others then read them, and each rank feeds its contiguous share to the metrics, whose sync
reassembles the whole set.

Protocols differ between papers (Lucic et al. 2018: 10k test images vs 10k fakes; StudioGAN:
50k fakes vs the train split); ``reference_split``, ``num_real`` and ``num_samples`` select
one, and the values used are written next to every number.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from ganzoo.data.registry import toy_centers
from ganzoo.errors import require
from ganzoo.metrics import builtin  # noqa: F401  (registers the metrics)
from ganzoo.metrics.extractor_registry import EXTRACTORS, build_extractor
from ganzoo.metrics.extractors import FeatureExtractor, to_uint8
from ganzoo.metrics.fidelity import rank, shard, world_size
from ganzoo.metrics.floor import real_floor
from ganzoo.metrics.plan import EvalPlan, conditioning, plan_for
from ganzoo.metrics.real_stats import RealFeatures, real_features
from ganzoo.metrics.registry import EvalContext, select
from ganzoo.metrics.toy import HQ_SIGMAS, toy_states

Tensor = torch.Tensor

SPLITS = ("train", "val", "test")


def rank_zero_first(fn):
    """Run ``fn`` on rank 0, then on the other ranks (which then find its cached output)."""
    if world_size() == 1:
        return fn()
    if rank() == 0:
        out = fn()
        dist.barrier()
        return out
    dist.barrier()
    return fn()


def chunk_seed(seed: int, chunk: int) -> int:
    return int(np.random.SeedSequence([seed, chunk]).generate_state(1, dtype=np.uint64)[0] >> 1)


def my_chunks(num_samples: int, batch_size: int) -> list[tuple[int, int, int]]:
    """``(chunk index, start, end)`` of the chunks this rank generates."""
    starts = list(range(0, num_samples, batch_size))
    w, r = world_size(), rank()
    lo, hi = r * len(starts) // w, (r + 1) * len(starts) // w
    return [(i, starts[i], min(starts[i] + batch_size, num_samples)) for i in range(lo, hi)]


class Evaluator:
    """Holds an evaluation's settings and its built extractors (reused between evaluations).

    Args:
        num_samples: fakes generated per evaluation (over all ranks).
        reference_split: the real split the fakes are compared with: ``"test"`` (final
            tables), ``"val"`` (searches; needs ``data.val_size``) or ``"train"``.
        extractor: ``"domain"`` (the project's classifier) or ``"inception"`` (TF InceptionV3).
        weights_path: explicit weights for that extractor.
        batch_size: generation and extraction batch (also the seeding chunk; recorded).
        kid_subset_size: KID subset size (clamped to the smaller set; the value used is recorded).
        kid_subsets: number of KID subsets (1 when the subsets are the whole sets; recorded).
        num_real: reference images (None = the whole split; else a seeded subset).
        seed: seed of the samples, of the IS/KID shuffles and of the reference subset.
        cache_dir: root of the real-feature and classifier caches (default ``$GANZOO_CACHE``).
        metrics: names from :data:`ganzoo.metrics.registry.METRICS` to compute where they
            apply (None: all of them).
        real_floor: also compute the metrics that read only images for ``num_samples`` real
            training images (cached on disk once per protocol) and record them in the
            protocol as ``real_floor``.
    """

    def __init__(
        self,
        *,
        num_samples: int = 5000,
        reference_split: str = "test",
        extractor: str = "domain",
        weights_path: str | None = None,
        batch_size: int = 500,
        kid_subset_size: int = 1000,
        kid_subsets: int = 100,
        num_real: int | None = None,
        seed: int = 0,
        cache_dir: str | None = None,
        metrics: list[str] | None = None,
        real_floor: bool = True,
    ) -> None:
        self.metrics = select(metrics)
        require(num_samples >= 2, f"num_samples: must be >= 2, got {num_samples}")
        require(
            reference_split in SPLITS,
            f"reference_split: unknown {reference_split!r}; allowed: {', '.join(SPLITS)}",
        )
        require(
            extractor in EXTRACTORS,
            f"extractor: unknown {extractor!r}; allowed: {', '.join(EXTRACTORS)}",
        )
        require(batch_size >= 1, f"batch_size: must be >= 1, got {batch_size}")
        require(kid_subset_size >= 2, f"kid_subset_size: must be >= 2, got {kid_subset_size}")
        require(kid_subsets >= 1, f"kid_subsets: must be >= 1, got {kid_subsets}")
        require(num_real is None or num_real >= 2, f"num_real: must be >= 2, got {num_real}")
        self.num_samples = num_samples
        self.reference_split = reference_split
        self.extractor_name = extractor
        self.weights_path = weights_path
        self.batch_size = batch_size
        self.kid_subset_size = kid_subset_size
        self.kid_subsets = kid_subsets
        self.num_real = num_real
        self.seed = seed
        self.cache_dir = cache_dir
        self.real_floor = real_floor
        self._extractors: dict[tuple[str, str], FeatureExtractor] = {}
        self._real: dict[tuple[str, str, str], RealFeatures] = {}

    # ------------------------------------------------------------------ building blocks
    def extractor(self, name: str, datamodule, device: torch.device) -> FeatureExtractor:
        """The extractor ``name`` for this dataset (built once, rank 0 first)."""
        key = (name, repr(sorted(datamodule.hparams.items())))
        if key not in self._extractors:
            weights = self.weights_path if name == self.extractor_name else None
            self._extractors[key] = rank_zero_first(
                lambda: build_extractor(
                    name, datamodule, weights_path=weights, cache_dir=self.cache_dir
                )
            )
        return self._extractors[key].to(device)

    def split_features(
        self, datamodule, split: str, extractor: FeatureExtractor, num_real: int | None = None
    ) -> RealFeatures:
        """Real features of ``split`` (all of it, or ``num_real`` images chosen with ``seed``):
        from memory, the disk cache (rank 0 first), or computed once."""
        key = (split, num_real, extractor.name, extractor.weights_sha256,
               repr(sorted(datamodule.hparams.items())))
        if key not in self._real:
            self._real[key] = rank_zero_first(
                lambda: real_features(
                    datamodule,
                    split,
                    extractor,
                    num_real=num_real,
                    seed=self.seed,
                    batch_size=self.batch_size,
                    cache_dir=self.cache_dir,
                )
            )
        return self._real[key]

    def reference(self, datamodule, extractor: FeatureExtractor) -> RealFeatures:
        """Real features of the reference split (``num_real`` of its images)."""
        return self.split_features(datamodule, self.reference_split, extractor, self.num_real)

    def needs_classifier(self, plan: EvalPlan) -> bool:
        """Whether a chosen metric that applies reads the domain classifier's predictions (a
        protocol that picks only FID, IS, KID and PR/DC builds no classifier)."""
        return plan.needs_classifier and any(m.classifier and m.applies(plan) for m in self.metrics)

    def prepare(self, model, datamodule) -> None:
        """Build what evaluating ``model`` needs (extractors, also those of metrics measuring
        in a second space, and real features) now, so that a missing weights file or an
        impossible setting fails before training, not after it."""
        plan = plan_for(model, datamodule)
        datamodule.setup("fit")
        if plan.fidelity:
            extra = {e for m in self.metrics if m.applies(plan) for e in m.extractors}
            for name in [self.extractor_name, *sorted(extra - {self.extractor_name})]:
                self.reference(datamodule, self.extractor(name, datamodule, model.device))
        if self.needs_classifier(plan):
            self.extractor("domain", datamodule, model.device)

    def _generate(self, model, datamodule, plan: EvalPlan, fid_ex, cls_ex, toy_metrics):
        """Generate this rank's samples; return per-sample tensors for the metrics."""
        out: dict[str, list[Tensor]] = {"features": [], "logits": [], "images": [], "cond": [],
                                        "pred": []}
        for chunk, start, end in my_chunks(self.num_samples, self.batch_size):
            g = torch.Generator().manual_seed(chunk_seed(self.seed, chunk))
            index = torch.arange(start, end)
            labels, codes = conditioning(plan, model, index, g)
            x = model.sample(end - start, labels=labels, codes=codes, generator=g)
            if plan.toy_modes:
                for metric in toy_metrics:
                    metric.update(x.detach())
                continue
            images = to_uint8(x)
            features, logits = fid_ex(images.to(fid_ex.device))
            out["features"].append(features)
            out["logits"].append(logits)
            out["images"].append(images.cpu())
            if plan.needs_classifier:  # what the samples were drawn with
                out["cond"].append((labels if plan.label_metrics else codes["cat"]).to(x.device))
            if cls_ex is not None:
                cls_logits = logits if cls_ex is fid_ex else cls_ex(images.to(cls_ex.device))[1]
                out["pred"].append(cls_logits.argmax(1))
        if not plan.toy_modes and not out["features"]:  # more ranks than chunks: an empty share
            device = fid_ex.device
            out = {
                "features": [torch.empty(0, fid_ex.num_features, device=device)],
                "logits": [torch.empty(0, fid_ex.num_logits, device=device)],
                "images": [torch.empty(0, *datamodule.data_shape, dtype=torch.uint8)],
                "cond": [torch.empty(0, dtype=torch.long, device=device)],
                "pred": [torch.empty(0, dtype=torch.long, device=device)],
            }
        return {k: torch.cat(v) if v else None for k, v in out.items()}

    # ------------------------------------------------------------------ one evaluation
    @torch.no_grad()
    def __call__(self, model, datamodule, *, epoch: int = 0) -> dict[str, Any]:
        plan = plan_for(model, datamodule)
        chosen = [m for m in self.metrics if m.applies(plan)]
        device = model.device
        datamodule.setup("fit")
        protocol: dict[str, Any] = {
            "extractor": "none", "weights_sha256": "", "reference_split": "density",
            "num_real": 0, "num_fake": self.num_samples, "kid_subset_size": 0, "kid_subsets": 0,
            "seed": self.seed, "batch_size": self.batch_size,
        }
        fid_ex = cls_ex = real = None
        if plan.fidelity:
            fid_ex = self.extractor(self.extractor_name, datamodule, device)
            real = self.reference(datamodule, fid_ex)
            protocol.update(
                extractor=fid_ex.name,
                weights_sha256=fid_ex.weights_sha256,
                feature_layer=fid_ex.feature_layer,
                num_features=fid_ex.num_features,
                reference_split=self.reference_split,
                reference_size=len(datamodule.split(self.reference_split)),
                num_real=len(real.features),
            )
        else:
            protocol.update(measured_on=f"no feature extractor: modes and densities on the "
                            f"{datamodule.data_shape[0]}-D samples",
                            toy_modes=len(toy_centers(datamodule.dataset_name)),
                            toy_std=datamodule.hparams.toy_std, hq_sigmas=HQ_SIGMAS)
        if self.needs_classifier(plan):
            cls_ex = fid_ex if self.extractor_name == "domain" else self.extractor(
                "domain", datamodule, device
            )
            if cls_ex is not fid_ex:
                protocol["classifier_sha256"] = cls_ex.weights_sha256
        toy_metrics = toy_states(datamodule, model.noise_std(), device) if plan.toy_modes else []
        ctx = EvalContext(
            model=model,
            datamodule=datamodule,
            plan=plan,
            settings=self,
            generated=self._generate(model, datamodule, plan, fid_ex, cls_ex, toy_metrics),
            real_features=shard(real.features).to(device) if real is not None else None,
            real=real,
            toy=toy_metrics,
            protocol=protocol,
        )
        metrics: dict[str, float] = {}
        for metric in chosen:
            metrics.update(metric.compute(ctx))
        floor = [m for m in chosen if m.on_real]
        if self.real_floor and floor:
            protocol.update(real_floor(self, datamodule, plan, floor, fid_ex, real, device))
        return {
            "epoch": int(epoch),
            "g_steps": int(getattr(model, "g_steps", 0)),
            "metrics": metrics,
            "protocol": protocol,
        }

def evaluate(model, datamodule, *, epoch: int = 0, **settings: Any) -> dict[str, Any]:
    """One evaluation of ``model`` on ``datamodule``; ``settings`` are :class:`Evaluator`'s.

    Call it on every rank when running under torch.distributed (the metrics sync).
    """
    return Evaluator(**settings)(model, datamodule, epoch=epoch)


def write_jsonl(path: str | Path, entry: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fh.write(json.dumps(entry, sort_keys=True) + "\n")
