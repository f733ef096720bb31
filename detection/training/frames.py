"""Frame stage: fine-tune the CNN and its frame head on single face crops.

Each epoch draws a fixed number of crops from two pools, half and half: DFDC's labelled face
crops, and the engine crops of the labelled training videos (the wild set's `train` split and
the real-video folder), drawn so that every video weighs the same whatever its length and the
two labels weigh the same. Both pools go through one augmentation in which resolution, blur and
compression are drawn alike for both labels, so sharpness can never stand in for fakeness.
"""

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from detection.pipeline import normalised
from detection.training.augment import augment_crop, resynthesise_lower_face

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CropPool:
    """Crops held in memory with their labels and the video (or DFDC identity) each is from."""

    images: np.ndarray  # (n, S, S, 3) uint8
    labels: np.ndarray  # (n,) 0 real, 1 fake
    owners: np.ndarray  # (n,) index of the video or identity the crop is from
    # Share of the fake draws replaced by a real crop with its lower face re-rendered (a
    # lip-sync-like fake made from our own reals; see `resynthesise_lower_face`).
    lower_face_fakes: float = 0.0

    def __len__(self) -> int:
        return len(self.labels)

    def balanced_draw(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """`count` crop indices: label first (half each), then owner, then a crop of it."""
        by_label_owner: dict[int, dict[int, np.ndarray]] = {}
        for label in (0, 1):
            chosen = np.flatnonzero(self.labels == label)
            owners = self.owners[chosen]
            by_label_owner[label] = {int(o): chosen[owners == o] for o in np.unique(owners)}
        picks = []
        for i in range(count):
            owners = by_label_owner[i % 2] or by_label_owner[1 - i % 2]
            keys = list(owners)
            crops = owners[keys[rng.integers(len(keys))]]
            picks.append(crops[rng.integers(len(crops))])
        return rng.permutation(np.asarray(picks, dtype=np.int64))

    def training_views(
        self, picked: np.ndarray, rng: np.random.Generator, augment_rng: random.Random
    ) -> tuple[list[np.ndarray], list[int]]:
        """Augmented crops and labels for drawn indices, lower-face fakes swapped in."""
        reals = np.flatnonzero(self.labels == 0) if self.lower_face_fakes else []
        images, labels = [], []
        for i in picked:
            crop, label = self.images[i], int(self.labels[i])
            # A pool without lower-face fakes takes no coin: its augmentation stream stays its own.
            if label == 1 and len(reals) and augment_rng.random() < self.lower_face_fakes:
                crop = resynthesise_lower_face(
                    self.images[reals[rng.integers(len(reals))]], augment_rng
                )
            images.append(augment_crop(crop, augment_rng))
            labels.append(label)
        return images, labels


def train_frames(
    model: nn.Module,
    pools: list[CropPool],
    *,
    epochs: int,
    crops_per_epoch: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    mean: tuple,
    std: tuple,
    seed: int,
    progress_path: Path,
    on_epoch: Callable[[int, nn.Module], dict] | None = None,
) -> list[dict]:
    """AdamW with a one-cycle schedule over all epochs; each batch takes from every pool alike.

    After each epoch the loop's state goes to `progress_path`, and a later call goes on from
    there: every epoch draws its crops and augmentations from (seed, epoch) alone, so a
    resumed run repeats the unbroken one. Returns one record per epoch, with what `on_epoch`
    measured.
    """
    steps_per_epoch = max(1, crops_per_epoch // batch_size)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.15
    )
    history: list[dict] = []
    if progress_path.is_file():
        state = torch.load(progress_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        history = state["history"]
    loss_fn = nn.BCEWithLogitsLoss()
    share = batch_size // len(pools)
    for epoch in range(len(history), epochs):
        rng = np.random.default_rng([seed, epoch])
        augment_rng = random.Random(f"{seed}-{epoch}")
        torch.manual_seed(seed * 1000 + epoch)
        model.train()
        draws = [pool.balanced_draw(share * steps_per_epoch, rng) for pool in pools]
        total = 0.0
        for step in tqdm(range(steps_per_epoch), desc=f"frames epoch {epoch + 1}/{epochs}"):
            images, labels = [], []
            for pool, draw in zip(pools, draws, strict=True):
                views, view_labels = pool.training_views(
                    draw[step * share : (step + 1) * share], rng, augment_rng
                )
                images.extend(views)
                labels.extend(view_labels)
            batch = normalised(np.stack(images), mean, std)
            target = torch.tensor(labels, dtype=torch.float32)
            loss = loss_fn(model.frame_logits(model.features(batch)), target)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item()
        model.eval()
        record = {"epoch": epoch + 1, "loss": round(total / steps_per_epoch, 4)}
        record.update(on_epoch(epoch, model) if on_epoch else {})
        log.info("frames %s", record)
        history.append(record)
        state = {
            "model": model.state_dict(),
            "optimiser": optimiser.state_dict(),
            "schedule": schedule.state_dict(),
            "history": history,
        }
        partial = progress_path.with_name(progress_path.name + ".partial")
        torch.save(state, partial)
        partial.replace(progress_path)
    return history


@torch.inference_mode()
def encode(
    model: nn.Module,
    images: np.ndarray,
    mean: tuple,
    std: tuple,
    batch_size: int = 128,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """CNN codes of un-augmented crops, as the engine computes them (on the CPU)."""
    model.eval()
    codes = [
        model.features(normalised(images[i : i + batch_size], mean, std).to(device)).float().cpu()
        for i in range(0, len(images), batch_size)
    ]
    return torch.cat(codes) if codes else torch.zeros(0, getattr(model, "feature_dim", 0))
