"""Probe a video and decode only N evenly spaced frames of it, at a bounded size.

decord reads most files fastest; PyAV (FFmpeg) is the fallback for what decord cannot read
(AV1 among others). Frames come out as players show them: upright (rotation metadata applied)
and with square pixels (anamorphic video stretched to its display aspect), RGB, uint8, and at
most `max_side` pixels on their long side, so memory stays at N frames whatever the length.
"""

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

from detection.errors import UnreadableVideo

logger = logging.getLogger(__name__)

CHUNK_FRAMES = 8  # frames decoded per batch: bounds memory and lets decoding overlap the rest
_CONTAINER_MAGIC = (b"ftyp", b"moov", b"mdat", b"free", b"wide")  # ISO-BMFF box names at byte 4
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"  # Matroska / WebM
# FFmpeg's demuxers for single pictures: a photo renamed .mp4 opens as a one-frame "video".
_STILL_IMAGE_FORMATS = {
    "image2",
    "jpeg_pipe",
    "png_pipe",
    "webp_pipe",
    "bmp_pipe",
    "tiff_pipe",
    "gif_pipe",
    "jpegxl_pipe",
    "qoi_pipe",
    "dpx_pipe",
    "pam_pipe",
    "pgm_pipe",
    "ppm_pipe",
    "svg_pipe",
}


@dataclass(frozen=True)
class VideoInfo:
    """What the container says; width/height are as displayed (pixel aspect, rotation applied)."""

    duration_s: float
    fps: float
    frame_count: int
    width: int
    height: int
    codec: str
    rotation: int  # degrees clockwise applied to stored frames to show them upright

    def to_dict(self) -> dict[str, Any]:
        return {
            "duration_s": round(self.duration_s, 3),
            "fps": round(self.fps, 3),
            "width": self.width,
            "height": self.height,
            "codec": self.codec,
            "rotation": self.rotation,
        }


@dataclass(frozen=True, eq=False)
class FrameChunk:
    """A few decoded frames: images (n, H, W, 3) uint8 RGB upright, with their indices."""

    images: np.ndarray
    indices: tuple[int, ...]
    times_s: tuple[float, ...]


@dataclass(frozen=True, eq=False)
class Frames:
    """All sampled frames of one video (for callers that want them at once)."""

    images: np.ndarray
    indices: tuple[int, ...]
    times_s: tuple[float, ...]
    scale: float  # decoded size / displayed full size
    decoder: str
    missing: tuple[int, ...] = field(default=())  # sampled indices that failed to decode


@dataclass
class FramePlan:
    """Which frames to decode, with which decoder, at which size; filled as decoding goes."""

    path: Path
    info: VideoInfo
    indices: tuple[int, ...]
    size: tuple[int, int]  # decoded (width, height), as displayed
    scale: float
    decoder: str
    missing: list[int] = field(default_factory=list)


