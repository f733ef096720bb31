"""Engine fixtures: small videos generated once per session with ffmpeg, and a checkpoint."""

import shutil
from pathlib import Path

import pytest
import torch

from tests.support import ffmpeg, has_encoder, real_video, require

# The engine shares two cores with other work. This process calls detect() itself, so it sets
# torch's threads as an engine's owner would (commands it starts read DETECTION_THREADS=1).
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def ffmpeg_ok() -> None:
    require(shutil.which("ffmpeg") is not None, "ffmpeg is not installed")


@pytest.fixture(scope="session")
def face_source() -> Path:
    return real_video("vr-1.mp4")


@pytest.fixture(scope="session")
def videos(tmp_path_factory, ffmpeg_ok, face_source) -> dict[str, Path]:
    """Odd and ordinary inputs, each 1-3 s and a few hundred pixels, made once."""
    root = tmp_path_factory.mktemp("videos")
    src = str(face_source)
    out = {name: root / name for name in ("face.mp4", "vp9.webm", "rotated.mp4", "one.mp4")}
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-an"]
    ffmpeg("-i", src, "-t", "3", "-vf", "scale=360:360", *x264, str(out["face.mp4"]))
    ffmpeg(
        "-i", src, "-t", "2", "-vf", "scale=320:320", "-c:v", "libvpx-vp9", "-b:v", "300k",
        "-deadline", "realtime", "-cpu-used", "8", "-an", str(out["vp9.webm"]),
    )  # fmt: skip
    # Like a phone clip: stored sideways (landscape), tagged so players turn it upright.
    stored = root / "stored.mp4"
    upright_to_stored = "scale=240:240,pad=240:480:0:240,transpose=clock"
    ffmpeg("-i", src, "-t", "2", "-vf", upright_to_stored, *x264, str(stored))
    ffmpeg("-i", str(stored), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(out["rotated.mp4"]))
    ffmpeg("-i", src, "-frames:v", "1", "-vf", "scale=320:320", *x264, str(out["one.mp4"]))
    # Like a DVD or HDV rip: pixels stored squeezed to 2/3 of their width, shown 3:2 wide.
    out["anamorphic.mp4"] = root / "anamorphic.mp4"
    ffmpeg("-i", src, "-t", "2", "-vf", "scale=240:360,setsar=3/2", *x264,
           str(out["anamorphic.mp4"]))  # fmt: skip
    out["noface.mp4"] = root / "noface.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=15", "-t", "2", *x264,
           str(out["noface.mp4"]))  # fmt: skip
    out["two_faces.mp4"] = root / "two_faces.mp4"
    ffmpeg(
        "-t", "3", "-i", src, "-t", "3", "-i", str(real_video("vr-3.mp4")), "-filter_complex",
        "[0:v]scale=300:300,fps=25[a];[1:v]scale=300:300,fps=25[b];[a][b]hstack=shortest=1",
        *x264, str(out["two_faces.mp4"]),
    )  # fmt: skip
    # Truncations: moov at the end (header lost) and moov first (picture data cut short).
    full = out["face.mp4"].read_bytes()
    out["truncated.mp4"] = root / "truncated.mp4"
    out["truncated.mp4"].write_bytes(full[: len(full) // 2])
    faststart = root / "faststart.mp4"
    ffmpeg("-i", str(out["face.mp4"]), "-c", "copy", "-movflags", "+faststart", str(faststart))
    data = faststart.read_bytes()
    out["cut.mp4"] = root / "cut.mp4"
    out["cut.mp4"].write_bytes(data[: len(data) // 2])
    out["not_video.mp4"] = root / "not_video.mp4"
    out["not_video.mp4"].write_text("This is a text file with a video name.\n" * 50)
    out["empty.mp4"] = root / "empty.mp4"
    out["empty.mp4"].write_bytes(b"")
    return out


@pytest.fixture(scope="session")
def av1_video(tmp_path_factory, ffmpeg_ok, face_source) -> Path:
    encoder = next((e for e in ("libsvtav1", "libaom-av1") if has_encoder(e)), None)
    require(encoder is not None, "ffmpeg has no AV1 encoder")
    path = tmp_path_factory.mktemp("av1") / "av1.mp4"
    speed = ["-preset", "12"] if encoder == "libsvtav1" else ["-cpu-used", "8", "-row-mt", "1"]
    ffmpeg("-i", str(face_source), "-t", "1", "-vf", "scale=256:256", "-c:v", encoder, *speed,
           "-an", str(path))  # fmt: skip
    return path


def make_checkpoint(path: Path, *, trained: bool) -> Path:
    """A randomly initialised CNN-LSTM; `trained=True` only to exercise the CLI's output."""
    import torch

    from detection.models import ModelCard, create_model, save_checkpoint

    torch.manual_seed(0)
    model = create_model("cnn_lstm_mobilenet_v2", hidden_size=32)
    card = ModelCard(
        architecture="cnn_lstm_mobilenet_v2",
        config={"hidden_size": 32},
        input_size=112,
        frames=8,
        trained=trained,
        version="test",
        notes="random weights made by the test suite",
    )
    save_checkpoint(model, card, path)
    return path


@pytest.fixture(scope="session")
def untrained_checkpoint(tmp_path_factory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("model") / "untrained.pt", trained=False)


@pytest.fixture(scope="session")
def claims_trained_checkpoint(tmp_path_factory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("model") / "claims-trained.pt", trained=True)
