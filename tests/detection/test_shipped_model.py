"""The shipped checkpoint: its card is the one in the repository, and its verdicts are tuned."""

from detection.models import load_checkpoint
from detection.pipeline import DEFAULT_MODEL_PATH
from detection.training.card_text import render
from tests.support import require


def test_the_model_card_file_is_the_checkpoints_own_card():
    require(DEFAULT_MODEL_PATH.is_file(), f"{DEFAULT_MODEL_PATH} is missing")
    _, card = load_checkpoint(DEFAULT_MODEL_PATH)
    text = DEFAULT_MODEL_PATH.with_name("MODEL_CARD.md").read_text()
    assert text == render(card)
    assert len(text.encode()) <= 8192


def test_the_verdict_band_was_fitted_for_few_false_alarms_and_measured_apart():
    require(DEFAULT_MODEL_PATH.is_file(), f"{DEFAULT_MODEL_PATH} is missing")
    _, card = load_checkpoint(DEFAULT_MODEL_PATH)
    low, high = card.uncertain_band
    assert card.trained and 0.0 < low <= high and high >= 0.5 and card.threshold == high
    assert card.metrics["calibration"]["max_false_alarm"] == 0.05
    calibration_videos = card.metrics["calibration"]["videos"]
    test = card.metrics["wild_test"]["verdicts"]
    val = card.metrics["wild_val"]["verdicts"]
    assert val["reals"] + val["fakes"] == calibration_videos  # the test groups were kept out
    assert test["reals"] > 0 and test["fakes"] > 0
    assert set(card.metrics["wild_test"]["auc"]) >= {"all", "faceswap", "lipsync", "talkinghead"}
