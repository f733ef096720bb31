"""The verdict band and the smallest face the model judges, from validation scores."""

import math

import numpy as np
import pytest
from PIL import Image, ImageFilter

from detection.training.calibrate import (
    MAX_REAL_THRESHOLD,
    MIN_FAKE_THRESHOLD,
    as_if_face_px,
    face_size_floor,
    fit_band,
)


def scores(seed: int, reals: int, fakes: int, gap: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = np.r_[rng.beta(2, 5, reals), np.clip(rng.beta(5, 2, fakes) + gap, 0, 1)]
    return np.r_[np.zeros(reals, int), np.ones(fakes, int)], p


@pytest.mark.parametrize("seed", range(5))
def test_the_band_keeps_false_alarms_and_misses_within_their_limits(seed):
    labels, p = scores(seed, reals=60, fakes=40, gap=0.0)
    band = fit_band(labels, p, max_false_alarm=0.05, max_miss=0.10, max_uncertain=0.6)
    reals, fakes = p[labels == 0], p[labels == 1]
    assert (reals >= band.high).sum() <= math.floor(0.05 * 60)
    assert (fakes <= band.low).sum() <= math.floor(0.10 * 40)
    assert band.low <= band.high and band.high >= MIN_FAKE_THRESHOLD
    # The threshold is the lowest that keeps the limit: one step lower calls more reals fake.
    if band.high > MIN_FAKE_THRESHOLD:
        assert (reals >= band.high - 0.001).sum() > math.floor(0.05 * 60)


def test_the_uncertain_band_is_narrowed_until_it_holds_at_most_its_share():
    labels, p = scores(7, reals=60, fakes=40, gap=-0.3)  # heavy overlap: a wide band at first
    wide = fit_band(labels, p, max_false_alarm=0.05, max_miss=0.10, max_uncertain=1.0)
    narrow = fit_band(labels, p, max_false_alarm=0.05, max_miss=0.10, max_uncertain=0.2)
    share = lambda band: float(((p > band.low) & (p < band.high)).mean())  # noqa: E731
    assert share(wide) > 0.2
    assert share(narrow) <= 0.2 and narrow.low > wide.low and narrow.high == wide.high


def test_real_never_clears_a_video_the_model_thinks_more_likely_fake():
    """Fakes that mostly score 0.6-0.7 would put the miss limit's threshold there; the band
    stops at 1/2 instead, and what lies between is uncertain."""
    labels = np.r_[np.zeros(40, int), np.ones(40, int)]
    p = np.r_[np.linspace(0.05, 0.55, 40), np.linspace(0.6, 0.99, 40)]
    band = fit_band(labels, p, max_false_alarm=0.05, max_miss=0.5, max_uncertain=0.0)
    assert band.low == MAX_REAL_THRESHOLD and band.high >= 0.5


def test_a_model_that_separates_cleanly_gets_a_thin_band():
    labels = np.r_[np.zeros(20, int), np.ones(20, int)]
    p = np.r_[np.linspace(0.01, 0.2, 20), np.linspace(0.8, 0.99, 20)]
    band = fit_band(labels, p, max_false_alarm=0.05, max_miss=0.10, max_uncertain=0.2)
    assert 0.2 < band.high <= 0.8 and band.low < 0.8
    assert ((p > band.low) & (p < band.high)).sum() == 0


def test_the_face_size_floor_is_where_the_ranking_falls_apart():
    aucs = {16: 0.55, 24: 0.70, 32: 0.86, 48: 0.89, 64: 0.90, 96: 0.90}
    assert face_size_floor(aucs, full_auc=0.90) == 32
    assert face_size_floor(aucs, full_auc=0.90, max_drop=0.25) == 24
    assert face_size_floor({16: 0.9, 32: 0.9}, full_auc=0.91) == 0
    assert face_size_floor({16: 0.5, 32: 0.5}, full_auc=0.9) == 32  # even the largest fails


def test_a_face_read_as_if_smaller_loses_detail_but_not_its_look():
    rng = np.random.default_rng(0)
    crop = np.asarray(
        Image.fromarray(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)).filter(
            ImageFilter.GaussianBlur(1)
        )
    )
    crops, sides = np.stack([crop, crop]), np.array([200.0, 30.0])
    out = as_if_face_px(crops, sides, face_px=24, margin=0.2)

    def detail(img):
        return float(np.abs(np.diff(img.astype(float), axis=1)).mean())

    assert out.shape == crops.shape and out.dtype == np.uint8
    assert detail(out[0]) < 0.6 * detail(crop)  # a 200-px face read at 24 px
    assert detail(out[1]) > detail(out[0])  # a 30-px face barely changes at 24 px
    assert abs(out[0].mean() - crop.mean()) < 3
    same = as_if_face_px(crops, np.array([20.0, 10.0]), face_px=24, margin=0.2)
    assert np.array_equal(same, crops)  # faces already that small are left as they are
