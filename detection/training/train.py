"""`python -m detection.training.train`: the whole recipe, stage by stage, resumable.

crops (the engine's face crops of every labelled video, cached) → frames (fine-tune the CNN
on DFDC and training-video crops, with lip-sync-like fakes made from our reals; the epoch is
chosen on validation video) → lower_face (go on at a lower rate with more of those fakes, kept
only if it wins on validation video) → temporal (the
LSTM, kept only if it beats mean pooling on validation video) → calibrate (probabilities and
the verdict band from validation video; writes the checkpoint) → evaluate (the held-back
groups through the whole engine, into the card and MODEL_CARD.md). Each stage leaves its
result in --run-dir, so a stopped run picks up where it was.
"""

import argparse
import dataclasses
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from detection.models import ModelCard, create_model, load_checkpoint, save_checkpoint
from detection.models.card import weights_digest
from detection.models.cnn_lstm import load_imagenet_mobilenet_v2
from detection.pipeline import DEFAULT_MODEL_PATH
from detection.scoring import calibrate
from detection.training.calibrate import (
    FACE_SIZES_PX,
    as_if_face_px,
    face_size_floor,
    fit_band,
)
from detection.training.card_text import write_model_card
from detection.training.config import TrainConfig
from detection.training.crops import Framing, VideoCrops, cached_crops, counted_tracks
from detection.training.dfdc import load_images, read_crop_csv, split_by_identity
from detection.training.evaluate import evaluate_dataset, score_images
from detection.training.frames import CropPool, encode, train_frames
from detection.training.layouts import Sample, read_video_csv, real_video_folder
from detection.training.metrics import fit_platt, roc_auc
from detection.training.reencode import REENCODINGS
from detection.training.temporal import LabelledTracks, track_codes, train_lstm, video_logits

STAGES = ("crops", "frames", "lower_face", "temporal", "calibrate", "evaluate")
TRAINING_STAGES = STAGES[:-1]  # the card's training time
REPORTED = (
    "auc",
    "auc_interval",
    "verdicts",
    "ece",
    "ece_floor",
    "per_resolution",
    "baseline_mean_pool_auc",
)
DFDC_VAL_CROPS = 1500  # DFDC validation crops read after each frame epoch (a guard, not a choice)

log = logging.getLogger(__name__)


def framing(cfg: TrainConfig) -> Framing:
    return Framing(frames=cfg.frames, face_margin=cfg.face_margin, input_size=cfg.input_size)


def labelled_videos(cfg: TrainConfig) -> list[Sample]:
    """The wild set (its val split cut into val and the held-back test groups), then the
    folder of real videos as more training video."""
    return read_video_csv(Path(cfg.wild_csv), frozenset(cfg.test_groups)) + real_video_folder(
        Path(cfg.real_videos)
    )


def video_crops(cfg: TrainConfig, split: str) -> list[tuple[Sample, VideoCrops]]:
    """Every readable video of a split with its cached engine crops."""
    cache = Path(cfg.cache_dir) / "crops"
    out = []
    for sample in labelled_videos(cfg):
        if sample.split == split:
            crops = cached_crops(sample.path, framing(cfg), cache)
            if crops is not None:
                out.append((sample, crops))
    return out


def build_model(cfg: TrainConfig, lstm: bool = True) -> torch.nn.Module:
    return create_model(cfg.architecture, **{**cfg.model_config, "lstm": lstm})


def plain_tracks(model, cfg: TrainConfig, videos) -> list[LabelledTracks]:
    return [
        LabelledTracks(track_codes(model, crops, cfg.mean, cfg.std), sample.label)
        for sample, crops in videos
    ]


def auc_of(videos: list[LabelledTracks], logits: np.ndarray) -> float:
    """Real against fake video AUC; videos without a counted track are left out."""
    keep = ~np.isnan(logits)
    return roc_auc(np.array([v.label for v in videos])[keep], logits[keep])


