"""Stages 3 and 4: calibrate on validation data, write the checkpoint, measure on test data.

The test data (held-out DFDC identities, held-out real videos and self-blended fakes made
from them) is touched only here, after every choice is made.
"""

import dataclasses
import json
import logging
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from detection.models import ModelCard, create_model, load_checkpoint, save_checkpoint
from detection.models.blend_contrast import BlendContrast
from detection.models.card import weights_digest
from detection.models.ensemble import Ensemble
from detection.scoring import calibrate as calibrate_logits
from detection.training.config import TrainConfig
from detection.training.data import FrameDataset, read_crop_csv, split_by_identity
from detection.training.evaluate import mean_pool_score
from detection.training.frames import frame_logits
from detection.training.metrics import (
    binary_report,
    fit_contrast_weight,
    fit_platt,
    grouped_auc_interval,
    roc_auc,
)
from detection.training.sbi_video import make_sbi_video
from detection.training.sequences import encode_clips
from detection.training.temporal import (
    concat_sequences,
    encoded_sets,
    sequence_logits,
    validation_clips,
)

log = logging.getLogger(__name__)
UNCERTAIN_BAND = (0.35, 0.65)
AUC_INTERVAL_LEVEL = 0.95  # of the video-level AUC, over whole source videos
VALIDATION_FAKES_SEED = 7919  # self-blended fakes of the validation videos, apart from the test's
TRAINING_DATA = (
    "DFDC face crops (Deepfake Detection Challenge training set, Facebook AI; licensed for "
    "research on deepfake detection) split by identity 80/10/10; self-blended fakes of their "
    "real crops; face tracks of 13 real talking-head videos (MIT / Apache-2.0) and "
    "self-blended fake sequences of them."
)


def assemble(cfg: TrainConfig, run_dir: Path) -> tuple[nn.Module, str, dict, tuple]:
    """The recipe's model from its trained members, with its registry name and config, and
    its validation sequences: the codes each member's temporal stage cached, side by side
    (the members share split_seed, so they cut the same clips)."""
    members, sequences = [], []
    for member_cfg, folder in cfg.member_runs(run_dir):
        member = create_model(cfg.architecture, **cfg.model_config)
        state = torch.load(folder / "temporal-best.pt", map_location="cpu", weights_only=True)
        member.load_state_dict(state)
        members.append(member)
        sets = encoded_sets(member_cfg, member, folder)
        sequences.append(concat_sequences(sets["val_videos"], sets["val_crops"]))
    _, lengths, labels = sequences[0]
    if any(not torch.equal(s[1], lengths) or not torch.equal(s[2], labels) for s in sequences):
        raise ValueError("the ensemble's members were validated on different sequences")
    validation = (torch.cat([s[0] for s in sequences], dim=-1), lengths, labels)
    if not cfg.ensemble_seeds:
        return members[0], cfg.architecture, dict(cfg.model_config), validation
    config = {"member": cfg.architecture, "members": len(members), **cfg.model_config}
    return Ensemble(members), "ensemble", config, validation


def _fp16(value: float) -> float:
    """The value as the fp16 checkpoint will hold it, so calibration sees what ships."""
    return float(torch.tensor(value).half())


