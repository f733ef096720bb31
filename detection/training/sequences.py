"""Frame-code sequences for the temporal stage: face tracks of real videos, consistent
self-blended fakes of them, and jittered DFDC crops.

Every clip is augmented consistently (one seed for all its frames), as a real upload would
be: the LSTM must learn what changes over time, not per-frame augmentation noise.
"""

import io
import logging
import random
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from detection.models.cnn_lstm import CnnLstm
from detection.training.augment import DEFAULT_SOFTENING, Softening, degrade
from detection.training.config import TrainConfig
from detection.training.data import FAKE, REAL, CropItem, FrameDataset, to_tensor
from detection.training.sbi import BlendParams, random_blend_params, retouch_params, self_blend

log = logging.getLogger(__name__)
MIN_TRACK = 8


def face_track_crops(video: Path, frames: int, size: int, margin: float) -> list[np.ndarray]:
    """(T, size, size, 3) uint8 crops of every face track of at least MIN_TRACK frames."""
    from detection.faces import get_detector
    from detection.tracks import crop_face, link_tracks
    from detection.video import sample_frames

    sampled = sample_frames(video, frames, max_side=1280)
    detector = get_detector("cpu")
    faces = []
    for start in range(0, len(sampled.images), 16):
        faces += detector.detect(sampled.images[start : start + 16])
    crops = []
    for track in link_tracks(faces):
        if len(track) >= MIN_TRACK:
            crops.append(
                np.stack(
                    [
                        crop_face(sampled.images[p], box, margin=margin, size=size)
                        for p, box in zip(track.positions, track.boxes, strict=True)
                    ]
                )
            )
    return crops


def cached_track_crops(cfg: TrainConfig, video: Path, cache_dir: Path) -> list[np.ndarray]:
    cache = cache_dir / f"{video.stem}-{cfg.track_frames}-{cfg.input_size}.npz"
    if cache.exists():
        with np.load(cache) as data:
            return [data[k] for k in sorted(data.files)]
    crops = face_track_crops(video, cfg.track_frames, cfg.input_size, cfg.face_margin)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **{f"track{i:02d}": c for i, c in enumerate(crops)})
    return crops


def training_videos(cfg: TrainConfig) -> list[str]:
    """The real videos neither validation nor test may see."""
    held_out = set(cfg.val_videos) | set(cfg.test_videos)
    return sorted(p.name for p in Path(cfg.real_videos).glob("*.mp4") if p.name not in held_out)


def reencoded_copy(source: Path, crf: int, cache_dir: Path) -> Path:
    """`source` through H.264 once more at `crf`: the compression real uploads carry."""
    target = cache_dir / f"{source.stem}-crf{crf}.mp4"
    if not target.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.stem}.part.mp4")
        subprocess.run(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(source), "-an",
             "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p",
             str(partial)],
            check=True, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        partial.replace(target)
    return target


def video_tracks(
    cfg: TrainConfig, name: str, cache_dir: Path, crfs: Sequence[int] = ()
) -> list[tuple[Path, np.ndarray]]:
    """Face tracks of the real video `name` and of its H.264 re-encodes at `crfs`, each with
    the file it came from."""
    source = Path(cfg.real_videos) / name
    versions = [source, *(reencoded_copy(source, crf, cache_dir) for crf in crfs)]
    return [
        (video, track) for video in versions for track in cached_track_crops(cfg, video, cache_dir)
    ]


def track_crop_dataset(
    cfg: TrainConfig,
    names: Sequence[str],
    cache_dir: Path,
    *,
    sbi_fraction: float,
    seed: int,
    varied_masks: bool = False,
    crfs: Sequence[int] = (),
    paired: bool = False,
    softening: Softening = DEFAULT_SOFTENING,
    retouch: float = 0.0,
    blurred_copies: bool = True,
) -> FrameDataset:
    """Every face-track crop of the named videos and of their re-encodes at `crfs` as a real
    item; some become self-blended (or, `paired`, each also has a self-blended twin)."""
    items, jpegs = [], []
    for name in names:
        for video, track in video_tracks(cfg, name, cache_dir, crfs):
            for number, crop in enumerate(track):
                buffer = io.BytesIO()
                Image.fromarray(crop).save(buffer, format="JPEG", quality=95)
                jpegs.append(buffer.getvalue())
                items.append(CropItem(Path(f"{video.name}#{number}"), REAL, name))
    return FrameDataset(
        items, cfg.input_size, cfg.mean, cfg.std,
        train=True, sbi_fraction=sbi_fraction, varied_masks=varied_masks, seed=seed, jpegs=jpegs,
        paired=paired, softening=softening, retouch=retouch, blurred_copies=blurred_copies,
    )  # fmt: skip