def probe(path: Path) -> VideoInfo:
    """Read the container and decode its first frame; refuse anything that is not a video."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableVideo(f"There is no file at {path}.")
    if path.stat().st_size == 0:
        raise UnreadableVideo("The file is empty.")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        logger.info("probe %s: %s", path, exc)
        raise UnreadableVideo(_unopenable_reason(path)) from exc
    with container:
        if container.format.name in _STILL_IMAGE_FORMATS:
            raise UnreadableVideo(
                "The file is a still image, not a video: Unmask checks videos of people."
            )
        if not container.streams.video:
            raise UnreadableVideo("The file has no video track.")
        stream = container.streams.video[0]
        try:
            first = next(container.decode(stream), None)
        except (av.FFmpegError, OSError) as exc:
            logger.info("probe %s: first frame: %s", path, exc)
            first = None
        if first is None:
            raise UnreadableVideo("The video could not be decoded: not a single frame is readable.")
        rotation = int(-round(first.rotation or 0)) % 360
        fps = float(stream.average_rate or stream.guessed_rate or 0) or 25.0
        duration = _duration_s(container, stream)
        frame_count = int(stream.frames or 0) or max(1, round(duration * fps))
        stored_w, stored_h = stream.codec_context.width or first.width, first.height
        stored_w = max(2, round(stored_w * _pixel_aspect(stream)))
        width, height = (stored_h, stored_w) if rotation in (90, 270) else (stored_w, stored_h)
        return VideoInfo(
            duration_s=duration or frame_count / fps,
            fps=fps,
            frame_count=frame_count,
            width=int(width),
            height=int(height),
            codec=stream.codec_context.name,
            rotation=rotation,
        )


def _pixel_aspect(stream: av.VideoStream) -> float:
    """Width of a stored pixel over its height (1 when unknown or implausible).

    Anamorphic video (DVD and broadcast rips, 1440x1080 HD) stores squeezed pixels: read as
    stored, every face in it would be stretched or squashed.
    """
    sar = stream.sample_aspect_ratio
    if not sar or sar.numerator <= 0 or sar.denominator <= 0:
        return 1.0
    ratio = sar.numerator / sar.denominator
    return ratio if 0.25 <= ratio <= 4 else 1.0


def sample_indices(
    frame_count: int, fps: float, n: int, start: float | None = None, end: float | None = None
) -> list[int]:
    """N frame indices evenly spread over the video or over [start, end) seconds."""
    first = 0 if start is None else max(0, math.floor(start * fps))
    last = frame_count - 1 if end is None else min(frame_count - 1, math.ceil(end * fps) - 1)
    if first > last:
        raise UnreadableVideo("The requested segment lies outside the video.")
    span = last - first + 1
    if span <= n:
        return list(range(first, last + 1))
    # Centre of each of n equal bins: never the very first black frame, symmetric coverage.
    step = span / n
    return [first + int(step * (i + 0.5)) for i in range(n)]


def plan_frames(
    path: Path,
    info: VideoInfo,
    n: int,
    *,
    start: float | None = None,
    end: float | None = None,
    max_side: int = 1920,
) -> FramePlan:
    """Pick the decoder (decord if it opens the file) and the frames and size to decode."""
    scale = min(1.0, max_side / max(info.width, info.height))
    size = (max(2, round(info.width * scale)), max(2, round(info.height * scale)))
    frame_count, decoder = info.frame_count, "pyav"
    if _decord_can_read(info.codec):
        reader = _open_decord(path, size)
        if reader is not None:
            frame_count, decoder = len(reader), "decord"
            del reader
    indices = sample_indices(frame_count, info.fps, n, start, end)
    return FramePlan(Path(path), info, tuple(indices), size, scale, decoder)


def iter_frames(plan: FramePlan) -> Iterator[FrameChunk]:
    """Decode the planned frames in chunks of CHUNK_FRAMES, in time order."""
    decode = _decord_chunks if plan.decoder == "decord" else _pyav_chunks
    for images, indices in decode(plan):
        times = tuple(round(i / plan.info.fps, 3) for i in indices)
        yield FrameChunk(images, tuple(indices), times)


def sample_frames(
    path: Path,
    n: int,
    *,
    start: float | None = None,
    end: float | None = None,
    max_side: int = 1920,
    info: VideoInfo | None = None,
) -> Frames:
    """Decode N evenly spaced frames at once; raises UnreadableVideo when none decodes."""
    info = info or probe(path)
    plan = plan_frames(path, info, n, start=start, end=end, max_side=max_side)
    chunks = list(iter_frames(plan))
    if not chunks:
        raise UnreadableVideo("The video could not be decoded: none of its frames is readable.")
    return Frames(
        images=np.concatenate([c.images for c in chunks]),
        indices=tuple(i for c in chunks for i in c.indices),
        times_s=tuple(t for c in chunks for t in c.times_s),
        scale=plan.scale,
        decoder=plan.decoder,
        missing=tuple(plan.missing),
    )


def _unopenable_reason(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(12)
    if head[4:8] in _CONTAINER_MAGIC or head.startswith(_EBML_MAGIC):
        return "The video file is truncated or damaged and cannot be read."
    return "The file is not a video in a format we can read."


def _duration_s(container: av.container.InputContainer, stream: av.VideoStream) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return 0.0


def _decord_can_read(codec: str) -> bool:
    """decord's bundled FFmpeg has no AV1 decoder; it fails or hangs on such files."""
    return codec not in {"av1", "libdav1d", "libaom-av1"}