def stage_crops(cfg: TrainConfig, run_dir: Path) -> None:
    counts = {split: len(video_crops(cfg, split)) for split in ("train", "val", "test")}
    (run_dir / "crops.json").write_text(json.dumps(counts, indent=2))


def training_pools(cfg: TrainConfig, lower_face_fakes: float) -> list[CropPool]:
    """DFDC's training identities, and the engine crops of the training videos' counted tracks
    (this share of whose fake draws are lower-face fakes)."""
    dfdc = split_by_identity(read_crop_csv(Path(cfg.dfdc_csv)), cfg.split_seed)["train"]
    identities = {name: i for i, name in enumerate(sorted({c.identity for c in dfdc}))}
    dfdc_pool = CropPool(
        load_images(dfdc, cfg.input_size),
        np.array([c.label for c in dfdc]),
        np.array([identities[c.identity] for c in dfdc]),
    )
    images, labels, owners = [], [], []
    for owner, (sample, crops) in enumerate(video_crops(cfg, "train")):
        for track in counted_tracks(crops):
            images.append(crops.crops[track])
            labels += [sample.label] * len(track)
            owners += [owner] * len(track)
    video_pool = CropPool(
        np.concatenate(images), np.array(labels), np.array(owners), lower_face_fakes
    )
    return [dfdc_pool, video_pool]


def epoch_measure(cfg: TrainConfig, run_dir: Path, prefix: str):
    """After each epoch: validation video AUC (the choice) and DFDC validation frame AUC (a
    guard); the epoch's weights are kept as `{prefix}-epoch{n}.pt`."""
    dfdc_val = split_by_identity(read_crop_csv(Path(cfg.dfdc_csv)), cfg.split_seed)["val"]
    dfdc_val = dfdc_val[:DFDC_VAL_CROPS]
    dfdc_val_images = load_images(dfdc_val, cfg.input_size)
    val_videos = video_crops(cfg, "val")

    def measure(epoch: int, model) -> dict:
        val = plain_tracks(model, cfg, val_videos)
        with torch.inference_mode():
            frame = model.frame_logits(encode(model, dfdc_val_images, cfg.mean, cfg.std))
        torch.save(model.state_dict(), run_dir / f"{prefix}-epoch{epoch + 1}.pt")
        return {
            "val_video_auc": round(auc_of(val, video_logits(model, val)), 4),
            "dfdc_val_auc": round(roc_auc([c.label for c in dfdc_val], frame.numpy()), 4),
        }

    return measure


def epoch_rank(record: dict) -> tuple[float, float]:
    """Validation video AUC first; on a tie the DFDC guard. The AUC moves in steps of one
    real/fake pair of a few dozen videos, so ties happen and say nothing; the guard reads
    1,500 crops."""
    return record["val_video_auc"], record["dfdc_val_auc"]


def keep_best(run_dir: Path, prefix: str, history: list[dict], start: dict | None = None) -> None:
    """`{prefix}-best.pt` and `{prefix}.json`: the best epoch by `epoch_rank`, or the weights
    the stage started from (`start`, as `{prefix}-epoch0.pt`) if none beats them."""
    candidates = ([start] if start else []) + history
    best = max(candidates, key=epoch_rank)
    (run_dir / f"{prefix}-best.pt").write_bytes(
        (run_dir / f"{prefix}-epoch{best['epoch']}.pt").read_bytes()
    )
    record = {"history": history, "best": best} | ({"start": start} if start else {})
    (run_dir / f"{prefix}.json").write_text(json.dumps(record, indent=2))


def run_frame_epochs(
    cfg: TrainConfig, model, pools, measure, progress: Path, *, epochs: int, lr: float, seed: int
) -> list[dict]:
    """The frame loop with the recipe's batch and regularisation, resumable from `progress`."""
    return train_frames(
        model,
        pools,
        epochs=epochs,
        crops_per_epoch=cfg.crops_per_epoch,
        batch_size=cfg.frame_batch_size,
        lr=lr,
        weight_decay=cfg.weight_decay,
        mean=cfg.mean,
        std=cfg.std,
        seed=seed,
        progress_path=progress,
        on_epoch=measure,
    )