def with_reference_blends(
    cfg: TrainConfig, run_dir: Path, model: nn.Module, val_frames: FrameDataset
) -> tuple[BlendContrast, tuple, tuple[np.ndarray, np.ndarray]]:
    """The model read with reference blends, each head's contrast weight fitted on its own
    validation data, and that data read so: the validation sequences' codes, and the DFDC
    validation crops' frame logits and labels (each crop read once, for the fit and for
    Platt scaling alike)."""
    wrapped = BlendContrast(model, cfg.mean, cfg.std, cfg.reference_blend_count).eval()
    member_cfg, folder = cfg.member_runs(run_dir)[0]  # the clips are the same for every member
    video_clips, crop_clips = validation_clips(member_cfg, folder)
    val = concat_sequences(
        encode_clips(wrapped, video_clips, cfg, augment=False, desc="encode val videos, blends"),
        encode_clips(wrapped, crop_clips, cfg, augment=False, desc="encode val crops, blends"),
    )
    with torch.inference_mode():
        sequences = wrapped.sequence_parts(val[0], val[1])
        code_batches, label_batches = [], []
        for x, y in DataLoader(val_frames, batch_size=128):
            code_batches.append(wrapped.features(x))
            label_batches.append(y)
        codes = torch.cat(code_batches)
        frames = wrapped.frame_parts(codes)
    labels = torch.cat(label_batches).numpy()
    wrapped.sequence_weight.fill_(_fp16(fit_contrast_weight(val[2], *sequences)))
    wrapped.frame_weight.fill_(_fp16(fit_contrast_weight(labels, *frames)))
    log.info(
        "reference blends: frame weight %.3f, sequence weight %.3f",
        wrapped.frame_weight, wrapped.sequence_weight,
    )  # fmt: skip
    with torch.inference_mode():
        return wrapped, val, (wrapped.frame_logits(codes).numpy(), labels)


def _contrast_weights(model: nn.Module) -> dict:
    """The fitted reference-blend weights, for the card (they live in the weights too)."""
    if not isinstance(model, BlendContrast):
        return {}
    weights = {"frame_weight": model.frame_weight, "sequence_weight": model.sequence_weight}
    return {"reference_blend_weights": {k: float(v) for k, v in weights.items()}}


def calibrate(cfg: TrainConfig, run_dir: Path, out: Path) -> ModelCard:
    """Fit Platt scaling of both heads (after the reference-blend weights, when the recipe
    reads with them) on validation data and write the checkpoint."""
    model, architecture, config, val = assemble(cfg, run_dir)
    model.eval()
    splits = split_by_identity(read_crop_csv(Path(cfg.dfdc_csv)), cfg.split_seed)
    val_frames = FrameDataset(splits["val"], cfg.input_size, cfg.mean, cfg.std, train=False)
    if cfg.reference_blends:
        model, val, (f_logits, f_labels) = with_reference_blends(cfg, run_dir, model, val_frames)
        config = {
            "inner": architecture, "mean": list(cfg.mean), "std": list(cfg.std),
            "blends": cfg.reference_blend_count, **config,
        }  # fmt: skip
        architecture = "blend_contrast"
    else:
        f_logits, f_labels = frame_logits(model, val_frames, torch.device("cpu"))
    s_logits = sequence_logits(model, val)
    frame_t, frame_b = fit_platt(f_labels, f_logits)
    sequence_t, sequence_b = fit_platt(val[2].numpy(), s_logits)
    histories = [
        json.loads((folder / "frames-history.json").read_text())
        for _, folder in cfg.member_runs(run_dir)
    ]
    card = ModelCard(
        architecture=architecture,
        config=config,
        input_size=cfg.input_size,
        frames=cfg.frames,
        face_margin=cfg.face_margin,
        mean=cfg.mean,
        std=cfg.std,
        threshold=0.5,
        uncertain_band=UNCERTAIN_BAND,
        sequence_temperature=sequence_t,
        sequence_bias=sequence_b,
        frame_temperature=frame_t,
        frame_bias=frame_b,
        trained=True,
        version=f"{datetime.now(UTC):%Y.%m.%d}-{weights_digest(model)}",
        training_data=TRAINING_DATA,
        metrics={
            "split": {"seed": cfg.split_seed, "fractions": [0.8, 0.1, 0.1], "by": "identity"},
            "val_dfdc_frames_auc": roc_auc(f_labels, f_logits),
            "val_sequences_auc": roc_auc(val[2].numpy(), s_logits),
            **_contrast_weights(model),
            "frame_training_minutes": sum(h["elapsed_s"] for h in histories) / 60,
            "frame_history": histories[0]["history"] if len(histories) == 1 else histories,
        },
    )
    save_checkpoint(model, card, out)
    return card


