"""MODEL_CARD.md from a checkpoint's card: what the model is, its data, figures and limits.

Every number is read from the card, which the training stages filled in; nothing is typed here.
"""

from pathlib import Path

from detection.models import ModelCard
from detection.training.reencode import described

METHODS = ("faceswap", "lipsync", "talkinghead")


def _pct(value: float) -> str:
    return f"{100 * value:.0f} %"


def _auc_text(value: float) -> str:
    return "–" if value != value else f"{value:.3f}"  # NaN: one label only


def _auc_cell(m: dict, key: str) -> str:
    """An AUC with its 95 % interval over groups, where the card has one."""
    if key not in m["auc"]:
        return "–"
    low, high = m.get("auc_interval", {}).get(key, (None, None))
    interval = f" ({low:.2f}–{high:.2f})" if low is not None and low == low else ""
    return f"{m['auc'][key]:.3f}{interval}"


def _wild_table(metrics: dict) -> list[str]:
    lines = [
        "| wild set | videos (real / fake) | AUC | "
        + " | ".join(f"AUC {m}" for m in METHODS)
        + " | reals called fake | fakes called real | uncertain | ECE (if calibrated) |",
        "|---" * (7 + len(METHODS)) + "|",
    ]
    for split, name in (
        ("wild_test", "held-back groups (test)"),
        ("wild_val", "val (calibration)"),
    ):
        if split not in metrics:
            continue
        m = metrics[split]
        shares = m["verdicts"]
        aucs = [_auc_cell(m, k) for k in ("all", *METHODS)]
        lines.append(
            f"| {name} | {shares['reals']} / {shares['fakes']} | "
            + " | ".join(aucs)
            + f" | {_pct(shares['false_alarms'])} | {_pct(shares['misses'])} | "
            f"{_pct(shares['uncertain'])} | {m['ece']:.3f} ({m['ece_floor']:.3f}) |"
        )
    return lines


def _resolution_table(metrics: dict) -> list[str]:
    rows = metrics.get("wild_test", {}).get("per_resolution", {})
    if not rows:
        return []
    lines = [
        "| short side (test) | real / fake | AUC | reals called fake |",
        "|---|---|---|---|",
    ]
    for name, m in rows.items():
        lines.append(
            f"| {name} | {m['reals']} / {m['fakes']} | {_auc_text(m['auc'])} | "
            f"{_pct(m['false_alarms'])} |"
        )
    return lines


def _reencoded_table(metrics: dict) -> list[str]:
    rows = metrics.get("wild_test_reencoded", {})
    if not rows or "wild_test" not in metrics:
        return []
    published = metrics["wild_test"]
    lines = [
        "The held-back groups again, every video first re-encoded as the internet passes video "
        f"on (`make evaluate REENCODE=NAME`): {described()}.",
        "",
        "| held-back groups | AUC | reals called fake | fakes called real | uncertain |",
        "|---|---|---|---|---|",
    ]
    as_published = {"auc": published["auc"]["all"], "verdicts": published["verdicts"]}
    for name, m in {"as published": as_published, **rows}.items():
        v = m["verdicts"]
        lines.append(
            f"| {name} | {_auc_text(m['auc'])} | {_pct(v['false_alarms'])} | {_pct(v['misses'])} | "
            f"{_pct(v['uncertain'])} |"
        )
    return [*lines, ""]


def _trained_on(m: dict) -> str:
    """How the CNN was trained, from the shares of lower-face fakes the checkpoint records."""
    shares = m.get("lower_face_fakes", {})
    fakes = "of the wild fake draws being real crops with the mouth and jaw re-rendered"
    steps = ["DFDC and wild crops"]
    if shares.get("frames"):
        steps[0] += f", {shares['frames']:.0%} {fakes}"
    if m.get("lower_face", {}).get("epoch"):
        again = "of them" if shares.get("frames") else fakes
        steps.append(f"then on at a lower rate with {shares.get('lower_face', 0):.0%} {again}")
    return f" (trained on {'; '.join(steps)})"


