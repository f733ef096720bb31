import dataclasses
import json

import pytest
import torch

from detection.models import create_model, load_checkpoint
from detection.models.card import weights_digest
from detection.training.card_text import write_model_card
from detection.training.config import TrainConfig
from detection.training.data import REAL, FrameDataset, read_crop_csv, split_by_identity
from detection.training.finalize import assemble
from detection.training.frames import frame_logits
from detection.training.metrics import fit_platt
from detection.training.train import run
from tests.support import small_crop_csv, train_and_val_videos


def test_ensemble_recipe_trains_each_seed_apart_and_calibrates_their_mean(tmp_path):
    """frames → temporal → calibrate of a two-seed ensemble, on a few crops and two videos;
    the second member trained on self-blended fakes alone (no DFDC face swap, no crop
    sequences), as `member_overrides` says."""
    csv_path = small_crop_csv(tmp_path)
    videos = train_and_val_videos(tmp_path)
    cfg = TrainConfig(
        ensemble_seeds=(5, 6), dfdc_csv=str(csv_path), real_videos=str(videos),
        val_videos=("val.mp4",), test_videos=(), workers=0, threads=1,
        frame_views=1, frame_epochs=1, frame_batch_size=8, track_frames=12, video_crop_views=1,
        clip_length=8, clips_per_video=2, crop_sequences=3, val_crop_sequences=1,
        crop_sequence_length=4,
        temporal_epochs=2, temporal_batch_size=4,
        member_overrides={"6": {"dfdc_fakes": False, "sbi_fraction": 0.5, "crop_sequences": 0}},
    )  # fmt: skip
    output = tmp_path / "ensemble.pt"
    run(cfg, tmp_path, output, ("frames", "temporal", "calibrate"), torch.device("cpu"))

    members = [
        torch.load(tmp_path / f"seed-{seed}" / "temporal-best.pt", weights_only=True)
        for seed in (5, 6)
    ]
    head = "sequence_head.1.weight"
    assert not torch.equal(members[0][head], members[1][head])  # trained apart
    model, card = load_checkpoint(output)
    assert card.architecture == "ensemble" and card.trained
    assert card.version.endswith(f"-{weights_digest(model)}")  # a new model, a new version
    assert card.config == {"member": cfg.architecture, "members": 2, **cfg.model_config}
    for member, state in zip(model.members, members, strict=True):
        assert torch.allclose(member.state_dict()[head], state[head], atol=1e-3)  # fp16 copy
    assert len(card.metrics["frame_history"]) == 2
    assert json.loads((tmp_path / "config.json").read_text())["ensemble_seeds"] == [5, 6]
    # Calibrated on the codes its members cached: no clip re-encoded, no video re-tracked.
    assert not (tmp_path / "temporal-codes.pt").exists() and not (tmp_path / "tracks").exists()
    _, _, _, (codes, _, labels) = assemble(cfg, tmp_path)
    second = torch.load(tmp_path / "seed-6" / "temporal-codes.pt", weights_only=True)
    second_videos = second["val_videos"][0]
    width = codes.shape[-1] // 2  # the second member's codes sit right of the first's
    assert torch.equal(codes[: len(second_videos), : second_videos.shape[1], width:], second_videos)
    assert 0 < labels.sum() < len(labels)

    # Member 6 read the real DFDC training crops only, half of them self-blended, and its
    # LSTM the training video's clips and their self-blended twins only; member 5 read all.
    train = split_by_identity(read_crop_csv(csv_path), cfg.split_seed)["train"]
    reals = sum(item.label == REAL for item in train)
    assert reals < len(train)
    stems = [torch.load(tmp_path / f"seed-{s}" / "stem-train.pt")["y"] for s in (5, 6)]
    assert len(stems[0]) == len(train) and len(stems[1]) == reals
    assert 0 < int(stems[1].sum()) < reals  # fakes: the self-blends alone
    clips = 2 * cfg.clips_per_video  # one training video: its clips and their twins
    sequences = [torch.load(tmp_path / f"seed-{s}" / "temporal-codes.pt")["train"] for s in (5, 6)]
    assert len(sequences[0][2]) == clips + cfg.crop_sequences and len(sequences[1][2]) == clips

    # The same members read with reference blends: a blend_contrast around the ensemble,
    # whose two weights calibration fitted on validation data.
    blends = dataclasses.replace(cfg, reference_blends=True, reference_blend_count=2)
    run(blends, tmp_path, tmp_path / "blends.pt", ("calibrate",), torch.device("cpu"))
    wrapped, wrapped_card = load_checkpoint(tmp_path / "blends.pt")
    assert wrapped_card.architecture == "blend_contrast"
    assert wrapped_card.config == {
        "inner": "ensemble", "mean": list(cfg.mean), "std": list(cfg.std), "blends": 2,
        **card.config,
    }  # fmt: skip
    assert len(wrapped.blends) == 2
    assert torch.equal(
        wrapped.inner.state_dict()[f"members.0.{head}"], model.state_dict()[f"members.0.{head}"]
    )
    weights = float(wrapped.frame_weight), float(wrapped.sequence_weight)
    assert all(w >= 0 for w in weights) and weights != (0.0, 0.0)
    assert wrapped_card.version != card.version
    # Platt scaling fitted the frame logits this reading gives, weights and all.
    val_crops = split_by_identity(read_crop_csv(csv_path), cfg.split_seed)["val"]
    val_frames = FrameDataset(val_crops, cfg.input_size, cfg.mean, cfg.std, train=False)
    # Read as calibration read them: the fp32 members (the checkpoint holds fp16 copies,
    # whose logits can move T by over 1 %, as much as leaving out the frame weight may).
    members, *_ = assemble(cfg, tmp_path)
    reading = create_model("blend_contrast", **wrapped_card.config)
    reading.inner.load_state_dict(members.state_dict())
    reading.frame_weight.fill_(float(wrapped.frame_weight))
    logits, frame_labels = frame_logits(reading, val_frames, torch.device("cpu"))
    temperature, bias = fit_platt(frame_labels, logits)
    assert wrapped_card.frame_temperature == pytest.approx(temperature, rel=1e-4)
    assert wrapped_card.frame_bias == pytest.approx(bias, abs=1e-4)
    reading.frame_weight.zero_()
    unweighted = fit_platt(frame_labels, frame_logits(reading, val_frames, torch.device("cpu"))[0])
    assert wrapped_card.frame_temperature != pytest.approx(unweighted[0], rel=1e-3)
    write_model_card(wrapped_card, blends, tmp_path / "BLENDS.md")
    text = (tmp_path / "BLENDS.md").read_text()
    assert "— ensemble of 2 × cnn_lstm_mobilenet_v2, read with reference blends, version" in text
    assert "It is an ensemble of 2 such models" in text
    assert "Every crop is also read after 2 fixed reference self-blends" in text
    assert f"own minus {weights[0]:.3f} × its gap" in text
    assert f"the model's minus {weights[1]:.3f} × its frames' mean gap" in text
    assert "3. Calibration: each head's reference-blend weight" in text
    assert "- The reference blends are self-blends of the family the video test's" in text

    write_model_card(card, cfg, tmp_path / "MODEL_CARD.md")
    text = (tmp_path / "MODEL_CARD.md").read_text()
    assert "— ensemble of 2 × cnn_lstm_mobilenet_v2, version" in text
    assert "mean of its frame logits plus the LSTM's correction" in text  # frame_skip: default
    assert "reference blend" not in text  # the plain ensemble's card
    recipe = text.split("`python manage.py train_detector --config FILE`, FILE holding `")[1]
    (tmp_path / "recipe.json").write_text(recipe.split("`")[0])
    assert TrainConfig.load(tmp_path / "recipe.json") == cfg  # the card's command reproduces it
    assert (
        "Seeds 5 and 6, one per member (identity split and held-out sets: seed 1337); the recipe"
        ' changed for member 6 with `{"dfdc_fakes": false, "sbi_fraction": 0.5,'
        ' "crop_sequences": 0}`; no DFDC face swap among the training crops: every fake is a'
        " self-blend." in text
    )
    write_model_card(card, TrainConfig(ensemble_seeds=(5, 6, 7)), tmp_path / "MODEL_CARD.md")
    three = (tmp_path / "MODEL_CARD.md").read_text()
    assert (
        "Seeds 5, 6 and 7, one per member (identity split and held-out sets: seed 1337)." in three
    )
    stray = TrainConfig(ensemble_seeds=(5, 6), member_overrides={"7": {"seed": 8}})
    with pytest.raises(ValueError, match=r"not in ensemble_seeds: \['7'\]"):
        stray.member_runs(tmp_path)


def test_members_validated_on_different_sequences_are_refused(tmp_path):
    """Calibrating an ensemble puts its members' cached validation codes side by side: that
    only means something when every member cut the same clips (same split_seed)."""
    cfg = TrainConfig(ensemble_seeds=(5, 6))
    for (_, folder), labels in zip(cfg.member_runs(tmp_path), ([0, 1], [1, 0]), strict=True):
        folder.mkdir()
        model = create_model(cfg.architecture, **cfg.model_config)
        torch.save(model.state_dict(), folder / "temporal-best.pt")
        codes = (torch.zeros(2, 4, model.feature_dim), torch.tensor([4, 3]), torch.tensor(labels))
        torch.save({"val_videos": codes, "val_crops": codes}, folder / "temporal-codes.pt")
    with pytest.raises(ValueError, match="validated on different sequences"):
        assemble(cfg, tmp_path)
