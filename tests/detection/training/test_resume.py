import json
import shutil
import subprocess
import sys
import time

import pytest
import torch

from detection.training.config import TrainConfig
from tests.support import REPO_ROOT, small_crop_csv, train_and_val_videos

STAGE_EPOCHS = {"frames": 4, "temporal": 30}


def _command(run_dir, stage):
    return [
        sys.executable, "-m", "detection.training.train", "--config", str(run_dir / "in.json"),
        "--run-dir", str(run_dir), "--output", str(run_dir / "model.pt"), "--stage", stage,
    ]  # fmt: skip


def _train(run_dir, stage):
    subprocess.run(_command(run_dir, stage), cwd=REPO_ROOT, check=True, capture_output=True)


def _kill_after_first_epoch(run_dir, stage):
    """SIGKILL a real training process once it has saved an epoch, as a crash or a reboot
    would; return how many epochs it had saved."""
    progress, log = run_dir / f"{stage}-progress.pt", run_dir / f"{stage}.log"
    with log.open("w") as stderr:  # a file, not a pipe: a full pipe would stall the child
        child = subprocess.Popen(_command(run_dir, stage), cwd=REPO_ROOT, stderr=stderr)
        while not progress.exists() and child.poll() is None:
            time.sleep(0.002)
        child.kill()
        child.wait()
    assert progress.exists(), f"{stage} ended before saving an epoch:\n{log.read_text()[-2000:]}"
    return torch.load(progress, weights_only=True)["epochs_done"]


def _assert_same_weights(a, b):
    first, second = (torch.load(path, weights_only=True) for path in (a, b))
    assert first.keys() == second.keys()
    for name in first:
        assert torch.allclose(first[name].float(), second[name].float(), atol=1e-6), name


def test_a_killed_stage_goes_on_at_its_next_epoch_and_ends_as_an_unbroken_run(tmp_path):
    """A stage's best weights exist after its first epoch: a run killed later must neither
    take them for a finished stage nor start over, but continue the same optimisation."""
    csv_path = small_crop_csv(tmp_path)
    videos = train_and_val_videos(tmp_path)
    cfg = TrainConfig(
        dfdc_csv=str(csv_path), real_videos=str(videos), val_videos=("val.mp4",),
        test_videos=(), workers=0, threads=1, frame_views=1, frame_epochs=STAGE_EPOCHS["frames"],
        frame_batch_size=8, track_frames=12, video_crop_views=1, clip_length=8,
        clips_per_video=2, crop_sequences=3, val_crop_sequences=1, crop_sequence_length=4,
        temporal_epochs=STAGE_EPOCHS["temporal"], temporal_batch_size=4,
    )  # fmt: skip
    unbroken, broken = tmp_path / "unbroken", tmp_path / "broken"
    for run_dir in (unbroken, broken):
        run_dir.mkdir()
        (run_dir / "in.json").write_text(json.dumps(cfg.to_dict()))
    _train(unbroken, "frames")
    _train(unbroken, "temporal")
    for cache in unbroken.glob("stem-*.pt"):  # the cached inputs, not the training
        shutil.copy(cache, broken)
    shutil.copytree(unbroken / "tracks", broken / "tracks")

    for stage, best in (("frames", "frames-best.pt"), ("temporal", "temporal-best.pt")):
        saved = _kill_after_first_epoch(broken, stage)
        assert 1 <= saved < STAGE_EPOCHS[stage]  # killed mid-stage, its best weights on disk
        assert (broken / best).exists() and not (broken / f"{stage}-history.json").exists()
        _train(broken, stage)
        histories = [
            json.loads((run_dir / f"{stage}-history.json").read_text())["history"]
            for run_dir in (unbroken, broken)
        ]
        assert [h["epoch"] for h in histories[1]] == list(range(1, STAGE_EPOCHS[stage] + 1))
        for was, resumed in zip(*histories, strict=True):
            assert resumed["train_loss"] == pytest.approx(was["train_loss"], rel=1e-5)
        _assert_same_weights(unbroken / best, broken / best)