def frame_weights(path: Path) -> dict[str, torch.Tensor]:
    """The CNN and frame head of saved weights, whatever temporal part was saved with them."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v for k, v in saved.items() if k.startswith(("encoder.", "frame_head."))}


def stage_frames(cfg: TrainConfig, run_dir: Path) -> None:
    torch.manual_seed(cfg.seed)
    model = build_model(cfg, lstm=False)
    load_imagenet_mobilenet_v2(model)
    history = run_frame_epochs(
        cfg, model, training_pools(cfg, cfg.frame_lower_face_fakes),
        epoch_measure(cfg, run_dir, "frames"),
        run_dir / "frames-progress.pt", epochs=cfg.frame_epochs, lr=cfg.frame_lr, seed=cfg.seed,
    )  # fmt: skip
    keep_best(run_dir, "frames", history)


def stage_lower_face(cfg: TrainConfig, run_dir: Path) -> None:
    """Go on from the chosen frame epoch at a lower rate, with a larger share of lower-face
    fakes among the training videos' fakes: the lip-sync cue the training videos show too
    rarely. Kept only where it beats the frame stage's choice on validation video."""
    model = build_model(cfg, lstm=False)
    model.load_state_dict(frame_weights(run_dir / "frames-best.pt"))
    # The start was measured when the frame stage chose it: its record, not a second reading.
    chosen = json.loads((run_dir / "frames.json").read_text())["best"]
    start = {
        "epoch": 0,
        "val_video_auc": chosen["val_video_auc"],
        "dfdc_val_auc": chosen["dfdc_val_auc"],
    }
    torch.save(model.state_dict(), run_dir / "lower-face-epoch0.pt")
    history = run_frame_epochs(
        cfg, model, training_pools(cfg, cfg.lower_face_fakes),
        epoch_measure(cfg, run_dir, "lower-face"), run_dir / "lower-face-progress.pt",
        epochs=cfg.lower_face_epochs,
        lr=cfg.lower_face_lr, seed=cfg.seed + 1,
    )  # fmt: skip
    keep_best(run_dir, "lower-face", history, start)


def keeps_lstm(lstm_auc: float, mean_auc: float, margin: float) -> bool:
    """The LSTM replaces mean pooling only on a validation win larger than `margin`: a tie or
    a win of a pair or two is noise, and mean pooling is the simpler reading of a track."""
    return lstm_auc > mean_auc + margin


def stage_temporal(cfg: TrainConfig, run_dir: Path) -> None:
    frames_state = frame_weights(run_dir / "lower-face-best.pt")
    torch.manual_seed(cfg.seed)
    model = build_model(cfg, lstm=True)
    model.load_state_dict(frames_state, strict=False)  # the LSTM starts fresh
    model.eval()
    training = [
        LabelledTracks(
            track_codes(model, crops, cfg.mean, cfg.std, view_seed=f"{cfg.seed}-{owner}-{view}"),
            sample.label,
        )
        for owner, (sample, crops) in enumerate(video_crops(cfg, "train"))
        for view in range(cfg.track_views)
    ]
    val = plain_tracks(model, cfg, video_crops(cfg, "val"))
    mean_model = build_model(cfg, lstm=False)
    mean_model.load_state_dict(frames_state)
    mean_auc = auc_of(val, video_logits(mean_model, val))
    losses = train_lstm(
        model,
        training,
        epochs=cfg.temporal_epochs,
        lr=cfg.temporal_lr,
        min_window=cfg.min_window,
        seed=cfg.seed,
    )
    lstm_auc = auc_of(val, video_logits(model, val))
    use_lstm = keeps_lstm(lstm_auc, mean_auc, cfg.lstm_margin)
    chosen = model if use_lstm else mean_model
    torch.save(chosen.state_dict(), run_dir / "temporal-best.pt")
    result = {
        "val_video_auc": {"lstm": lstm_auc, "mean_pool": mean_auc},
        "lstm": use_lstm,
        "losses": [round(x, 4) for x in losses],
    }
    (run_dir / "temporal.json").write_text(json.dumps(result, indent=2))


