"""Every registered model runs; a checkpoint rebuilds exactly the model that was saved."""

import pytest
import torch

from detection.models import ModelCard, create_model, list_models, load_checkpoint, save_checkpoint
from detection.models.card import CheckpointError, weights_digest


@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_scores_frames_and_sequences(name):
    torch.manual_seed(0)
    model = create_model(name, hidden_size=8).eval()
    clips = torch.rand(2, 3, 3, 64, 64)
    with torch.inference_mode():
        features = model.features(clips.flatten(0, 1))
        frame = model.frame_logits(features)
        sequence = model.sequence_logits(features.view(2, 3, -1), torch.tensor([3, 2]))
    assert frame.shape == (6,) and sequence.shape == (2,)
    assert torch.isfinite(sequence).all()


def test_a_tracks_logit_is_its_mean_frame_logit_plus_the_lstms_correction():
    torch.manual_seed(2)
    model = create_model("cnn_lstm_mobilenet_v2", hidden_size=8).eval()
    mean_only = create_model("cnn_lstm_mobilenet_v2", hidden_size=8, lstm=False).eval()
    mean_only.load_state_dict(model.state_dict(), strict=False)
    assert mean_only.lstm is None
    codes, lengths = torch.randn(2, 5, model.feature_dim), torch.tensor([5, 3])
    with torch.inference_mode():
        frames = model.frame_logits(codes)
        mean = torch.stack([frames[0].mean(), frames[1, :3].mean()])
        assert torch.allclose(mean_only.sequence_logits(codes, lengths), mean, atol=1e-6)
        correction = model.sequence_logits(codes, lengths) - mean
        assert correction.abs().min() > 0  # the LSTM does add something
        model.sequence_head[1].weight.zero_()
        model.sequence_head[1].bias.zero_()
        assert torch.allclose(model.sequence_logits(codes, lengths), mean, atol=1e-6)
        codes[1, 3:] += 100.0  # padding past a track's length changes nothing
        assert torch.allclose(mean_only.sequence_logits(codes, lengths), mean, atol=1e-6)
        one = mean_only.sequence_logits(codes[:1])  # no lengths: the whole sequence
        assert torch.allclose(one, mean[:1], atol=1e-6)


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
