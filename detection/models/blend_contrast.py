"""A detector that also asks how much more fake a face looks once blended on purpose.

A real face changes a lot when self-blended (its colour step and boundary are new); a face
that is already a blend or a swap changes much less: its evidence was there already. So each
crop is read as it is and after a few fixed reference self-blends, and a frame's logit is its
own minus `frame_weight` times its gap (the reference blends' mean logit minus its own); a
track's is the sequence head's minus `sequence_weight` times its frames' mean gap. The
weights are fitted on validation data; both 0 reads exactly as the inner model.

The blends are done in torch on the model's input, so the engine, evaluation and calibration
read the wrapper like any CNN-LSTM. Each follows `detection.training.sbi.self_blend` (an
ellipse mask, colour and geometry jitter, no blur or sharpening) to within rounding.
"""

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from detection.models.registry import create_model, register_model

LUMA = (0.299, 0.587, 0.114)  # PIL's "L" conversion


@dataclass(frozen=True)
class BlendParams:
    """One self-blend: the training recipe draws them (detection.training.sbi); the shipped
    model reads every crop with a few fixed ones."""

    centre: tuple[float, float]  # ellipse centre, as fractions of width and height
    axes: tuple[float, float]  # ellipse semi-axes, as fractions of width and height
    mask_blur: float  # Gaussian blur radius of the mask, as a fraction of the side
    ratio: float  # blend strength inside the mask
    scale: float  # geometry jitter of the blended copy
    shift: tuple[float, float]  # translation of the copy, as fractions of the side
    brightness: float
    contrast: float
    saturation: float
    rgb_shift: tuple[float, float, float]
    sharpen: bool
    blur: float  # blur radius of the copy (0: none)
    wobble: tuple[float, ...] = ()  # radial factors of an outline's vertices; (): the ellipse


# random_blend_params(random.Random(seed)) for REFERENCE_BLEND_SEEDS, rounded: typical blends
# of the training recipe, the first draws whose copy is neither blurred nor sharpened, chosen
# before any result of the contrast was seen. A model reads the first `blends` of them (the
# shipped one 1). Written out, so a model's reading never moves with the recipe.
REFERENCE_BLEND_SEEDS = (100, 101, 102, 103, 104, 108)
_PLAIN = {"ratio": 1.0, "sharpen": False, "blur": 0.0}
REFERENCE_BLENDS = (
    BlendParams(
        centre=(0.4717, 0.5255), axes=(0.3679, 0.4188), mask_blur=0.0466, scale=1.0008,
        shift=(-0.0234, -0.0227), brightness=1.0710, contrast=0.9290, saturation=1.0635,
        rgb_shift=(3.54, -7.09, -6.49), **_PLAIN,
    ),
    BlendParams(
        centre=(0.5065, 0.4995), axes=(0.3951, 0.4494), mask_blur=0.0334, scale=0.9657,
        shift=(-0.0167, -0.0127), brightness=1.0577, contrast=0.9137, saturation=1.1884,
        rgb_shift=(-10.31, -7.36, -9.87), **_PLAIN,
    ),
    BlendParams(
        centre=(0.4719, 0.5416), axes=(0.2838, 0.4198), mask_blur=0.0404, scale=0.9751,
        shift=(-0.0043, 0.0049), brightness=1.0673, contrast=1.0129, saturation=1.0985,
        rgb_shift=(9.24, -7.55, 6.98), **_PLAIN,
    ),
    BlendParams(
        centre=(0.5383, 0.5256), axes=(0.3606, 0.4229), mask_blur=0.0207, ratio=0.5,
        scale=1.0495, shift=(0.0143, 0.0093), brightness=0.9884, contrast=0.9514,
        saturation=1.0701, rgb_shift=(-0.26, -8.83, 2.0), sharpen=False, blur=0.0,
    ),
    BlendParams(
        centre=(0.5368, 0.5672), axes=(0.3625, 0.3519), mask_blur=0.0265, ratio=0.75,
        scale=1.0368, shift=(-0.029, -0.02), brightness=1.1186, contrast=0.8854,
        saturation=1.0621, rgb_shift=(-4.09, 3.49, 8.69), sharpen=False, blur=0.0,
    ),
    BlendParams(
        centre=(0.4704, 0.5616), axes=(0.3833, 0.3739), mask_blur=0.0238, ratio=0.75,
        scale=1.0564, shift=(-0.012, -0.0192), brightness=1.0634, contrast=0.9453,
        saturation=0.8448, rgb_shift=(-9.97, 1.43, -1.86), sharpen=False, blur=0.0,
    ),
)  # fmt: skip


def _luma(images: Tensor) -> Tensor:
    weights = images.new_tensor(LUMA).view(1, 3, 1, 1)
    return (images * weights).sum(1, keepdim=True)


