import json

import torch

from detection.models import load_checkpoint
from detection.pipeline import DEFAULT_MODEL_PATH
from detection.training import frames
from detection.training.card_text import write_model_card
from detection.training.config import TrainConfig
from detection.training.frames import (
    smoothed_targets,
    split_encoder,
    train_frames,
    view_disagreement,
)
from tests.support import DFDC_FACES, require, train_and_val_videos


def test_frame_stage_trains_only_the_top_and_resumes_from_its_result(tmp_path, monkeypatch):
    """Also with label smoothing: every training target the loss sees is a smoothed label;
    and with view consistency: every step reads crops in pairs, each crop's cached view
    beside its next view of the same crop."""
    require((DFDC_FACES / "labels.csv").is_file(), "../shared/data/dfdc-faces not found")
    videos = train_and_val_videos(tmp_path)
    cfg = TrainConfig(
        max_crops_per_split=48, frame_views=3, frame_epochs=2, frame_batch_size=12,
        workers=0, threads=1, real_videos=str(videos), val_videos=("val.mp4",), test_videos=(),
        track_frames=12, video_crop_views=3, frame_label_smoothing=0.2,
        frame_view_consistency=1.0,
    )  # fmt: skip
    targets, batches = set(), []
    loss = torch.nn.functional.binary_cross_entropy_with_logits

    def watched_loss(logits, target, *args, **kwargs):  # torch's own loss, its targets noted
        targets.update(round(float(t), 6) for t in target)
        return loss(logits, target, *args, **kwargs)

    def watched_split(model, blocks):  # the real split; the top's training inputs noted
        stem, top = split_encoder(model, blocks)

        def note(module, args):
            if module.training:
                batches.append(args[0])

        top.register_forward_pre_hook(note)
        return stem, top

    monkeypatch.setattr(torch.nn.functional, "binary_cross_entropy_with_logits", watched_loss)
    monkeypatch.setattr(frames, "split_encoder", watched_split)
    best = train_frames(cfg, tmp_path, torch.device("cpu"))
    assert targets == {0.1, 0.9}
    views = 3  # frame_views and video_crop_views alike: the next view is not the previous
    rows = {}  # every cached stem output → (cache, crop, view); views are stacked whole
    for name in ("stem-train.pt", "stem-video-train.pt"):
        x = torch.load(tmp_path / name, weights_only=True)["x"]
        crops = len(x) // views
        for row, code in enumerate(x):
            rows[code.float().numpy().tobytes()] = (name, row % crops, row // crops)
    assert batches and all(len(b) == cfg.frame_batch_size for b in batches)
    for batch in batches:
        first, second = batch.chunk(2)
        for a, b in zip(first, second, strict=True):
            cache_a, crop_a, view_a = rows[a.numpy().tobytes()]
            cache_b, crop_b, view_b = rows[b.numpy().tobytes()]
            assert (cache_a, crop_a) == (cache_b, crop_b) and view_b == (view_a + 1) % views
    history = json.loads((tmp_path / "frames-history.json").read_text())
    assert [h["epoch"] for h in history["history"]] == [1, 2]
    assert 0.0 <= history["best_val_auc"] <= 1.0
    assert all(0.0 <= h["val_auc_video_crops"] <= 1.0 for h in history["history"])

    from detection.training.frames import build_model

    imagenet = build_model(cfg)
    trained = build_model(cfg)
    trained.load_state_dict(torch.load(best, weights_only=True))
    stem_before, top_before = split_encoder(imagenet, cfg.frozen_blocks)
    stem_after, top_after = split_encoder(trained, cfg.frozen_blocks)
    for a, b in zip(
        stem_before.state_dict().values(), stem_after.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)  # the frozen stem keeps its ImageNet weights
    assert any(
        not torch.equal(a, b)
        for a, b in zip(
            top_before.state_dict().values(), top_after.state_dict().values(), strict=True
        )
    )
    mtime = best.stat().st_mtime_ns
    assert train_frames(cfg, tmp_path, torch.device("cpu")) == best  # finished: not redone
    assert best.stat().st_mtime_ns == mtime


def test_shipped_checkpoint_is_trained_and_documented():
    from detection.training.train import DEFAULT_OUTPUT

    require(DEFAULT_OUTPUT.is_file(), f"{DEFAULT_OUTPUT} has not been trained yet")
    _, card = load_checkpoint(DEFAULT_OUTPUT)
    assert card.trained
    assert card.metrics["test_dfdc_frames"]["count"] > 1000
    assert DEFAULT_OUTPUT.stat().st_size < 25 * 1024 * 1024
    text = DEFAULT_OUTPUT.with_name("MODEL_CARD.md").read_text()
    assert card.version in text and "research" in text


def test_label_smoothing_pulls_targets_towards_one_half_and_the_card_says_it(tmp_path):
    labels = torch.tensor([0.0, 1.0])
    assert torch.equal(smoothed_targets(labels, 0.0), labels)
    assert torch.allclose(smoothed_targets(labels, 0.1), torch.tensor([0.05, 0.95]))

    step = _frame_step(TrainConfig(frame_label_smoothing=0.1), tmp_path)
    assert "weight decay 0.0001, labels smoothed by 0.1 (targets 0.05 and 0.95), batch" in step
    assert "smoothed by" not in _frame_step(TrainConfig(), tmp_path)


def test_view_disagreement_ties_probabilities_of_pairs_that_kept_one_label():
    """First views, then their partners: pairs of one label count, a blended view does not."""
    logits = torch.tensor([0.0, 3.0, 1.0, 0.0, -3.0, 5.0])
    labels = torch.tensor([0.0, 1.0, 0.0, 0.0, 1.0, 1.0])
    gap = torch.sigmoid(torch.tensor(3.0)) - torch.sigmoid(torch.tensor(-3.0))
    assert torch.isclose(view_disagreement(logits, labels), gap**2 / 2)
    assert view_disagreement(logits, torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])) == 0


def test_the_card_says_when_views_are_tied(tmp_path):
    assert (
        "batch 128 (each step half a batch of crops in two cached views, the squared gap of"
        " their fake probabilities added to the loss at weight 0.5), input 160 px"
    ) in _frame_step(TrainConfig(frame_view_consistency=0.5), tmp_path)
    assert "cached views, the squared gap" not in _frame_step(TrainConfig(), tmp_path)


def _frame_step(cfg: TrainConfig, folder) -> str:
    """The recipe's frame-stage step as the shipped card's text renders it for cfg."""
    _, card = load_checkpoint(DEFAULT_MODEL_PATH, "cpu")
    write_model_card(card, cfg, folder / "MODEL_CARD.md")
    return (folder / "MODEL_CARD.md").read_text().split("\n1. ")[1].split("\n2. ")[0]
