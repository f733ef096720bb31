"""Find labelled samples in the dataset layouts people have (FaceForensics++, DFDC, Celeb-DF…)."""

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from detection.training.dfdc import FAKE, REAL, read_crop_csv

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".webm", ".mkv", ".m4v"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


@dataclass(frozen=True)
class Sample:
    path: Path
    label: int  # 1 fake, 0 real
    kind: str  # "video" or "image"
    method: str = ""  # how it was made: pristine, faceswap, lipsync, talkinghead, …
    split: str = ""  # a labelled-video CSV's own split (train, val), or test for held-back groups
    group: str = ""  # a person or a source project: never split across train and val


class LayoutError(ValueError):
    """The folder is none of the layouts this reads."""


def _kind(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    return None


def _media_under(folder: Path, label: int) -> list[Sample]:
    return [
        Sample(path, label, kind)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and (kind := _kind(path))
    ]


def find_samples(dataset: Path) -> tuple[str, list[Sample]]:
    """Return (layout name, samples) for a dataset path; raise LayoutError if none fits."""
    dataset = Path(dataset)
    if dataset.is_dir() and (dataset / "labels.csv").is_file():
        dataset = dataset / "labels.csv"
    if dataset.is_file() and dataset.suffix.lower() == ".csv" and _has_column(dataset, "method"):
        return "labelled video csv", read_video_csv(dataset)
    if dataset.is_file() and dataset.suffix.lower() == ".csv":
        return "face-crop csv", [
            Sample(item.path, item.label, "image", group=item.identity)
            for item in read_crop_csv(dataset)
        ]
    if not dataset.is_dir():
        raise LayoutError(f"{dataset} is neither a folder nor a face-crop CSV")
    if (dataset / "List_of_testing_videos.txt").is_file():  # Celeb-DF: "1 path" means real
        samples = []
        for line in (dataset / "List_of_testing_videos.txt").read_text().splitlines():
            if line.strip():
                flag, relative = line.split(maxsplit=1)
                samples.append(Sample(dataset / relative, REAL if flag == "1" else FAKE, "video"))
        return "celeb-df", samples
    if (dataset / "metadata.json").is_file():  # DFDC
        metadata = json.loads((dataset / "metadata.json").read_text())
        return "dfdc", [
            Sample(dataset / name, FAKE if entry["label"].upper() == "FAKE" else REAL, "video")
            for name, entry in sorted(metadata.items())
        ]
    if (dataset / "original_sequences").is_dir():  # FaceForensics++
        samples = _media_under(dataset / "original_sequences", REAL)
        if (dataset / "manipulated_sequences").is_dir():
            samples += _media_under(dataset / "manipulated_sequences", FAKE)
        return "faceforensics++", [s for s in samples if s.kind == "video"]
    if (dataset / "real").is_dir() or (dataset / "fake").is_dir():
        samples = []
        for name, label in (("real", REAL), ("fake", FAKE)):
            if (dataset / name).is_dir():
                samples += _media_under(dataset / name, label)
        return "folder per label", samples
    raise LayoutError(
        f"{dataset}: expected real/ and fake/ folders, a FaceForensics++ tree, DFDC "
        "metadata.json, Celeb-DF List_of_testing_videos.txt, a labelled video CSV "
        "(file,label,method[,split,group]) or a face-crop CSV"
    )


def _has_column(csv_path: Path, name: str) -> bool:
    with Path(csv_path).open(newline="") as handle:
        return name in (next(csv.reader(handle), None) or [])


def read_video_csv(csv_path: Path, test_groups: frozenset[str] = frozenset()) -> list[Sample]:
    """Rows `file,label,method[,split,group]` (the wild set's labels.csv): label 0 real, 1
    fake; files relative to the CSV's `videos/` folder when it has one, else to its own.
    `val` rows of `test_groups` get split `test`: held back for the figures called a test."""
    folder = Path(csv_path).parent
    if (folder / "videos").is_dir():
        folder = folder / "videos"
    samples = []
    with Path(csv_path).open(newline="") as handle:
        for row in csv.DictReader(handle):
            label = row["label"].strip().lower()
            if label not in {"0", "1", "real", "fake"}:
                raise LayoutError(f"{csv_path}: label must be 0/1 or real/fake, not {label!r}")
            split = row.get("split", "")
            if split == "val" and row.get("group") in test_groups:
                split = "test"
            samples.append(
                Sample(
                    path=folder / row["file"],
                    label=FAKE if label in {"1", "fake"} else REAL,
                    kind="video",
                    method=row["method"],
                    split=split,
                    group=row.get("group") or row["file"],
                )
            )
    return samples


def real_video_folder(folder: Path) -> list[Sample]:
    """Every video under a folder of real footage, as training samples (each its own group)."""
    return [
        Sample(s.path, REAL, "video", "pristine", "train", s.path.stem)
        for s in _media_under(Path(folder), REAL)
        if s.kind == "video"
    ]
