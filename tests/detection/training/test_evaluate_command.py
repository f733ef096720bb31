import json
import subprocess
import sys

from detection.training.evaluate import worst_errors
from tests.support import DFDC_FACES, REPO_ROOT, require


def test_evaluate_detector_reports_metrics_and_a_roc_plot(tmp_path, untrained_checkpoint):
    faces = DFDC_FACES / "labels.csv"
    require(faces.is_file(), f"{faces} not found (../shared/data is read at run time)")
    rows = faces.read_text().splitlines()[1:13]  # six identities, each real and fake
    csv_path = tmp_path / "crops.csv"
    csv_path.write_text(
        "file,label,identity\n"
        + "\n".join(
            f"{DFDC_FACES / f},{label},{ident}" for f, label, ident in (r.split(",") for r in rows)
        )
    )
    out = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, "manage.py", "evaluate_detector", str(csv_path),
         "--model", str(untrained_checkpoint), "--out", str(out)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "AUC=" in done.stdout and "tp=" in done.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["layout"] == "face-crop csv"
    assert report["model_metrics"]["count"] == 12
    confusion = report["model_metrics"]["confusion"]
    assert sum(confusion.values()) == 12
    assert confusion["tp"] + confusion["fn"] == 6
    assert 0.0 <= report["model_metrics"]["auc"] <= 1.0
    samples = report["per_sample"]  # which crops were wrong, not only how many
    assert sorted(s["path"] for s in samples) == sorted(
        str(DFDC_FACES / r.split(",")[0]) for r in rows
    )
    threshold = report["model_metrics"]["threshold"]
    called_fake = [s for s in samples if s["fake_probability"] >= threshold]
    assert sum(s["label"] == 0 for s in called_fake) == confusion["fp"]
    assert sum(s["label"] == 1 for s in called_fake) == confusion["tp"]
    assert ("most confidently wrong" in done.stdout) == (confusion["fp"] + confusion["fn"] > 0)
    assert (out / "roc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_detector_explains_an_unknown_layout(tmp_path, untrained_checkpoint):
    (tmp_path / "clip.mp4").write_bytes(b"")
    done = subprocess.run(
        [sys.executable, "manage.py", "evaluate_detector", str(tmp_path),
         "--model", str(untrained_checkpoint)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert "expected real/ and fake/ folders" in done.stderr
    assert "Traceback" not in done.stderr


def test_worst_errors_are_the_misjudged_samples_most_confident_first():
    samples = [
        {"path": "a", "label": 0, "fake_probability": 0.55},  # wrong, barely
        {"path": "b", "label": 1, "fake_probability": 0.05},  # wrong, confidently
        {"path": "c", "label": 1, "fake_probability": 0.50},  # right: the threshold is fake
        {"path": "d", "label": 0, "fake_probability": 0.10},  # right
        {"path": "e", "label": 0, "fake_probability": 0.90},  # wrong
    ]
    assert [s["path"] for s in worst_errors(samples, 0.5, count=5)] == ["b", "e", "a"]
    assert [s["path"] for s in worst_errors(samples, 0.5, count=1)] == ["b"]
