"""The frame stage: balanced draws, one augmentation for both labels, an exact resume."""

import random

import numpy as np
import pytest
import torch

from detection.models import create_model
from detection.training.augment import LOWER_FACE, augment_crop, resynthesise_lower_face
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


def test_a_lower_face_fake_changes_the_mouth_and_jaw_and_leaves_the_eyes():
    """A smooth face-like gradient with fine texture: re-rendering blurs or sharpens detail,
    so the lower face must differ while the upper face and the background stay exact."""
    rng = np.random.default_rng(6)
    crop = rng.integers(0, 255, (160, 160, 3), dtype=np.uint8)
    for i in range(8):
        fake = resynthesise_lower_face(crop, random.Random(i))
        assert fake.shape == crop.shape and fake.dtype == np.uint8
        left, top, right, bottom = (round(v * 160) for v in LOWER_FACE)
        mouth = (slice(top + 12, bottom - 12), slice(left + 12, right - 12))
        assert np.abs(fake[mouth].astype(int) - crop[mouth]).mean() > 5
        assert np.array_equal(fake[: top - 30], crop[: top - 30])


def test_lower_face_fakes_take_the_share_of_fake_draws_and_keep_their_label():
    """Reals are black and fakes white, colours no augmentation turns into each other: a dark
    view labelled fake was made from a real crop."""
    images = np.concatenate(
        [np.zeros((10, 64, 64, 3), np.uint8), np.full((10, 64, 64, 3), 255, np.uint8)]
    )
    crops = CropPool(images, np.array([0] * 10 + [1] * 10), np.arange(20), lower_face_fakes=0.5)
    picked = np.arange(20).repeat(20)
    views, labels = crops.training_views(picked, np.random.default_rng(8), random.Random(8))
    assert labels == crops.labels[picked].tolist()
    dark = np.array([v.mean() < 128 for v in views])
    assert dark[np.array(labels) == 0].all()  # a real draw stays its real crop
    assert 0.35 < dark[np.array(labels) == 1].mean() < 0.65


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
