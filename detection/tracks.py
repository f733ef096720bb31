"""Link per-frame face boxes into tracks (one per person) and cut model-sized face crops.

Sampled frames can be a second apart, so a box is matched to a track by overlap (IoU) or,
failing that, by a centre that moved less than one face width with a similar size.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from detection.faces import FaceBox

MIN_IOU = 0.2
MAX_SHIFT = 1.0  # centre movement, in face sides, still counted as the same face
MAX_SIZE_RATIO = 2.0
MAX_GAP = 4  # sampled frames a track may miss and still continue


@dataclass(frozen=True)
class FaceTrack:
    """One face followed through the sampled frames.

    `positions` index the sampled frames; `detections` index the flat list of all boxes
    (frame by frame, box by box), which is also the order of crops and features.
    """

    id: int
    positions: tuple[int, ...]
    boxes: tuple[FaceBox, ...]
    detections: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.positions)


def link_tracks(faces_per_frame: Sequence[Sequence[FaceBox]]) -> list[FaceTrack]:
    """Greedy frame-by-frame association, best-overlapping pairs first."""
    open_tracks: list[dict] = []
    done: list[dict] = []
    detection = 0
    for position, boxes in enumerate(faces_per_frame):
        still_open = []
        for track in open_tracks:
            (still_open if position - track["positions"][-1] <= MAX_GAP + 1 else done).append(track)
        open_tracks = still_open
        pairs = sorted(
            (
                (cost, t, b)
                for t, track in enumerate(open_tracks)
                for b, box in enumerate(boxes)
                if (cost := _match_cost(track["boxes"][-1], box)) is not None
            ),
            key=lambda pair: pair[0],
        )
        used_tracks: set[int] = set()
        used_boxes: set[int] = set()
        for _, t, b in pairs:
            if t in used_tracks or b in used_boxes:
                continue
            used_tracks.add(t)
            used_boxes.add(b)
            _extend(open_tracks[t], position, boxes[b], detection + b)
        for b, box in enumerate(boxes):
            if b not in used_boxes:
                open_tracks.append(
                    {"positions": [position], "boxes": [box], "detections": [detection + b]}
                )
        detection += len(boxes)
    ordered = sorted(done + open_tracks, key=lambda t: (t["positions"][0], t["detections"][0]))
    return [
        FaceTrack(i, tuple(t["positions"]), tuple(t["boxes"]), tuple(t["detections"]))
        for i, t in enumerate(ordered, start=1)
    ]


def crop_face(image: np.ndarray, box: FaceBox, *, margin: float, size: int) -> np.ndarray:
    """A square (size, size, 3) crop centred on the face, `margin` of its side added each way.

    Parts of the square outside the frame are black, so the face keeps its aspect and place.
    """
    side = max(2.0, box.side * (1.0 + 2.0 * margin))
    cx, cy = box.center
    x1, y1 = round(cx - side / 2), round(cy - side / 2)
    x2, y2 = x1 + round(side), y1 + round(side)
    height, width = image.shape[:2]
    square = np.zeros((y2 - y1, x2 - x1, 3), dtype=np.uint8)
    sx1, sy1, sx2, sy2 = max(0, x1), max(0, y1), min(width, x2), min(height, y2)
    if sx2 > sx1 and sy2 > sy1:
        square[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = image[sy1:sy2, sx1:sx2]
    resized = Image.fromarray(square).resize((size, size), Image.BILINEAR, reducing_gap=3.0)
    return np.asarray(resized)


def _match_cost(last: FaceBox, box: FaceBox) -> float | None:
    """Lower is better; None when the two boxes cannot be the same face."""
    iou = last.iou(box)
    if iou >= MIN_IOU:
        return -iou
    ratio = max(last.side, box.side) / max(1e-6, min(last.side, box.side))
    (ax, ay), (bx, by) = last.center, box.center
    shift = ((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5 / max(last.side, box.side)
    if ratio <= MAX_SIZE_RATIO and shift <= MAX_SHIFT:
        return shift
    return None


def _extend(track: dict, position: int, box: FaceBox, detection: int) -> None:
    track["positions"].append(position)
    track["boxes"].append(box)
    track["detections"].append(detection)