def render(card: ModelCard) -> str:
    m = card.metrics
    low, high = card.uncertain_band
    temporal = m.get("temporal", {})
    pooling = "LSTM over each face track" if card.config.get("lstm") else "mean pooling"
    minutes = m.get("training_minutes", {})
    lines = [
        f"# Unmask detector {card.version}",
        "",
        f"A CNN ({card.architecture.removeprefix('cnn_lstm_')}, ImageNet start) scores each "
        f"{card.input_size}-px face crop (MTCNN box + {card.face_margin:.0%} each side) of "
        f"{card.frames} frames spread over the video{_trained_on(m)}; faces are linked into "
        f"tracks and each track is scored by {pooling}; the most suspicious long-enough "
        "track decides. "
        "Probabilities are calibrated on validation video (Platt scaling, both labels weighing "
        "the same, so they read as if real and fake videos were equally common).",
        "",
        "## Verdicts",
        f"- **fake** at a probability of {high:.3f} or more: set so that at most "
        f"{_pct(m['calibration']['max_false_alarm'])} of the calibration set's "
        "real videos are called fake.",
        f"- **real** at {low:.3f} or less; **uncertain** in between: the model leans one way "
        "but not far enough to name a video fake or clear it.",
    ]
    if m.get("min_face_px"):
        lines.append(
            f"- Faces under {m['min_face_px']} px make the verdict **uncertain** whatever the "
            "score: below that the ranking measured on validation video falls apart."
        )
    lines += [
        "",
        "## Data (research use only)",
        "- DFDC face crops (Deepfake Detection Challenge, licensed for deepfake-detection "
        f"research), split by identity (seed {m.get('split', {}).get('seed', '?')}): train "
        "teaches the CNN, test gives the frame AUC below.",
        "- The wild set: real and manipulated videos from many public repositories "
        "(licences per file in its labels.csv; much footage is third-party). Its `train` "
        "split teaches the CNN and the LSTM; its `val` split chooses the epoch and the pooling "
        "and calibrates, except the held-back groups "
        f"({', '.join(m.get('test_groups', []))}), which only measure.",
        "- A folder of real talking-head videos (MIT and Apache-2.0) as more real training video.",
        "",
        "## Figures",
        "Wild videos through the whole engine (`make evaluate`); in brackets, the 95 % "
        "interval when whole groups (a source project, or a real video with its fakes) are "
        "resampled: what so few groups can tell apart.",
        "",
        *_wild_table(m),
        "",
        *_resolution_table(m),
        "",
        *_reencoded_table(m),
        f"- DFDC held-out identities, frame AUC: {m.get('dfdc_test_frame_auc', float('nan')):.3f}.",
    ]
    lower = m.get("lower_face")
    if lower:
        kept = f"epoch {lower['epoch']}" if lower["epoch"] else "none (the frame stage's CNN)"
        lines.append(
            f"- Lower-face stage, validation video AUC: {m['frames']['val_video_auc']:.3f} "
            f"before, {lower['val_video_auc']:.3f} kept ({kept})."
        )
    if temporal:
        lines.append(
            f"- Pooling, validation video AUC (calibration part): LSTM {temporal['lstm']:.3f}, "
            f"mean pooling {temporal['mean_pool']:.3f}; shipped: {pooling}."
        )
    if minutes:
        total = sum(minutes.values())
        parts = ", ".join(f"{k} {v}" for k, v in minutes.items())
        lines.append(f"- Training time on a 2-core CPU: {total:.0f} min ({parts}).")
    worst = m.get("wild_test", {}).get("worst", {})
    if worst:
        lines += [
            f"- Test reals scored most fake: {', '.join(f'{n} {p}' for n, p in worst['reals'])}.",
            f"- Test fakes scored most real: {', '.join(f'{n} {p}' for n, p in worst['fakes'])}.",
        ]
    lines += [
        "",
        "## Reproduce",
        "```sh",
        ".venv/bin/python manage.py train_detector --run-dir runs/default",
        "make evaluate",
        "```",
        f"Recipe overrides against `detection/training/config.py`: {m.get('recipe') or 'none'}.",
    ]
    if card.notes:
        lines += ["", "## Known limits", card.notes]
    return "\n".join(lines) + "\n"


def write_model_card(card: ModelCard, path: Path) -> None:
    Path(path).write_text(render(card))