def _open_decord(path: Path, size: tuple[int, int]) -> Any | None:
    import decord

    try:
        # num_threads>=1: with 0 decord's VP9 decoding breaks. decord applies the rotation
        # metadata itself, so width/height are the displayed ones.
        return decord.VideoReader(
            str(path), ctx=decord.cpu(0), num_threads=1, width=size[0], height=size[1]
        )
    except Exception as exc:  # decord raises its own DECORDError and RuntimeError
        logger.info("decord cannot open %s (%s); using PyAV", path, exc)
        return None


def _decord_chunks(plan: FramePlan) -> Iterator[tuple[np.ndarray, list[int]]]:
    reader = _open_decord(plan.path, plan.size)
    if reader is None:
        yield from _pyav_chunks(plan)
        return
    for chunk in _chunked(plan.indices):
        try:
            yield reader.get_batch(list(chunk)).asnumpy(), list(chunk)
            continue
        except Exception as exc:  # a damaged stretch: retry frame by frame
            logger.info("decord batch %s..%s failed: %s", chunk[0], chunk[-1], exc)
        images, good = [], []
        for index in chunk:
            try:
                images.append(reader[index].asnumpy())
                good.append(index)
            except Exception:
                plan.missing.append(index)
        if good:
            yield np.stack(images), good


def _pyav_chunks(plan: FramePlan) -> Iterator[tuple[np.ndarray, list[int]]]:
    """Seek to each wanted frame when it is far ahead, else keep decoding forward.

    FFmpeg hands PyAV frames as stored, so they are turned upright here.
    """
    width, height = plan.size
    if plan.info.rotation in (90, 270):
        width, height = height, width
    try:
        container = av.open(str(plan.path))
    except (av.FFmpegError, OSError) as exc:
        raise UnreadableVideo("The video could not be decoded.") from exc
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps, base = plan.info.fps, float(stream.time_base or 1 / 90000)
        start_s = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        frames = None
        last_t = math.inf
        images: list[np.ndarray] = []
        good: list[int] = []
        for index in plan.indices:
            target = start_s + index / fps
            if frames is None or target < last_t or target - last_t > 2.0:
                container.seek(int(target / base), stream=stream, backward=True)
                frames = container.decode(stream)
            found = None
            try:
                for frame in frames:
                    last_t = float(frame.pts * base) if frame.pts is not None else last_t
                    if last_t >= target - 0.5 / fps:
                        found = frame
                        break
            except (av.FFmpegError, OSError) as exc:
                logger.info("PyAV decode near frame %s failed: %s", index, exc)
                frames = None
            if found is None:
                plan.missing.append(index)
                frames = None
                continue
            image = found.to_ndarray(width=width, height=height, format="rgb24")
            images.append(_rotate(image, plan.info.rotation))
            good.append(index)
            if len(good) == CHUNK_FRAMES:
                yield np.stack(images), good
                images, good = [], []
        if good:
            yield np.stack(images), good


def _chunked(items: Sequence[int]) -> Iterator[Sequence[int]]:
    for i in range(0, len(items), CHUNK_FRAMES):
        yield items[i : i + CHUNK_FRAMES]


def _rotate(image: np.ndarray, rotation: int) -> np.ndarray:
    """Turn a stored (H, W, 3) frame clockwise by `rotation` degrees."""
    if rotation % 360 == 0:
        return image
    return np.ascontiguousarray(np.rot90(image, k=-(rotation // 90)))
