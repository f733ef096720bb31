"""Labelled face-crop images (DFDC's `file,label,identity` CSV), split by identity."""

import csv
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

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


def load_images(items: Sequence[CropItem], size: int) -> np.ndarray:
    """(n, size, size, 3) uint8 RGB, each image resized as the engine resizes its crops."""
    out = np.zeros((len(items), size, size, 3), dtype=np.uint8)
    for i, item in enumerate(items):
        with Image.open(item.path) as img:
            out[i] = np.asarray(img.convert("RGB").resize((size, size), Image.BILINEAR))
    return out
