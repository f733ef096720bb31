"""`manage.py detect` as a person or a script runs it: a real subprocess."""

import json
import os
import subprocess
import sys

from tests.support import REPO_ROOT


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DETECTION_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "manage.py", "detect", *args],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip


def test_json_gives_one_line_per_input_and_fails_for_bad_ones(claims_trained_checkpoint, videos):
    done = run_cli(
        str(videos["face.mp4"]), str(videos["not_video.mp4"]), "--json", "--frames", "4",
        "--model", str(claims_trained_checkpoint),
    )  # fmt: skip
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    good, bad = (json.loads(line) for line in done.stdout.strip().splitlines())
    keys = {"source", "verdict", "fake_probability", "frames_analyzed", "faces_found", "tracks"}
    assert keys | {"per_frame", "timings_ms", "model"} <= set(good)
    assert good["source"] == str(videos["face.mp4"]) and good["frames_analyzed"] == 4
    assert bad == {"source": str(videos["not_video.mp4"]), "error": bad["error"]}
    assert "not a video" in bad["error"]
    assert "1 of 2 inputs" in done.stderr


def test_human_output_names_the_verdict(claims_trained_checkpoint, videos):
    done = run_cli(str(videos["noface.mp4"]), "--frames", "4", "--model",
                   str(claims_trained_checkpoint))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "NO_FACE" in done.stdout and "No face was found" in done.stdout


def test_untrained_model_is_refused_with_a_sentence(untrained_checkpoint, videos):
    done = run_cli(str(videos["face.mp4"]), "--json", "--model", str(untrained_checkpoint))
    assert done.returncode != 0 and done.stdout == ""
    assert "is not trained, so it cannot give a verdict" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_model_is_refused_with_a_sentence(tmp_path, videos):
    done = run_cli(str(videos["face.mp4"]), "--model", str(tmp_path / "none.pt"))
    assert done.returncode != 0 and "No trained detection model" in done.stderr
    assert "Traceback" not in done.stderr


def test_unsafe_url_is_a_failed_input_not_a_crash(claims_trained_checkpoint):
    done = run_cli("http://127.0.0.1:9/v.mp4", "--json", "--model", str(claims_trained_checkpoint))
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "private, local or reserved" in json.loads(done.stdout)["error"]
