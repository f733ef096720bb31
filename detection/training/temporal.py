"""Temporal stage: the LSTM learns what a face track's sequence adds to its mean frame logit.

The CNN is frozen. Training tracks are the training videos' counted face tracks, read in
`views` augmented copies (one augmentation draw for all crops of a track, as a re-encode or a
resize hits a whole video), so their codes are as unfamiliar to the CNN as a new video's;
the CNN has already fitted their plain crops. Each step cuts every track to a random window.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pad_sequence

from detection.training.augment import augment_crop
from detection.training.crops import VideoCrops, counted_tracks
from detection.training.frames import encode


@dataclass(frozen=True)
class LabelledTracks:
    """The counted tracks of one video, each as its crops' CNN codes in time order."""

    tracks: list[Tensor]  # (T, F) each
    label: int


def augmented_view(crops: np.ndarray, seed: str) -> np.ndarray:
    """One augmentation draw applied alike to every crop (the same seed for each)."""
    return np.stack([augment_crop(crop, random.Random(seed)) for crop in crops])


def track_codes(
    model: nn.Module, video: VideoCrops, mean: tuple, std: tuple, view_seed: str | None = None
) -> list[Tensor]:
    """Codes of each counted track; `view_seed` set: of one augmented view of it."""
    out = []
    for indices in counted_tracks(video):
        crops = video.crops[indices]
        if view_seed is not None:
            crops = augmented_view(crops, view_seed)
        out.append(encode(model, crops, mean, std))
    return out


@torch.inference_mode()
def video_logits(model: nn.Module, videos: Sequence[LabelledTracks]) -> np.ndarray:
    """The engine's video score before calibration: its most suspicious counted track's
    sequence logit (NaN for a video without one)."""
    model.eval()
    out = []
    for video in videos:
        if not video.tracks:
            out.append(float("nan"))
            continue
        lengths = torch.tensor([len(t) for t in video.tracks])
        logits = model.sequence_logits(pad_sequence(video.tracks, batch_first=True), lengths)
        out.append(float(logits.max()))
    return np.asarray(out, dtype=np.float64)


def train_lstm(
    model: nn.Module,
    videos: Sequence[LabelledTracks],
    *,
    epochs: int,
    lr: float,
    min_window: int,
    seed: int,
    batch_size: int = 32,
) -> list[float]:
    """Fit the LSTM and its head on the tracks (encoder and frame head stay as they are);
    each label weighs the same. Returns the training loss per epoch."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    items = [(track, video.label) for video in videos for track in video.tracks]
    positives = sum(label for _, label in items)
    pos_weight = torch.tensor((len(items) - positives) / max(1, positives))
    params = [*model.lstm.parameters(), *model.sequence_head.parameters()]
    optimiser = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    losses = []
    for _ in range(epochs):
        model.train()
        order = rng.permutation(len(items))
        total = 0.0
        for start in range(0, len(order), batch_size):
            windows, labels = [], []
            for i in order[start : start + batch_size]:
                track, label = items[i]
                length = int(rng.integers(min(min_window, len(track)), len(track) + 1))
                first = int(rng.integers(0, len(track) - length + 1))
                windows.append(track[first : first + length])
                labels.append(float(label))
            lengths = torch.tensor([len(w) for w in windows])
            logits = model.sequence_logits(pad_sequence(windows, batch_first=True), lengths)
            loss = loss_fn(logits, torch.tensor(labels))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(windows)
        losses.append(total / len(items))
    model.eval()
    return losses