def stage_calibrate(cfg: TrainConfig, run_dir: Path, output: Path) -> None:
    temporal = json.loads((run_dir / "temporal.json").read_text())
    config = {**cfg.model_config, "lstm": temporal["lstm"]}
    model = build_model(cfg, lstm=temporal["lstm"])
    model.load_state_dict(
        torch.load(run_dir / "temporal-best.pt", map_location="cpu", weights_only=True)
    )
    # Calibrate the weights as the engine will load them (stored in fp16): a threshold fitted
    # just above a real video's score must stay above it in use.
    as_saved = run_dir / "calibrating.pt"
    save_checkpoint(model, ModelCard(architecture=cfg.architecture, config=config), as_saved)
    model, _ = load_checkpoint(as_saved)
    videos = video_crops(cfg, "val")
    tracks = plain_tracks(model, cfg, videos)
    logits = video_logits(model, tracks)
    keep = ~np.isnan(logits)
    labels = np.array([v.label for v in tracks])[keep]
    temperature, bias = fit_platt(labels, logits[keep], balanced=True)
    probabilities = calibrate(logits[keep], temperature, bias)
    kept = [str(sample.path) for (sample, _), k in zip(videos, keep, strict=True) if k]
    (run_dir / "calibration.json").write_text(
        json.dumps(dict(zip(kept, probabilities.tolist(), strict=True)), indent=2)
    )
    band = fit_band(
        labels,
        probabilities,
        max_false_alarm=cfg.max_false_alarm,
        max_miss=cfg.max_miss,
        max_uncertain=cfg.max_uncertain,
    )
    aucs = {}
    for face_px in FACE_SIZES_PX:
        smaller = [
            (sample, dataclasses.replace(crops, crops=as_if_face_px(
                crops.crops, crops.face_side, face_px, cfg.face_margin)))
            for sample, crops in videos
        ]  # fmt: skip
        aucs[face_px] = round(
            auc_of(tracks, video_logits(model, plain_tracks(model, cfg, smaller))), 4
        )
    full_auc = auc_of(tracks, logits)
    min_face_px = face_size_floor(aucs, full_auc)
    with torch.inference_mode():
        frame_logits = torch.cat([model.frame_logits(c) for v in tracks for c in v.tracks])
    frame_labels = [v.label for v in tracks for c in v.tracks for _ in range(len(c))]
    frame_t, frame_b = fit_platt(frame_labels, frame_logits.numpy(), balanced=True)
    digest = weights_digest(model)
    card = ModelCard(
        architecture=cfg.architecture,
        config=config,
        input_size=cfg.input_size,
        frames=cfg.frames,
        face_margin=cfg.face_margin,
        mean=cfg.mean,
        std=cfg.std,
        threshold=band.high,
        uncertain_band=(band.low, band.high),
        min_face_px=min_face_px,
        sequence_temperature=temperature,
        sequence_bias=bias,
        frame_temperature=frame_t,
        frame_bias=frame_b,
        trained=True,
        version=f"{datetime.now(UTC):%Y.%m.%d}-{digest}",
        training_data=(
            "DFDC face crops (train identities); wild set train split; real-videos folder"
        ),
        metrics={
            "split": {"seed": cfg.split_seed},
            "test_groups": list(cfg.test_groups),
            "recipe": cfg.overrides(),
            "frames": json.loads((run_dir / "frames.json").read_text())["best"],
            "lower_face": json.loads((run_dir / "lower-face.json").read_text())["best"],
            "lower_face_fakes": {
                "frames": cfg.frame_lower_face_fakes,
                "lower_face": cfg.lower_face_fakes,
            },
            "temporal": temporal["val_video_auc"] | {"lstm_shipped": temporal["lstm"]},
            "min_face_px": min_face_px,
            "val_auc_by_face_px": {"full": round(full_auc, 4), **aucs},
            "calibration": {
                "videos": int(keep.sum()),
                "max_false_alarm": cfg.max_false_alarm,
                "band": [band.low, band.high],
            },
        },
    )
    save_checkpoint(model, card, output)


