"""Stage 2: train the LSTM head on frame-code sequences, the CNN frozen from stage 1."""

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from detection.models.cnn_lstm import CnnLstm
from detection.training.config import TrainConfig
from detection.training.data import read_crop_csv, split_by_identity, training_crops
from detection.training.frames import build_model
from detection.training.metrics import roc_auc
from detection.training.progress import load_progress, save_progress
from detection.training.sequences import (
    Clip,
    crop_clips,
    encode_clips,
    training_videos,
    video_clips,
    video_tracks,
)

log = logging.getLogger(__name__)


def video_clip_set(
    cfg: TrainConfig,
    names,
    run_dir: Path,
    clips: int,
    seed: int,
    *,
    varied_masks: bool = False,
    crfs: Sequence[int] = (),
) -> list[Clip]:
    """`clips` real clips per video and their self-blended twins, the windows drawn from the
    video and its re-encodes at `crfs` alike."""
    result = []
    for offset, name in enumerate(names):
        tracks = [track for _, track in video_tracks(cfg, name, run_dir / "tracks", crfs)]
        if not tracks:
            log.warning("%s: no face track long enough, left out", name)
        result += video_clips(tracks, cfg, clips, seed + offset, varied_masks=varied_masks)
    return result


def validation_clips(cfg: TrainConfig, run_dir: Path) -> tuple[list[Clip], list[Clip]]:
    """The validation sequences: clips of the validation videos (real and self-blended) and
    of the DFDC validation crops. Drawn from split_seed, so every member cuts the same."""
    splits = split_by_identity(read_crop_csv(Path(cfg.dfdc_csv)), cfg.split_seed)
    return (
        video_clip_set(cfg, cfg.val_videos, run_dir, cfg.clips_per_video // 2, cfg.split_seed + 99),
        crop_clips(splits["val"], cfg, cfg.val_crop_sequences, cfg.split_seed + 99),
    )


def encoded_sets(cfg: TrainConfig, model: CnnLstm, run_dir: Path) -> dict[str, tuple]:
    """Train and validation sequences, encoded once by the frozen CNN (cached on disk)."""
    cache = run_dir / "temporal-codes.pt"
    if cache.exists():
        return torch.load(cache, weights_only=True)
    splits = split_by_identity(read_crop_csv(Path(cfg.dfdc_csv)), cfg.split_seed)
    val_clips, val_crops = validation_clips(cfg, run_dir)
    sets = {
        "val_videos": encode_clips(model, val_clips, cfg, augment=False, desc="encode val videos"),
        "val_crops": encode_clips(model, val_crops, cfg, augment=False, desc="encode val crops"),
    }
    train_clips = video_clip_set(
        cfg,
        training_videos(cfg),
        run_dir,
        cfg.clips_per_video,
        cfg.seed,
        varied_masks=cfg.sbi_varied_masks,
        crfs=cfg.video_reencode_crf,
    )
    sets["train"] = encode_clips(model, train_clips, cfg, augment=True, desc="encode train videos")
    train_crops = crop_clips(
        training_crops(splits["train"], cfg.dfdc_fakes), cfg, cfg.crop_sequences, cfg.seed
    )
    if train_crops:
        sets["train"] = concat_sequences(
            sets["train"],
            encode_clips(model, train_crops, cfg, augment=True, desc="encode train crops"),
        )
    torch.save(sets, cache)
    return sets


def concat_sequences(a: tuple, b: tuple) -> tuple:
    """Two (codes, lengths, labels) sets as one, codes zero-padded to the longer clips."""
    codes_a, len_a, y_a = a
    codes_b, len_b, y_b = b
    length = max(codes_a.shape[1], codes_b.shape[1])
    pad = lambda c: torch.nn.functional.pad(c, (0, 0, 0, length - c.shape[1]))  # noqa: E731
    return torch.cat([pad(codes_a), pad(codes_b)]), torch.cat([len_a, len_b]), torch.cat([y_a, y_b])


def sequence_logits(model: CnnLstm, data: tuple) -> np.ndarray:
    codes, lengths, _ = data
    model.eval()
    with torch.inference_mode():
        return model.sequence_logits(codes, lengths).numpy()


def train_temporal(cfg: TrainConfig, run_dir: Path, frames_path: Path) -> Path:
    """Train the LSTM + sequence head; return the path of the best full state dict."""
    best_path = run_dir / "temporal-best.pt"
    summary_path = run_dir / "temporal-history.json"
    if summary_path.exists():
        return best_path
    model = build_model(cfg)  # every weight comes from the frame stage: no seed needed here
    model.load_state_dict(torch.load(frames_path, map_location="cpu", weights_only=True))
    sets = encoded_sets(cfg, model, run_dir)
    codes, lengths, labels = sets["train"]
    val = concat_sequences(sets["val_videos"], sets["val_crops"])
    params = list(model.lstm.parameters()) + list(model.sequence_head.parameters())
    optimiser = torch.optim.AdamW(params, lr=cfg.temporal_lr, weight_decay=cfg.weight_decay)
    generator = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)  # dropout: the same whether the codes were encoded or read
    progress_path = run_dir / "temporal-progress.pt"
    progress = load_progress(progress_path, model, optimiser, generator)
    epochs = range(progress.epochs_done, cfg.temporal_epochs)
    for epoch in tqdm(epochs, desc="temporal", mininterval=5, initial=progress.epochs_done):
        model.train()
        order = torch.randperm(len(labels), generator=generator)
        losses = []
        for start in range(0, len(order), cfg.temporal_batch_size):
            idx = order[start : start + cfg.temporal_batch_size]
            # Random truncation: the engine sees tracks of any length.
            cut = torch.randint(4, codes.shape[1] + 1, (len(idx),), generator=generator)
            batch_lengths = torch.minimum(lengths[idx], cut)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                model.sequence_logits(codes[idx], batch_lengths), labels[idx].float()
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
        logits = sequence_logits(model, val)
        val_loss = float(
            torch.nn.functional.binary_cross_entropy_with_logits(
                torch.from_numpy(logits), val[2].float()
            )
        )
        record = {
            "epoch": epoch + 1,
            "train_loss": float(np.mean(losses)),
            "val_loss": val_loss,
            "val_auc_videos": roc_auc(
                sets["val_videos"][2], sequence_logits(model, sets["val_videos"])
            ),
            "val_auc_crops": roc_auc(
                sets["val_crops"][2], sequence_logits(model, sets["val_crops"])
            ),
        }
        progress.history.append(record)
        if val_loss < progress.best.get("val_loss", float("inf")):
            progress.best = record
            torch.save(model.state_dict(), best_path)
        progress.epochs_done = epoch + 1
        save_progress(progress_path, progress, model, optimiser, generator)
    log.info("temporal stage best epoch: %s", progress.best)
    summary_path.write_text(
        json.dumps({"best": progress.best, "history": progress.history}, indent=2)
    )
    return best_path
