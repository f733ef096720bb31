"""Binary-classification metrics on probabilities (no scikit-learn needed)."""

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the ROC curve via the rank statistic (ties get average ranks)."""
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    positives, negatives = int(y.sum()), int(len(y) - y.sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_scores = s[order]
    start = 0
    while start < len(s):
        end = start
        while end + 1 < len(s) and sorted_scores[end + 1] == sorted_scores[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2.0 + 1.0
        start = end + 1
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def roc_curve(labels: Sequence[int], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates at every distinct threshold, from (0, 0) to (1, 1)."""
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    distinct = np.r_[np.where(np.diff(s))[0], len(s) - 1]
    tps = np.cumsum(y)[distinct]
    fps = (distinct + 1) - tps
    tpr = np.r_[0.0, tps / max(1, y.sum())]
    fpr = np.r_[0.0, fps / max(1, len(y) - y.sum())]
    return fpr, tpr


def expected_calibration_error(
    labels: Sequence[int], probabilities: Sequence[float], bins: int = 15
) -> float:
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            error += in_bin.mean() * abs(p[in_bin].mean() - y[in_bin].mean())
    return float(error)


def calibration_error_floor(
    probabilities: Sequence[float], bins: int = 15, draws: int = 1000, seed: int = 0
) -> float:
    """The ECE a perfectly calibrated model is expected to show on these probabilities: each
    label drawn as a coin with the stated odds. On a few dozen videos this floor is far from
    zero, so an ECE is read against it, not against zero."""
    p = np.asarray(probabilities, dtype=np.float64)
    rng = np.random.default_rng(seed)
    return float(
        np.mean([expected_calibration_error(rng.random(len(p)) < p, p, bins) for _ in range(draws)])
    )


def grouped_auc_interval(
    labels: Sequence[int],
    scores: Sequence[float],
    groups: Sequence[str],
    *,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the AUC, drawing whole groups with replacement.

    The segments of one video and of the fakes made from it share its look, so they are not
    independent draws: resampling segments alone would claim a precision that a handful of
    videos cannot give.
    """
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    g = np.asarray(groups)
    members = [np.flatnonzero(g == name) for name in np.unique(g)]
    rng = np.random.default_rng(seed)
    aucs = []
    for _ in range(resamples):
        drawn = np.concatenate([members[k] for k in rng.integers(len(members), size=len(members))])
        auc = roc_auc(y[drawn], s[drawn])
        if not np.isnan(auc):  # a draw of one class only has no AUC
            aucs.append(auc)
    if not aucs:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(aucs, [tail, 100 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class Report:
    count: int
    auc: float
    accuracy: float
    precision: float
    recall: float
    f1: float
    ece: float
    threshold: float
    confusion: dict[str, int]  # tp, fp, tn, fn ("positive" = fake)

    def to_dict(self) -> dict:
        return asdict(self)


def binary_report(
    labels: Sequence[int], probabilities: Sequence[float], threshold: float = 0.5
) -> Report:
    y = np.asarray(labels, dtype=np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    predicted = (p >= threshold).astype(np.int64)
    tp = int(((predicted == 1) & (y == 1)).sum())
    fp = int(((predicted == 1) & (y == 0)).sum())
    tn = int(((predicted == 0) & (y == 0)).sum())
    fn = int(((predicted == 0) & (y == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Report(
        count=len(y),
        auc=roc_auc(y, p),
        accuracy=float((predicted == y).mean()) if len(y) else float("nan"),
        precision=precision,
        recall=recall,
        f1=f1,
        ece=expected_calibration_error(y, p),
        threshold=threshold,
        confusion={"tp": tp, "fp": fp, "tn": tn, "fn": fn},
    )


def fit_platt(
    labels: Sequence[int], logits: Sequence[float], *, balanced: bool = False
) -> tuple[float, float]:
    """(T, bias) minimising the log-loss of sigmoid(logit / T + bias) (Platt, 1999), by L-BFGS.

    The bias matters: a head trained on one class balance and scored on another is shifted,
    which temperature alone cannot undo. `balanced`: both labels weigh the same in the loss,
    so a probability reads as if real and fake were equally common, whatever the mix of the
    calibration set (the world's mix is unknown).
    """
    import torch

    y = torch.as_tensor(np.asarray(labels), dtype=torch.float64)
    z = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    weight = torch.ones_like(y)
    if balanced:
        positives = float(y.sum())
        weight = torch.where(y == 1, len(y) / (2 * positives), len(y) / (2 * (len(y) - positives)))
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([log_t, bias], lr=0.1, max_iter=500)

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        scores = z / log_t.exp() + bias
        loss = torch.nn.functional.binary_cross_entropy_with_logits(scores, y, weight=weight)
        loss.backward()
        return loss

    optimiser.step(closure)
    return float(log_t.detach().exp().clamp(0.05, 20.0)), float(bias.detach())
