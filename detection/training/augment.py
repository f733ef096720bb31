"""Training augmentation for face crops: what a video looks like after the internet.

Every draw is the same for both labels. Resolution in particular spans one wide range (a face
may arrive at a sixth of the crop's side and be upscaled, or sharpened), because the training
reals are softer than much of the world's real video: if only fakes were soft, or only reals
sharp, the model would learn sharpness instead of manipulation.
"""

import io
import random

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

MIN_FACE_SCALE = 0.15  # a rescaled crop passes through a side this share of its own, at least


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
