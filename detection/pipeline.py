"""detect(): the engine's one entry point, video file in, calibrated verdict with evidence out.

Decoding runs one chunk ahead in a background thread while faces are found, cropped and
encoded by the CNN chunk by chunk; the LSTM then reads each face track's codes in time order.
Only the sampled frames of one chunk, the small crops and their codes are ever held.
"""

import base64
import io
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from detection.errors import (
    BadModelFile,
    DetectionError,
    NoTrainedModel,
    UnreadableVideo,
    VideoTooLarge,
    VideoTooLong,
)
from detection.faces import FaceBox, FaceDetector, get_detector
from detection.models import ModelCard, load_checkpoint
from detection.models.card import CheckpointError
from detection.scoring import (
    Verdict,
    band_meaning,
    calibrate,
    min_track_frames,
    quality_notes,
    too_small_to_judge,
    verdict_for,
    video_probability,
)
from detection.stages import Stage
from detection.tracks import FaceTrack, crop_face, link_tracks
from detection.video import FramePlan, VideoInfo, iter_frames, plan_frames, probe

logger = logging.getLogger(__name__)

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "weights" / "default.pt"
MAX_DECODE_SIDE = 1920  # frames are decoded at most this large: 4K sources stay bounded
THUMBNAIL_QUALITY = 85

ProgressCallback = Callable[[Stage, float], None]


@dataclass(frozen=True)
class DetectOptions:
    frames: int | None = None  # None: the model card's frame count
    device: str = "auto"
    start: float | None = None
    end: float | None = None
    model_path: Path | None = None
    allow_untrained: bool = False  # tests and benchmarks only: never shown as a verdict
    max_duration_s: float | None = None
    max_pixels: int | None = None


@dataclass(frozen=True)
class TrackResult:
    id: int
    frames: tuple[int, ...]  # video frame indices
    times_s: tuple[float, ...]
    boxes: tuple[tuple[int, int, int, int], ...]  # full-resolution pixels, upright frame
    score: float  # calibrated probability that this face is fake
    counted: bool  # long enough to decide the video's score
    thumbnail: str  # data: URL of the track's most suspicious crop

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "frames": list(self.frames),
            "times_s": list(self.times_s),
            "boxes": [list(b) for b in self.boxes],
            "score": round(self.score, 4),
            "counted": self.counted,
            "thumbnail": self.thumbnail,
        }


@dataclass(frozen=True)
class FrameScore:
    index: int
    time_s: float
    score: float
    track: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "time_s": self.time_s,
            "score": round(self.score, 4),
            "track": self.track,
        }


@dataclass(frozen=True)
class DetectionResult:
    verdict: Verdict
    fake_probability: float | None
    frames_analyzed: int
    faces_found: int  # distinct faces (tracks)
    tracks: tuple[TrackResult, ...]
    per_frame: tuple[FrameScore, ...]
    quality: tuple[str, ...]
    timings_ms: dict[str, float]
    model: dict[str, Any]
    video: VideoInfo

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": str(self.verdict),
            "fake_probability": (
                None if self.fake_probability is None else round(self.fake_probability, 4)
            ),
            "frames_analyzed": self.frames_analyzed,
            "faces_found": self.faces_found,
            "tracks": [t.to_dict() for t in self.tracks],
            "per_frame": [f.to_dict() for f in self.per_frame],
            "quality": list(self.quality),
            "timings_ms": dict(self.timings_ms),
            "model": dict(self.model),
            "video": self.video.to_dict(),
        }


@dataclass(frozen=True, eq=False)
class LoadedModel:
    model: nn.Module
    card: ModelCard
    path: Path
    device: str


@dataclass
class Collected:
    """What the chunk loop gathers: small per-face items only, never frames."""

    indices: list[int] = field(default_factory=list)
    times_s: list[float] = field(default_factory=list)
    faces: list[list[FaceBox]] = field(default_factory=list)  # per sampled frame, full-res
    crops: list[np.ndarray] = field(default_factory=list)  # per detection, uint8
    features: list[torch.Tensor] = field(default_factory=list)  # per chunk, (n, F) on device


