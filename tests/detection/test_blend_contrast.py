"""The reference-blend reading: its blends are the training self-blends, its logits are the
inner model's minus the fitted weight times the gap, and a checkpoint carries the weights."""

import dataclasses
import random

import numpy as np
import pytest
import torch
from PIL import Image

from detection.models import ModelCard, create_model, load_checkpoint, save_checkpoint
from detection.models.blend_contrast import (
    REFERENCE_BLEND_SEEDS,
    REFERENCE_BLENDS,
    BlendContrast,
    reference_blend,
)
from detection.models.card import weights_digest
from detection.training.metrics import MAX_CONTRAST_WEIGHT, fit_contrast_weight
from detection.training.sbi import random_blend_params, self_blend
from tests.support import DFDC_FACES, require

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _normalised(images: torch.Tensor) -> torch.Tensor:
    """0-255 images → the model's input."""
    return (images / 255 - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def _faces(count: int) -> np.ndarray:
    labels = DFDC_FACES / "labels.csv"
    require(labels.is_file(), f"{labels} not found (../shared/data is read at run time)")
    files = [row.split(",")[0] for row in labels.read_text().splitlines()[1 : count + 1]]
    return np.stack(
        [np.asarray(Image.open(DFDC_FACES / f).convert("RGB").resize((160, 160))) for f in files]
    )


def _numbers(params) -> list[float]:
    fields = dataclasses.astuple(params)
    return [float(x) for f in fields for x in (f if isinstance(f, tuple) else (f,))]


@pytest.mark.parametrize("index", range(len(REFERENCE_BLENDS)))
def test_each_reference_blend_is_the_training_self_blend_it_was_drawn_as(index):
    """Drawn as random_blend_params(Random(seed)); done in torch, it must give PIL's
    self_blend to within rounding, or the contrast would read another blend than the one
    the detector learnt."""
    faces = _faces(4)
    params = random_blend_params(random.Random(REFERENCE_BLEND_SEEDS[index]))
    assert _numbers(REFERENCE_BLENDS[index]) == pytest.approx(_numbers(params), abs=0.01)
    expected = np.stack([np.asarray(self_blend(Image.fromarray(f), params)) for f in faces])
    images = torch.from_numpy(faces).permute(0, 3, 1, 2).float()
    ours = reference_blend(images, REFERENCE_BLENDS[index]).permute(0, 2, 3, 1).numpy()
    difference = np.abs(ours - expected.astype(np.float32))
    assert difference.mean() < 1.0 and difference.max() <= 6
    changed = np.abs(expected.astype(int) - faces) > 8
    assert changed.mean() > 0.05  # a blend that changes the face, not a copy
    corner = (slice(None), slice(0, 6), slice(0, 6))
    assert np.array_equal(ours[corner], faces[corner])  # outside the mask: untouched


def _wrapped(frame_weight: float, sequence_weight: float) -> BlendContrast:
    torch.manual_seed(4)
    model = create_model(
        "blend_contrast", inner="cnn_lstm_mobilenet_v2", mean=MEAN, std=STD, blends=3,
        hidden_size=8, frame_skip=True,
    ).eval()  # fmt: skip
    model.frame_weight.fill_(frame_weight)
    model.sequence_weight.fill_(sequence_weight)
    return model


def test_logits_are_the_inner_models_minus_the_weight_times_the_gap():
    model = _wrapped(0.5, 0.25)
    faces = torch.from_numpy(_faces(6)).permute(0, 3, 1, 2).float()
    crops = _normalised(faces)
    inner = model.inner
    with torch.inference_mode():
        own = inner.frame_logits(inner.features(crops))
        blended = torch.stack(
            [
                inner.frame_logits(inner.features(_normalised(reference_blend(faces, b))))
                for b in REFERENCE_BLENDS
            ]
        ).mean(0)
        gap = blended - own
        codes = model.features(crops)
        assert codes.shape == (6, 4 * inner.feature_dim)
        assert torch.allclose(model.frame_logits(codes), own - 0.5 * gap, atol=1e-4)
        tracks, lengths = codes.view(2, 3, -1), torch.tensor([3, 2])
        inner_tracks = inner.sequence_logits(codes[:, : inner.feature_dim].view(2, 3, -1), lengths)
        gaps = gap.view(2, 3)
        track_gaps = torch.stack([gaps[0].mean(), gaps[1, :2].mean()])
        expected = inner_tracks - 0.25 * track_gaps
        assert torch.allclose(model.sequence_logits(tracks, lengths), expected, atol=1e-4)
        zero = _wrapped(0.0, 0.0)
        assert torch.allclose(
            zero.frame_logits(codes), own, atol=1e-5
        )  # weights 0: the inner model


def test_a_checkpoint_carries_the_fitted_weights(tmp_path):
    model = _wrapped(0.75, 0.5)
    config = {"inner": "cnn_lstm_mobilenet_v2", "mean": list(MEAN), "std": list(STD), "blends": 3}
    config |= {"hidden_size": 8, "frame_skip": True}
    card = ModelCard(architecture="blend_contrast", config=config)
    save_checkpoint(model, card, tmp_path / "m.pt")
    loaded, _ = load_checkpoint(tmp_path / "m.pt")
    assert float(loaded.frame_weight) == 0.75 and float(loaded.sequence_weight) == 0.5
    other = _wrapped(0.75, 0.0)
    assert weights_digest(other) != weights_digest(model)  # a new weight, a new version
    codes = torch.randn(2, 3, loaded.feature_dim)
    with torch.inference_mode():
        assert torch.allclose(
            loaded.sequence_logits(codes), model.sequence_logits(codes), atol=0.05
        )  # fp16 storage


def test_the_contrast_weight_is_what_separates_the_labels():
    """Labels drawn from logit − 2·gap: the fit finds 2. A gap that says nothing, or says the
    opposite, gets no weight."""
    generator = np.random.default_rng(0)
    logits, gaps = generator.normal(0, 3, 4000), generator.normal(6, 3, 4000)
    score = logits - 2.0 * gaps + 12.0
    labels = (generator.random(4000) < 1 / (1 + np.exp(-score))).astype(int)
    assert fit_contrast_weight(labels, logits, gaps) == pytest.approx(2.0, rel=0.15)
    plain = (generator.random(4000) < 1 / (1 + np.exp(-logits))).astype(int)
    assert fit_contrast_weight(plain, logits, generator.normal(6, 3, 4000)) < 0.05
    backwards = (generator.random(4000) < 1 / (1 + np.exp(-(logits + 2.0 * gaps - 12)))).astype(int)
    assert fit_contrast_weight(backwards, logits, gaps) < 0.05


def test_a_gap_that_alone_separates_the_labels_gets_a_bounded_weight():
    """Separable labels drive the least log-loss weight off towards infinity (794 here without
    the bound): the fit stops at MAX_CONTRAST_WEIGHT standard units."""
    generator = np.random.default_rng(1)
    logits, gaps = generator.normal(0, 3, 400), generator.normal(0, 2, 400)
    labels = (gaps < 0).astype(int)
    weight = fit_contrast_weight(labels, logits, gaps)
    assert weight == pytest.approx(MAX_CONTRAST_WEIGHT * logits.std() / gaps.std(), rel=1e-3)


def test_a_model_reads_its_first_blends_and_no_more_than_there_are():
    inner = {"inner": "cnn_lstm_mobilenet_v2", "mean": MEAN, "std": STD, "hidden_size": 8}
    six = create_model("blend_contrast", blends=6, **inner)
    assert six.blends == REFERENCE_BLENDS[:6]
    assert six.feature_dim == 7 * six.inner.feature_dim
    one = create_model("blend_contrast", blends=1, **inner)  # as shipped
    assert one.blends == REFERENCE_BLENDS[:1] and one.feature_dim == 2 * one.inner.feature_dim
    for wrong in (0, len(REFERENCE_BLENDS) + 1):
        with pytest.raises(ValueError, match="blends must be 1 to"):
            create_model("blend_contrast", blends=wrong, **inner)
