"""Label metrics read by the domain classifier: CGAN label consistency, InfoGAN code accuracy.

Both count (conditioning value, classifier label) pairs in a torchmetrics
``MulticlassConfusionMatrix`` (summed across DDP ranks by its sync).

* Label consistency (conditional GANs): the share of samples generated for class ``y`` that
  the classifier assigns to ``y``, i.e. the trace of the confusion matrix.
* Categorical-code accuracy (InfoGAN, Chen et al. 2016, Sec. 7.1: "5% error" on MNIST): code
  values carry no names, so each code value is matched one-to-one to a class by the
  assignment that maximises agreement (Hungarian algorithm on the confusion matrix, as in
  unsupervised clustering accuracy), and the accuracy is that of the matched labels.
"""

from __future__ import annotations

import torch
from scipy.optimize import linear_sum_assignment
from torchmetrics.classification import MulticlassConfusionMatrix

Tensor = torch.Tensor


def confusion_matrix(
    conditioning: Tensor, predicted: Tensor, num_rows: int, num_cols: int
) -> Tensor:
    """Counts ``C[i, j]`` of samples with conditioning value ``i`` and predicted class ``j``
    (this rank's samples; synced across ranks)."""
    size = max(num_rows, num_cols)
    metric = MulticlassConfusionMatrix(num_classes=size).to(predicted.device)
    metric.update(predicted, conditioning)  # rows: target (conditioning), columns: predictions
    return metric.compute()[:num_rows, :num_cols].double()


def label_consistency(confusion: Tensor) -> float:
    """Share of samples classified as the class they were generated for."""
    return float(confusion.trace() / confusion.sum())


def matched_accuracy(confusion: Tensor) -> tuple[float, dict[int, int]]:
    """Accuracy under the best one-to-one mapping of rows (code values) to columns (classes),
    and that mapping ``{code value: class}``."""
    rows, cols = linear_sum_assignment(confusion.cpu().numpy(), maximize=True)
    matched = confusion[torch.as_tensor(rows), torch.as_tensor(cols)].sum()
    mapping = {int(r): int(c) for r, c in zip(rows, cols, strict=True)}
    return float(matched / confusion.sum()), mapping