@dataclass(frozen=True)
class Engine:
    """What a process detects with: built once by its owner (the platform's settings, a CLI's
    flags) and passed to whoever detects, so nothing deep inside reads the environment.

    `threads` is torch's CPU thread count, a process-wide setting: `start()` applies it, once,
    where the process builds its engine; 0 leaves torch as it is (training sets its own).
    """

    options: DetectOptions = DetectOptions()
    threads: int = 0

    def start(self) -> "Engine":
        if self.threads > 0:
            torch.set_num_threads(self.threads)
        return self

    def load(self) -> LoadedModel:
        model_path = resolve_model_path(self.options.model_path)
        return load_model(model_path, resolve_device(self.options.device))

    def detect(
        self,
        source: Path,
        *,
        start: float | None = None,
        end: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> DetectionResult:
        options = replace(self.options, start=start, end=end)
        return detect(source, options=options, on_progress=on_progress)


_models: dict[tuple[Path, str, float], LoadedModel] = {}
_models_lock = threading.Lock()


def resolve_model_path(explicit: Path | None = None) -> Path:
    """An explicit path, else the shipped default."""
    return Path(explicit) if explicit else DEFAULT_MODEL_PATH


def resolve_device(device: str = "auto") -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except RuntimeError as exc:
        raise DetectionError(f"'{device}' is not a device name (use auto, cpu or cuda).") from exc
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise DetectionError("A CUDA device was asked for but no GPU is available.")
    return str(parsed)


def load_model(path: Path, device: str = "cpu") -> LoadedModel:
    """Load a checkpoint once per process per (file version, device)."""
    path = Path(path).resolve()
    if not path.is_file():
        raise NoTrainedModel(
            f"No trained detection model is installed (expected {path}); "
            "train one or point DETECTION_MODEL at a checkpoint."
        )
    key = (path, device, path.stat().st_mtime)
    with _models_lock:
        if key not in _models:
            try:
                model, card = load_checkpoint(path, device)
            except CheckpointError as exc:
                logger.warning("cannot load %s: %s", path, exc)
                raise BadModelFile(f"The detection model file cannot be used: {exc}.") from exc
            if device.startswith("cuda"):
                model = model.to(memory_format=torch.channels_last)
            _models[key] = LoadedModel(model, card, path, device)
        return _models[key]


def detect(
    source: Path,
    *,
    options: DetectOptions | None = None,
    on_progress: ProgressCallback | None = None,
) -> DetectionResult:
    """Analyse one video file; raises DetectionError subclasses with a sentence for the user."""
    options = options or DetectOptions()
    report = on_progress or (lambda stage, fraction: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    report(Stage.DECODING, 0.0)
    with _timed(timings, "probe"):
        info = probe(Path(source))
    _check_limits(info, options)
    device = resolve_device(options.device)
    with _timed(timings, "load_model"):
        loaded = load_model(resolve_model_path(options.model_path), device)
    card = loaded.card
    if not card.trained and not options.allow_untrained:
        raise NoTrainedModel(
            f"The model at {loaded.path} is not trained, so it cannot give a verdict; "
            "train one or point DETECTION_MODEL at a trained checkpoint."
        )
    wanted = options.frames or card.frames
    if wanted < 1:
        raise DetectionError("The number of frames to analyse must be at least 1.")
    plan = plan_frames(
        Path(source), info, wanted, start=options.start, end=options.end, max_side=MAX_DECODE_SIDE
    )

    collected = _run_chunks(plan, loaded, timings, report)
    if not collected.indices:
        raise UnreadableVideo("The video could not be decoded: none of its frames is readable.")

    report(Stage.SCORING, 0.0)
    with _timed(timings, "scoring"):
        result = _score(plan.info, collected, loaded, wanted, len(plan.missing), timings)
    timings["total"] = round((time.perf_counter() - started) * 1000, 1)
    report(Stage.DONE, 1.0)
    return result


def _run_chunks(
    plan: FramePlan, loaded: LoadedModel, timings: dict[str, float], report: ProgressCallback
) -> Collected:
    card = loaded.card
    return collect_faces(
        plan,
        get_detector(loaded.device),
        margin=card.face_margin,
        size=card.input_size,
        encode=lambda crops: _encode(loaded, crops),
        timings=timings,
        report=report,
    )


def collect_faces(
    plan: FramePlan,
    detector: FaceDetector,
    *,
    margin: float,
    size: int,
    encode: Callable[[np.ndarray], torch.Tensor] | None = None,
    timings: dict[str, float] | None = None,
    report: ProgressCallback | None = None,
) -> Collected:
    """Decode (one chunk ahead, in a thread) → faces → crops → CNN codes, chunk by chunk.

    Training cuts its crops here too (without `encode`), so a model learns from exactly the
    crops the engine will show it."""
    timings = {} if timings is None else timings
    collected = Collected()
    total = max(1, len(plan.indices))
    for chunk in _prefetched(iter_frames(plan), timings, "decode"):
        with _timed(timings, "detect_faces"):
            found = detector.detect(chunk.images)
        with _timed(timings, "crop"):
            crops = [
                crop_face(image, box, margin=margin, size=size)
                for image, boxes in zip(chunk.images, found, strict=True)
                for box in boxes
            ]
        if crops and encode:
            with _timed(timings, "features"):
                collected.features.append(encode(np.stack(crops)))
        collected.crops.extend(crops)
        collected.indices.extend(chunk.indices)
        collected.times_s.extend(chunk.times_s)
        # Boxes were found on the decoded frames; report them at full resolution.
        collected.faces.extend([b.scaled(1 / plan.scale) for b in boxes] for boxes in found)
        if report:
            report(Stage.DETECTING_FACES, min(1.0, len(collected.indices) / total))
    return collected


def _score(
    info: VideoInfo,
    collected: Collected,
    loaded: LoadedModel,
    wanted: int,
    missing: int,
    timings: dict[str, float],
) -> DetectionResult:
    card, model = loaded.card, loaded.model
    tracks = link_tracks(collected.faces)
    analysed = len(collected.indices)
    track_results: list[TrackResult] = []
    per_frame: list[FrameScore] = []
    if tracks:
        features = torch.cat(collected.features)
        with torch.inference_mode(), _autocast(loaded.device):
            frame_logits = model.frame_logits(features).float().cpu()
            track_logits = _sequence_logits(model, features, tracks)
        frame_p = calibrate(frame_logits, card.frame_temperature, card.frame_bias)
        track_p = calibrate(track_logits, card.sequence_temperature, card.sequence_bias)
        needed = min_track_frames(analysed)
        for track, score in zip(tracks, track_p, strict=True):
            scores = frame_p[list(track.detections)]
            best = track.detections[int(np.argmax(scores))]
            track_results.append(
                TrackResult(
                    id=track.id,
                    frames=tuple(collected.indices[p] for p in track.positions),
                    times_s=tuple(collected.times_s[p] for p in track.positions),
                    boxes=tuple(tuple(b.to_list()) for b in track.boxes),
                    score=float(score),
                    counted=len(track) >= needed,
                    thumbnail=_jpeg_data_url(collected.crops[best]),
                )
            )
            per_frame.extend(
                FrameScore(collected.indices[p], collected.times_s[p], float(frame_p[d]), track.id)
                for p, d in zip(track.positions, track.detections, strict=True)
            )
    per_frame.sort(key=lambda f: (f.index, f.track))
    probability = video_probability([(len(t.frames), t.score) for t in track_results], analysed)
    face_sides = [b.side for t in tracks for b in t.boxes]
    notes = quality_notes(
        frames_wanted=wanted,
        frames_analyzed=analysed,
        frames_missing=missing,
        track_lengths=[len(t) for t in tracks],
        face_sides=face_sides,
        input_size=card.input_size,
        video_height=info.height,
        video_width=info.width,
        min_face_px=card.min_face_px,
    )
    judgeable = not too_small_to_judge(face_sides, card.min_face_px)
    return DetectionResult(
        verdict=verdict_for(probability, card.uncertain_band, judgeable=judgeable),
        fake_probability=probability,
        frames_analyzed=analysed,
        faces_found=len(tracks),
        tracks=tuple(track_results),
        per_frame=tuple(per_frame),
        quality=tuple(notes),
        timings_ms=timings,
        model={
            "name": card.architecture,
            "version": card.version,
            "threshold": card.threshold,
            "uncertain_band": list(card.uncertain_band),
            "band_meaning": band_meaning(
                card.uncertain_band, card.metrics.get("calibration", {}).get("max_false_alarm")
            ),
            "trained": card.trained,
        },
        video=info,
    )


def normalised(
    crops: np.ndarray, mean: Sequence[float], std: Sequence[float], device: str = "cpu"
) -> torch.Tensor:
    """(n, S, S, 3) uint8 crops → (n, 3, S, S) float input, normalised as a card says."""
    batch = torch.from_numpy(np.ascontiguousarray(crops)).to(device)
    batch = batch.permute(0, 3, 1, 2).float().div_(255)
    mean_ = torch.tensor(mean, device=device).view(1, 3, 1, 1)
    std_ = torch.tensor(std, device=device).view(1, 3, 1, 1)
    return (batch - mean_) / std_


def _encode(loaded: LoadedModel, crops: np.ndarray) -> torch.Tensor:
    """(n, S, S, 3) uint8 crops → (n, F) CNN codes, normalised as the card says."""
    batch = normalised(crops, loaded.card.mean, loaded.card.std, loaded.device)
    if loaded.device.startswith("cuda"):
        batch = batch.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode(), _autocast(loaded.device):
        return loaded.model.features(batch).float()


def _sequence_logits(model: nn.Module, features: torch.Tensor, tracks: list[FaceTrack]) -> Any:
    """All tracks in one padded batch; each sequence in time order, with its true length."""
    longest = max(len(t) for t in tracks)
    padded = features.new_zeros((len(tracks), longest, features.shape[1]))
    for row, track in enumerate(tracks):
        padded[row, : len(track)] = features[list(track.detections)]
    lengths = torch.tensor([len(t) for t in tracks])
    return model.sequence_logits(padded, lengths).float().cpu()


def _check_limits(info: VideoInfo, options: DetectOptions) -> None:
    if options.start is not None and options.start < 0:
        raise DetectionError("The start of the segment must not be negative.")
    if options.start is not None and options.end is not None and options.end <= options.start:
        raise DetectionError("The end of the segment must come after its start.")
    if options.start is not None and options.start >= info.duration_s:
        raise DetectionError(
            f"The segment starts at {options.start:g} s "
            f"but the video lasts only {info.duration_s:.1f} s."
        )
    if options.max_duration_s and info.duration_s > options.max_duration_s:
        raise VideoTooLong(
            f"The video lasts {info.duration_s / 60:.1f} minutes; the limit is "
            f"{options.max_duration_s / 60:.1f} minutes."
        )
    if options.max_pixels and info.width * info.height > options.max_pixels:
        raise VideoTooLarge(
            f"The video is {info.width}×{info.height} pixels, larger than this server accepts."
        )


def _prefetched[T](items: Iterator[T], timings: dict[str, float], name: str) -> Iterator[T]:
    """Produce `items` one step ahead in a thread (decoders release the GIL), time them."""
    slots: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    done = object()

    def offer(item: object) -> None:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            while not stop.is_set():
                began = time.perf_counter()
                item = next(items, done)
                timings[name] = timings.get(name, 0.0) + (time.perf_counter() - began) * 1000
                offer(item)
                if item is done:
                    return
        except BaseException as exc:  # re-raised in the consumer
            offer(exc)

    worker = threading.Thread(target=produce, name="detection-decode", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)
        timings[name] = round(timings.get(name, 0.0), 1)


class _timed:
    """Add the block's wall time in ms to timings[name]."""

    def __init__(self, timings: dict[str, float], name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> None:
        self.began = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        spent = (time.perf_counter() - self.began) * 1000
        self.timings[self.name] = round(self.timings.get(self.name, 0.0) + spent, 1)


def _autocast(device: str) -> Any:
    if device.startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.float16)
    return torch.autocast("cpu", enabled=False)


def _jpeg_data_url(crop: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(crop).save(buffer, format="JPEG", quality=THUMBNAIL_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
