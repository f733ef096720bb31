"""Stage 1: fine-tune the top of the CNN and its frame head on labelled face crops.

On a 2-core CPU a full fine-tune of MobileNetV2 is hours per epoch. The first
`frozen_blocks` blocks keep their ImageNet weights; their outputs for `frame_views`
augmented views of every crop are computed once (inference only) and cached, and the
remaining blocks plus the frame head are trained on that cache. Each epoch reads one view
of every DFDC crop, cycling through the views, so an augmentation comes back only after
all views were used (with frame_view_consistency, half of them, each beside its next view).
Each stage leaves files in the run folder, so a stopped run resumes where it was.
"""

import json
import logging
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from detection.models import create_model
from detection.models.cnn_lstm import CnnLstm, load_imagenet_mobilenet_v2
from detection.training.config import TrainConfig
from detection.training.data import (
    FrameDataset,
    read_crop_csv,
    split_by_identity,
    training_crops,
)
from detection.training.metrics import roc_auc
from detection.training.progress import load_progress, save_progress
from detection.training.sequences import track_crop_dataset, training_videos

log = logging.getLogger(__name__)


def build_model(cfg: TrainConfig) -> CnnLstm:
    model = create_model(cfg.architecture, **cfg.model_config)
    if cfg.architecture == "cnn_lstm_mobilenet_v2":
        load_imagenet_mobilenet_v2(model)
    return model


def split_encoder(model: CnnLstm, frozen_blocks: int) -> tuple[nn.Module, nn.Module]:
    """(stem, top) of the encoder: stem = the first frozen_blocks feature blocks."""
    features = model.encoder[0]
    stem = features[:frozen_blocks]
    top = nn.Sequential(features[frozen_blocks:], *list(model.encoder)[1:])
    return stem, top


@torch.inference_mode()
def frame_logits(model: CnnLstm, dataset: FrameDataset, device: torch.device, batch: int = 128):
    """Frame-head logits and labels for every crop of a dataset, in order."""
    model.eval()
    logits, labels = [], []
    for x, y in DataLoader(dataset, batch_size=batch, num_workers=0):
        logits.append(model.frame_logits(model.features(x.to(device))).float().cpu())
        labels.append(y)
    return torch.cat(logits).numpy(), torch.cat(labels).numpy()


def smoothed_targets(labels: torch.Tensor, smoothing: float) -> torch.Tensor:
    """Hard 0/1 labels pulled `smoothing` of the way towards 1/2."""
    return labels * (1.0 - smoothing) + smoothing / 2


