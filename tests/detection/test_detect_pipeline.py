"""detect(): the whole engine on real and odd videos with a test checkpoint."""

import base64
import dataclasses
import io

import pytest
from PIL import Image

from detection.errors import (
    BadModelFile,
    DetectionError,
    NoTrainedModel,
    UnreadableVideo,
    VideoTooLarge,
    VideoTooLong,
)
from detection.models import load_checkpoint, save_checkpoint
from detection.pipeline import DetectOptions, detect
from detection.stages import Stage
from tests.support import ffmpeg


@pytest.fixture(scope="module")
def run(untrained_checkpoint):
    def run_detect(path, **options):
        opts = DetectOptions(model_path=untrained_checkpoint, allow_untrained=True, **options)
        return detect(path, options=opts).to_dict()

    return run_detect


def test_real_face_video_gives_a_full_result(run, videos):
    out = run(videos["face.mp4"])
    assert out["verdict"] in ("real", "fake", "uncertain")
    assert 0.0 <= out["fake_probability"] <= 1.0
    assert out["frames_analyzed"] == 8 and out["faces_found"] == 1
    track = out["tracks"][0]
    assert len(track["frames"]) >= 7 and track["counted"]
    assert track["frames"] == sorted(track["frames"])
    assert all(x2 > x1 and y2 > y1 for x1, y1, x2, y2 in track["boxes"])
    image = Image.open(io.BytesIO(base64.b64decode(track["thumbnail"].split(",", 1)[1])))
    assert image.format == "JPEG" and image.size == (112, 112)
    assert len(out["per_frame"]) == len(track["frames"])
    assert all(0 <= f["score"] <= 1 and f["track"] == 1 for f in out["per_frame"])
    assert [f["time_s"] for f in out["per_frame"]] == pytest.approx(
        [i / 30 for i in track["frames"]], abs=1e-3
    )
    assert out["model"]["name"] == "cnn_lstm_mobilenet_v2" and out["model"]["trained"] is False
    low, high = out["model"]["uncertain_band"]
    assert f"At {high:.0%} or more" in out["model"]["band_meaning"]
    assert f"at {low:.0%} or less, real" in out["model"]["band_meaning"]
    assert out["video"]["width"] == 360 and out["video"]["codec"] == "h264"
    assert {"probe", "decode", "detect_faces", "features", "scoring", "total"} <= set(
        out["timings_ms"]
    )


def test_progress_goes_through_the_stages_in_order(untrained_checkpoint, videos):
    seen = []
    detect(
        videos["face.mp4"],
        options=DetectOptions(model_path=untrained_checkpoint, allow_untrained=True, frames=4),
        on_progress=lambda stage, fraction: seen.append((stage, fraction)),
    )
    order = [Stage.DECODING, Stage.DETECTING_FACES, Stage.SCORING, Stage.DONE]
    stages = [s for s, _ in seen]
    assert [s for i, s in enumerate(stages) if i == 0 or s != stages[i - 1]] == order
    detecting = [f for s, f in seen if s == Stage.DETECTING_FACES]
    assert detecting == sorted(detecting) and detecting[-1] == 1.0


def test_same_video_gives_the_same_score_twice(run, videos):
    first, second = run(videos["face.mp4"]), run(videos["face.mp4"])
    assert first["fake_probability"] == second["fake_probability"]
    assert first["per_frame"] == second["per_frame"]


def test_no_face_gives_no_face_verdict_with_reason(run, videos):
    out = run(videos["noface.mp4"])
    assert out["verdict"] == "no_face" and out["fake_probability"] is None
    assert out["tracks"] == [] and out["faces_found"] == 0
    assert any("No face was found" in note for note in out["quality"])


def test_two_people_are_scored_separately(run, videos):
    out = run(videos["two_faces.mp4"])
    assert out["faces_found"] == 2
    counted = [t["score"] for t in out["tracks"] if t["counted"]]
    assert out["fake_probability"] == pytest.approx(max(counted), abs=1e-4)
    assert any("2 faces" in note for note in out["quality"])


def test_one_frame_video_is_analysed_with_a_note(run, videos):
    out = run(videos["one.mp4"])
    assert out["frames_analyzed"] == 1
    assert out["verdict"] != "no_face"
    assert any("Only 1 frames" in note or "very short" in note for note in out["quality"])


