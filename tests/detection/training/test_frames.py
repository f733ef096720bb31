"""The frame stage: balanced draws, one augmentation for both labels, an exact resume."""

import random

import numpy as np
import pytest
import torch

from detection.models import create_model
from detection.training.augment import augment_crop
from detection.training.frames import CropPool, train_frames

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


def pool(seed: int, owners: list[int], labels: list[int]) -> CropPool:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 255, (len(labels), 64, 64, 3), dtype=np.uint8)
    return CropPool(images, np.array(labels), np.array(owners))


def test_every_video_and_label_weighs_the_same_whatever_its_length():
    # Video 0 (real) has 90 crops, video 1 (real) 10, video 2 (fake) 5.
    crops = pool(0, [0] * 90 + [1] * 10 + [2] * 5, [0] * 100 + [1] * 5)
    drawn = crops.balanced_draw(4000, np.random.default_rng(1))
    labels, owners = crops.labels[drawn], crops.owners[drawn]
    assert (labels == 1).mean() == pytest.approx(0.5, abs=0.001)
    assert (owners == 0).sum() == pytest.approx((owners == 1).sum(), rel=0.15)


def test_an_augmentation_draw_is_the_seeds_alone():
    crop = np.random.default_rng(2).integers(0, 255, (96, 96, 3), dtype=np.uint8)
    views = [augment_crop(crop, random.Random(f"s-{i}")) for i in range(6)]
    assert all(v.shape == crop.shape and v.dtype == np.uint8 for v in views)
    assert np.array_equal(views[0], augment_crop(crop, random.Random("s-0")))
    assert len({v.tobytes() for v in views}) > 1


def train(progress, epochs=2, on_epoch=None):
    torch.manual_seed(0)
    model = create_model("cnn_lstm_mobilenet_v2", hidden_size=8, lstm=False)
    pools = [pool(3, [0, 0, 1, 1] * 4, [0, 1] * 8), pool(4, [0] * 8 + [1] * 8, [0] * 8 + [1] * 8)]
    history = train_frames(
        model, pools, epochs=epochs, crops_per_epoch=16, batch_size=8, lr=1e-3,
        weight_decay=1e-4, mean=MEAN, std=STD, seed=5, progress_path=progress,
        on_epoch=on_epoch,
    )  # fmt: skip
    return model, history


def test_a_stopped_frame_stage_resumes_to_the_unbroken_runs_weights(tmp_path):
    unbroken, history = train(tmp_path / "a.pt")

    def crash_in_second_epoch(epoch, model):
        if epoch == 1:
            raise KeyboardInterrupt
        return {"measured": epoch}

    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "b.pt", on_epoch=crash_in_second_epoch)
    resumed, resumed_history = train(tmp_path / "b.pt")
    assert [r["epoch"] for r in resumed_history] == [1, 2]
    assert resumed_history[0]["measured"] == 0  # the first epoch's record survived the crash
    for name, value in unbroken.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name
    assert [r["loss"] for r in history] == [r["loss"] for r in resumed_history]
