import dataclasses
import io
import random
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from detection.models import load_checkpoint
from detection.pipeline import DEFAULT_MODEL_PATH
from detection.training.augment import Softening
from detection.training.card_text import write_model_card
from detection.training.config import TrainConfig
from detection.training.data import (
    FAKE,
    REAL,
    CropItem,
    FrameDataset,
    read_crop_csv,
    split_by_identity,
)
from detection.training.frames import build_model
from detection.training.sbi import face_mask, random_blend_params, retouch_params, self_blend
from detection.training.sequences import (
    Clip,
    clip_blend,
    reencoded_copy,
    render_clip,
    track_crop_dataset,
    video_tracks,
)
from detection.training.temporal import encoded_sets, video_clip_set
from detection.video import probe
from tests.support import DFDC_FACES, ffmpeg, real_video, require, small_crop_csv


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


def test_paired_crops_keep_every_real_and_add_its_blend_under_the_same_augmentation():
    rng = np.random.default_rng(2)
    jpegs, items = [], []
    for number, label in enumerate([REAL, FAKE, REAL]):
        buffer = io.BytesIO()
        smooth = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
        Image.fromarray(smooth).resize((160, 160), Image.BICUBIC).save(buffer, format="PNG")
        jpegs.append(buffer.getvalue())
        items.append(CropItem(Path(f"crop{number}"), label, f"id{number}"))
    mean, std = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
    paired = FrameDataset(
        items, 128, mean, std, train=True, sbi_fraction=1.0, seed=7, jpegs=jpegs, paired=True
    )
    assert len(paired) == 5  # both reals stay real (sbi_fraction is unused) and get a twin
    assert [paired[i][1] for i in range(5)] == [REAL, FAKE, REAL, FAKE, FAKE]
    for twin, crop in ((3, 0), (4, 2)):
        for epoch in (0, 1):
            paired.epoch = epoch
            (real, _), (fake, _) = paired[crop], paired[twin]
            difference = (fake - real).abs()
            assert difference.mean() > 0.005  # the blend
            # Same crop, flip, colour, noise and JPEG: the corners, outside any mask, stay alike.
            corners = torch.cat([difference[:, :12, :12], difference[:, :12, -12:]])
            assert corners.mean() < difference.mean() / 5
    paired.epoch = 0
    first = paired[3][0]
    paired.epoch = 1
    assert not torch.equal(first, paired[3][0])  # a new blend and augmentation each view
    unpaired = FrameDataset(items, 128, mean, std, train=True, sbi_fraction=1.0, jpegs=jpegs)
    assert len(unpaired) == 3 and [unpaired[i][1] for i in range(3)] == [FAKE] * 3
    evaluation = FrameDataset(items, 128, mean, std, train=False, jpegs=jpegs, paired=True)
    assert [evaluation[i][1] for i in range(len(evaluation))] == [REAL, FAKE, REAL]


