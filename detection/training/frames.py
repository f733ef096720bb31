"""Stage 1: fine-tune the CNN and its frame head on labelled crops, with resume."""

import logging
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler
from tqdm import tqdm

from detection.models import create_model
from detection.models.cnn_lstm import CnnLstm, load_imagenet_mobilenet_v2
from detection.training.config import TrainConfig
from detection.training.data import FrameDataset, read_crop_csv, split_by_identity
from detection.training.metrics import roc_auc

log = logging.getLogger(__name__)


class EpochSampler(Sampler[int]):
    """A seeded permutation per epoch that can start mid-epoch, so resume is exact."""

    def __init__(self, size: int, seed: int) -> None:
        self.size, self.seed, self.epoch, self.skip = size, seed, 0, 0

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 1000 + self.epoch)
        return iter(torch.randperm(self.size, generator=generator)[self.skip :].tolist())

    def __len__(self) -> int:
        return self.size - self.skip


def build_model(cfg: TrainConfig) -> CnnLstm:
    model = create_model(cfg.architecture, **cfg.model_config)
    if cfg.architecture == "cnn_lstm_mobilenet_v2":
        load_imagenet_mobilenet_v2(model)
    return model


@torch.inference_mode()
def frame_logits(model: CnnLstm, dataset: FrameDataset, device: torch.device, batch: int = 128):
    """Frame-head logits and labels for every crop of a dataset, in order."""
    model.eval()
    logits, labels = [], []
    for x, y in DataLoader(dataset, batch_size=batch, num_workers=0):
        logits.append(model.frame_logits(model.features(x.to(device))).float().cpu())
        labels.append(y)
    return torch.cat(logits).numpy(), torch.cat(labels).numpy()


def train_frames(cfg: TrainConfig, run_dir: Path, device: torch.device) -> Path:
    """Train and return the path of the best frame-stage weights (by validation AUC)."""
    best_path, state_path = run_dir / "frames-best.pt", run_dir / "frames-state.pt"
    if best_path.exists() and not state_path.exists():
        log.info("frame stage already finished: %s", best_path)
        return best_path
    torch.manual_seed(cfg.seed)
    splits = split_by_identity(read_crop_csv(Path(cfg.dfdc_csv)), cfg.seed)
    train_set = FrameDataset(
        splits["train"], cfg.input_size, cfg.mean, cfg.std,
        train=True, sbi_fraction=cfg.sbi_fraction, seed=cfg.seed,
    )  # fmt: skip
    val_set = FrameDataset(splits["val"], cfg.input_size, cfg.mean, cfg.std, train=False)
    model = build_model(cfg).to(device)
    params = list(model.encoder.parameters()) + list(model.frame_head.parameters())
    optimiser = torch.optim.AdamW(params, lr=cfg.frame_lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = len(train_set) // cfg.frame_batch_size
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=cfg.frame_lr, total_steps=cfg.frame_epochs * steps_per_epoch,
        pct_start=0.1,
    )  # fmt: skip
    use_amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    sampler = EpochSampler(len(train_set), cfg.seed)
    progress = {"epoch": 0, "step": 0, "best_auc": -1.0, "elapsed_s": 0.0, "history": []}
    if state_path.exists():
        state = torch.load(state_path, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        scheduler.load_state_dict(state["scheduler"])
        progress = state["progress"]
        log.info("resuming frame stage at epoch %d step %d", progress["epoch"], progress["step"])

    def save_state() -> None:
        tmp = state_path.with_suffix(".tmp")
        torch.save(
            {
                "model": model.state_dict(),
                "optimiser": optimiser.state_dict(),
                "scheduler": scheduler.state_dict(),
                "progress": progress,
            },
            tmp,
        )
        tmp.replace(state_path)

    started = time.monotonic() - progress["elapsed_s"]
    out_of_time = False
    while progress["epoch"] < cfg.frame_epochs and not out_of_time:
        train_set.epoch = sampler.epoch = progress["epoch"]
        sampler.skip = progress["step"] * cfg.frame_batch_size
        loader = DataLoader(
            train_set, batch_size=cfg.frame_batch_size, sampler=sampler,
            num_workers=cfg.workers, drop_last=True, persistent_workers=False,
        )  # fmt: skip
        model.train()
        bar = tqdm(loader, desc=f"frames epoch {progress['epoch'] + 1}/{cfg.frame_epochs}",
                   initial=progress["step"], total=steps_per_epoch, mininterval=10)  # fmt: skip
        running = []
        for x, y in bar:
            x, y = x.to(device, non_blocking=True), y.float().to(device)
            with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    model.frame_logits(model.features(x)), y
                )
            optimiser.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimiser)
            scaler.update()
            scheduler.step()
            running.append(float(loss))
            progress["step"] += 1
            progress["elapsed_s"] = time.monotonic() - started
            if progress["step"] % 20 == 0:
                bar.set_postfix(loss=f"{np.mean(running[-20:]):.3f}")
            if progress["step"] % 100 == 0:
                save_state()
            if progress["elapsed_s"] > cfg.frame_minutes * 60:
                out_of_time = True
                log.warning("frame stage hit its %.0f-minute budget", cfg.frame_minutes)
                break
            if progress["step"] >= steps_per_epoch:
                break
        logits, labels = frame_logits(model, val_set, device)
        auc = roc_auc(labels, logits)
        progress["history"].append(
            {"epoch": progress["epoch"] + 1, "train_loss": float(np.mean(running or [0])),
             "val_auc": auc, "minutes": progress["elapsed_s"] / 60}
        )  # fmt: skip
        log.info("frame epoch %d: val AUC %.4f", progress["epoch"] + 1, auc)
        print(f"frame epoch {progress['epoch'] + 1}: val AUC {auc:.4f}", flush=True)  # noqa: T201
        if auc > progress["best_auc"]:
            progress["best_auc"] = auc
            torch.save(model.state_dict(), best_path)
        progress["epoch"] += 1
        progress["step"] = 0
        save_state()
    (run_dir / "frames-history.json").write_text(__import__("json").dumps(progress, indent=2))
    state_path.unlink(missing_ok=True)
    return best_path
