"""What the internet does to a video before a user checks it: re-encodes, rescales, sharpening.

`evaluate_detector --reencode NAME` scores every video after one of these, so its figures,
false alarms above all, can be read on video as users meet it and not only as its source
shipped it. The detector reads no audio, so it is dropped.
"""

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from detection.errors import DetectionError

# An ffmpeg scale to a short side of N pixels, whatever the orientation (even sides for x264).
_SHORT_SIDE = "scale='if(gt(iw,ih),-2,{n})':'if(gt(iw,ih),{n},-2)':flags={flags}"
_X264 = ("-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p")


@dataclass(frozen=True)
class Reencoding:
    what: str  # what it stands for, in the command's help and the model card
    args: tuple[str, ...]  # ffmpeg output options


REENCODINGS: dict[str, Reencoding] = {
    "crf36": Reencoding("a heavy re-encode", (*_X264, "-crf", "36")),
    "up1080": Reencoding(
        "upscaled to a 1080-px short side",
        ("-vf", _SHORT_SIDE.format(n=1080, flags="lanczos"), *_X264, "-crf", "18"),
    ),
    "sharpen": Reencoding(
        "sharpened, as editors and phones do",
        ("-vf", "unsharp=5:5:1.2:5:5:0.0", *_X264, "-crf", "18"),
    ),
    "down240": Reencoding(
        "a small repost, 240 px short side",
        ("-vf", _SHORT_SIDE.format(n=240, flags="area"), *_X264, "-crf", "26"),
    ),
}


class ReencodeFailed(DetectionError):
    """ffmpeg could not re-encode the video."""


def described() -> str:
    """Every re-encode's name and what it stands for, in one line."""
    return ", ".join(f"{name} ({r.what})" for name, r in REENCODINGS.items())


@contextmanager
def reencoded(source: Path, name: str | None, timeout_s: float = 600) -> Iterator[Path]:
    """`source` itself without a name; else its named re-encode, deleted on leaving."""
    if name is None:
        yield Path(source)
        return
    with tempfile.TemporaryDirectory(prefix="unmask-reencode-") as scratch:
        target = Path(scratch) / f"{Path(source).stem}-{name}.mp4"
        command = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source)]
        try:
            done = subprocess.run(
                [*command, *REENCODINGS[name].args, "-an", str(target)],
                capture_output=True,
                text=True,
                timeout=timeout_s,
            )
        except subprocess.TimeoutExpired as exc:
            raise ReencodeFailed(
                f"ffmpeg took over {timeout_s:.0f} s to re-encode the video"
            ) from exc
        if done.returncode != 0 or not target.is_file():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise ReencodeFailed(f"ffmpeg could not re-encode the video ({name}): {last}")
        yield target
