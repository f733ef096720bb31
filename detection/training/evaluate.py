"""Score a labelled dataset with a checkpoint and report AUC, accuracy, F1, ECE and a ROC plot.

Images (face crops) are scored by the frame head; videos go through the whole engine
(`detection.pipeline.detect`), exactly as users' videos do. The baseline column replaces the
LSTM by the mean of the frame scores of the most suspicious track.
"""

import io
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from detection.models import ModelCard, load_checkpoint
from detection.scoring import calibrate
from detection.training.data import identity_split, read_crop_csv, to_tensor
from detection.training.layouts import Sample, find_samples
from detection.training.metrics import binary_report, roc_curve

log = logging.getLogger(__name__)


@dataclass
class Scored:
    paths: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # no face / unreadable, with the reason


def score_images(
    model, card: ModelCard, paths: Sequence[Path], device: torch.device, batch: int = 64
) -> np.ndarray:
    """Calibrated frame-head probabilities for face-crop images."""
    probabilities = []
    with torch.inference_mode():
        for start in range(0, len(paths), batch):
            tensors = [
                to_tensor(
                    Image.open(io.BytesIO(Path(p).read_bytes()))
                    .convert("RGB")
                    .resize((card.input_size, card.input_size), Image.BILINEAR),
                    card.mean,
                    card.std,
                )
                for p in paths[start : start + batch]
            ]
            logits = model.frame_logits(model.features(torch.stack(tensors).to(device)))
            probabilities.append(
                calibrate(logits.float().cpu().numpy(), card.frame_temperature, card.frame_bias)
            )
    return np.concatenate(probabilities) if probabilities else np.zeros(0)


def mean_pool_score(result: dict) -> float | None:
    """Baseline: the most suspicious track's mean per-frame probability (no LSTM)."""
    by_track: dict[int, list[float]] = {}
    for frame in result.get("per_frame", []):
        by_track.setdefault(frame["track"], []).append(frame["score"])
    return max((float(np.mean(v)) for v in by_track.values()), default=None)


def score_samples(
    samples: Sequence[Sample],
    model_path: Path,
    device: str = "cpu",
    frames: int | None = None,
    on_sample: Callable[[int, int], None] | None = None,
) -> Scored:
    from detection.errors import DetectionError
    from detection.pipeline import DetectOptions, detect

    scored = Scored()
    images = [s for s in samples if s.kind == "image"]
    if images:
        model, card = load_checkpoint(model_path, device)
        probabilities = score_images(model, card, [s.path for s in images], torch.device(device))
        scored.paths += [str(s.path) for s in images]
        scored.labels += [s.label for s in images]
        scored.scores += probabilities.tolist()
        scored.baseline += probabilities.tolist()
    videos = [s for s in samples if s.kind == "video"]
    options = DetectOptions(frames=frames, device=device, model_path=model_path)
    for number, sample in enumerate(videos, 1):
        if on_sample:
            on_sample(number, len(videos))
        try:
            result = detect(sample.path, options=options).to_dict()
        except DetectionError as exc:
            scored.skipped.append({"path": str(sample.path), "reason": str(exc)})
            continue
        if result["fake_probability"] is None:
            scored.skipped.append(
                {"path": str(sample.path), "reason": "; ".join(result["quality"])}
            )
            continue
        scored.paths.append(str(sample.path))
        scored.labels.append(sample.label)
        scored.scores.append(result["fake_probability"])
        scored.baseline.append(mean_pool_score(result))
    return scored


def per_sample(scored: Scored) -> list[dict]:
    """Every scored sample with its label and both scores: the report's figures say how
    often the model is wrong, these say on which samples."""
    return [
        {"path": path, "label": label, "fake_probability": score, "mean_pool": baseline}
        for path, label, score, baseline in zip(
            scored.paths, scored.labels, scored.scores, scored.baseline, strict=True
        )
    ]


def worst_errors(samples: Sequence[dict], threshold: float, count: int) -> list[dict]:
    """The samples on the wrong side of the threshold, most confidently wrong first."""
    wrong = [s for s in samples if (s["fake_probability"] >= threshold) != bool(s["label"])]
    wrong.sort(key=lambda s: abs(s["fake_probability"] - threshold), reverse=True)
    return wrong[:count]


def plot_roc(curves: dict[str, tuple[Sequence[int], Sequence[float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from detection.training.metrics import roc_auc

    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    for name, (labels, scores) in curves.items():
        fpr, tpr = roc_curve(labels, scores)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc(labels, scores):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def evaluate_dataset(
    dataset: Path,
    model_path: Path,
    out_dir: Path,
    *,
    device: str = "cpu",
    split: str | None = None,
    frames: int | None = None,
    on_sample: Callable[[int, int], None] | None = None,
) -> dict:
    """Score every sample, write report.json and roc.png into out_dir, return the report."""
    _, card = load_checkpoint(model_path, "cpu")
    layout, samples = find_samples(dataset)
    if split:
        if layout != "face-crop csv":
            raise ValueError("--split applies to face-crop CSVs with an identity column")
        seed = card.metrics.get("split", {}).get("seed", 0)
        keep = {i.path for i in read_crop_csv(dataset) if identity_split(i.identity, seed) == split}
        samples = [s for s in samples if s.path in keep]
    if not samples:
        raise ValueError(f"{dataset}: no samples found ({layout})")
    scored = score_samples(samples, model_path, device, frames, on_sample)
    threshold = card.threshold
    report = {
        "dataset": str(dataset),
        "layout": layout,
        "split": split,
        "model": {"name": card.architecture, "version": card.version},
        "samples": len(samples),
        "scored": len(scored.labels),
        "skipped": scored.skipped,
        "model_metrics": binary_report(scored.labels, scored.scores, threshold).to_dict(),
        "baseline_mean_pool": binary_report(scored.labels, scored.baseline, threshold).to_dict(),
        "per_sample": per_sample(scored),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2))
    if len(set(scored.labels)) == 2:
        plot_roc(
            {"CNN-LSTM": (scored.labels, scored.scores),
             "mean-pool baseline": (scored.labels, scored.baseline)},
            out_dir / "roc.png",
        )  # fmt: skip
    return report
