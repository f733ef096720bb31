"""Benchmark: our detect() against the decode floor and a naive seed-style pipeline.

Run: .venv/bin/python bench/bench_pipeline.py [--naive-frames K] [--repeats R]

Makes a 30 s 1080p H.264 clip from ../shared/data/real-videos, then prints, from one run:
our per-video time (model already loaded), the decode floor (decord decoding the same sampled
frames at the same size, nothing else), a naive pipeline (every frame read in order, MTCNN per
full-resolution frame, a ResNeXt50 per crop one at a time; random weights, the cost is the
same; run on the first K frames and extrapolated linearly), the ratios and peak memory. Then a
10-minute 1080p video is analysed in a fresh process to check its peak RSS.
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from detection.models import ModelCard, create_model, load_checkpoint, save_checkpoint  # noqa: E402
from detection.pipeline import DEFAULT_MODEL_PATH, DetectOptions, detect  # noqa: E402
from detection.video import plan_frames, probe  # noqa: E402
from tests.support import REAL_VIDEOS  # noqa: E402

SOURCE = REAL_VIDEOS / "lp-s18.mp4"


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def make_clip(tmp: Path) -> Path:
    clip = tmp / "clip-1080p-30s.mp4"
    ffmpeg(
        "-stream_loop", "-1", "-i", str(SOURCE), "-t", "30", "-vf", "scale=1920:1080",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-an",
        str(clip),
    )  # fmt: skip
    return clip


def model_path(tmp: Path) -> tuple[Path, str]:
    if DEFAULT_MODEL_PATH.is_file() and load_checkpoint(DEFAULT_MODEL_PATH)[1].trained:
        return DEFAULT_MODEL_PATH, "shipped trained checkpoint"
    path = tmp / "random.pt"
    card = ModelCard(architecture="cnn_lstm_mobilenet_v2", trained=False)
    save_checkpoint(create_model("cnn_lstm_mobilenet_v2"), card, path)
    return path, "random-weight mobilenet_v2 checkpoint (same cost as a trained one)"


def decode_floor(clip: Path, frames: int) -> float:
    import decord

    info = probe(clip)
    plan = plan_frames(clip, info, frames)
    began = time.perf_counter()
    reader = decord.VideoReader(
        str(clip), ctx=decord.cpu(0), num_threads=1, width=plan.size[0], height=plan.size[1]
    )
    for i in range(0, len(plan.indices), 8):
        reader.get_batch(list(plan.indices[i : i + 8])).asnumpy()
    return time.perf_counter() - began


def naive(clip: Path, limit: int) -> tuple[float, int, int]:
    """Seed-style: all frames in order, MTCNN per full-res frame, ResNeXt50 per crop."""
    import av
    import torch
    import torchvision
    from facenet_pytorch import MTCNN

    mtcnn = MTCNN(keep_all=True, device="cpu")
    net = torchvision.models.resnext50_32x4d(weights=None).eval()
    began, seen = time.perf_counter(), 0
    with av.open(str(clip)) as container, torch.inference_mode():
        total = container.streams.video[0].frames
        for frame in container.decode(video=0):
            image = frame.to_ndarray(format="rgb24")
            boxes, _ = mtcnn.detect(image)
            for x1, y1, x2, y2 in [] if boxes is None else boxes.astype(int):
                crop = image[max(0, y1) : y2, max(0, x1) : x2]
                tensor = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1).float()
                tensor = torch.nn.functional.interpolate(tensor[None] / 255, size=(224, 224))
                net(tensor)
            seen += 1
            if seen >= limit:
                break
    return time.perf_counter() - began, seen, total


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def long_video_rss(tmp: Path, clip: Path, model: Path) -> dict:
    long = tmp / "clip-1080p-10min.mp4"
    ffmpeg("-stream_loop", "19", "-i", str(clip), "-c", "copy", str(long))
    code = (
        "import json, resource, sys; sys.path.insert(0, sys.argv[1]);"
        "from pathlib import Path; from detection.pipeline import detect, DetectOptions;"
        "r = detect(Path(sys.argv[2]), options=DetectOptions(model_path=Path(sys.argv[3]),"
        " allow_untrained=True));"
        "print(json.dumps({'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,"
        " 'duration_s': r.video.duration_s, 'total_ms': r.timings_ms['total']}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(REPO), str(long), str(model)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naive-frames", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="unmask-bench-") as tmp_name:
        tmp = Path(tmp_name)
        clip = make_clip(tmp)
        model, model_note = model_path(tmp)
        options = DetectOptions(model_path=model, allow_untrained=True, device="cpu")
        first = detect(clip, options=options)  # loads the model and MTCNN once
        frames = first.frames_analyzed
        ours, floor = [], []
        for _ in range(args.repeats):  # interleaved, so load changes hit both alike
            floor.append(decode_floor(clip, frames))
            began = time.perf_counter()
            result = detect(clip, options=options)
            ours.append(time.perf_counter() - began)
        ours_s, floor_s = statistics.median(ours), statistics.median(floor)
        ours_rss = rss_mb()
        naive_s, naive_seen, naive_total = naive(clip, args.naive_frames)
        naive_full = naive_s / naive_seen * naive_total
        long = long_video_rss(tmp, clip, model)
    print(f"clip: 30 s 1920x1080 H.264 from {SOURCE.name}; model: {model_note}")
    print(f"frames sampled: {frames}; faces found: {result.faces_found}")
    print(f"ours (model loaded), median of {args.repeats}: {ours_s:.2f} s  {result.timings_ms}")
    print(f"decode floor (decord, same frames and size), median: {floor_s:.2f} s")
    print(
        f"naive: {naive_s:.2f} s for the first {naive_seen} of {naive_total} frames, "
        f"extrapolated linearly to {naive_full:.1f} s"
    )
    print(f"ours / decode floor: {ours_s / floor_s:.2f}x  (target <= 1.5x)")
    print(f"naive / ours: {naive_full / ours_s:.1f}x faster  (target >= 8x)")
    print(f"peak RSS after our runs (this process, before the naive run): {ours_rss:.0f} MB")
    print(
        f"10-minute 1080p video ({long['duration_s']:.0f} s) in a fresh process: "
        f"peak RSS {long['rss_mb']:.0f} MB (target < 2048 MB), {long['total_ms'] / 1000:.1f} s"
    )


if __name__ == "__main__":
    main()
