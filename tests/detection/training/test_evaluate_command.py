import json
import subprocess
import sys
from pathlib import Path

from detection.training.evaluate import ranking, ranking_intervals, worst_errors
from detection.training.reencode import reencoded
from detection.video import probe
from tests.support import DFDC_FACES, REPO_ROOT, WILD, require, small_wild_csv


def evaluate(dataset, model, out, *extra):
    return subprocess.run(
        [sys.executable, "manage.py", "evaluate_detector", str(dataset), "--model", str(model),
         "--out", str(out), *extra],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


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
    done = evaluate(csv_path, untrained_checkpoint, out)
    assert done.returncode == 0, done.stderr
    assert "AUC all=" in done.stdout and "reals called fake" in done.stdout
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
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_labelled_video_csv_is_judged_by_verdicts_per_method(tmp_path, claims_trained_checkpoint):
    rows = {
        "dflive-Liu_Lice_0-real.mp4": "val",
        "dflive-Liu_Lice_0-fake.mp4": "val",
        "persona-driver01.mp4": "val",
        "persona-norad.mp4": "val",
        "roop-target.mp4": "train",  # another split: left out
    }
    csv_path = small_wild_csv(tmp_path, rows)
    out = tmp_path / "report"
    done = evaluate(csv_path, claims_trained_checkpoint, out, "--split", "val")
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["layout"] == "labelled video csv" and report["scored"] == 4
    assert set(report["auc"]) == {"all", "faceswap", "talkinghead"}
    assert report["auc_interval"].keys() == report["auc"].keys()
    assert "AUC (95 % interval over groups) all=" in done.stdout
    rows = report["per_sample"]
    assert {r["method"] for r in rows} == {"pristine", "faceswap", "talkinghead"}
    reals = [r for r in rows if r["label"] == 0]
    verdicts = report["verdicts"]
    assert verdicts["reals"] == 2 and verdicts["fakes"] == 2
    assert verdicts["false_alarms"] == sum(r["verdict"] == "fake" for r in reals) / 2
    assert verdicts["uncertain"] == sum(r["verdict"] == "uncertain" for r in rows) / 4
    low, high = report["model"]["uncertain_band"]
    for r in rows:  # each verdict is the band's reading of the probability
        p = r["fake_probability"]
        assert r["verdict"] == ("fake" if p >= high else "real" if p <= low else "uncertain")
    assert sum(b["count"] for b in report["reliability"]) == 4
    assert sum(r["reals"] + r["fakes"] for r in report["per_resolution"].values()) == 4
    assert f"reals called fake {verdicts['false_alarms']:.1%}" in done.stdout
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_reencode_scores_each_video_after_it_and_skips_what_ffmpeg_cannot_read(
    tmp_path, claims_trained_checkpoint
):
    csv_path = small_wild_csv(
        tmp_path, {"dflive-Liu_Lice_0-real.mp4": "val", "dflive-Liu_Lice_0-fake.mp4": "val"}
    )
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    with csv_path.open("a") as rows:
        rows.write(f"{broken},0,pristine,val,broken\n")
    out = tmp_path / "report"
    done = evaluate(
        csv_path, claims_trained_checkpoint, out, "--split", "val", "--reencode", "down240"
    )
    assert done.returncode == 0, done.stderr
    assert "every video re-encoded: down240" in done.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["reencode"] == "down240"
    rows = report["per_sample"]
    # Rows name the source video; the short side read is the re-encoded one's.
    assert sorted(Path(r["path"]).name for r in rows) == [
        "dflive-Liu_Lice_0-fake.mp4",
        "dflive-Liu_Lice_0-real.mp4",
    ]
    assert all(r["short_side"] == 240 for r in rows)
    assert [s["path"] for s in report["skipped"]] == [str(broken)]
    assert "could not re-encode" in report["skipped"][0]["reason"]


def test_a_reencode_lives_only_while_it_is_read_and_no_name_reads_the_source():
    source = WILD / "videos" / "dflive-Liu_Lice_0-real.mp4"
    require(source.is_file(), f"{source} not found (../shared/data is read at run time)")
    with reencoded(source, None) as path:
        assert path == source
    with reencoded(source, "up1080") as path:
        assert path != source and min(probe(path).width, probe(path).height) == 1080
    assert not path.exists() and not path.parent.exists()
    assert source.is_file()


def test_reencode_refuses_an_unknown_name_and_image_datasets(tmp_path, untrained_checkpoint):
    done = evaluate(tmp_path, untrained_checkpoint, tmp_path / "out", "--reencode", "vhs")
    assert done.returncode != 0 and "invalid choice: 'vhs'" in done.stderr
    faces = DFDC_FACES / "labels.csv"
    require(faces.is_file(), f"{faces} not found (../shared/data is read at run time)")
    csv_path = tmp_path / "crops.csv"
    row = faces.read_text().splitlines()[1].split(",")
    csv_path.write_text(f"file,label,identity\n{DFDC_FACES / row[0]},{row[1]},{row[2]}\n")
    done = evaluate(csv_path, untrained_checkpoint, tmp_path / "out", "--reencode", "crf36")
    assert done.returncode != 0 and "--reencode applies to videos" in done.stderr


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


def _row(group, label, p, method="faceswap"):
    method = method if label else "pristine"
    return {"path": f"{group}-{label}-{p}", "group": group, "label": label, "method": method,
            "fake_probability": p}  # fmt: skip


def test_auc_intervals_resample_groups_and_widen_with_a_misranked_one():
    # Four pairs each ranked right; a fifth pair whose real scores above its fake.
    rows = [_row(f"g{i}", label, 0.2 + 0.6 * label) for i in range(4) for label in (0, 1)]
    rows += [_row("g4", 0, 0.9), _row("g4", 1, 0.1)]
    rows += [_row("lips", 1, 0.7, "lipsync"), _row("lips", 0, 0.3)]
    point, interval = ranking(rows), ranking_intervals(rows)
    assert interval.keys() == point.keys() == {"all", "faceswap", "lipsync"}
    for name, (low, high) in interval.items():
        assert low <= point[name] <= high
    assert interval["all"][0] < point["all"] < 1.0 == interval["all"][1]
    # Without the misranked pair every resample ranks perfectly: the interval is a point.
    clean = [r for r in rows if r["group"] != "g4"]
    assert ranking_intervals(clean)["all"] == [1.0, 1.0]
