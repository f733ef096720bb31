"""From logits to what a person reads: calibrated probabilities, a verdict band, quality notes."""

import math
from collections.abc import Sequence
from enum import StrEnum

import numpy as np

MIN_TRACK_FRACTION = 0.25  # a track shorter than this share of the analysed frames is not used
MIN_TRACK_CAP = 8  # ... but never ask for more than this many frames
SMALL_FACE_RATIO = 0.5  # faces under this share of the model's input size are "small"
LOW_RESOLUTION = 240  # videos under this many lines are "low resolution"


class Verdict(StrEnum):
    REAL = "real"
    FAKE = "fake"
    UNCERTAIN = "uncertain"
    NO_FACE = "no_face"


def calibrate(
    logits: np.ndarray | Sequence[float], temperature: float, bias: float = 0.0
) -> np.ndarray:
    """Platt scaling: p = sigmoid(logit / T + bias) (bias 0: plain temperature scaling)."""
    scaled = np.asarray(logits, dtype=np.float64) / max(temperature, 1e-6) + bias
    return 1.0 / (1.0 + np.exp(-scaled))


def verdict_for(
    probability: float | None, band: tuple[float, float], *, judgeable: bool = True
) -> Verdict:
    """At or above the band: fake; at or below: real; inside, or for faces too small to judge
    (`judgeable` False): uncertain."""
    if probability is None:
        return Verdict.NO_FACE
    if not judgeable:
        return Verdict.UNCERTAIN
    low, high = band
    if probability >= high:
        return Verdict.FAKE
    if probability <= low:
        return Verdict.REAL
    return Verdict.UNCERTAIN


def band_meaning(band: tuple[float, float], max_false_alarm: float | None = None) -> str:
    """What the verdict band means, in one or two sentences for the result page and the API."""
    low, high = band
    fake = f"At {high:.0%} or more a video is called fake"
    if max_false_alarm is not None:
        fake += f" (a level that at most {max_false_alarm:.0%} of real validation videos reach)"
    return (
        f"{fake}; at {low:.0%} or less, real. In between it is uncertain: the model leans one "
        "way, but not far enough to name a video fake or to clear it."
    )


def median_face(face_sides: Sequence[float]) -> float:
    """The typical face side in a video's pixels (0 when none was found)."""
    return float(np.median(face_sides)) if len(face_sides) else 0.0


def too_small_to_judge(face_sides: Sequence[float], min_face_px: int) -> bool:
    """Faces were found, but typically below the smallest this model was shown to judge."""
    return len(face_sides) > 0 and median_face(face_sides) < min_face_px


def min_track_frames(frames_analyzed: int) -> int:
    """How many analysed frames a face must appear in for its track to count."""
    wanted = math.ceil(MIN_TRACK_FRACTION * frames_analyzed)
    return max(1, min(MIN_TRACK_CAP, wanted))


def video_probability(
    track_scores: Sequence[tuple[int, float]], frames_analyzed: int
) -> float | None:
    """The most suspicious sufficiently long track decides; None when none is long enough.

    `track_scores` holds (track length, calibrated probability) pairs.
    """
    needed = min_track_frames(frames_analyzed)
    long_enough = [score for length, score in track_scores if length >= needed]
    return max(long_enough) if long_enough else None


def quality_notes(
    *,
    frames_wanted: int,
    frames_analyzed: int,
    frames_missing: int,
    track_lengths: Sequence[int],
    face_sides: Sequence[float],
    input_size: int,
    video_height: int,
    video_width: int,
    min_face_px: int = 0,
) -> list[str]:
    """Sentences about why a result may be less reliable, or why there is no verdict."""
    notes = []
    if frames_missing:
        notes.append(
            f"{frames_missing} of the sampled frames could not be decoded; "
            "the file may be truncated or damaged."
        )
    if frames_analyzed < frames_wanted:
        notes.append(
            f"Only {frames_analyzed} frames could be analysed (the model expects {frames_wanted}); "
            "the video is very short."
        )
    if min(video_height, video_width) < LOW_RESOLUTION:
        notes.append(
            f"The video is low resolution ({video_width}×{video_height}); "
            "fine manipulation traces may be lost."
        )
    if not track_lengths:
        notes.append(
            "No face was found in the analysed frames (faces smaller than about 5% of the "
            "frame are not searched for)."
        )
        return notes
    needed = min_track_frames(frames_analyzed)
    if max(track_lengths) < needed:
        notes.append(
            f"Faces appear in too few frames (at most {max(track_lengths)} of {frames_analyzed}, "
            f"at least {needed} needed) to judge the video."
        )
    if too_small_to_judge(face_sides, min_face_px):
        notes.append(
            f"Faces are about {round(median_face(face_sides))} px, smaller than the "
            f"{min_face_px} px this model was shown to judge reliably, so the verdict is "
            "uncertain whatever the score."
        )
    elif face_sides and median_face(face_sides) < SMALL_FACE_RATIO * input_size:
        notes.append(
            f"Faces are small (about {round(median_face(face_sides))} px); "
            "fine detail that reveals manipulation may be lost."
        )
    if len(track_lengths) > 1:
        notes.append(
            f"{len(track_lengths)} faces were followed; the video's score is that of the most "
            "suspicious face seen long enough."
        )
    return notes
