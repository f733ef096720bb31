"""What the internet does to a video before a user checks it: re-encodes, rescales, sharpening.

`evaluate_detector --reencode NAME` scores every video after one of these, so its figures,
false alarms above all, can be read on video as users meet it and not only as its source
shipped it. The detector reads no audio, so it is dropped.
"""

import subprocess
from pathlib import Path

from detection.errors import DetectionError

# An ffmpeg scale to a short side of N pixels, whatever the orientation (even sides for x264).
_SHORT_SIDE = "scale='if(gt(iw,ih),-2,{n})':'if(gt(iw,ih),{n},-2)':flags={flags}"
_X264 = ("-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p")

REENCODINGS: dict[str, tuple[str, ...]] = {
    # a platform's heavy re-encode: blocking and smeared detail at the same size
    "crf36": (*_X264, "-crf", "36"),
    # upscaled for a full-screen player: large, soft faces
    "up1080": ("-vf", _SHORT_SIDE.format(n=1080, flags="lanczos"), *_X264, "-crf", "18"),
    # an editor's or a phone's sharpening: crisper edges than the source had
    "sharpen": ("-vf", "unsharp=5:5:1.2:5:5:0.0", *_X264, "-crf", "18"),
    # a small repost: faces down to a few dozen pixels
    "down240": ("-vf", _SHORT_SIDE.format(n=240, flags="area"), *_X264, "-crf", "26"),
}


class ReencodeFailed(DetectionError):
    """ffmpeg could not re-encode the video."""


def reencode(source: Path, name: str, out_dir: Path, timeout_s: float = 600) -> Path:
    """`source` after the named re-encode, written into `out_dir`."""
    target = out_dir / f"{Path(source).stem}-{name}.mp4"
    command = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source)]
    try:
        done = subprocess.run(
            [*command, *REENCODINGS[name], "-an", str(target)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired as exc:
        raise ReencodeFailed(f"ffmpeg took over {timeout_s:.0f} s to re-encode the video") from exc
    if done.returncode != 0 or not target.is_file():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ReencodeFailed(f"ffmpeg could not re-encode the video ({name}): {last}")
    return target
