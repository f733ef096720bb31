"""`manage.py detect --json` over the hostile corpus: one JSON line per input, each a result or a
sentence, never a traceback, and an exit status that says whether everything was analysed."""

import json
import os
import subprocess
import sys

import pytest

from tests.reliability.conftest import MAX_DURATION_S, MAX_PIXELS, is_sentence
from tests.support import REPO_ROOT


def detect_cli(paths, model) -> tuple[int, list[dict], str]:
    env = {
        **os.environ,
        "DETECTION_MODEL": str(model),
        "DETECTION_MAX_PIXELS": str(MAX_PIXELS),
        "DETECTION_MAX_DURATION_S": str(MAX_DURATION_S),
        "DETECTION_FRAMES": "8",
        "DETECTION_THREADS": "1",
        "DETECTION_DEVICE": "cpu",
    }
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), "detect", "--json", *map(str, paths)],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return done.returncode, lines, done.stderr


@pytest.fixture(scope="module")
def refused_run(corpus, cli_checkpoint):
    cases = [c for c in corpus.values() if c.outcome in {"refused", "either"}]
    return cases, *detect_cli([c.path for c in cases], cli_checkpoint)


@pytest.fixture(scope="module")
def result_run(corpus, cli_checkpoint):
    cases = [c for c in corpus.values() if c.outcome == "result"]
    return cases, *detect_cli([c.path for c in cases], cli_checkpoint)


def test_bad_files_each_get_a_sentence_and_the_exit_status_says_so(refused_run):
    cases, code, lines, stderr = refused_run
    assert code == 1, stderr
    assert "Traceback" not in stderr
    refused = sum(c.outcome == "refused" for c in cases)
    failed = int(stderr.split("CommandError: ", 1)[-1].split(" of ")[0])
    assert refused <= failed <= len(cases)
    assert f"of {len(cases)} inputs could not be analysed" in stderr
    assert [line["source"] for line in lines] == [str(c.path) for c in cases]
    for case, line in zip(cases, lines, strict=True):
        if case.outcome == "refused" or "error" in line:
            assert "error" in line, (case.name, line)
            assert is_sentence(line["error"]), (case.name, line["error"])
            assert case.sentence in line["error"].lower(), (case.name, line["error"])
        else:
            assert line["verdict"] in case.verdicts, (case.name, line)


def test_odd_but_real_videos_each_get_a_verdict(result_run):
    cases, code, lines, stderr = result_run
    by_name = {c.name: line for c, line in zip(cases, lines, strict=True)}
    assert code == 0, (stderr[-2000:], [(n, line.get("error")) for n, line in by_name.items()])
    for case in cases:
        line = by_name[case.name]
        assert "error" not in line, (case.name, line)
        assert line["verdict"] in case.verdicts, (case.name, line["verdict"])
        assert 1 <= line["frames_analyzed"] <= 8  # the decoded-frame cap holds
    assert by_name["one_frame.mp4"]["frames_analyzed"] == 1
    assert by_name["rotated.mp4"]["video"]["rotation"] in {90, 270}
    if "av1.mp4" in by_name:
        assert by_name["av1.mp4"]["video"]["codec"] in {"av1", "libdav1d", "libaom-av1"}
    # The face shrunk to 16 px in a 640×480 frame: no usable face, and the result says why.
    tiny = by_name["tiny_face.mp4"]
    assert tiny["verdict"] == "no_face" or any("small" in n for n in tiny["quality"]), tiny
