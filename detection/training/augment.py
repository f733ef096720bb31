"""Training augmentation for face crops: what a video looks like after the internet.

Every draw is the same for both labels. Resolution in particular spans one wide range (a face
may arrive at a sixth of the crop's side and be upscaled, or sharpened), because the training
reals are softer than much of the world's real video: if only fakes were soft, or only reals
sharp, the model would learn sharpness instead of manipulation.
"""

import io
import random

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

MIN_FACE_SCALE = 0.15  # a rescaled crop passes through a side this share of its own, at least
# Where the mouth and jaw sit in an engine crop, as shares of its side: the face box fills the
# middle 1 / (1 + 2 * margin) of the crop, and MTCNN's box runs from brow to chin.
LOWER_FACE = (0.27, 0.52, 0.73, 0.86)  # left, top, right, bottom


def rescale(img: Image.Image, rng: random.Random) -> Image.Image:
    """Down- then up-scale (log-uniform factor), as a small face upscaled by a player."""
    factor = float(np.exp(rng.uniform(np.log(MIN_FACE_SCALE), 0.0)))
    small = img.resize(
        (max(8, round(img.width * factor)), max(8, round(img.height * factor))),
        rng.choice([Image.BILINEAR, Image.BICUBIC, Image.LANCZOS]),
        reducing_gap=2.0,
    )
    return small.resize(img.size, rng.choice([Image.BILINEAR, Image.BICUBIC]))


def jpeg(img: Image.Image, rng: random.Random) -> Image.Image:
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=rng.randint(30, 95))
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def colour(img: Image.Image, rng: random.Random) -> Image.Image:
    img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.75, 1.25))
    img = ImageEnhance.Contrast(img).enhance(rng.uniform(0.75, 1.25))
    return ImageEnhance.Color(img).enhance(rng.uniform(0.7, 1.3))


def shift_zoom(img: Image.Image, rng: random.Random) -> Image.Image:
    """A crop covering 85–100 % of each side, resized back: the face box's own jitter."""
    scale = rng.uniform(0.85, 1.0)
    w, h = round(img.width * scale), round(img.height * scale)
    x, y = rng.randint(0, img.width - w), rng.randint(0, img.height - h)
    return img.crop((x, y, x + w, y + h)).resize(img.size, Image.BILINEAR)


def augment_crop(crop: np.ndarray, rng: random.Random) -> np.ndarray:
    """One training view of a (S, S, 3) uint8 crop."""
    img = Image.fromarray(crop)
    if rng.random() < 0.7:
        img = shift_zoom(img, rng)
    if rng.random() < 0.5:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if rng.random() < 0.5:
        img = colour(img, rng)
    if rng.random() < 0.5:
        img = rescale(img, rng)
    if rng.random() < 0.15:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    elif rng.random() < 0.15:
        img = img.filter(ImageFilter.UnsharpMask(radius=2, percent=rng.randint(50, 150)))
    if rng.random() < 0.5:
        img = jpeg(img, rng)
    return np.asarray(img)


def lower_face_mask(size: int, rng: random.Random) -> Image.Image:
    """A soft mask over the mouth and jaw, jittered in place, size and shape.

    Lip-sync tools regenerate this region and paste it back over the untouched upper face:
    Wav2Lip's family as a box, others through a feathered ellipse.
    """
    left, top, right, bottom = (v + rng.uniform(-0.04, 0.04) for v in LOWER_FACE)
    box = [round(v * size) for v in (left, top, right, bottom)]
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    if rng.random() < 0.5:
        draw.rectangle(box, fill=255)
    else:
        draw.ellipse(box, fill=255)
    return mask.filter(ImageFilter.GaussianBlur(rng.uniform(1.0, 0.04 * size)))


def resynthesise_lower_face(crop: np.ndarray, rng: random.Random) -> np.ndarray:
    """A real crop made into a lip-sync-like fake: the mouth and jaw re-rendered at another
    resolution or sharpness than the rest of the face, then blended back.

    This teaches the cue lip-sync leaves (a lower face that does not match the upper face in
    detail), which face-swap and talking-head training videos do not show.
    """
    img = Image.fromarray(crop)
    size = img.width
    redone = img
    if rng.random() < 0.7:
        factor = rng.uniform(0.25, 0.75)
        small = redone.resize((max(8, round(size * factor)),) * 2, Image.BILINEAR)
        redone = small.resize((size, size), rng.choice([Image.BILINEAR, Image.BICUBIC]))
    if rng.random() < 0.3:
        redone = redone.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5)))
    if redone is img or rng.random() < 0.25:
        redone = redone.filter(ImageFilter.UnsharpMask(radius=2, percent=rng.randint(80, 200)))
    if rng.random() < 0.3:
        redone = ImageEnhance.Brightness(redone).enhance(rng.uniform(0.9, 1.1))
    return np.asarray(Image.composite(redone, img, lower_face_mask(size, rng)))