def _jittered_copy(images: Tensor, blend: BlendParams) -> Tensor:
    """The copy to blend in: colour-jittered as PIL's enhancers do, rescaled and shifted,
    pasted onto the unchanged image."""
    copy = (images * blend.brightness).clamp(0, 255)
    grey_level = torch.floor(_luma(copy).mean((2, 3), keepdim=True) + 0.5)
    copy = (grey_level + blend.contrast * (copy - grey_level)).clamp(0, 255)
    grey = _luma(copy)
    copy = (grey + blend.saturation * (copy - grey)).clamp(0, 255)
    height, width = images.shape[-2:]
    new_h, new_w = max(1, round(height * blend.scale)), max(1, round(width * blend.scale))
    scaled = F.interpolate(copy, (new_h, new_w), mode="bilinear", antialias=True)
    left = round((width - new_w) / 2 + blend.shift[0] * width)
    top = round((height - new_h) / 2 + blend.shift[1] * height)
    x0, y0 = max(0, left), max(0, top)
    x1, y1 = min(width, left + new_w), min(height, top + new_h)
    canvas = images.clone()
    canvas[..., y0:y1, x0:x1] = scaled[..., y0 - top : y1 - top, x0 - left : x1 - left]
    return (canvas + images.new_tensor(blend.rgb_shift).view(1, 3, 1, 1)).clamp(0, 255)


def _mask(blend: BlendParams, height: int, width: int, like: Tensor) -> Tensor:
    """The soft ellipse mask in [0, 1], (height, width)."""
    ys = (torch.arange(height, dtype=like.dtype, device=like.device) / height)[:, None]
    xs = (torch.arange(width, dtype=like.dtype, device=like.device) / width)[None, :]
    inside = ((xs - blend.centre[0]) / blend.axes[0]) ** 2 + (
        (ys - blend.centre[1]) / blend.axes[1]
    ) ** 2 <= 1
    sigma = max(0.5, blend.mask_blur * width)
    radius = math.ceil(3 * sigma)
    taps = torch.arange(-radius, radius + 1, dtype=like.dtype, device=like.device)
    kernel = torch.exp(-(taps**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    mask = F.pad(inside.to(like.dtype)[None, None], (radius,) * 4, mode="replicate")
    mask = F.conv2d(mask, kernel.view(1, 1, 1, -1))
    return F.conv2d(mask, kernel.view(1, 1, -1, 1))[0, 0]


def reference_blend(images: Tensor, blend: BlendParams) -> Tensor:
    """(N, 3, H, W) images in 0-255 → the same images self-blended with `blend` (an ellipse,
    copy neither blurred nor sharpened), rounded to levels as an 8-bit image would be."""
    if blend.blur or blend.sharpen or blend.wobble:
        raise ValueError("a reference blend is an ellipse and does not blur or sharpen")
    mask = _mask(blend, *images.shape[-2:], images) * blend.ratio
    blended = mask * _jittered_copy(images, blend) + (1 - mask) * images
    return torch.floor(blended + 0.5).clamp(0, 255)


class BlendContrast(nn.Module):
    def __init__(
        self,
        inner: nn.Module,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        blends: int,
    ) -> None:
        super().__init__()
        if not 1 <= blends <= len(REFERENCE_BLENDS):
            raise ValueError(f"blends must be 1 to {len(REFERENCE_BLENDS)}, not {blends}")
        self.inner = inner
        self.blends = REFERENCE_BLENDS[:blends]
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1) * 255)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1) * 255)
        # Fitted on validation data; buffers, so the weights' digest changes with them.
        self.register_buffer("frame_weight", torch.zeros(()))
        self.register_buffer("sequence_weight", torch.zeros(()))
        self.width = inner.feature_dim
        self.feature_dim = self.width * (1 + blends)

    def features(self, crops: Tensor) -> Tensor:
        """(N, 3, H, W) normalised crops → (N, (1 + blends) × F): the crops' codes, then each
        reference blend's."""
        images = crops.float() * self.std + self.mean
        views = [crops] + [
            ((reference_blend(images, b) - self.mean) / self.std).to(crops.dtype)
            for b in self.blends
        ]
        return torch.cat([self.inner.features(view) for view in views], dim=-1)

    def frame_parts(self, features: Tensor) -> tuple[Tensor, Tensor]:
        """(..., D) codes → each frame's own logit and its gap."""
        logits = torch.stack(
            [self.inner.frame_logits(f) for f in torch.split(features, self.width, dim=-1)]
        )
        return logits[0], logits[1:].mean(0) - logits[0]

    def sequence_parts(self, features: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor]:
        """(B, T, D) codes → each track's sequence logit and its frames' mean gap."""
        own = self.inner.sequence_logits(features[..., : self.width], lengths)
        _, gaps = self.frame_parts(features)
        if lengths is None:
            return own, gaps.mean(-1)
        valid = torch.arange(gaps.shape[-1], device=gaps.device) < lengths.to(gaps.device)[:, None]
        return own, (gaps * valid).sum(-1) / lengths.to(gaps.device)

    def frame_logits(self, features: Tensor) -> Tensor:
        own, gap = self.frame_parts(features)
        return own - self.frame_weight * gap

    def sequence_logits(self, features: Tensor, lengths: Tensor | None = None) -> Tensor:
        own, gap = self.sequence_parts(features, lengths)
        return own - self.sequence_weight * gap


@register_model
def blend_contrast(
    inner: str,
    mean: list[float],
    std: list[float],
    blends: int,
    **inner_config: Any,
) -> BlendContrast:
    """The registered model `inner`, built with `inner_config`, read with its first `blends`
    reference blends."""
    return BlendContrast(create_model(inner, **inner_config), tuple(mean), tuple(std), blends)