def test_av1_video_gets_a_result(run, av1_video):
    out = run(av1_video, frames=4)
    assert out["frames_analyzed"] == 4 and out["faces_found"] >= 1


def test_vp9_and_rotated_videos_get_results(run, videos):
    assert run(videos["vp9.webm"], frames=4)["faces_found"] >= 1
    rotated = run(videos["rotated.mp4"], frames=4)
    assert (rotated["video"]["width"], rotated["video"]["height"]) == (240, 480)
    assert rotated["faces_found"] >= 1


def test_segment_limits_the_frames_analysed(run, videos):
    out = run(videos["face.mp4"], start=1.0, end=2.0)
    assert all(1.0 <= f["time_s"] < 2.0 for f in out["per_frame"])


def test_cut_short_file_is_analysed_with_a_damage_note(run, videos):
    out = run(videos["cut.mp4"])
    assert out["frames_analyzed"] >= 1
    assert any("could not be decoded" in note for note in out["quality"])


@pytest.mark.parametrize("name", ["empty.mp4", "not_video.mp4", "truncated.mp4"])
def test_unreadable_input_raises_a_sentence(run, videos, name):
    with pytest.raises(UnreadableVideo) as caught:
        run(videos[name])
    assert caught.value.message[0].isupper() and caught.value.message.endswith(".")


def test_limits_are_enforced(run, videos):
    with pytest.raises(VideoTooLong, match="minutes"):
        run(videos["face.mp4"], max_duration_s=1)
    with pytest.raises(VideoTooLarge, match="360×360"):
        run(videos["face.mp4"], max_pixels=100 * 100)
    with pytest.raises(DetectionError, match="after its start"):
        run(videos["face.mp4"], start=2.0, end=1.0)


def test_untrained_model_is_refused_without_permission(untrained_checkpoint, videos):
    with pytest.raises(NoTrainedModel, match="not trained"):
        detect(videos["face.mp4"], options=DetectOptions(model_path=untrained_checkpoint))


def test_missing_and_broken_checkpoints_are_clear_errors(videos, tmp_path):
    with pytest.raises(NoTrainedModel, match="No trained detection model"):
        detect(videos["face.mp4"], options=DetectOptions(model_path=tmp_path / "none.pt"))
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(BadModelFile, match="cannot be used"):
        detect(videos["face.mp4"], options=DetectOptions(model_path=broken))


@pytest.mark.parametrize("kind", ["JPEG", "PNG"])
def test_a_still_image_renamed_mp4_is_refused_as_not_a_video(run, tmp_path, kind):
    still = tmp_path / "photo.mp4"
    Image.new("RGB", (320, 320), (180, 140, 120)).save(still, format=kind)
    with pytest.raises(UnreadableVideo, match="still image, not a video"):
        run(still)


def test_faces_too_small_to_judge_get_uncertain_with_the_reason(
    claims_trained_checkpoint, videos, tmp_path, ffmpeg_ok
):
    """Below the card's smallest judged face the verdict is uncertain, however sure the score;
    the same video with faces above it gets the score's own verdict."""
    tiny = tmp_path / "tiny.mp4"
    ffmpeg("-i", str(videos["face.mp4"]), "-vf", "scale=96:96", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", "-an", str(tiny))  # fmt: skip
    model, card = load_checkpoint(claims_trained_checkpoint)
    # A band that reads every score as "real" unless the face gate steps in.
    gated = dataclasses.replace(card, uncertain_band=(1.0, 1.0), min_face_px=60)
    save_checkpoint(model, gated, tmp_path / "gated.pt")

    def analyse(path):
        return detect(path, options=DetectOptions(model_path=tmp_path / "gated.pt")).to_dict()

    small = analyse(tiny)
    assert small["faces_found"] >= 1
    side = max(x2 - x1 for t in small["tracks"] for x1, _, x2, _ in t["boxes"])
    assert side < 60
    assert small["verdict"] == "uncertain"
    assert any("smaller than the 60 px" in note for note in small["quality"])
    large = analyse(videos["face.mp4"])
    assert large["verdict"] == "real"
    assert not any("smaller than the 60 px" in note for note in large["quality"])