def _segments(duration: float, length: float) -> list[tuple[float, float]]:
    count = max(1, int(duration // length))
    return [(i * length, min(duration, (i + 1) * length)) for i in range(count)]


def videos_vs_sbi(
    cfg: TrainConfig, checkpoint: Path, names: Sequence[str], work_dir: Path, seed: int
) -> dict:
    """Video-level reports, CNN-LSTM and mean-pool baseline, of the whole engine on 3-s
    segments of the named real videos and of self-blended fake videos made from them, the
    AUC's bootstrap interval over whole videos, and every segment's scores: which videos
    look fake, not only how many."""
    from detection.pipeline import DetectOptions, detect, load_model
    from detection.video import probe

    card = load_model(checkpoint).card  # the copy every detect() call below reuses
    options = DetectOptions(model_path=checkpoint, device="cpu")
    segments, skipped = [], []
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        for offset, name in enumerate(names):
            real = Path(cfg.real_videos) / name
            fakes = [
                make_sbi_video(real, Path(tmp) / f"{real.stem}-sbi{k}.mp4", seed + 31 * offset + k)
                for k in range(cfg.test_fakes_per_video)
            ]
            sources = [(real, 0)] + [(fake, 1) for fake in fakes]
            for path, label in sources:
                for start, end in _segments(probe(path).duration_s, cfg.test_segment_s):
                    segment = dataclasses.replace(options, start=start, end=end)
                    result = detect(path, options=segment).to_dict()
                    if result["fake_probability"] is None:
                        skipped.append(f"{path.name} {start:.0f}-{end:.0f}s: no face")
                        continue
                    segments.append(
                        {"video": path.name, "source": real.name, "label": label,
                         "start": start, "end": end, "cnn_lstm": result["fake_probability"],
                         "mean_pool": mean_pool_score(result)}
                    )  # fmt: skip

    labels = [segment["label"] for segment in segments]
    sources = [segment["source"] for segment in segments]

    def report(score: str) -> dict:
        return binary_report(labels, [s[score] for s in segments], card.threshold).to_dict()

    def interval(score: str) -> list[float]:
        scores = [s[score] for s in segments]
        return list(grouped_auc_interval(labels, scores, sources, level=AUC_INTERVAL_LEVEL))

    return {
        "cnn_lstm": report("cnn_lstm"),
        "mean_pool_baseline": report("mean_pool"),
        "auc_interval": {
            "cnn_lstm": interval("cnn_lstm"),
            "mean_pool_baseline": interval("mean_pool"),
            "level": AUC_INTERVAL_LEVEL,
            "videos": len(set(sources)),
        },
        "segments": segments,
        "skipped": skipped,
        "videos": list(names),
    }


def validate_videos(cfg: TrainConfig, checkpoint: Path, work_dir: Path) -> dict:
    """The test's video protocol on the validation videos: chooses between runs, never test."""
    return {
        "val_videos_vs_sbi": videos_vs_sbi(
            cfg, checkpoint, cfg.val_videos, work_dir, VALIDATION_FAKES_SEED
        )
    }


def evaluate_test(cfg: TrainConfig, checkpoint: Path, work_dir: Path) -> dict:
    """Frame-level metrics on held-out DFDC identities; video-level on held-out videos."""
    # Its own copy, not detect()'s cached one: load_model drops torch to the engine's threads.
    model, card = load_checkpoint(checkpoint, "cpu")
    splits = split_by_identity(read_crop_csv(Path(cfg.dfdc_csv)), cfg.split_seed)
    test_frames = FrameDataset(splits["test"], cfg.input_size, cfg.mean, cfg.std, train=False)
    logits, labels = frame_logits(model, test_frames, torch.device("cpu"))
    probabilities = calibrate_logits(logits, card.frame_temperature, card.frame_bias)
    videos = videos_vs_sbi(cfg, checkpoint, cfg.test_videos, work_dir, cfg.split_seed)
    return {
        "test_dfdc_frames": binary_report(labels, probabilities, card.threshold).to_dict(),
        "test_videos_vs_sbi": videos["cnn_lstm"],
        "test_videos_vs_sbi_mean_pool_baseline": videos["mean_pool_baseline"],
        "test_videos_auc_interval": videos["auc_interval"],
        "test_videos_segments": videos["segments"],
        "test_videos_skipped": videos["skipped"],
        "test_videos": videos["videos"],
    }