def stage_evaluate(
    cfg: TrainConfig, run_dir: Path, output: Path, timings: dict, notes: Path | None
) -> None:
    model, card = load_checkpoint(output, "cpu")
    metrics = dict(card.metrics)
    for split in ("val", "test"):
        report = evaluate_dataset(
            Path(cfg.wild_csv), output, run_dir / f"wild-{split}", split=split
        )
        metrics[f"wild_{split}"] = {key: report[key] for key in REPORTED} | {
            "worst": _worst(report["per_sample"])
        }
    # The held-back groups again after what the internet does to video: false alarms must
    # not appear when a real video is re-encoded, rescaled or sharpened.
    metrics["wild_test_reencoded"] = {}
    for name in REENCODINGS:
        report = evaluate_dataset(
            Path(cfg.wild_csv), output, run_dir / f"wild-test-{name}", split="test", reencoding=name
        )
        metrics["wild_test_reencoded"][name] = {
            "auc": report["auc"]["all"],
            "verdicts": report["verdicts"],
        }
    dfdc_test = split_by_identity(read_crop_csv(Path(cfg.dfdc_csv)), cfg.split_seed)["test"]
    p = score_images(model, card, [c.path for c in dfdc_test], torch.device("cpu"))
    metrics["dfdc_test_frame_auc"] = round(roc_auc([c.label for c in dfdc_test], p), 4)
    metrics["training_minutes"] = {
        k: round(v / 60, 1) for k, v in timings.items() if k in TRAINING_STAGES
    }
    card = dataclasses.replace(
        card, metrics=metrics, notes=notes.read_text().strip() if notes else card.notes
    )
    save_checkpoint(model, card, output)
    write_model_card(card, output.with_name("MODEL_CARD.md"))


def _worst(rows: list[dict], count: int = 5) -> dict[str, list]:
    """The reals scored most fake and the fakes scored most real, by file name."""
    reals = sorted((r for r in rows if r["label"] == 0), key=lambda r: -r["fake_probability"])
    fakes = sorted((r for r in rows if r["label"] == 1), key=lambda r: r["fake_probability"])
    return {
        "reals": [[Path(r["path"]).name, round(r["fake_probability"], 3)] for r in reals[:count]],
        "fakes": [[Path(r["path"]).name, round(r["fake_probability"], 3)] for r in fakes[:count]],
    }


def run(cfg: TrainConfig, run_dir: Path, output: Path, stages: tuple[str, ...], notes=None) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
    timings_path = run_dir / "timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)  # the fitted numbers move with it: the config decides
    try:
        for stage in stages:
            started = time.monotonic()
            if stage == "crops":
                stage_crops(cfg, run_dir)
            elif stage == "frames":
                stage_frames(cfg, run_dir)
            elif stage == "lower_face":
                stage_lower_face(cfg, run_dir)
            elif stage == "temporal":
                stage_temporal(cfg, run_dir)
            elif stage == "calibrate":
                stage_calibrate(cfg, run_dir, output)
            elif stage == "evaluate":
                stage_evaluate(cfg, run_dir, output, timings, notes)
            timings[stage] = timings.get(stage, 0.0) + time.monotonic() - started
            timings_path.write_text(json.dumps(timings, indent=2))
            log.info("stage %s done in %.1f min", stage, (time.monotonic() - started) / 60)
    finally:
        torch.set_num_threads(previous_threads)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, help="JSON file overriding the default recipe")
    parser.add_argument("--run-dir", type=Path, default=Path("runs/default"))
    parser.add_argument("--output", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--stage", choices=(*STAGES, "all"), default="all")
    parser.add_argument(
        "--notes", type=Path, help="text file: the card's Known limits section (evaluate stage)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    cfg = TrainConfig.load(args.config)
    stages = STAGES if args.stage == "all" else (args.stage,)
    run(cfg, args.run_dir, args.output, stages, args.notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
