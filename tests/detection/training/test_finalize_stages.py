import json
import shutil

import pytest
import torch

from detection.models import load_checkpoint
from detection.training.config import TrainConfig
from detection.training.data import read_crop_csv, split_by_identity
from detection.training.train import DEFAULT_OUTPUT, STAGES, main, missing_tool, run
from tests.support import real_video, require, small_crop_csv


def test_validate_and_evaluate_stages_measure_videos_and_write_the_card(tmp_path):
    """The last two stages on a copy of the shipped model: one short video, a few crops."""
    require(DEFAULT_OUTPUT.is_file(), f"{DEFAULT_OUTPUT} has not been trained yet")
    csv_path = small_crop_csv(tmp_path)
    video = real_video("vr-1.mp4")
    cfg = TrainConfig(  # a run of another training seed: measured on the same held-out data
        seed=7, dfdc_csv=str(csv_path), real_videos=str(video.parent),
        val_videos=(video.name,), test_videos=(video.name,), test_fakes_per_video=1,
    )  # fmt: skip
    output = tmp_path / "model.pt"
    shutil.copy(DEFAULT_OUTPUT, output)
    (tmp_path / "timings.json").write_text(json.dumps({"frames": 600.0, "calibrate": 30.0}))
    notes = tmp_path / "provenance.md"
    notes.write_text("Run 99 of the recipe, measured once.\n")

    run(cfg, tmp_path, output, ("validate", "evaluate"), torch.device("cpu"), notes)

    _, card = load_checkpoint(output)
    validation = card.metrics["val_videos_vs_sbi"]
    assert validation["videos"] == [video.name]
    for report in (validation["cnn_lstm"], validation["mean_pool_baseline"]):
        confusion = report["confusion"]  # real segments against a blended fake of the video
        assert confusion["tp"] + confusion["fn"] >= 1 and confusion["tn"] + confusion["fp"] >= 1
        assert report["count"] == sum(confusion.values())
    segments = validation["segments"]  # each segment's scores, behind the figures above
    assert len(segments) == validation["cnn_lstm"]["count"]
    called_fake = [s for s in segments if s["cnn_lstm"] >= card.threshold]
    assert sum(s["label"] for s in called_fake) == validation["cnn_lstm"]["confusion"]["tp"]
    assert len(called_fake) == sum(validation["cnn_lstm"]["confusion"][k] for k in ("tp", "fp"))
    assert {(s["video"], s["label"]) for s in segments} == {
        (video.name, 0),
        (f"{video.stem}-sbi0.mp4", 1),
    }
    starts = [s["start"] for s in segments if s["label"] == 0]  # the real video, in order
    assert starts == [k * cfg.test_segment_s for k in range(len(starts))]
    # whole windows only: a 6.1-s video gives two 3-s segments, no 0.1-s remainder
    assert all(s["end"] - s["start"] == cfg.test_segment_s for s in segments)
    assert card.metrics["test_videos_vs_sbi"]["count"] == validation["cnn_lstm"]["count"]
    assert len(card.metrics["test_videos_segments"]) == validation["cnn_lstm"]["count"]
    interval = card.metrics["test_videos_auc_interval"]  # one video: every draw is the same
    assert interval["videos"] == 1
    # A fake is drawn with the video it was made from, never as a video of its own.
    assert {s["source"] for s in card.metrics["test_videos_segments"]} == {video.name}
    assert interval["cnn_lstm"] == [card.metrics["test_videos_vs_sbi"]["auc"]] * 2
    test_split = split_by_identity(read_crop_csv(csv_path), cfg.split_seed)["test"]
    assert len(split_by_identity(read_crop_csv(csv_path), cfg.seed)["test"]) != len(test_split)
    assert 0 < card.metrics["test_dfdc_frames"]["count"] == len(test_split)  # test split only
    assert card.metrics["training_minutes"] == {"frames": 10.0, "calibrate": 0.5}
    assert card.notes == "Run 99 of the recipe, measured once."
    text = (tmp_path / "MODEL_CARD.md").read_text()
    assert "## Provenance\nRun 99 of the recipe" in text
    assert f"validation videos ({video.name}) against self-blended fakes" in text
    assert "not a test" in text
    assert "bootstrap interval over the 1 held-out videos" in text
    real_row = next(line for line in text.splitlines() if line.startswith(f"| {video.name} |"))
    test_real = [s for s in card.metrics["test_videos_segments"] if s["label"] == 0]
    scores = ", ".join(f"{s['cnn_lstm']:.2f}" for s in test_real)
    assert real_row == f"| {video.name} | real | {scores} |"
    assert f"| {video.stem}-sbi0.mp4 | fake | " in text
    test_fake = [s for s in card.metrics["test_videos_segments"] if s["label"] == 1]
    wrong = sum(
        1.0 if r["cnn_lstm"] > f["cnn_lstm"] else 0.5 if r["cnn_lstm"] == f["cnn_lstm"] else 0.0
        for r in test_real
        for f in test_fake
    )
    pairs = len(test_real) * len(test_fake)
    assert 1 - wrong / pairs == pytest.approx(card.metrics["test_videos_vs_sbi"]["auc"])
    assert f"1 − AUC is their share): {wrong:g} of {pairs}" in text
    assert "Seed 7 (identity split and held-out sets: seed 1337)." in text


def test_a_run_that_needs_ffmpeg_stops_before_its_first_stage_without_it(
    tmp_path, monkeypatch, ffmpeg_ok
):
    """Validation writes self-blended fake videos with ffmpeg: without it, say so before the
    hour-long frame stage, not after it."""
    assert missing_tool(TrainConfig(), STAGES) is None
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    assert "ffmpeg" in missing_tool(TrainConfig(), STAGES)
    assert missing_tool(TrainConfig(), ("frames", "temporal", "calibrate")) is None
    assert "ffmpeg" in missing_tool(TrainConfig(video_reencode_crf=(28,)), ("frames",))
    run_dir = tmp_path / "run"
    with pytest.raises(SystemExit, match=r"ffmpeg is not installed.*nothing was run"):
        main(["--run-dir", str(run_dir), "--output", str(tmp_path / "m.pt"), "--stage", "validate"])
    assert not run_dir.exists()
