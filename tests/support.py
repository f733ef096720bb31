"""Shared test helpers: where ../shared/data is, and skips that CI turns into failures."""

import os
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("UNMASK_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
REAL_VIDEOS = SHARED_DATA / "real-videos"
DFDC_FACES = SHARED_DATA / "dfdc-faces"


def require(condition: bool, reason: str) -> None:
    """Skip when something outside the repo is missing; under UNMASK_REQUIRE_ALL=1 (CI), fail."""
    if condition:
        return
    if os.environ.get("UNMASK_REQUIRE_ALL") == "1":
        pytest.fail(f"required for CI but missing: {reason}")
    pytest.skip(reason)


def real_video(name: str = "vr-1.mp4") -> Path:
    path = REAL_VIDEOS / name
    require(path.is_file(), f"{path} not found (../shared/data is read at run time)")
    return path


def train_and_val_videos(folder: Path) -> Path:
    """A real-videos folder of two: train.mp4 (vr-1) to train on, val.mp4 (vr-3) held out."""
    videos = folder / "videos"
    videos.mkdir()
    (videos / "train.mp4").symlink_to(real_video("vr-1.mp4"))
    (videos / "val.mp4").symlink_to(real_video("vr-3.mp4"))
    return videos


def small_crop_csv(folder: Path) -> Path:
    """A crop CSV of the first 200 DFDC crops (100 identities, so each split has some)."""
    faces = DFDC_FACES / "labels.csv"
    require(faces.is_file(), f"{faces} not found (../shared/data is read at run time)")
    rows = (r.split(",") for r in faces.read_text().splitlines()[1:201])
    path = folder / "crops.csv"
    lines = (f"{DFDC_FACES / file},{label},{identity}" for file, label, identity in rows)
    path.write_text("file,label,identity\n" + "\n".join(lines))
    return path


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly; -nostdin, or it can hang under pytest."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", *args],
        check=True, capture_output=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def has_encoder(name: str) -> bool:
    out = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True)
    return f" {name} " in out.stdout


WILD = SHARED_DATA / "wild"


def small_wild_csv(folder: Path, rows: dict[str, str]) -> Path:
    """A labelled video CSV of a few wild-set videos ({file: split}), keeping each row's
    label, method and group, with absolute paths."""
    labels = WILD / "labels.csv"
    require(labels.is_file(), f"{labels} not found (../shared/data is read at run time)")
    lines = ["file,label,method,split,group"]
    for line in labels.read_text().splitlines()[1:]:
        file, label, method, _, group = line.split(",")[:5]
        if file in rows:
            lines.append(f"{WILD / 'videos' / file},{label},{method},{rows[file]},{group}")
    assert len(lines) == len(rows) + 1, "a wild-set file named by the test is missing"
    path = folder / "labels.csv"
    path.write_text("\n".join(lines) + "\n")
    return path
