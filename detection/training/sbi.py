"""Self-blended images (Shiohara & Yamasaki, CVPR 2022): fakes made from one real face.

The inner face is replaced by a colour- and geometry-jittered copy of itself inside a soft,
deformed face mask. The result carries the blending boundary and the colour/scale mismatch
that every face swap leaves, without the identity change, so a detector learns the
artefact rather than a dataset's faces. The mask sits where the face sits in an Unmask crop
(box + margin, centred): an ellipse or, for training with `varied_masks`, also a deformed
face outline or a smaller inner-face region, as the paper's landmark hulls and elastic
deformation give, so no single boundary shape becomes the cue. The same BlendParams applied
to every crop of a track give a temporally consistent fake sequence.
"""

import dataclasses
import math
import random

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from detection.models.blend_contrast import BlendParams

OUTLINE_VERTICES = 12


def _ellipse_mask(rng: random.Random) -> dict:
    """An elliptical face mask's draws: centre, semi-axes and edge blur, first in each stream."""
    return {
        "centre": (rng.uniform(0.46, 0.54), rng.uniform(0.48, 0.58)),
        "axes": (rng.uniform(0.26, 0.40), rng.uniform(0.32, 0.46)),
        "mask_blur": rng.uniform(0.01, 0.06),
    }


def random_blend_params(
    rng: random.Random, *, varied_masks: bool = False, blurred_copy: bool = True
) -> BlendParams:
    """Random blend parameters. With varied_masks two masks in three are deformed outlines,
    half of them shrunk to the inner face; without it the draws are the ellipse recipe's
    exactly, so validation and test fakes stay the same from run to run. Without
    blurred_copy the copy's blur is drawn as ever and set to 0: every other draw stays the
    same, and a softer inner face is never by itself what makes the fake."""
    params = BlendParams(
        **_ellipse_mask(rng),
        ratio=rng.choice([0.5, 0.75, 1.0, 1.0, 1.0]),
        scale=rng.uniform(0.94, 1.06),
        shift=(rng.uniform(-0.03, 0.03), rng.uniform(-0.03, 0.03)),
        brightness=rng.uniform(0.85, 1.15),
        contrast=rng.uniform(0.85, 1.15),
        saturation=rng.uniform(0.8, 1.2),
        rgb_shift=(rng.uniform(-12, 12), rng.uniform(-12, 12), rng.uniform(-12, 12)),
        sharpen=rng.random() < 0.3,
        blur=rng.choice([0.0, 0.0, rng.uniform(0.4, 1.2)]),
    )
    if not blurred_copy:
        params = dataclasses.replace(params, blur=0.0)
    if not varied_masks or rng.random() < 1 / 3:
        return params
    shrink = rng.uniform(0.6, 0.85) if rng.random() < 0.5 else 1.0
    return dataclasses.replace(
        params,
        centre=(params.centre[0], params.centre[1] + (1 - shrink) * 0.1),  # eyes to mouth
        axes=(params.axes[0] * shrink, params.axes[1] * shrink),
        wobble=tuple(rng.uniform(0.8, 1.15) for _ in range(OUTLINE_VERTICES)),
    )


def retouch_params(rng: random.Random) -> BlendParams:
    """A beauty filter's skin smoothing as a blend: the inner face blurred inside a face mask,
    with no colour or geometry change. Applied to a real face, the result stays real: it
    teaches that a softer inner face alone is not a blend."""
    return BlendParams(
        **_ellipse_mask(rng),
        ratio=1.0,
        scale=1.0,
        shift=(0.0, 0.0),
        brightness=1.0,
        contrast=1.0,
        saturation=1.0,
        rgb_shift=(0.0, 0.0, 0.0),
        sharpen=False,
        blur=rng.uniform(0.5, 2.0),
    )


def _jittered_copy(img: Image.Image, p: BlendParams) -> np.ndarray:
    copy = ImageEnhance.Brightness(img).enhance(p.brightness)
    copy = ImageEnhance.Contrast(copy).enhance(p.contrast)
    copy = ImageEnhance.Color(copy).enhance(p.saturation)
    if p.sharpen:
        copy = copy.filter(ImageFilter.SHARPEN)
    if p.blur > 0:
        copy = copy.filter(ImageFilter.GaussianBlur(p.blur))
    w, h = img.size
    sw, sh = max(1, round(w * p.scale)), max(1, round(h * p.scale))
    scaled = copy.resize((sw, sh), Image.BILINEAR)
    canvas = img.copy()
    canvas.paste(
        scaled, (round((w - sw) / 2 + p.shift[0] * w), round((h - sh) / 2 + p.shift[1] * h))
    )
    array = np.asarray(canvas, dtype=np.float32) + np.asarray(p.rgb_shift, dtype=np.float32)
    return np.clip(array, 0, 255)


def _hard_mask(size: tuple[int, int], p: BlendParams) -> Image.Image:
    w, h = size
    if p.wobble:
        step = 2 * math.pi / len(p.wobble)
        outline = [
            (
                (p.centre[0] + p.axes[0] * r * math.cos(k * step)) * w,
                (p.centre[1] + p.axes[1] * r * math.sin(k * step)) * h,
            )
            for k, r in enumerate(p.wobble)
        ]
        hard = Image.new("L", size, 0)
        ImageDraw.Draw(hard).polygon(outline, fill=255)
        return hard
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    inside = ((xs / w - p.centre[0]) / p.axes[0]) ** 2 + ((ys / h - p.centre[1]) / p.axes[1]) ** 2
    return Image.fromarray(((inside <= 1.0) * 255).astype(np.uint8))


def face_mask(size: tuple[int, int], p: BlendParams) -> np.ndarray:
    """A soft mask in [0, 1] of shape (height, width): an ellipse or a deformed outline."""
    w, _ = size
    hard = _hard_mask(size, p)
    soft = hard.filter(ImageFilter.GaussianBlur(max(0.5, p.mask_blur * w)))
    return np.asarray(soft, dtype=np.float32) / 255.0 * p.ratio


def self_blend(img: Image.Image, p: BlendParams) -> Image.Image:
    """Blend the jittered copy of img into img inside the face mask."""
    source = np.asarray(img, dtype=np.float32)
    mask = face_mask(img.size, p)[..., None]
    blended = mask * _jittered_copy(img, p) + (1.0 - mask) * source
    return Image.fromarray(np.clip(blended + 0.5, 0, 255).astype(np.uint8))