def view_disagreement(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean squared gap between the fake probabilities of two views of one crop, over the pairs
    whose views kept one label (a real crop's view may have become a blend). The batch holds
    the first views, then their partners in the same order."""
    first, second = torch.sigmoid(logits).chunk(2)
    same = labels[: len(first)] == labels[len(first) :]
    if not same.any():
        return logits.new_zeros(())
    return ((first - second)[same] ** 2).mean()


@torch.inference_mode()
def cache_stem(
    stem: nn.Module, dataset: FrameDataset, views: int, path: Path, cfg: TrainConfig, desc: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stem outputs (fp16) and labels for `views` augmented passes over the dataset."""
    if path.exists():
        blob = torch.load(path, weights_only=True)
        return blob["x"], blob["y"]
    stem.eval()
    xs, ys = [], []
    for view in range(views):
        dataset.epoch = view
        loader = DataLoader(dataset, batch_size=64, num_workers=cfg.workers)
        for x, y in tqdm(loader, desc=f"{desc} view {view + 1}/{views}", mininterval=15):
            xs.append(stem(x).half())
            ys.append(y)
    blob = {"x": torch.cat(xs), "y": torch.cat(ys)}
    torch.save(blob, path)
    return blob["x"], blob["y"]


def _top_logits(model: CnnLstm, top: nn.Module, cached: torch.Tensor, device) -> np.ndarray:
    with torch.inference_mode():
        return torch.cat(
            [
                model.frame_logits(top(cached[i : i + 256].to(device).float())).cpu()
                for i in range(0, len(cached), 256)
            ]
        ).numpy()


def train_frames(cfg: TrainConfig, run_dir: Path, device: torch.device) -> Path:
    """Train and return the path of the best frame-stage weights (by validation AUC)."""
    best_path = run_dir / "frames-best.pt"
    summary_path = run_dir / "frames-history.json"
    if summary_path.exists():
        log.info("frame stage already finished: %s", best_path)
        return best_path
    started = time.monotonic()
    torch.manual_seed(cfg.seed)
    splits = split_by_identity(read_crop_csv(Path(cfg.dfdc_csv)), cfg.split_seed)
    if cfg.max_crops_per_split:
        splits = {name: items[: cfg.max_crops_per_split] for name, items in splits.items()}
    train_set = FrameDataset(
        training_crops(splits["train"], cfg.dfdc_fakes), cfg.input_size, cfg.mean, cfg.std,
        train=True, sbi_fraction=cfg.sbi_fraction, varied_masks=cfg.sbi_varied_masks,
        seed=cfg.seed, paired=cfg.sbi_paired, softening=cfg.softening,
        retouch=cfg.real_retouch_probability, blurred_copies=cfg.sbi_blurred_copies,
    )  # fmt: skip
    val_set = FrameDataset(splits["val"], cfg.input_size, cfg.mean, cfg.std, train=False)
    model = build_model(cfg)
    stem, top = split_encoder(model, cfg.frozen_blocks)
    x_train, y_train = cache_stem(
        stem, train_set, cfg.frame_views, run_dir / "stem-train.pt", cfg, "cache train"
    )
    x_val, y_val = cache_stem(stem, val_set, 1, run_dir / "stem-val.pt", cfg, "cache val")
    tracks = run_dir / "tracks"
    video_train = track_crop_dataset(
        cfg,
        training_videos(cfg),
        tracks,
        sbi_fraction=cfg.video_sbi_fraction,
        seed=cfg.seed,
        varied_masks=cfg.sbi_varied_masks,
        crfs=cfg.video_reencode_crf,
        paired=cfg.sbi_paired,
        softening=cfg.softening,
        retouch=cfg.real_retouch_probability,
        blurred_copies=cfg.sbi_blurred_copies,
    )
    x_vid, y_vid = cache_stem(
        stem,
        video_train,
        cfg.video_crop_views,
        run_dir / "stem-video-train.pt",
        cfg,
        "cache videos",
    )
    video_val = track_crop_dataset(
        cfg, cfg.val_videos, tracks, sbi_fraction=0.5, seed=cfg.split_seed + 1
    )
    x_vval, y_vval = cache_stem(
        stem, video_val, 1, run_dir / "stem-video-val.pt", cfg, "cache val videos"
    )
    per_view = len(y_train) // cfg.frame_views
    paired = cfg.frame_view_consistency > 0
    if paired:  # every video crop's next cached view, in the same order
        x_vid_next, y_vid_next = (
            torch.roll(t, -(len(y_vid) // cfg.video_crop_views), 0) for t in (x_vid, y_vid)
        )

    def epoch_data(epoch: int, next_view: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """The epoch's view of every DFDC crop and all video-crop views; with next_view, the
        same crops in the order given, each in its next cached view."""
        view = (epoch + next_view) % cfg.frame_views
        rows = slice(view * per_view, (view + 1) * per_view)
        x_v, y_v = (x_vid_next, y_vid_next) if next_view else (x_vid, y_vid)
        return (
            torch.cat([x_train[rows], *[x_v] * cfg.video_repeat]),
            torch.cat([y_train[rows], *[y_v] * cfg.video_repeat]),
        )

    setup_s = time.monotonic() - started

    model = model.to(device)
    params = list(top.parameters()) + list(model.frame_head.parameters())
    optimiser = torch.optim.AdamW(params, lr=cfg.frame_lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = (per_view + cfg.video_repeat * len(y_vid)) // cfg.frame_batch_size
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=cfg.frame_lr, total_steps=cfg.frame_epochs * steps_per_epoch,
        pct_start=0.1,
    )  # fmt: skip
    generator = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)  # dropout: the same whether the caches were built or read
    progress_path = run_dir / "frames-progress.pt"
    progress = load_progress(progress_path, model, optimiser, generator, scheduler)
    if progress.epochs_done:
        log.info("frame stage resumes after epoch %d", progress.epochs_done)
    else:
        progress.setup_s = setup_s
    earlier_s = progress.elapsed_s
    for epoch in range(progress.epochs_done, cfg.frame_epochs):
        top.train()
        model.frame_head.train()
        x_epoch, y_epoch = epoch_data(epoch)
        if paired:  # half a batch of crops, each in two views: the same compute per step
            x_next, y_next = epoch_data(epoch, next_view=True)
        per_step = cfg.frame_batch_size // 2 if paired else cfg.frame_batch_size
        order = torch.randperm(len(y_epoch), generator=generator)
        losses = []
        bar = tqdm(range(steps_per_epoch), desc=f"frames epoch {epoch + 1}", mininterval=15)
        for step in bar:
            idx = order[step * per_step : (step + 1) * per_step]
            x, y = x_epoch[idx], y_epoch[idx]
            if paired:
                x, y = torch.cat([x, x_next[idx]]), torch.cat([y, y_next[idx]])
            x, y = x.to(device).float(), y.to(device).float()
            logits = model.frame_logits(top(x))
            loss = nn.functional.binary_cross_entropy_with_logits(
                logits, smoothed_targets(y, cfg.frame_label_smoothing)
            )
            if paired:
                loss = loss + cfg.frame_view_consistency * view_disagreement(logits, y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            scheduler.step()
            losses.append(float(loss.detach()))
        top.eval()
        model.frame_head.eval()
        dfdc_auc = roc_auc(y_val.numpy(), _top_logits(model, top, x_val, device))
        video_auc = roc_auc(y_vval.numpy(), _top_logits(model, top, x_vval, device))
        auc = (dfdc_auc + video_auc) / 2  # select for both domains, not DFDC alone
        record = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)),
                  "val_auc_dfdc": dfdc_auc, "val_auc_video_crops": video_auc}  # fmt: skip
        progress.history.append(record)
        log.info("frame epoch %d: loss %.4f, val AUC DFDC %.4f, video crops %.4f",
                 epoch + 1, np.mean(losses), dfdc_auc, video_auc)  # fmt: skip
        if auc > progress.best.get("val_auc", -1.0):
            progress.best = {**record, "val_auc": auc}
            torch.save({k: v.cpu() for k, v in model.state_dict().items()}, best_path)
        progress.epochs_done = epoch + 1
        progress.elapsed_s = earlier_s + time.monotonic() - started
        save_progress(progress_path, progress, model, optimiser, generator, scheduler)
    summary = {
        "history": progress.history,
        "best_val_auc": progress.best["val_auc"],
        "cache_minutes": progress.setup_s / 60,
        "elapsed_s": progress.elapsed_s,
    }
    summary_path.write_text(json.dumps(summary, indent=2))
    return best_path
