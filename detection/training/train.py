"""`python -m detection.training.train`: the whole recipe, stage by stage, resumable.

frames → temporal → calibrate (writes the checkpoint) → validate (the test's video protocol
on the validation videos, to compare runs) → evaluate (test metrics into the card and
MODEL_CARD.md). Each stage leaves its result in --run-dir, so a stopped run picks
up where it was.
"""

import argparse
import dataclasses
import json
import logging
import shutil
import time
from pathlib import Path

import torch

from detection.models import load_checkpoint, save_checkpoint
from detection.training.card_text import write_model_card
from detection.training.config import REPO_ROOT, TrainConfig
from detection.training.finalize import calibrate, evaluate_test, validate_videos
from detection.training.frames import train_frames
from detection.training.temporal import train_temporal

STAGES = ("frames", "temporal", "calibrate", "validate", "evaluate")
TRAINING_STAGES = ("frames", "temporal", "calibrate")  # the card's training time
DEFAULT_OUTPUT = REPO_ROOT / "detection" / "weights" / "unmask-default.pt"


def missing_tool(cfg: TrainConfig, stages: tuple[str, ...]) -> str | None:
    """Why these stages cannot finish on this machine, said before the hour-long ones start:
    validation and test write self-blended fake videos, and re-encoded copies need ffmpeg too."""
    needs_ffmpeg = {"validate", "evaluate"} | (
        {"frames", "temporal"} if cfg.video_reencode_crf else set()
    )
    if needs_ffmpeg.intersection(stages) and shutil.which("ffmpeg") is None:
        return "ffmpeg is not installed (Debian/Ubuntu: `make system-deps` or `apt install ffmpeg`)"
    return None


def run(
    cfg: TrainConfig,
    run_dir: Path,
    output: Path,
    stages: tuple[str, ...],
    device,
    notes: Path | None = None,
) -> None:
    log = logging.getLogger(__name__)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
    timings_path = run_dir / "timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)  # the fitted numbers move with it: the config decides
    try:
        for stage in stages:
            started = time.monotonic()
            if stage == "frames":
                for member, folder in cfg.member_runs(run_dir):
                    folder.mkdir(parents=True, exist_ok=True)
                    train_frames(member, folder, device)
            elif stage == "temporal":
                for member, folder in cfg.member_runs(run_dir):
                    train_temporal(member, folder, folder / "frames-best.pt")
            elif stage == "calibrate":
                calibrate(cfg, run_dir, output)
            elif stage == "validate":
                model, card = load_checkpoint(output, "cpu")
                metrics = {**card.metrics, **validate_videos(cfg, output, run_dir)}
                save_checkpoint(model, dataclasses.replace(card, metrics=metrics), output)
            elif stage == "evaluate":
                model, card = load_checkpoint(output, "cpu")
                metrics = {**card.metrics, **evaluate_test(cfg, output, run_dir)}
                metrics["training_minutes"] = {
                    k: round(v / 60, 1) for k, v in timings.items() if k in TRAINING_STAGES
                }
                card = dataclasses.replace(
                    card, metrics=metrics, notes=notes.read_text().strip() if notes else card.notes
                )
                save_checkpoint(model, card, output)
                write_model_card(card, cfg, output.with_name("MODEL_CARD.md"))
            timings[stage] = timings.get(stage, 0.0) + time.monotonic() - started
            timings_path.write_text(json.dumps(timings, indent=2))
            log.info("stage %s done in %.1f min", stage, (time.monotonic() - started) / 60)
    finally:
        torch.set_num_threads(previous_threads)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, help="JSON file overriding the default recipe")
    parser.add_argument("--run-dir", type=Path, default=Path("runs/default"))
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--stage", choices=(*STAGES, "all"), default="all")
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--notes", type=Path, help="text file: the card's Provenance section (evaluate stage)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    cfg = TrainConfig.load(args.config)
    stages = STAGES if args.stage == "all" else (args.stage,)
    problem = missing_tool(cfg, stages)
    if problem:
        raise SystemExit(f"train_detector: {problem}; nothing was run.")
    device = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    )
    torch.manual_seed(cfg.seed)
    run(cfg, args.run_dir, args.output, stages, device, args.notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
