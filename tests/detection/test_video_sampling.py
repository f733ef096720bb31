"""Probing and frame sampling on ordinary and odd inputs."""

import subprocess

import numpy as np
import pytest

from detection.errors import UnreadableVideo
from detection.video import iter_frames, plan_frames, probe, sample_frames, sample_indices


def test_samples_are_evenly_spread_over_the_whole_video():
    indices = sample_indices(300, 30.0, 10)
    gaps = np.diff(indices)
    assert len(indices) == 10
    assert gaps.min() >= 29 and gaps.max() <= 31
    assert indices[0] < 30 and indices[-1] > 269


def test_samples_stay_inside_the_requested_segment():
    indices = sample_indices(300, 30.0, 8, start=2.0, end=4.0)
    assert all(60 <= i < 120 for i in indices)
    assert len(set(indices)) == 8


def test_a_short_video_gives_every_frame_once():
    assert sample_indices(5, 25.0, 32) == [0, 1, 2, 3, 4]


def test_a_segment_after_the_end_is_refused():
    with pytest.raises(UnreadableVideo, match="outside the video"):
        sample_indices(60, 30.0, 8, start=10.0)


def test_probe_reads_size_rate_length_and_codec(videos):
    info = probe(videos["face.mp4"])
    assert (info.width, info.height, info.codec, info.rotation) == (360, 360, "h264", 0)
    assert info.fps == pytest.approx(30, abs=0.5)
    assert info.duration_s == pytest.approx(3.0, abs=0.2)
    assert 85 <= info.frame_count <= 92


def test_only_the_sampled_frames_are_decoded_at_bounded_size(videos):
    frames = sample_frames(videos["face.mp4"], 6, max_side=200)
    assert frames.images.shape == (6, 200, 200, 3)
    assert frames.images.dtype == np.uint8
    assert frames.decoder == "decord"
    assert frames.scale == pytest.approx(200 / 360)
    assert list(frames.times_s) == pytest.approx([i / 30 for i in frames.indices], abs=1e-3)


def test_vp9_webm_is_decoded(videos):
    frames = sample_frames(videos["vp9.webm"], 4)
    assert probe(videos["vp9.webm"]).codec == "vp9"
    assert frames.images.shape == (4, 320, 320, 3)
    assert frames.images.std() > 10  # real picture, not a blank buffer


def test_av1_falls_back_to_pyav_and_still_gives_frames(av1_video):
    info = probe(av1_video)
    frames = sample_frames(av1_video, 5, info=info)
    assert info.codec in ("av1", "libdav1d", "libaom-av1")
    assert frames.decoder == "pyav"
    assert frames.images.shape == (5, 256, 256, 3)
    assert len(set(frames.indices)) == 5 and frames.images.std() > 10


def test_pyav_and_decord_give_the_same_frames(videos):
    info = probe(videos["face.mp4"])
    plan = plan_frames(videos["face.mp4"], info, 5)
    via_decord = sample_frames(videos["face.mp4"], 5, info=info)
    plan.decoder = "pyav"
    via_pyav = np.concatenate([c.images for c in iter_frames(plan)])
    assert via_pyav.shape == via_decord.images.shape
    assert np.abs(via_pyav.astype(int) - via_decord.images.astype(int)).mean() < 4


def _as_ffmpeg_shows_it(path, shape: tuple[int, int, int], *filters: str) -> np.ndarray:
    """The first frame as the ffmpeg CLI renders it (it applies rotation metadata itself)."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-frames:v", "1", *filters, "-f", "rawvideo",
         "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(shape).astype(int)


def _first_frame(path, info, decoder: str) -> np.ndarray:
    plan = plan_frames(path, info, 60)
    plan.decoder = decoder
    return next(iter_frames(plan)).images[0].astype(int)


@pytest.mark.parametrize("decoder", ["decord", "pyav"])
def test_rotated_video_comes_out_upright_like_ffmpeg_shows_it(videos, decoder):
    path = videos["rotated.mp4"]
    info = probe(path)
    assert (info.width, info.height) == (240, 480) and info.rotation in (90, 270)
    reference = _as_ffmpeg_shows_it(path, (480, 240, 3))
    first = _first_frame(path, info, decoder)
    assert first.shape == (480, 240, 3)
    assert np.abs(first - reference).mean() < 5
    assert np.abs(np.rot90(first, 2) - reference).mean() > 20  # orientation really matters


@pytest.mark.parametrize("decoder", ["decord", "pyav"])
def test_anamorphic_video_comes_out_with_square_pixels_like_ffmpeg_shows_it(videos, decoder):
    path = videos["anamorphic.mp4"]
    info = probe(path)
    assert (info.width, info.height) == (360, 360)
    reference = _as_ffmpeg_shows_it(path, (360, 360, 3), "-vf", "scale=iw*sar:ih")
    first = _first_frame(path, info, decoder)
    assert first.shape == (360, 360, 3)
    assert np.abs(first - reference).mean() < 5


def test_one_frame_video_gives_one_frame(videos):
    frames = sample_frames(videos["one.mp4"], 32)
    assert frames.indices == (0,)


@pytest.mark.parametrize(
    ("name", "sentence"),
    [
        ("empty.mp4", "The file is empty."),
        ("not_video.mp4", "not a video"),
        ("truncated.mp4", "truncated or damaged"),
    ],
)
def test_unreadable_files_are_refused_with_a_sentence(videos, name, sentence):
    with pytest.raises(UnreadableVideo, match=sentence) as caught:
        probe(videos[name])
    assert str(caught.value).endswith(".")


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(UnreadableVideo, match="There is no file"):
        probe(tmp_path / "nothing.mp4")


def test_video_cut_short_gives_the_frames_that_exist(videos):
    frames = sample_frames(videos["cut.mp4"], 16)
    assert 0 < len(frames.indices) < 16
    assert max(frames.indices) < 60
