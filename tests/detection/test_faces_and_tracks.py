"""Faces on real videos: found, linked into coherent tracks, cropped around the face."""

import numpy as np
import pytest

from detection.faces import FaceBox, get_detector
from detection.tracks import crop_face, link_tracks
from detection.video import sample_frames
from tests.support import real_video


@pytest.fixture(scope="module")
def detector():
    return get_detector("cpu")


@pytest.mark.parametrize("name", ["vr-2.mp4", "lp-s13.mp4"])
def test_faces_are_found_and_form_one_steady_track(detector, name):
    frames = sample_frames(real_video(name), 8)
    faces = detector.detect(frames.images)
    assert sum(1 for f in faces if f) >= 7
    tracks = link_tracks(faces)
    longest = max(tracks, key=len)
    assert len(longest) >= 7
    height, width = frames.images.shape[1:3]
    centres = np.array([b.center for b in longest.boxes])
    assert np.ptp(centres[:, 0]) < width / 4 and np.ptp(centres[:, 1]) < height / 4
    assert all(b.side > 40 for b in longest.boxes)


def test_boxes_map_back_to_full_resolution(detector):
    path = real_video("lp-s13.mp4")
    full = sample_frames(path, 2)
    small = sample_frames(path, 2, max_side=400)
    big_box = detector.detect(full.images)[0][0]
    small_box = detector.detect(small.images)[0][0].scaled(1 / small.scale)
    assert big_box.iou(small_box) > 0.8


def test_two_people_give_two_tracks_on_their_own_sides(detector, videos):
    frames = sample_frames(videos["two_faces.mp4"], 6)
    tracks = [t for t in link_tracks(detector.detect(frames.images)) if len(t) >= 4]
    assert len(tracks) == 2
    sides = sorted(np.mean([b.center[0] for b in t.boxes]) for t in tracks)
    assert sides[0] < 300 < sides[1]


def test_crop_contains_the_face(detector, face_source):
    frames = sample_frames(face_source, 3)
    box = detector.detect(frames.images[:1])[0][0]
    crop = crop_face(frames.images[0], box, margin=0.3, size=160)
    assert crop.shape == (160, 160, 3)
    found = detector.detect(np.stack([crop]))[0]
    assert found, "the detector should find a face in the crop"
    cx, cy = found[0].center
    assert abs(cx - 80) < 20 and abs(cy - 80) < 25
    assert found[0].side == pytest.approx(160 / 1.6, rel=0.3)


def test_crop_past_the_frame_edge_is_padded_black():
    image = np.full((100, 100, 3), 200, np.uint8)
    crop = crop_face(image, FaceBox(0, 0, 40, 40, 1.0), margin=0.5, size=80)
    assert crop.shape == (80, 80, 3)
    assert crop[:15, :15].max() < 10 and crop[-15:, -15:].min() > 190


def test_far_apart_faces_are_not_linked_and_a_gap_is_bridged():
    left, right = FaceBox(0, 0, 50, 50, 1), FaceBox(300, 0, 350, 50, 1)
    tracks = link_tracks([[left, right], [right], [], [left.scaled(1.02), right]])
    assert sorted(len(t) for t in tracks) == [2, 3]
    assert all(len({round(b.x1 / 100) for b in t.boxes}) == 1 for t in tracks)
    assert tracks[0].detections == (0, 3) and tracks[1].detections == (1, 2, 4)
