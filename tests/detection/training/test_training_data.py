import random
from collections import Counter

import numpy as np
from PIL import Image

from detection.training.data import FAKE, REAL, read_crop_csv, split_by_identity
from detection.training.sbi import face_mask, random_blend_params, self_blend
from tests.support import DFDC_FACES, require


def test_identity_split_keeps_every_identity_and_pair_on_one_side():
    csv_path = DFDC_FACES / "labels.csv"
    require(csv_path.is_file(), f"{csv_path} not found (../shared/data is read at run time)")
    items = read_crop_csv(csv_path)
    splits = split_by_identity(items, seed=1337)
    owner = {}
    for name, part in splits.items():
        for item in part:
            assert owner.setdefault(item.identity, name) == name
    sizes = {name: len(part) / len(items) for name, part in splits.items()}
    assert 0.77 < sizes["train"] < 0.83 and 0.08 < sizes["test"] < 0.12
    for part in splits.values():  # each identity brings its real and its fake
        labels = Counter(item.label for item in part)
        assert abs(labels[REAL] - labels[FAKE]) < 0.02 * len(part)
    assert split_by_identity(items, seed=1337) == splits


def test_self_blend_changes_the_face_and_leaves_the_border():
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 255, (160, 160, 3), dtype=np.uint8))
    params = random_blend_params(random.Random(5))
    blended = np.asarray(self_blend(img, params)).astype(int)
    original = np.asarray(img).astype(int)
    mask = face_mask(img.size, params)
    inside, outside = mask > 0.4, mask < 1e-3
    assert np.abs(blended - original)[inside].mean() > 5
    assert np.abs(blended - original)[outside].max() <= 1
    assert np.array_equal(np.asarray(self_blend(img, params)), blended.astype(np.uint8))
