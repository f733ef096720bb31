import json

import pytest

from detection.training.dfdc import FAKE, REAL
from detection.training.layouts import LayoutError, find_samples


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def labels_by_name(samples):
    return {s.path.name: s.label for s in samples}


def test_folder_per_label(tmp_path):
    touch(tmp_path / "real" / "a.mp4")
    touch(tmp_path / "fake" / "deep" / "b.webm")
    touch(tmp_path / "fake" / "c.jpg")
    touch(tmp_path / "fake" / "notes.txt")
    layout, samples = find_samples(tmp_path)
    assert layout == "folder per label"
    assert labels_by_name(samples) == {"a.mp4": REAL, "b.webm": FAKE, "c.jpg": FAKE}
    assert {s.path.name: s.kind for s in samples}["c.jpg"] == "image"


def test_faceforensics_tree(tmp_path):
    touch(tmp_path / "original_sequences" / "youtube" / "c23" / "videos" / "000.mp4")
    touch(tmp_path / "manipulated_sequences" / "Deepfakes" / "c23" / "videos" / "000_003.mp4")
    touch(tmp_path / "manipulated_sequences" / "Face2Face" / "c23" / "videos" / "001_002.mp4")
    layout, samples = find_samples(tmp_path)
    assert layout == "faceforensics++"
    assert labels_by_name(samples) == {"000.mp4": REAL, "000_003.mp4": FAKE, "001_002.mp4": FAKE}


def test_dfdc_metadata(tmp_path):
    (tmp_path / "metadata.json").write_text(
        json.dumps(
            {"aaa.mp4": {"label": "FAKE", "original": "bbb.mp4"}, "bbb.mp4": {"label": "REAL"}}
        )
    )
    layout, samples = find_samples(tmp_path)
    assert layout == "dfdc"
    assert labels_by_name(samples) == {"aaa.mp4": FAKE, "bbb.mp4": REAL}


def test_celeb_df_list_marks_one_as_real(tmp_path):
    (tmp_path / "List_of_testing_videos.txt").write_text(
        "1 YouTube-real/00170.mp4\n0 Celeb-synthesis/id1_id0_0007.mp4\n1 Celeb-real/id0_0001.mp4\n"
    )
    layout, samples = find_samples(tmp_path)
    assert layout == "celeb-df"
    assert labels_by_name(samples) == {
        "00170.mp4": REAL,
        "id1_id0_0007.mp4": FAKE,
        "id0_0001.mp4": REAL,
    }


def test_face_crop_csv(tmp_path):
    (tmp_path / "labels.csv").write_text("file,label,identity\nx.jpg,REAL,x\ny.jpg,FAKE,x\n")
    layout, samples = find_samples(tmp_path / "labels.csv")
    assert layout == "face-crop csv"
    assert labels_by_name(samples) == {"x.jpg": REAL, "y.jpg": FAKE}
    assert {s.group for s in samples} == {"x"}  # a real and its fake resample together


def test_unknown_layout_says_what_it_expected(tmp_path):
    touch(tmp_path / "clip.mp4")
    with pytest.raises(LayoutError, match="real/ and fake/"):
        find_samples(tmp_path)
