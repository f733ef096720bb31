"""Real-world degradations for training crops: what a video looks like after the internet.

Works on PIL images, one at a time, inside DataLoader workers.
"""

import io
import random
from dataclasses import dataclass

from PIL import Image, ImageEnhance, ImageFilter


@dataclass(frozen=True)
class Softening:
    """How often a training crop is blurred, and how often down- then up-scaled. By default
    both labels get them alike, so softness alone must never read as fake. Real crops may have
    their own odds (`real_blur`, `real_rescale`; None: as fakes'), since face swaps are soft to
    begin with and equal odds may leave softer meaning faker (run 24 tried; see config.py)."""

    blur: float = 0.2
    rescale: float = 0.25
    real_blur: float | None = None
    real_rescale: float | None = None

    def for_crop(self, real: bool) -> "Softening":
        """The odds one crop of this label gets."""
        if not real:
            return Softening(self.blur, self.rescale)
        return Softening(
            self.blur if self.real_blur is None else self.real_blur,
            self.rescale if self.real_rescale is None else self.real_rescale,
        )


DEFAULT_SOFTENING = Softening()


def jpeg_recompress(img: Image.Image, rng: random.Random) -> Image.Image:
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=rng.randint(30, 95))
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def rescale(img: Image.Image, rng: random.Random) -> Image.Image:
    """Down- then up-scale, as a low-resolution upload re-encoded at a larger size."""
    factor = rng.uniform(0.35, 0.9)
    small = img.resize(
        (max(16, int(img.width * factor)), max(16, int(img.height * factor))),
        rng.choice([Image.BILINEAR, Image.BICUBIC, Image.NEAREST]),
    )
    return small.resize(img.size, Image.BILINEAR)


def colour_jitter(img: Image.Image, rng: random.Random) -> Image.Image:
    img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.7, 1.3))
    img = ImageEnhance.Contrast(img).enhance(rng.uniform(0.7, 1.3))
    return ImageEnhance.Color(img).enhance(rng.uniform(0.6, 1.4))


def add_noise(img: Image.Image, rng: random.Random) -> Image.Image:
    import numpy as np

    array = np.asarray(img, dtype=np.float32)
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(2, 10), array.shape)
    return Image.fromarray(np.clip(array + noise, 0, 255).astype(np.uint8))


def random_crop(img: Image.Image, size: int, rng: random.Random) -> Image.Image:
    """Random crop covering 80–100 % of each side (margin jitter), then resize to size."""
    scale = rng.uniform(0.8, 1.0)
    w, h = int(img.width * scale), int(img.height * scale)
    x, y = rng.randint(0, img.width - w), rng.randint(0, img.height - h)
    return img.crop((x, y, x + w, y + h)).resize((size, size), Image.BILINEAR)


def degrade(
    img: Image.Image, size: int, rng: random.Random, softening: Softening = DEFAULT_SOFTENING
) -> Image.Image:
    """The training augmentation: geometry, colour, then the lossy steps in a random mix."""
    img = random_crop(img, size, rng)
    if rng.random() < 0.5:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    if rng.random() < 0.5:
        img = colour_jitter(img, rng)
    if rng.random() < softening.rescale:
        img = rescale(img, rng)
    if rng.random() < softening.blur:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.5)))
    if rng.random() < 0.2:
        img = add_noise(img, rng)
    if rng.random() < 0.5:
        img = jpeg_recompress(img, rng)
    return img
