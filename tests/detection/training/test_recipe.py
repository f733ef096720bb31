"""The whole training recipe, end to end on a few real videos and crops, through the CLI."""

import json
import subprocess
import sys

import pytest
import torch

from detection.models import load_checkpoint
from detection.models.card import weights_digest
from detection.training.calibrate import FACE_SIZES_PX
from detection.training.config import TrainConfig
from detection.training.reencode import REENCODINGS
from detection.training.train import epoch_rank, keep_best, keeps_lstm
from tests.support import REPO_ROOT, real_video, small_crop_csv, small_wild_csv

WILD_ROWS = {
    "roop-target.mp4": "train",
    "roop-snapshot.mp4": "train",
    "dflive-Rob_Doe_0-real.mp4": "train",
    "dflive-Rob_Doe_0-fake.mp4": "train",
    "dflive-Liu_Lice_0-real.mp4": "val",
    "dflive-Liu_Lice_0-fake.mp4": "val",
    "persona-driver01.mp4": "val",
    "persona-norad.mp4": "val",
    "dflive-Meggie_Merkel_0-real.mp4": "val",
    "dflive-Meggie_Merkel_0-fake.mp4": "val",
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny run of every stage; the Meggie_Merkel group is held back as the test."""
    root = tmp_path_factory.mktemp("recipe")
    reals = root / "real-videos"
    reals.mkdir()
    (reals / "vr-3.mp4").symlink_to(real_video("vr-3.mp4"))
    config = {
        "dfdc_csv": str(small_crop_csv(root)),
        "wild_csv": str(small_wild_csv(root, WILD_ROWS)),
        "real_videos": str(reals),
        "test_groups": ["dfl-Meggie_Merkel"],
        "cache_dir": str(root / "cache"),
        "model_config": {"hidden_size": 16, "num_layers": 1, "dropout": 0.2},
        "frames": 8,
        "input_size": 96,
        "frame_epochs": 2,
        "crops_per_epoch": 32,
        "frame_batch_size": 16,
        "lower_face_epochs": 1,
        "track_views": 1,
        "temporal_epochs": 2,
    }
    (root / "config.json").write_text(json.dumps(config))
    run_dir, output = root / "run", root / "model.pt"

    def train(*stage: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "train_detector", "--config", str(root / "config.json"),
             "--run-dir", str(run_dir), "--output", str(output), *stage],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=900,
        )  # fmt: skip

    done = train()
    assert done.returncode == 0, done.stderr[-3000:]
    return {"run_dir": run_dir, "output": output, "train": train}


def test_the_checkpoint_carries_a_calibrated_verdict_band(trained):
    model, card = load_checkpoint(trained["output"])
    assert card.trained and card.input_size == 96 and card.frames == 8
    low, high = card.uncertain_band
    assert 0.0 <= low <= high <= 1.0 and high >= 0.5
    assert card.threshold == high
    assert card.min_face_px in (0, *FACE_SIZES_PX)
    assert card.version.endswith(weights_digest(model))
    temporal = json.loads((trained["run_dir"] / "temporal.json").read_text())
    assert card.config["lstm"] == temporal["lstm"]
    margin = json.loads((trained["run_dir"] / "config.json").read_text())["lstm_margin"]
    auc = temporal["val_video_auc"]
    assert temporal["lstm"] == keeps_lstm(auc["lstm"], auc["mean_pool"], margin)
    assert (model.lstm is not None) == card.config["lstm"]


def test_the_lstm_must_win_by_the_margin_not_tie_its_way_in():
    margin = TrainConfig().lstm_margin
    assert margin > 0
    assert not keeps_lstm(0.937, 0.936, margin)  # one pair of 1,600: noise
    assert not keeps_lstm(0.894, 0.894, margin)
    assert keeps_lstm(0.936 + 2 * margin, 0.936, margin)
    assert not keeps_lstm(0.893, 0.894, margin)


def test_the_held_back_groups_are_measured_not_used(trained):
    _, card = load_checkpoint(trained["output"])
    test, val = card.metrics["wild_test"], card.metrics["wild_val"]
    assert test["verdicts"]["reals"] == 1 and test["verdicts"]["fakes"] == 1
    assert val["verdicts"]["reals"] == 2 and val["verdicts"]["fakes"] == 2
    assert card.metrics["calibration"]["videos"] == 4  # val only, never the test group
    assert set(val["auc"]) == {"all", "faceswap", "talkinghead"}
    assert val["auc_interval"].keys() == val["auc"].keys()
    assert card.metrics["test_groups"] == ["dfl-Meggie_Merkel"]
    assert 0.0 <= card.metrics["dfdc_test_frame_auc"] <= 1.0
    reencoded = card.metrics["wild_test_reencoded"]  # the same group after each re-encode
    assert set(reencoded) == set(REENCODINGS)
    for figures in reencoded.values():
        assert figures["verdicts"]["reals"] == 1 and figures["verdicts"]["fakes"] == 1
    assert set(card.metrics["training_minutes"]) == {
        "crops", "frames", "lower_face", "temporal", "calibrate"
    }  # fmt: skip


def test_the_model_card_is_short_and_reads_its_numbers_from_the_checkpoint(trained):
    _, card = load_checkpoint(trained["output"])
    text = (trained["output"].parent / "MODEL_CARD.md").read_text()
    assert len(text.encode()) <= 8192
    assert card.version in text
    assert f"{card.uncertain_band[1]:.3f}" in text and f"{card.uncertain_band[0]:.3f}" in text
    assert "research" in text and "dfl-Meggie_Merkel" in text
    low, high = card.metrics["wild_test"]["auc_interval"]["all"]
    assert f"({low:.2f}–{high:.2f})" in text
    down240 = card.metrics["wild_test_reencoded"]["down240"]["verdicts"]
    row = next(line for line in text.splitlines() if line.startswith("| down240 | "))
    assert row.endswith(f"| {100 * down240['uncertain']:.0f} % |")
    recipe = TrainConfig()
    shares = {"frames": recipe.frame_lower_face_fakes, "lower_face": recipe.lower_face_fakes}
    assert card.metrics["lower_face_fakes"] == shares  # what it trained with, not a guess
    assert f"{shares['frames']:.0%} of the wild fake draws being real crops" in text


def test_frames_are_chosen_by_validation_video_and_a_rerun_does_no_work_twice(trained):
    frames = json.loads((trained["run_dir"] / "frames.json").read_text())
    assert [r["epoch"] for r in frames["history"]] == [1, 2]
    best = max(frames["history"], key=epoch_rank)
    assert frames["best"] == best
    chosen = torch.load(trained["run_dir"] / "frames-best.pt", weights_only=True)
    epoch = torch.load(trained["run_dir"] / f"frames-epoch{best['epoch']}.pt", weights_only=True)
    assert all(torch.equal(chosen[k], epoch[k]) for k in chosen)
    again = trained["train"]("--stage", "frames")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "frames epoch" not in again.stderr  # both epochs were done: nothing is retrained
    assert json.loads((trained["run_dir"] / "frames.json").read_text()) == frames


def test_calibration_saw_the_scores_the_engine_gives(trained):
    """The band is fitted on the cached crops with the checkpoint's own (fp16) weights: every
    validation video's probability there is the one detect() gives it, so a threshold fitted
    just above a real video stays above it in use."""
    fitted = json.loads((trained["run_dir"] / "calibration.json").read_text())
    report = json.loads((trained["run_dir"] / "wild-val" / "report.json").read_text())
    engine = {row["path"]: row["fake_probability"] for row in report["per_sample"]}
    assert set(fitted) == set(engine) and len(fitted) == 4
    for path, probability in fitted.items():
        assert engine[path] == pytest.approx(probability, abs=1e-4), path


def test_lower_face_epochs_are_kept_only_where_they_beat_the_frame_stage(trained):
    lower = json.loads((trained["run_dir"] / "lower-face.json").read_text())
    frames = json.loads((trained["run_dir"] / "frames.json").read_text())
    assert lower["start"]["epoch"] == 0
    assert lower["start"]["dfdc_val_auc"] == frames["best"]["dfdc_val_auc"]
    start = torch.load(trained["run_dir"] / "lower-face-epoch0.pt", weights_only=True)
    frames_best = torch.load(trained["run_dir"] / "frames-best.pt", weights_only=True)
    assert all(torch.equal(start[k], frames_best[k]) for k in start)  # the stage's true start
    assert lower["best"] == max([lower["start"], *lower["history"]], key=epoch_rank)
    chosen = torch.load(trained["run_dir"] / "lower-face-best.pt", weights_only=True)
    epoch = torch.load(
        trained["run_dir"] / f"lower-face-epoch{lower['best']['epoch']}.pt", weights_only=True
    )
    assert all(torch.equal(chosen[k], epoch[k]) for k in chosen)


def test_a_tie_on_validation_video_goes_to_the_better_dfdc_guard(tmp_path):
    history = [
        {"epoch": 1, "val_video_auc": 0.8662, "dfdc_val_auc": 0.7557},
        {"epoch": 2, "val_video_auc": 0.8581, "dfdc_val_auc": 0.8881},
        {"epoch": 3, "val_video_auc": 0.8662, "dfdc_val_auc": 0.9004},
    ]
    for r in history:
        (tmp_path / f"frames-epoch{r['epoch']}.pt").write_bytes(f"weights {r['epoch']}".encode())
    keep_best(tmp_path, "frames", history)
    assert json.loads((tmp_path / "frames.json").read_text())["best"]["epoch"] == 3
    assert (tmp_path / "frames-best.pt").read_bytes() == b"weights 3"
    start = {"epoch": 0, "val_video_auc": 0.8662, "dfdc_val_auc": 0.95}
    (tmp_path / "frames-epoch0.pt").write_bytes(b"weights 0")
    keep_best(tmp_path, "frames", history, start)  # the start wins its tie as well
    assert (tmp_path / "frames-best.pt").read_bytes() == b"weights 0"
