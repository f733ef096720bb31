"""Score a labelled dataset with a checkpoint, the way users meet the model.

Videos go through the whole engine (`detection.pipeline.detect`) and are judged by the verdict
a person would read: how many real videos are called fake (false alarms, the costliest error:
they name an innocent person), how many fakes are called real (misses), how many are left
"uncertain", and how well real and fake are ranked overall, per manipulation method and per
resolution. Face-crop images are scored by the frame head. The mean-pool column replaces the
LSTM by the mean of the frame scores of the most suspicious track.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from detection.models import ModelCard, load_checkpoint
from detection.scoring import calibrate
from detection.training.dfdc import CropItem, identity_split, load_images, read_crop_csv
from detection.training.frames import encode
from detection.training.layouts import Sample, find_samples, read_video_csv
from detection.training.metrics import (
    binary_report,
    calibration_error_floor,
    expected_calibration_error,
    grouped_auc_interval,
    roc_auc,
    roc_curve,
)
from detection.training.reencode import reencoded

# Short sides at which a video's figures are reported apart: sharpness must not decide.
RESOLUTION_BANDS = ((0, 256, "under 256 px"), (256, 480, "256-479 px"), (480, 10**6, "480 px+"))
RELIABILITY_BINS = 10


@dataclass
class Scored:
    samples: list[dict] = field(default_factory=list)  # one per scored sample
    skipped: list[dict] = field(default_factory=list)  # unreadable or no face, with the reason


def score_images(
    model, card: ModelCard, paths: Sequence[Path], device: torch.device, batch: int = 64
) -> np.ndarray:
    """Calibrated frame-head probabilities for face-crop images."""
    images = load_images([CropItem(Path(p), 0, "") for p in paths], card.input_size)
    with torch.inference_mode():
        codes = encode(model, images, card.mean, card.std, batch_size=batch, device=device)
        logits = model.frame_logits(codes).float().cpu().numpy()
    return calibrate(logits, card.frame_temperature, card.frame_bias)


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
    reencoding: str | None = None,
) -> Scored:
    """Every sample's verdict; videos after the named re-encode, if any."""
    from detection.errors import DetectionError
    from detection.pipeline import DetectOptions, detect

    scored = Scored()
    images = [s for s in samples if s.kind == "image"]
    if images:
        model, card = load_checkpoint(model_path, device)
        probabilities = score_images(model, card, [s.path for s in images], torch.device(device))
        band = card.uncertain_band
        for sample, p in zip(images, probabilities.tolist(), strict=True):
            verdict = "fake" if p >= band[1] else "real" if p <= band[0] else "uncertain"
            scored.samples.append(_row(sample, p, p, verdict))
    videos = [s for s in samples if s.kind == "video"]
    options = DetectOptions(frames=frames, device=device, model_path=model_path)
    for number, sample in enumerate(videos, 1):
        if on_sample:
            on_sample(number, len(videos))
        try:
            with reencoded(sample.path, reencoding) as path:
                result = detect(path, options=options).to_dict()
        except DetectionError as exc:
            scored.skipped.append({"path": str(sample.path), "reason": str(exc)})
            continue
        if result["fake_probability"] is None:
            scored.skipped.append(
                {"path": str(sample.path), "reason": "; ".join(result["quality"])}
            )
            continue
        row = _row(sample, result["fake_probability"], mean_pool_score(result), result["verdict"])
        row["short_side"] = min(result["video"]["width"], result["video"]["height"])
        row["quality"] = result["quality"]
        scored.samples.append(row)
    return scored


def _row(sample: Sample, probability: float, baseline: float | None, verdict: str) -> dict:
    return {
        "path": str(sample.path),
        "label": sample.label,
        "method": sample.method or ("pristine" if sample.label == 0 else "fake"),
        "group": sample.group,
        "fake_probability": probability,
        "mean_pool": baseline,
        "verdict": verdict,
    }


def verdict_shares(rows: Sequence[dict]) -> dict[str, float | int]:
    """How the verdicts fall: false alarms are reals called fake, misses fakes called real."""
    reals = [r for r in rows if r["label"] == 0]
    fakes = [r for r in rows if r["label"] == 1]

    def share(part: Sequence[dict], verdict: str) -> float:
        return sum(r["verdict"] == verdict for r in part) / len(part) if part else float("nan")

    return {
        "reals": len(reals),
        "fakes": len(fakes),
        "false_alarms": share(reals, "fake"),
        "misses": share(fakes, "real"),
        "uncertain": share(rows, "uncertain"),
    }


def method_parts(rows: Sequence[dict]) -> dict[str, list[dict]]:
    """All reals with all fakes, and all reals with each method's fakes."""
    reals = [r for r in rows if r["label"] == 0]
    fakes = [r for r in rows if r["label"] == 1]
    parts = {"all": [*reals, *fakes]}
    for method in sorted({r["method"] for r in fakes}):
        parts[method] = [*reals, *(r for r in fakes if r["method"] == method)]
    return parts


def ranking(rows: Sequence[dict], key: str = "fake_probability") -> dict[str, float]:
    """AUC of all fakes against all reals, and of each method's fakes against all reals."""
    return {
        name: roc_auc([r["label"] for r in part], [r[key] for r in part])
        for name, part in method_parts(rows).items()
    }


def ranking_intervals(rows: Sequence[dict]) -> dict[str, list[float]]:
    """95 % intervals of `ranking`'s AUCs, resampling whole groups (a source project, or a
    real video with the fakes made from it): a handful of groups, not the count of videos,
    is what these figures rest on."""
    return {
        name: list(
            grouped_auc_interval(
                [r["label"] for r in part],
                [r["fake_probability"] for r in part],
                [r["group"] or r["path"] for r in part],
            )
        )
        for name, part in method_parts(rows).items()
    }