@dataclass(frozen=True)
class Clip:
    """A recipe for one sequence: which images, label, and the seed of its augmentation."""

    images: tuple[Image.Image, ...]
    label: int
    seed: int
    blend: bool  # apply one self-blend to every frame (a synthesised fake)
    jitter: bool  # per-frame crop jitter (still crops made into pseudo-sequences)
    varied_masks: bool = False  # the blend's mask may be a deformed outline (training only)


def video_clips(
    tracks: Sequence[np.ndarray],
    cfg: TrainConfig,
    count: int,
    seed: int,
    *,
    varied_masks: bool = False,
) -> list[Clip]:
    """`count` real windows of clip_length frames and the same windows self-blended."""
    rng = random.Random(seed)
    usable = [t for t in tracks if len(t) >= MIN_TRACK]
    clips = []
    for number in range(count if usable else 0):
        track = rng.choice(usable)
        length = min(cfg.clip_length, len(track))
        start = rng.randint(0, len(track) - length)
        images = tuple(Image.fromarray(f) for f in track[start : start + length])
        clips.append(Clip(images, REAL, seed * 10007 + 2 * number, blend=False, jitter=False))
        fake_seed = seed * 10007 + 2 * number + 1
        clips.append(
            Clip(images, FAKE, fake_seed, blend=True, jitter=False, varied_masks=varied_masks)
        )
    return clips


def crop_clips(items: Sequence[CropItem], cfg: TrainConfig, count: int, seed: int) -> list[Clip]:
    rng = random.Random(seed)
    chosen = rng.sample(list(items), min(count, len(items)))
    return [
        Clip(
            (Image.open(io.BytesIO(item.path.read_bytes())).convert("RGB"),)
            * cfg.crop_sequence_length,
            item.label,
            seed * 10007 + number,
            blend=False,
            jitter=True,
        )
        for number, item in enumerate(chosen)
    ]


def clip_blend(clip: Clip, cfg: TrainConfig, *, augment: bool) -> BlendParams | None:
    """The one blend applied to every frame: a fake's self-blend or, for a training clip with
    `temporal_retouch`, a real clip's retouch (the frame stage's recipe, the copy's blur
    dropped as it drops it there). Retouching draws from its own stream, so every other draw
    stays the same."""
    retouching = augment and cfg.temporal_retouch
    if clip.blend:
        return random_blend_params(
            random.Random(clip.seed),
            varied_masks=clip.varied_masks,
            blurred_copy=cfg.sbi_blurred_copies or not retouching,
        )
    if retouching and clip.label == REAL:
        rng = random.Random(f"retouch:{clip.seed}")
        if rng.random() < cfg.real_retouch_probability:
            return retouch_params(rng)
    return None


def render_clip(clip: Clip, cfg: TrainConfig, *, augment: bool) -> list[Image.Image]:
    params = clip_blend(clip, cfg, augment=augment)
    frames = []
    for t, image in enumerate(clip.images):
        img = self_blend(image, params) if params else image
        if clip.jitter:
            jitter = random.Random(clip.seed * 131 + t)
            scale = jitter.uniform(0.92, 1.0)
            w, h = round(img.width * scale), round(img.height * scale)
            x, y = jitter.randint(0, img.width - w), jitter.randint(0, img.height - h)
            img = img.crop((x, y, x + w, y + h))
        if augment:
            softening = cfg.softening.for_crop(real=clip.label == REAL)
            img = degrade(img, cfg.input_size, random.Random(clip.seed), softening)
        else:
            img = img.resize((cfg.input_size, cfg.input_size), Image.BILINEAR)
        frames.append(img)
    return frames


@torch.inference_mode()
def encode_clips(
    model: CnnLstm, clips: Sequence[Clip], cfg: TrainConfig, *, augment: bool, desc: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Codes (N, T, F) zero-padded to the longest clip, lengths (N), labels (N)."""
    model.eval()
    length = max(len(c.images) for c in clips)
    codes = torch.zeros(len(clips), length, model.feature_dim)
    lengths = torch.tensor([len(c.images) for c in clips])
    batch: list[torch.Tensor] = []
    owners: list[tuple[int, int]] = []

    def flush() -> None:
        feats = model.features(torch.stack(batch))
        for (i, t), f in zip(owners, feats, strict=True):
            codes[i, t] = f
        batch.clear()
        owners.clear()

    for i, clip in enumerate(tqdm(clips, desc=desc, mininterval=10)):
        for t, img in enumerate(render_clip(clip, cfg, augment=augment)):
            batch.append(to_tensor(img, cfg.mean, cfg.std))
            owners.append((i, t))
        if len(batch) >= 64:
            flush()
    if batch:
        flush()
    return codes, lengths, torch.tensor([c.label for c in clips])