def test_softening_probabilities_reach_training_crops_and_clips_and_keep_labels():
    detail = np.random.default_rng(3).integers(0, 255, (160, 160, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(detail).save(buffer, format="PNG")
    items = [CropItem(Path(f"crop{n}"), label, f"id{n}") for n, label in enumerate([REAL, FAKE])]
    mean, std = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)

    def crops(softening: Softening) -> list[tuple[torch.Tensor, int]]:
        data = FrameDataset(
            items * 8, 128, mean, std, train=True, jpegs=[buffer.getvalue()] * 16,
            softening=softening,
        )  # fmt: skip
        return [data[i] for i in range(len(data))]

    def high_frequency(crop: torch.Tensor) -> float:
        return (crop[:, :, 1:] - crop[:, :, :-1]).abs().mean().item()

    never, always = crops(Softening(blur=0.0, rescale=0.0)), crops(Softening(blur=1.0, rescale=1.0))
    assert [label for _, label in never] == [label for _, label in always] == [REAL, FAKE] * 8
    for (sharp, _), (soft, _) in zip(never, always, strict=True):
        assert high_frequency(soft) < high_frequency(sharp) / 1.5
    # Reals may have their own odds: here only they are softened, the fakes left sharp.
    reals_only = crops(Softening(blur=0.0, rescale=0.0, real_blur=1.0, real_rescale=1.0))
    for (sharp, label), (crop, _) in zip(never, reals_only, strict=True):
        softened = high_frequency(crop) < high_frequency(sharp) / 1.5
        assert softened == (label == REAL)

    # Temporal clips follow the recipe's fields when training and ignore them when evaluating.
    clip = Clip((Image.fromarray(detail),) * 2, REAL, seed=5, blend=False, jitter=False)
    sharp_cfg = TrainConfig(blur_probability=0.0, rescale_probability=0.0, input_size=128)
    soft_cfg = dataclasses.replace(sharp_cfg, blur_probability=1.0, rescale_probability=1.0)

    def clip_detail(cfg: TrainConfig, augment: bool) -> float:
        frames = render_clip(clip, cfg, augment=augment)
        return high_frequency(torch.from_numpy(np.stack([np.asarray(f) for f in frames])) / 255.0)

    assert clip_detail(soft_cfg, True) < clip_detail(sharp_cfg, True) / 1.5
    assert clip_detail(soft_cfg, False) == clip_detail(sharp_cfg, False)
    reals_soft = dataclasses.replace(
        sharp_cfg, real_blur_probability=1.0, real_rescale_probability=1.0
    )
    assert clip_detail(reals_soft, True) < clip_detail(sharp_cfg, True) / 1.5
    clip = dataclasses.replace(clip, label=FAKE)  # a fake clip keeps the fakes' odds
    assert clip_detail(reals_soft, True) == clip_detail(sharp_cfg, True)


def _inner_detail(crop: torch.Tensor) -> float:
    """Mean horizontal change across the centre of a 128-px crop tensor: its fine detail."""
    centre = crop[:, 52:76, 52:76]
    return float((centre[:, :, 1:] - centre[:, :, :-1]).abs().mean())


def test_retouch_smooths_only_the_inner_face_of_real_crops_and_keeps_them_real(tmp_path):
    """A beauty filter's skin smoothing: inner face blurred, colour, geometry and border kept;
    real crops stay real, fake crops are untouched, and the card says it."""
    detail = np.random.default_rng(4).integers(0, 255, (160, 160, 3), dtype=np.uint8)
    img = Image.fromarray(detail)

    def high_frequency(pixels: np.ndarray) -> float:
        return float(np.abs(np.diff(pixels.astype(float), axis=1)).mean())

    for seed in range(5):
        params = retouch_params(random.Random(seed))
        retouched = np.asarray(self_blend(img, params))
        inner, outside = slice(64, 96), face_mask(img.size, params) < 1e-3
        assert high_frequency(retouched[inner, inner]) < high_frequency(detail[inner, inner]) / 1.5
        assert abs(retouched[inner, inner].mean() - detail[inner, inner].mean()) < 3
        assert np.abs(retouched.astype(int) - detail.astype(int))[outside].max() <= 1

    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    items = [CropItem(Path(f"crop{n}"), label, f"id{n}") for n, label in enumerate([REAL, FAKE])]

    def crops(retouch: float) -> list[tuple[torch.Tensor, int]]:
        data = FrameDataset(
            items * 4, 128, (0.5,) * 3, (0.5,) * 3, train=True, jpegs=[buffer.getvalue()] * 8,
            softening=Softening(blur=0.0, rescale=0.0), retouch=retouch,
        )  # fmt: skip
        return [data[i] for i in range(len(data))]

    for (plain, label), (crop, retouched_label) in zip(crops(0.0), crops(1.0), strict=True):
        assert label == retouched_label
        assert (_inner_detail(crop) < 0.9 * _inner_detail(plain)) == (label == REAL)
        assert torch.equal(crop, plain) == (label == FAKE)  # a fake draws nothing more

    _, card = load_checkpoint(DEFAULT_MODEL_PATH, "cpu")
    write_model_card(card, TrainConfig(real_retouch_probability=0.3), tmp_path / "MODEL_CARD.md")
    said = "inner face smoothed on 30% of the crops that stay real (a beauty filter's retouch"
    assert said in (tmp_path / "MODEL_CARD.md").read_text()
    write_model_card(card, TrainConfig(), tmp_path / "MODEL_CARD.md")
    assert "inner face smoothed" not in (tmp_path / "MODEL_CARD.md").read_text()


def test_unblurred_copies_keep_every_draw_and_drop_only_the_copy_blur(tmp_path):
    """sbi_blurred_copies=False: the same crops blend and get the same degradation; a blend
    whose draw blurred its copy is sharper inside the face, the others are bit-identical, and
    both happen (one draw in three blurs the copy)."""
    detail = np.random.default_rng(5).integers(0, 255, (160, 160, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(detail).save(buffer, format="PNG")
    items = [CropItem(Path(f"crop{n}"), REAL, f"id{n}") for n in range(24)]

    def crops(blurred_copies: bool) -> list[tuple[torch.Tensor, int]]:
        data = FrameDataset(
            items, 128, (0.5,) * 3, (0.5,) * 3, train=True, jpegs=[buffer.getvalue()] * 24,
            sbi_fraction=1.0, softening=Softening(blur=0.0, rescale=0.0),
            blurred_copies=blurred_copies,
        )  # fmt: skip
        return [data[i] for i in range(len(data))]

    for seed in range(200):  # the switch zeroes the blur and leaves every other draw alone
        for varied in (False, True):
            drawn = random_blend_params(random.Random(seed), varied_masks=varied)
            sharp = random_blend_params(
                random.Random(seed), varied_masks=varied, blurred_copy=False
            )
            assert sharp == dataclasses.replace(drawn, blur=0.0)

    outcomes = Counter()
    for (blurred, label), (sharp, sharp_label) in zip(crops(True), crops(False), strict=True):
        assert label == sharp_label == FAKE
        if torch.equal(sharp, blurred):
            outcomes["same"] += 1  # the draw did not blur this copy
        else:
            assert _inner_detail(sharp) > _inner_detail(blurred)
            outcomes["sharper"] += 1
    assert outcomes["sharper"] and outcomes["same"]

    _, card = load_checkpoint(DEFAULT_MODEL_PATH, "cpu")
    said = "turned into self-blended fakes, the blended copy never blurred"
    write_model_card(card, TrainConfig(sbi_blurred_copies=False), tmp_path / "MODEL_CARD.md")
    assert said in (tmp_path / "MODEL_CARD.md").read_text()
    write_model_card(card, TrainConfig(), tmp_path / "MODEL_CARD.md")
    assert "never blurred" not in (tmp_path / "MODEL_CARD.md").read_text()


def test_temporal_retouch_gives_training_clips_the_frame_stages_recipe(tmp_path):
    """temporal_retouch: a real training clip is retouched, one retouch for every frame, at
    the frame stage's odds; a fake's copy loses its blur as in the frame stage; validation
    clips and every other draw stay the same, and the card says it."""
    detail = Image.fromarray(np.random.default_rng(6).integers(0, 255, (160, 160, 3), np.uint8))
    sharp = TrainConfig(blur_probability=0.0, rescale_probability=0.0, input_size=128)
    retouching = dataclasses.replace(
        sharp, temporal_retouch=True, real_retouch_probability=1.0, sbi_blurred_copies=False
    )

    def frames(clip: Clip, cfg: TrainConfig, augment: bool = True) -> list[torch.Tensor]:
        rendered = render_clip(clip, cfg, augment=augment)
        return [torch.from_numpy(np.asarray(f).copy()).permute(2, 0, 1) / 255.0 for f in rendered]

    real = Clip((detail,) * 3, REAL, seed=7, blend=False, jitter=False)
    plain, retouched = frames(real, sharp), frames(real, retouching)
    for before, after in zip(plain, retouched, strict=True):
        assert _inner_detail(after) < 0.9 * _inner_detail(before)
    params = clip_blend(real, retouching, augment=True)
    assert (params.ratio, params.scale, params.rgb_shift) == (1.0, 1.0, (0.0, 0.0, 0.0))
    assert params.blur > 0
    validation, unchanged = frames(real, retouching, False), frames(real, sharp, False)
    assert all(map(torch.equal, validation, unchanged)) and len(validation) == 3
    assert (
        clip_blend(real, dataclasses.replace(retouching, temporal_retouch=False), augment=True)
        is None
    )

    blurred_copies = 0
    for seed in range(12):
        fake = Clip((detail,), FAKE, seed=seed, blend=True, jitter=False)
        drawn = clip_blend(fake, sharp, augment=True)
        assert clip_blend(fake, retouching, augment=True) == dataclasses.replace(drawn, blur=0.0)
        assert clip_blend(fake, retouching, augment=False) == drawn  # validation fakes as ever
        blurred_copies += drawn.blur > 0
    assert blurred_copies  # the option changed something

    odds = dataclasses.replace(retouching, real_retouch_probability=0.3)
    clips = [Clip((detail,), REAL, seed=n, blend=False, jitter=False) for n in range(300)]
    share = np.mean([clip_blend(c, odds, augment=True) is not None for c in clips])
    assert 0.2 < share < 0.4

    _, card = load_checkpoint(DEFAULT_MODEL_PATH, "cpu")
    said = "30% of the real training clips retouched as the frame stage's crops are"
    write_model_card(card, odds, tmp_path / "MODEL_CARD.md")
    temporal = (tmp_path / "MODEL_CARD.md").read_text().split("\n2. ")[1].split("\n3. ")[0]
    assert said in temporal and "the fakes' copies never blurred" in temporal
    write_model_card(card, dataclasses.replace(odds, temporal_retouch=False), tmp_path / "c.md")
    assert "training clips retouched" not in (tmp_path / "c.md").read_text()
    copies_only = dataclasses.replace(odds, real_retouch_probability=0.0)
    write_model_card(card, copies_only, tmp_path / "c.md")
    temporal = (tmp_path / "c.md").read_text().split("\n2. ")[1].split("\n3. ")[0]
    assert "; the fakes' copies never blurred;" in temporal and "clips retouched" not in temporal


def test_the_model_card_says_how_the_training_fakes_were_made(tmp_path):
    _, card = load_checkpoint(DEFAULT_MODEL_PATH, "cpu")
    swaps = "no DFDC face swap among the training crops: every fake is a self-blend"
    for cfg, said, unsaid in (
        (TrainConfig(sbi_paired=True), "also read as its own self-blended fake", "30% of real"),
        (TrainConfig(), "30% of real DFDC crops and 50% of video-track crops", "its own self"),
        (TrainConfig(), "turned into self-blended fakes (elliptical", swaps),
        (TrainConfig(dfdc_fakes=False), f"turned into self-blended fakes; {swaps} (", "paired"),
    ):
        write_model_card(card, cfg, tmp_path / "MODEL_CARD.md")
        recipe = (tmp_path / "MODEL_CARD.md").read_text().split("## Recipe")[1].split("\n2.")[0]
        assert said in recipe and unsaid not in recipe
    assert "down/up-scaling (25% of crops), blur (20%)" in recipe
    softer = TrainConfig(blur_probability=0.5, rescale_probability=0.45)
    write_model_card(card, softer, tmp_path / "MODEL_CARD.md")
    assert "down/up-scaling (45% of crops), blur (50%)" in (tmp_path / "MODEL_CARD.md").read_text()
    reals_softer = TrainConfig(real_blur_probability=0.5, real_rescale_probability=0.6)
    write_model_card(card, reals_softer, tmp_path / "MODEL_CARD.md")
    assert (
        "down/up-scaling (25% of fake crops, 60% of real ones), blur (20% of fake, 50% of real)"
        in (tmp_path / "MODEL_CARD.md").read_text()
    )


def test_varied_masks_only_add_draws_so_evaluation_fakes_stay_the_same():
    shapes = Counter()
    for seed in range(60):
        plain = random_blend_params(random.Random(seed))
        varied = random_blend_params(random.Random(seed), varied_masks=True)
        assert plain.wobble == ()
        # Everything but the mask's shape comes from the same draws as the ellipse recipe.
        assert dataclasses.replace(varied, centre=plain.centre, axes=plain.axes, wobble=()) == plain
        if not varied.wobble:
            shapes["ellipse"] += 1
            assert varied == plain
        elif varied.axes[0] < plain.axes[0]:
            shapes["inner"] += 1
            assert varied.centre[1] > plain.centre[1]
        else:
            shapes["outline"] += 1
    assert all(shapes[name] >= 10 for name in ("ellipse", "outline", "inner")), shapes


def test_deformed_outline_mask_differs_from_the_ellipse_and_keeps_the_border():
    rng = np.random.default_rng(1)
    img = Image.fromarray(rng.integers(0, 255, (160, 160, 3), dtype=np.uint8))
    drawn = (random_blend_params(random.Random(s), varied_masks=True) for s in range(100))
    params = next(p for p in drawn if p.wobble)
    outline = face_mask(img.size, params)
    ellipse = face_mask(img.size, dataclasses.replace(params, wobble=()))
    assert outline.min() >= 0.0 and outline.max() <= params.ratio + 1e-6
    assert np.abs(outline - ellipse).mean() > 0.01
    assert outline[0].max() < 1e-3 and max(outline[-1, 0], outline[-1, -1]) < 1e-3  # top, corners
    blended = np.asarray(self_blend(img, params)).astype(int)
    outside = outline < 1e-3
    assert np.abs(blended - np.asarray(img).astype(int))[outside].max() <= 1


def test_training_videos_are_also_read_reencoded_and_held_out_ones_never(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    ffmpeg("-i", str(real_video("vr-1.mp4")), "-t", "1", "-vf", "scale=240:240", "-an",
           "-c:v", "libx264", "-crf", "12", str(videos / "train.mp4"))  # fmt: skip
    (videos / "val.mp4").symlink_to(real_video("vr-3.mp4"))
    cfg = TrainConfig(
        real_videos=str(videos), val_videos=("val.mp4",), test_videos=(), track_frames=10,
        clip_length=4, video_reencode_crf=(36,),
    )  # fmt: skip
    cache = tmp_path / "tracks"
    copy = reencoded_copy(videos / "train.mp4", 36, cache)
    assert copy == cache / "train-crf36.mp4"
    assert probe(copy).frame_count == probe(videos / "train.mp4").frame_count
    assert copy.stat().st_size < (videos / "train.mp4").stat().st_size / 3  # CRF 36 vs 12
    made = copy.stat().st_mtime_ns
    assert reencoded_copy(videos / "train.mp4", 36, cache).stat().st_mtime_ns == made

    crfs = cfg.video_reencode_crf
    crops = track_crop_dataset(cfg, ["train.mp4"], cache, sbi_fraction=0.0, seed=1, crfs=crfs)
    sources = Counter(str(item.path).split("#")[0] for item in crops.items)
    assert set(sources) == {"train.mp4", "train-crf36.mp4"}
    assert abs(sources["train.mp4"] - sources["train-crf36.mp4"]) <= 1
    assert all(item.label == REAL and item.identity == "train.mp4" for item in crops.items)
    validation = track_crop_dataset(cfg, ["val.mp4"], cache, sbi_fraction=0.0, seed=1)
    assert {str(item.path).split("#")[0] for item in validation.items} == {"val.mp4"}
    assert not (cache / "val-crf36.mp4").exists()

    # Temporal clips: windows come from the original and the re-encode, same count as without.
    frames_of = defaultdict(set)  # a video may have several tracks
    for video, track in video_tracks(cfg, "train.mp4", cache, crfs):
        frames_of[video.name].update(frame.tobytes() for frame in track)
    clips = video_clip_set(cfg, ["train.mp4"], tmp_path, 12, seed=3, crfs=crfs)
    assert len(clips) == len(video_clip_set(cfg, ["train.mp4"], tmp_path, 12, seed=3)) == 24
    drawn = Counter(
        name
        for clip in clips
        for name, frames in frames_of.items()
        if np.asarray(clip.images[0]).tobytes() in frames
    )
    assert drawn["train.mp4"] > 0 and drawn["train-crf36.mp4"] > 0
    assert sum(drawn.values()) == len(clips)


def test_the_lstm_can_train_on_videos_alone_and_still_validates_on_dfdc_crops(tmp_path):
    """crop_sequences 0: no DFDC crop sequence among the LSTM's training sequences, only the
    training videos' clips and their self-blended twins; the validation sequences keep their
    DFDC crops, so the epoch choice and calibration see the same data as before."""
    videos = tmp_path / "videos"
    videos.mkdir()
    ffmpeg("-i", str(real_video("vr-1.mp4")), "-t", "1", "-vf", "scale=240:240", "-an",
           "-c:v", "libx264", str(videos / "train.mp4"))  # fmt: skip
    (videos / "val.mp4").symlink_to(real_video("vr-3.mp4"))
    cfg = TrainConfig(
        dfdc_csv=str(small_crop_csv(tmp_path)), real_videos=str(videos), val_videos=("val.mp4",),
        test_videos=(), track_frames=10, clip_length=4, clips_per_video=2, crop_sequences=0,
        val_crop_sequences=3, crop_sequence_length=5,
    )  # fmt: skip
    model = build_model(cfg)
    alone, with_crops = tmp_path / "alone", tmp_path / "with-crops"
    alone.mkdir()
    with_crops.mkdir()
    (with_crops / "tracks").symlink_to(alone / "tracks", target_is_directory=True)
    videos_only = encoded_sets(cfg, model, alone)
    both = encoded_sets(dataclasses.replace(cfg, crop_sequences=4), model, with_crops)

    _, lengths, labels = videos_only["train"]
    assert labels.tolist().count(REAL) == labels.tolist().count(FAKE) == 2  # clips + twins
    assert set(lengths.tolist()) == {4}  # clip-long, no 5-frame crop sequence
    assert len(both["train"][2]) == 4 + 4 and 5 in both["train"][1].tolist()
    for sets in (videos_only, both):  # validation does not follow the training crops
        assert len(sets["val_crops"][2]) == 3 and set(sets["val_crops"][1].tolist()) == {5}
        assert len(sets["val_videos"][2]) == 2
    assert torch.equal(videos_only["val_crops"][0], both["val_crops"][0])

    _, card = load_checkpoint(DEFAULT_MODEL_PATH, "cpu")
    for crops, said in ((0, "self-blended fakes of the same clips (no DFDC crop sequences);"),
                        (600, "same clips, plus 600 jittered DFDC crop sequences;")):  # fmt: skip
        write_model_card(card, dataclasses.replace(cfg, crop_sequences=crops), tmp_path / "c.md")
        assert said in (tmp_path / "c.md").read_text()
