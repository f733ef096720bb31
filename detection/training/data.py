"""Training data: labelled face crops split by identity, and the frame dataset around them."""

import csv
import hashlib
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import Dataset

from detection.training.augment import DEFAULT_SOFTENING, Softening, degrade
from detection.training.sbi import random_blend_params, retouch_params, self_blend

FAKE, REAL = 1, 0
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class CropItem:
    path: Path
    label: int  # 1 fake, 0 real
    identity: str


def read_crop_csv(csv_path: Path) -> list[CropItem]:
    """Read `file,label[,identity]` rows; files are relative to the CSV's folder."""
    items = []
    with Path(csv_path).open(newline="") as handle:
        for row in csv.DictReader(handle):
            label = row["label"].strip().upper()
            if label not in {"REAL", "FAKE"}:
                raise ValueError(f"{csv_path}: label must be REAL or FAKE, not {row['label']!r}")
            items.append(
                CropItem(
                    path=Path(csv_path).parent / row["file"],
                    label=FAKE if label == "FAKE" else REAL,
                    identity=row.get("identity") or row["file"],
                )
            )
    return items


def identity_split(identity: str, seed: int, fractions: tuple[float, float] = (0.8, 0.1)) -> str:
    """Deterministic split of one identity: both sides of a real/fake pair land together."""
    digest = hashlib.sha256(f"{seed}:{identity}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64
    if point < fractions[0]:
        return "train"
    if point < fractions[0] + fractions[1]:
        return "val"
    return "test"


def split_by_identity(items: Sequence[CropItem], seed: int) -> dict[str, list[CropItem]]:
    splits: dict[str, list[CropItem]] = {name: [] for name in SPLITS}
    for item in items:
        splits[identity_split(item.identity, seed)].append(item)
    return splits


def training_crops(items: Sequence[CropItem], fakes: bool) -> list[CropItem]:
    """A split's training crops: all, or (fakes False) its real crops only."""
    return [item for item in items if fakes or item.label == REAL]


def to_tensor(img: Image.Image, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """uint8 RGB image → normalised (3, H, W) float tensor, the model's input convention."""
    array = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
    tensor = array.view(img.height, img.width, 3).permute(2, 0, 1).float().div_(255.0)
    return (tensor - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)


class FrameDataset(Dataset):
    """Face crops → (tensor, label). In training, degrade every crop and turn a fraction of the
    real ones into self-blended fakes (label 1), and a fraction `retouch` of the crops still
    real get their inner face smoothed (label 0); in evaluation, only resize. Without
    `blurred_copies` a blend's copy is never blurred (the draws stay the same).

    With `paired`, every real crop stays real and is also read a second time as its own
    self-blended fake under the very same degradation (items after the crops), as the SBI
    paper trains: the pair differs only by the blend, so the blend is the only cue left.
    """

    def __init__(
        self,
        items: Sequence[CropItem],
        size: int,
        mean: Sequence[float],
        std: Sequence[float],
        *,
        train: bool,
        sbi_fraction: float = 0.0,
        varied_masks: bool = False,
        seed: int = 0,
        jpegs: Sequence[bytes] | None = None,
        paired: bool = False,
        softening: Softening = DEFAULT_SOFTENING,
        retouch: float = 0.0,
        blurred_copies: bool = True,
    ) -> None:
        self.items = list(items)
        self.retouch = retouch
        self.blurred_copies = blurred_copies
        self.softening = softening
        self.size, self.mean, self.std = size, mean, std
        self.train, self.sbi_fraction, self.seed = train, sbi_fraction, seed
        self.varied_masks = varied_masks
        self.paired = paired and train  # an evaluation set never blends
        # The crop behind each self-blended twin, after the crops themselves.
        reals = [i for i, item in enumerate(self.items) if item.label == REAL]
        self._twins = reals if self.paired else []
        self.epoch = 0
        # ~7 KB each: keep in RAM (given directly for crops that are not files).
        self._jpeg = list(jpegs) if jpegs is not None else [i.path.read_bytes() for i in self.items]

    def __len__(self) -> int:
        return len(self.items) + len(self._twins)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        twin = index >= len(self.items)
        if twin:  # a real crop read again as its self-blended fake
            index = self._twins[index - len(self.items)]
        img = Image.open(io.BytesIO(self._jpeg[index])).convert("RGB")
        label = self.items[index].label
        if not self.train:
            img = img.resize((self.size, self.size), Image.BILINEAR)
            return to_tensor(img, self.mean, self.std), label
        # One draw per crop and view: a twin is degraded exactly as its real crop.
        rng = random.Random(f"{self.seed}:{self.epoch}:{index}")
        if twin:
            blend = random.Random(f"{self.seed}:{self.epoch}:{index}:blend")
            params = random_blend_params(
                blend, varied_masks=self.varied_masks, blurred_copy=self.blurred_copies
            )
            img, label = self_blend(img, params), FAKE
        elif not self.paired and label == REAL and rng.random() < self.sbi_fraction:
            params = random_blend_params(
                rng, varied_masks=self.varied_masks, blurred_copy=self.blurred_copies
            )
            img, label = self_blend(img, params), FAKE
        # No draw unless asked for, so recipes without retouching keep their augmentation.
        if label == REAL and self.retouch and rng.random() < self.retouch:
            img = self_blend(img, retouch_params(rng))
        softening = self.softening.for_crop(real=label == REAL)
        return to_tensor(degrade(img, self.size, rng, softening), self.mean, self.std), label
