import itertools
import random

import numpy as np
import pytest

from detection.training.metrics import (
    binary_report,
    calibration_error_floor,
    expected_calibration_error,
    fit_platt,
    grouped_auc_interval,
    roc_auc,
    roc_curve,
)


def pairwise_auc(labels, scores):
    pos = [s for s, y in zip(scores, labels, strict=True) if y == 1]
    neg = [s for s, y in zip(scores, labels, strict=True) if y == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_auc_matches_the_pairwise_definition_with_ties():
    rng = random.Random(3)
    labels = [rng.randint(0, 1) for _ in range(200)]
    scores = [round(rng.random() + 0.3 * y, 1) for y in labels]  # rounding makes many ties
    assert roc_auc(labels, scores) == pytest.approx(pairwise_auc(labels, scores))


def test_auc_extremes_and_single_class():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert np.isnan(roc_auc([1, 1], [0.2, 0.3]))


def test_roc_curve_runs_from_origin_to_one_and_is_monotone():
    fpr, tpr = roc_curve([0, 1, 0, 1, 1], [0.1, 0.4, 0.35, 0.8, 0.9])
    assert (fpr[0], tpr[0]) == (0.0, 0.0)
    assert (fpr[-1], tpr[-1]) == (1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)


def test_report_counts_the_confusion_matrix_at_the_threshold():
    report = binary_report([1, 1, 0, 0, 1], [0.9, 0.4, 0.6, 0.1, 0.5], threshold=0.5)
    assert report.confusion == {"tp": 2, "fp": 1, "tn": 1, "fn": 1}
    assert report.precision == pytest.approx(2 / 3)
    assert report.recall == pytest.approx(2 / 3)
    assert report.accuracy == pytest.approx(3 / 5)


def test_calibration_error_is_small_for_calibrated_and_large_for_overconfident():
    rng = np.random.default_rng(0)
    p = rng.random(20000)
    y = (rng.random(20000) < p).astype(int)
    assert expected_calibration_error(y, p) < 0.02
    overconfident = np.where(p > 0.5, 0.99, 0.01)
    assert expected_calibration_error(y, overconfident) > 0.2


def test_platt_scaling_recovers_the_true_temperature_and_shift():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 4, 20000)
    labels = (rng.random(20000) < 1 / (1 + np.exp(-(logits / 2.5 - 1.0)))).astype(int)
    temperature, bias = fit_platt(labels, logits)
    assert temperature == pytest.approx(2.5, rel=0.1)
    assert bias == pytest.approx(-1.0, abs=0.15)


def test_balanced_platt_scaling_reads_as_if_both_labels_were_equally_common():
    """Drop most reals from a set calibrated at 50/50: the plain fit learns the new mix (a
    higher bias), the balanced fit keeps the 50/50 reading."""
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 4, 40000)
    labels = (rng.random(40000) < 1 / (1 + np.exp(-logits / 2.0))).astype(int)
    keep = (labels == 1) | (rng.random(40000) < 0.25)  # three fakes for every real
    _, plain_bias = fit_platt(labels[keep], logits[keep])
    balanced_t, balanced_bias = fit_platt(labels[keep], logits[keep], balanced=True)
    assert balanced_t == pytest.approx(2.0, rel=0.1)
    assert balanced_bias == pytest.approx(0.0, abs=0.15)
    assert plain_bias == pytest.approx(np.log(4), abs=0.25)  # the prior odds it was shown


def five_videos(inverted: int | None = None):
    """Three real and six fake segments per video; one video's reals may outscore its fakes."""
    labels, scores, groups = [], [], []
    for video in range(5):
        real, fake = (0.9, 0.3) if video == inverted else (0.2, 0.8)
        for label, score in [(0, real)] * 3 + [(1, fake)] * 6:
            labels.append(label)
            scores.append(score + 0.01 * video)
            groups.append(f"v{video}")
    return labels, scores, groups


def test_grouped_auc_interval_is_a_point_when_every_video_separates():
    assert grouped_auc_interval(*five_videos()) == (1.0, 1.0)


def test_grouped_auc_interval_resamples_whole_videos_not_segments():
    labels, scores, groups = five_videos(inverted=2)
    low, high = grouped_auc_interval(labels, scores, groups, seed=3)
    assert low < roc_auc(labels, scores) < high == 1.0  # a draw without video 2 separates
    assert grouped_auc_interval(labels, scores, groups, seed=3) == (low, high)
    # Segments drawn one by one look far more precise than five videos can be.
    one_each = [str(i) for i in range(len(labels))]
    seg_low, seg_high = grouped_auc_interval(labels, scores, one_each, seed=3)
    assert low < seg_low and seg_high - seg_low < high - low


def test_grouped_auc_interval_skips_draws_of_one_class():
    labels, scores = [0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]
    assert grouped_auc_interval(labels, scores, ["real", "real", "fake", "fake"]) == (1.0, 1.0)
    assert all(np.isnan(grouped_auc_interval([0, 0], [0.1, 0.2], ["a", "b"])))


def test_the_calibration_floor_is_what_honest_coins_score_and_shrinks_with_more_videos():
    rng = np.random.default_rng(4)
    few, many = rng.uniform(0.2, 0.8, 55), rng.uniform(0.2, 0.8, 5000)
    assert calibration_error_floor(few) > 0.08  # 55 calibrated videos cannot show ECE 0.08
    assert calibration_error_floor(many, draws=50) < 0.03
    honest = [expected_calibration_error(rng.random(55) < few, few) for _ in range(300)]
    assert np.mean(honest) == pytest.approx(calibration_error_floor(few), rel=0.15)
