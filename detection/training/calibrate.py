"""Turn validation scores into what a person reads: probabilities and a verdict band.

The fake threshold is set by the false alarms it allows on real validation videos (a false
alarm names an innocent person); the "uncertain" band below it reaches down as far as misses
demand, but never so far that it swallows most videos.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# A "fake" verdict must at least mean "more likely fake than not", a "real" one the reverse.
MIN_FAKE_THRESHOLD = 0.5
MAX_REAL_THRESHOLD = 0.5


@dataclass(frozen=True)
class Band:
    low: float  # at or below: real
    high: float  # at or above: fake; between: uncertain


def fit_band(
    labels: Sequence[int],
    probabilities: Sequence[float],
    *,
    max_false_alarm: float,
    max_miss: float,
    max_uncertain: float,
) -> Band:
    """The verdict band from calibrated validation video probabilities.

    high: the lowest threshold calling at most `max_false_alarm` of the reals fake.
    low: the highest threshold calling at most `max_miss` of the fakes real, raised until at
    most `max_uncertain` of all videos fall between low and high; never above 1/2, where a
    "real" verdict would clear a video the model thinks more likely fake.
    """
    y = np.asarray(labels, dtype=np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    reals, fakes = np.sort(p[y == 0])[::-1], np.sort(p[y == 1])
    allowed = math.floor(max_false_alarm * len(reals))
    high = reals[allowed] if allowed < len(reals) else 0.0
    high = max(_round_up(high), MIN_FAKE_THRESHOLD)
    missed = math.floor(max_miss * len(fakes))
    low = fakes[missed] if missed < len(fakes) else high
    low = min(_round_down(low), high, MAX_REAL_THRESHOLD)
    in_band = lambda lo: float(((p > lo) & (p < high)).mean())  # noqa: E731
    candidates = sorted({_round_up(v) for v in p if low < v < min(high, MAX_REAL_THRESHOLD)})
    for candidate in candidates:
        if in_band(low) <= max_uncertain:
            break
        low = min(candidate, high, MAX_REAL_THRESHOLD)
    return Band(low=low, high=high)


def _round_up(value: float, places: int = 3) -> float:
    """Just above `value` on a 10**-places grid, so the video that sets it is not reached."""
    step = 10**places
    return min(1.0, math.floor(value * step + 1) / step)


def _round_down(value: float, places: int = 3) -> float:
    step = 10**places
    return max(0.0, math.ceil(value * step - 1) / step)


# Face sides (source pixels) at which validation video is re-read to find the smallest face
# the model still judges; a face whose ranking falls further than MAX_AUC_DROP below the
# full-resolution one is too small.
FACE_SIZES_PX = (16, 24, 32, 48, 64, 96)
MAX_AUC_DROP = 0.05


def as_if_face_px(
    crops: np.ndarray, face_sides: np.ndarray, face_px: float, margin: float
) -> np.ndarray:
    """The crops the engine would cut if each face were `face_px` wide in the video instead of
    its `face_sides`: the detail a crop holds is that of its face's source pixels (at most the
    crop's own), so it is shrunk by face_px over that and upscaled back."""
    from PIL import Image

    size = crops.shape[1]
    face_in_crop = size / (1 + 2 * margin)
    out = crops.copy()
    for i, (crop, side) in enumerate(zip(crops, face_sides, strict=True)):
        target = round(size * face_px / min(float(side), face_in_crop))
        if target < size:
            small = Image.fromarray(crop).resize((max(2, target),) * 2, Image.BILINEAR)
            out[i] = np.asarray(small.resize((size, size), Image.BILINEAR))
    return out


def face_size_floor(aucs: dict[int, float], full_auc: float, max_drop: float = MAX_AUC_DROP) -> int:
    """The smallest tested face side from which every larger one ranks within `max_drop` of
    the full-resolution AUC: 0 when all do, the largest tested side when even it does not."""
    for side in sorted(aucs, reverse=True):
        if aucs[side] < full_auc - max_drop:
            larger = [s for s in aucs if s > side]
            return min(larger) if larger else side
    return 0
