"""Face boxes for a batch of frames: one MTCNN per process and device, on downscaled copies.

MTCNN's cost grows with the pixel count and the number of pyramid levels, so frames are shrunk
to about DETECT_SIDE pixels first and the smallest face it looks for is bounded; the boxes are
mapped back to the coordinates of the frames passed in.
"""

import threading
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

DETECT_SIDE = 640  # long side of the copy MTCNN sees
MIN_FACE_PX = 32  # smallest face searched for, in DETECT_SIDE pixels (5% of the long side)
THRESHOLDS = (0.8, 0.85, 0.9)  # P-, R-, O-Net; stricter than the default: fewer candidates
PYRAMID_FACTOR = 0.6  # fewer pyramid levels than the default 0.709, same recall on real faces


@dataclass(frozen=True)
class FaceBox:
    """One face in one frame, in that frame's pixel coordinates."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def side(self) -> float:
        return max(self.width, self.height)

    @property
    def center(self) -> tuple[float, float]:
        return (self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2

    def iou(self, other: "FaceBox") -> float:
        w = min(self.x2, other.x2) - max(self.x1, other.x1)
        h = min(self.y2, other.y2) - max(self.y1, other.y1)
        if w <= 0 or h <= 0:
            return 0.0
        inter = w * h
        return inter / (self.width * self.height + other.width * other.height - inter)

    def scaled(self, factor: float) -> "FaceBox":
        return FaceBox(
            self.x1 * factor, self.y1 * factor, self.x2 * factor, self.y2 * factor, self.score
        )

    def to_list(self) -> list[int]:
        return [round(self.x1), round(self.y1), round(self.x2), round(self.y2)]


class FaceDetector:
    """Batched MTCNN on downscaled frames; `detect` always takes a batch, returns typed boxes."""

    def __init__(self, device: str = "cpu", *, detect_side: int = DETECT_SIDE) -> None:
        from facenet_pytorch import MTCNN

        self.device = device
        self.detect_side = detect_side
        self._mtcnn = MTCNN(
            keep_all=True,
            min_face_size=MIN_FACE_PX,
            thresholds=list(THRESHOLDS),
            factor=PYRAMID_FACTOR,
            post_process=False,
            device=torch.device(device),
        )
        self._lock = threading.Lock()  # MTCNN is not documented as thread-safe

    def detect(self, images: np.ndarray) -> list[list[FaceBox]]:
        """(N, H, W, 3) uint8 RGB frames of one size → faces per frame, in input pixels."""
        if len(images) == 0:
            return []
        height, width = images.shape[1:3]
        factor = min(1.0, self.detect_side / max(height, width))
        small = _downscale(images, factor)
        batch = torch.from_numpy(small).to(self.device)
        with self._lock, torch.inference_mode():
            boxes, probs = self._mtcnn.detect(batch)
        faces = []
        for frame_boxes, frame_probs in zip(boxes, probs, strict=True):
            if frame_boxes is None:
                faces.append([])
                continue
            coords = np.asarray(frame_boxes, dtype=np.float32).reshape(-1, 4) / factor
            scores = np.asarray(frame_probs, dtype=np.float32).reshape(-1)
            faces.append(
                [
                    _clipped(FaceBox(*map(float, box), score=float(score)), width, height)
                    for box, score in zip(coords, scores, strict=True)
                ]
            )
        return faces


_detectors: dict[str, FaceDetector] = {}
_detectors_lock = threading.Lock()


def get_detector(device: str = "cpu") -> FaceDetector:
    """The process's one detector for `device` (its networks load once)."""
    with _detectors_lock:
        if device not in _detectors:
            _detectors[device] = FaceDetector(device)
        return _detectors[device]


def _downscale(images: np.ndarray, factor: float) -> np.ndarray:
    if factor >= 1.0:
        return images
    height, width = images.shape[1:3]
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return np.stack(
        [
            np.asarray(Image.fromarray(img).resize(size, Image.BILINEAR, reducing_gap=2.0))
            for img in images
        ]
    )


def _clipped(box: FaceBox, width: int, height: int) -> FaceBox:
    return FaceBox(
        max(0.0, box.x1), max(0.0, box.y1), min(width, box.x2), min(height, box.y2), box.score
    )
