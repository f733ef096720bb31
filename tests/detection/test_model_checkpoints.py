"""Every registered model runs; a checkpoint rebuilds exactly the model that was saved."""

import pytest
import torch

from detection.models import ModelCard, create_model, list_models, load_checkpoint, save_checkpoint
from detection.models.card import CheckpointError, weights_digest

MEMBER = {"member": "cnn_lstm_mobilenet_v2", "members": 2}
# The models that read another registered model, and what they read.
WRAPPED = {
    "ensemble": MEMBER,
    "blend_contrast": {
        "inner": "cnn_lstm_mobilenet_v2",
        "mean": [0.5] * 3,
        "std": [0.25] * 3,
        "blends": 1,
    },
}


@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_scores_frames_and_sequences(name):
    torch.manual_seed(0)
    model = create_model(name, hidden_size=8, **WRAPPED.get(name, {})).eval()
    clips = torch.rand(2, 3, 3, 64, 64)
    with torch.inference_mode():
        features = model.features(clips.flatten(0, 1))
        frame = model.frame_logits(features)
        sequence = model.sequence_logits(features.view(2, 3, -1), torch.tensor([3, 2]))
    assert frame.shape == (6,) and sequence.shape == (2,)
    assert torch.isfinite(sequence).all()


def test_frame_skip_adds_the_mean_of_a_tracks_own_frame_logits():
    torch.manual_seed(2)
    plain = create_model("cnn_lstm_mobilenet_v2", hidden_size=8).eval()
    skip = create_model("cnn_lstm_mobilenet_v2", hidden_size=8, frame_skip=True).eval()
    skip.load_state_dict(plain.state_dict())
    codes, lengths = torch.randn(2, 5, plain.feature_dim), torch.tensor([5, 3])
    with torch.inference_mode():
        frames = plain.frame_logits(codes)
        expected = plain.sequence_logits(codes, lengths) + torch.stack(
            [frames[0].mean(), frames[1, :3].mean()]
        )
        assert torch.allclose(skip.sequence_logits(codes, lengths), expected, atol=1e-6)
        codes[1, 3:] += 100.0  # padding past a track's length changes nothing
        assert torch.allclose(skip.sequence_logits(codes, lengths), expected, atol=1e-6)
        one = skip.sequence_logits(codes[:1])  # no lengths: the whole sequence
        assert torch.allclose(one, expected[:1], atol=1e-6)


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    torch.manual_seed(1)
    model = create_model("cnn_lstm_mobilenet_v2", hidden_size=16).eval()
    card = ModelCard(architecture="cnn_lstm_mobilenet_v2", config={"hidden_size": 16}, frames=4)
    save_checkpoint(model, card, tmp_path / "m.pt", half=False)
    loaded, loaded_card = load_checkpoint(tmp_path / "m.pt", "cpu")
    clips = torch.rand(1, 4, 3, 96, 96)
    with torch.inference_mode():
        assert torch.equal(model(clips), loaded(clips))
    assert loaded_card == card


def test_weights_digest_follows_the_saved_weights(tmp_path):
    torch.manual_seed(3)
    model = create_model("cnn_lstm_mobilenet_v2", hidden_size=16)
    card = ModelCard(architecture="cnn_lstm_mobilenet_v2", config={"hidden_size": 16})
    save_checkpoint(model, card, tmp_path / "m.pt")
    loaded, _ = load_checkpoint(tmp_path / "m.pt")
    assert weights_digest(loaded) == weights_digest(model)  # fp16 storage: the same version
    with torch.no_grad():
        loaded.sequence_head[1].bias += 0.01
    assert weights_digest(loaded) != weights_digest(model)


def test_missing_or_foreign_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not an Unmask checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    model = create_model("cnn_lstm_mobilenet_v2", hidden_size=16)
    card = ModelCard(architecture="cnn_lstm_mobilenet_v2", config={"hidden_size": 32})
    save_checkpoint(model, card, tmp_path / "mismatch.pt")
    with pytest.raises(CheckpointError, match="does not fit"):
        load_checkpoint(tmp_path / "mismatch.pt")


def test_ensemble_scores_the_mean_of_its_members_logits_and_round_trips(tmp_path):
    torch.manual_seed(2)
    model = create_model("ensemble", hidden_size=8, **MEMBER).eval()
    first, second = model.members
    crops = torch.rand(6, 3, 64, 64)
    lengths = torch.tensor([3, 2])
    with torch.inference_mode():
        codes = model.features(crops)
        a, b = first.features(crops), second.features(crops)
        assert torch.equal(codes, torch.cat([a, b], dim=-1))
        assert not torch.allclose(first.frame_logits(a), second.frame_logits(b))
        mean = (first.frame_logits(a) + second.frame_logits(b)) / 2
        assert torch.allclose(model.frame_logits(codes), mean)
        tracks = (codes.view(2, 3, -1), a.view(2, 3, -1), b.view(2, 3, -1))
        mean = (
            first.sequence_logits(tracks[1], lengths) + second.sequence_logits(tracks[2], lengths)
        ) / 2
        assert torch.allclose(model.sequence_logits(tracks[0], lengths), mean)

    card = ModelCard(architecture="ensemble", config={"hidden_size": 8, **MEMBER})
    save_checkpoint(model, card, tmp_path / "ensemble.pt", half=False)
    loaded, _ = load_checkpoint(tmp_path / "ensemble.pt")
    with torch.inference_mode():
        assert torch.equal(loaded.frame_logits(loaded.features(crops)), model.frame_logits(codes))
    with pytest.raises(ValueError, match="at least one member"):
        create_model("ensemble", member="cnn_lstm_mobilenet_v2", members=0)
