"""Self-blended fake *videos*: every frame's face blended with one set of BlendParams.

Used to measure the whole engine (decode → faces → tracks → CNN-LSTM) on held-out real
videos against fakes made from them, which no frame of training has seen.
"""

import random
import subprocess
from pathlib import Path

import av
import numpy as np
from PIL import Image

from detection.training.sbi import random_blend_params, self_blend

MARGIN = 0.2


def make_sbi_video(source: Path, target: Path, seed: int, max_seconds: float = 30.0) -> Path:
    """Write an H.264 mp4 of `source` whose largest face is self-blended in every frame."""
    from detection.faces import get_detector

    params = random_blend_params(random.Random(seed))
    detector = get_detector("cpu")
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 25)
        frames = []
        for frame in container.decode(stream):
            if frame.time is not None and frame.time > max_seconds:
                break
            frames.append(frame.to_ndarray(format="rgb24"))
    height, width = frames[0].shape[:2]
    encoder = subprocess.Popen(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
         "-s", f"{width}x{height}", "-r", f"{fps}", "-i", "-", "-c:v", "libx264",
         "-crf", "18", "-pix_fmt", "yuv420p", str(target)],
        stdin=subprocess.PIPE,
    )  # fmt: skip
    assert encoder.stdin is not None
    for start in range(0, len(frames), 16):
        batch = np.stack(frames[start : start + 16])
        for image, faces in zip(batch, detector.detect(batch), strict=True):
            if faces:
                box = max(faces, key=lambda b: b.side)
                side = box.side * (1 + 2 * MARGIN)
                cx, cy = box.center
                x1, y1 = max(0, round(cx - side / 2)), max(0, round(cy - side / 2))
                x2, y2 = min(width, round(cx + side / 2)), min(height, round(cy + side / 2))
                if x2 - x1 > 8 and y2 - y1 > 8:
                    region = Image.fromarray(image[y1:y2, x1:x2])
                    image[y1:y2, x1:x2] = np.asarray(self_blend(region, params))
            encoder.stdin.write(image.tobytes())
    encoder.stdin.close()
    if encoder.wait() != 0:
        raise RuntimeError(f"ffmpeg failed to write {target}")
    return target
