"""Face crops of labelled videos, cut exactly as the engine cuts them, cached on disk.

Training, calibration and evaluation all read a video's crops through the engine's own
frame plan, MTCNN settings, track linking and `crop_face`, so a model learns and is judged at
the framing and scale it will be used at. One `.npz` per video keeps the crops (uint8), which
track each crop belongs to, and the face sizes, keyed by the file's content and the framing.
"""

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detection.errors import DetectionError
from detection.faces import get_detector
from detection.pipeline import MAX_DECODE_SIDE, collect_faces
from detection.scoring import min_track_frames
from detection.tracks import link_tracks
from detection.video import plan_frames, probe

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Framing:
    """How crops are cut: the engine's card fields that decide what the CNN sees."""

    frames: int
    face_margin: float
    input_size: int

    @property
    def key(self) -> str:
        return f"f{self.frames}-m{self.face_margin:g}-s{self.input_size}"


@dataclass(frozen=True)
class VideoCrops:
    """Every face crop of one video's sampled frames, grouped into the engine's tracks."""

    crops: np.ndarray  # (n, S, S, 3) uint8, frame by frame, face by face
    track: np.ndarray  # (n,) track id of each crop (1-based, as the engine numbers them)
    position: np.ndarray  # (n,) index of the sampled frame each crop comes from
    face_side: np.ndarray  # (n,) face box side in the video's pixels
    frames_analyzed: int
    width: int
    height: int

    def track_ids(self) -> list[int]:
        return sorted(set(self.track.tolist()))


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def extract_crops(path: Path, framing: Framing) -> VideoCrops:
    """The engine's sampling, face finding, tracking and cropping (`collect_faces`) on one
    video, without the CNN."""
    info = probe(path)
    plan = plan_frames(path, info, framing.frames, max_side=MAX_DECODE_SIDE)
    collected = collect_faces(
        plan, get_detector("cpu"), margin=framing.face_margin, size=framing.input_size
    )
    boxes = [box for frame in collected.faces for box in frame]
    track = np.zeros(len(boxes), dtype=np.int16)
    for t in link_tracks(collected.faces):
        track[list(t.detections)] = t.id
    size = framing.input_size
    return VideoCrops(
        crops=np.stack(collected.crops) if boxes else np.zeros((0, size, size, 3), np.uint8),
        track=track,
        position=np.asarray(
            [p for p, frame in enumerate(collected.faces) for _ in frame], dtype=np.int16
        ),
        face_side=np.asarray([box.side for box in boxes], dtype=np.float32),
        frames_analyzed=len(collected.indices),
        width=info.width,
        height=info.height,
    )


def cached_crops(path: Path, framing: Framing, cache_dir: Path) -> VideoCrops | None:
    """`extract_crops`, read from or written to `cache_dir`; None for an unreadable video."""
    target = cache_dir / framing.key / f"{path.stem}-{_file_digest(path)}.npz"
    if target.is_file():
        with np.load(target) as data:
            fields = {k: data[k] for k in data.files}
        for scalar in ("frames_analyzed", "width", "height"):
            fields[scalar] = int(fields[scalar])
        return VideoCrops(**fields)
    try:
        crops = extract_crops(path, framing)
    except DetectionError as exc:
        logger.warning("skipping %s: %s", path.name, exc)
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part.npz")
    np.savez(partial, **crops.__dict__)
    partial.replace(target)
    return crops


def counted_tracks(crops: VideoCrops) -> list[np.ndarray]:
    """Crop indices of each track long enough to decide the video, in time order: the tracks
    whose score the engine's verdict is taken from."""
    needed = min_track_frames(crops.frames_analyzed)
    tracks = [np.flatnonzero(crops.track == t) for t in crops.track_ids()]
    return [t for t in tracks if len(t) >= needed]