def by_resolution(rows: Sequence[dict]) -> dict[str, dict]:
    out = {}
    for low, high, name in RESOLUTION_BANDS:
        part = [r for r in rows if low <= r.get("short_side", -1) < high]
        if part:
            out[name] = {"auc": ranking(part)["all"], **verdict_shares(part)}
    return out


def reliability(rows: Sequence[dict], bins: int = RELIABILITY_BINS) -> list[dict]:
    """Per probability bin: how many samples, their mean probability, their share of fakes."""
    p = np.array([r["fake_probability"] for r in rows], dtype=np.float64)
    y = np.array([r["label"] for r in rows], dtype=np.float64)
    which = np.clip((p * bins).astype(int), 0, bins - 1)
    return [
        {
            "low": b / bins,
            "high": (b + 1) / bins,
            "count": int((which == b).sum()),
            "mean_probability": float(p[which == b].mean()),
            "fake_share": float(y[which == b].mean()),
        }
        for b in range(bins)
        if (which == b).any()
    ]


def worst_errors(samples: Sequence[dict], threshold: float, count: int) -> list[dict]:
    """The samples on the wrong side of the threshold, most confidently wrong first."""
    wrong = [s for s in samples if (s["fake_probability"] >= threshold) != bool(s["label"])]
    wrong.sort(key=lambda s: abs(s["fake_probability"] - threshold), reverse=True)
    return wrong[:count]


def plot_report(rows: Sequence[dict], path: Path) -> None:
    """ROC per method beside the reliability diagram, in one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (roc_ax, rel_ax) = plt.subplots(1, 2, figsize=(10, 5), dpi=100)
    for name, part in method_parts(rows).items():
        labels, scores = [r["label"] for r in part], [r["fake_probability"] for r in part]
        if len(set(labels)) == 2:
            fpr, tpr = roc_curve(labels, scores)
            roc_ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc(labels, scores):.3f})")
    roc_ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    roc_ax.set(xlabel="real videos called fake", ylabel="fakes caught", xlim=(0, 1), ylim=(0, 1))
    roc_ax.legend(loc="lower right", fontsize="small")
    bins = reliability(rows)
    rel_ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    rel_ax.plot([b["mean_probability"] for b in bins], [b["fake_share"] for b in bins], marker="o")
    for b in bins:
        rel_ax.annotate(str(b["count"]), (b["mean_probability"], b["fake_share"]), fontsize=7)
    rel_ax.set(
        xlabel="fake probability given", ylabel="share that is fake", xlim=(0, 1), ylim=(0, 1)
    )
    rel_ax.set_title("reliability (numbers: samples per bin)", fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def select(
    dataset: Path, layout: str, samples: list[Sample], card: ModelCard, split: str | None
) -> list[Sample]:
    """One split: an identity split of a face-crop CSV, or a labelled video CSV's own split
    (its `test` being the val groups the model's card holds back)."""
    if not split:
        return samples
    if layout == "labelled video csv":
        held_back = frozenset(card.metrics.get("test_groups", ()))
        return [s for s in read_video_csv(Path(dataset), held_back) if s.split == split]
    if layout == "face-crop csv":
        seed = card.metrics.get("split", {}).get("seed", 0)
        keep = {i.path for i in read_crop_csv(dataset) if identity_split(i.identity, seed) == split}
        return [s for s in samples if s.path in keep]
    raise ValueError("--split applies to face-crop CSVs and labelled video CSVs")


def evaluate_dataset(
    dataset: Path,
    model_path: Path,
    out_dir: Path,
    *,
    device: str = "cpu",
    split: str | None = None,
    frames: int | None = None,
    on_sample: Callable[[int, int], None] | None = None,
    reencoding: str | None = None,
) -> dict:
    """Score every sample, write report.json and report.png into out_dir, return the report."""
    _, card = load_checkpoint(model_path, "cpu")
    layout, samples = find_samples(dataset)
    if layout == "labelled video csv" and dataset.is_dir():
        dataset = dataset / "labels.csv"
    samples = select(dataset, layout, samples, card, split)
    if not samples:
        raise ValueError(f"{dataset}: no samples found ({layout}{', ' + split if split else ''})")
    if reencoding and any(s.kind != "video" for s in samples):
        raise ValueError("--reencode applies to videos; this dataset holds images")
    scored = score_samples(samples, model_path, device, frames, on_sample, reencoding)
    rows = scored.samples
    labels = [r["label"] for r in rows]
    probabilities = [r["fake_probability"] for r in rows]
    baseline = [r for r in rows if r["mean_pool"] is not None]
    report = {
        "dataset": str(dataset),
        "layout": layout,
        "split": split,
        "reencode": reencoding,
        "model": {
            "name": card.architecture,
            "version": card.version,
            "uncertain_band": list(card.uncertain_band),
        },
        "samples": len(samples),
        "scored": len(rows),
        "skipped": scored.skipped,
        "auc": ranking(rows),
        "auc_interval": ranking_intervals(rows),
        "verdicts": verdict_shares(rows),
        "ece": expected_calibration_error(labels, probabilities) if rows else float("nan"),
        "ece_floor": calibration_error_floor(probabilities) if rows else float("nan"),
        "per_resolution": by_resolution(rows),
        "baseline_mean_pool_auc": ranking(baseline, "mean_pool") if baseline else {},
        "model_metrics": binary_report(labels, probabilities, card.threshold).to_dict(),
        "reliability": reliability(rows) if rows else [],
        "per_sample": rows,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2))
    if len(set(labels)) == 2:
        plot_report(rows, out_dir / "report.png")
    return report
