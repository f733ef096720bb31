"""The training recipe as data: defaults are the shipped model's recipe; a JSON file overrides."""

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detection.training.augment import Softening

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 1337  # initialisation, augmentation and order of training
    # The DFDC identity split and every validation and test set are drawn from this one, so
    # runs that differ only in `seed` are trained apart and measured on the same data.
    split_seed: int = 1337
    architecture: str = "cnn_lstm_mobilenet_v2"
    # frame_skip: the LSTM corrects the mean of a track's frame logits. Runs 5 to 8 showed the
    # mean-pool baseline ranking the validation videos at least as well as the LSTM alone.
    # Run 15 read each crop and its mirror (mean of both codes) with run 10's weights: one more
    # validation real segment above 0.5, so the engine keeps one backbone pass per crop.
    # Run 32 read each crop as the mean code of the whole crop and its four 90 % corner crops:
    # real segments moved towards 0.5 from both sides and 2 of 9 ended above it (validation
    # accuracy 0.926 against 0.963), so the engine still reads each crop once.
    model_config: dict[str, Any] = field(
        default_factory=lambda: {
            "hidden_size": 128,
            "num_layers": 1,
            "dropout": 0.2,
            "frame_skip": True,
        }
    )
    # Run 19 tried 192 with frame_epochs 6 (a step took 1.6x as long, so 12 epochs would pass
    # 2 hours): DFDC validation held (0.908), but the video crops' real-vs-blend AUC fell as
    # DFDC was learnt, and 4 of 9 validation real segments scored above 0.5 (AUC 0.975).
    input_size: int = 160
    # Box + 20 % each side, so the whole face and its outline (where blends leave their seam)
    # are in the crop. The DFDC crops frame faces about 2.1x tighter, and cannot be widened:
    # MTCNN's eye distance is a median 0.50 of the side over 2,000 of them, against 0.24 over
    # the 1,614 engine crops of the training and validation videos' face tracks.
    face_margin: float = 0.2
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    frames: int = 32
    threads: int = 2
    workers: int = 2
    # Frame stage: fine-tune the backbone on DFDC crops (+ self-blended fakes of its reals).
    dfdc_csv: str = str(SHARED_DATA / "dfdc-faces" / "labels.csv")
    max_crops_per_split: int = 0  # 0: all; a small number makes a quick smoke run
    # Face-track crops of the training real videos join the frame stage as real faces, with
    # self-blended fakes of them: DFDC alone makes clean studio faces look fake.
    video_crop_views: int = 4
    video_sbi_fraction: float = 0.5
    # How many times all video-crop views are read per epoch. Run 20 tried 2: DFDC validation
    # held (0.907), but the video crops' real-vs-blend AUC fell as DFDC was learnt, as in run 19,
    # and 3 of 9 validation real segments scored above 0.5 (AUC 0.926).
    video_repeat: int = 1
    # Training videos are also read re-encoded with H.264 at these CRFs (crops of every copy
    # join the frame stage; clips are drawn from all copies): low-bitrate real video must not
    # look fake. (): originals only. Validation and test videos are never re-encoded.
    # Run 8 tried (28, 36) with 2 video views: more false positives on the validation videos.
    video_reencode_crf: tuple[int, ...] = ()
    # MobileNetV2 feature blocks kept at ImageNet weights (cached). 7 ends at 20x20x32: the
    # blocks that see blending boundaries at 10x10 and finer stay trainable.
    # Run 6 froze only 4 (cache at 40x40x24): worse on the validation videos, 1.5x slower.
    # Run 18 froze 11 (cache at 10x10x64): DFDC validation held (0.909), but the video crops'
    # real-vs-blend AUC was lower at every epoch than the default's seed-1337 member, and the
    # validation videos ranked worse (AUC 0.920, 3 of 9 real segments above 0.5). One seed each
    # way: freezing blocks 7 to 10 cost blend evidence, not only DFDC memorisation.
    frozen_blocks: int = 7
    frame_views: int = 3  # augmented views of every DFDC crop in the cache; one per epoch
    frame_epochs: int = 12
    frame_batch_size: int = 128
    frame_lr: float = 1e-3
    # Run 16 tried 0.05 alone (run 5 had it only with varied masks and more views): DFDC
    # validation held (0.908), but 3 of 9 validation real segments scored above 0.5.
    weight_decay: float = 1e-4
    # Frame-stage targets pulled this far towards 1/2 (0.1: reals 0.05, fakes 0.95), so no crop
    # is worth an unbounded logit: the frame stage ends at a training loss of 0.08, the
    # validation videos' self-blended segments average frame logits of 7 to 17, and a video's
    # logit is the mean of its frames'. 0: hard labels. Run 31 tried 0.1: guard held (DFDC
    # val 0.906), but the video crops' real-vs-blend AUC fell to 0.78 by the last epoch, and
    # 5 of 9 validation real segments scored above 0.5.
    frame_label_smoothing: float = 0.0
    # Weight of a loss tying the fake probabilities of two cached views of one crop (squared
    # gap, pairs that kept one label): each step then reads half a batch of crops in two views.
    # Why: on the validation videos a clean real face's mean frame logit spans 2 to 6 across
    # framings inside the augmentation's range, crossing 0, while its self-blends stay far
    # above it. 0: no pairing, each step reads a batch of crops once. Run 33 tried 1.0: guard
    # held (DFDC val 0.904), but lp-d19's validation segments scored 0.82 and 0.85 (accuracy
    # 0.926 against 0.963).
    frame_view_consistency: float = 0.0
    # Run 12 tried 0.5: the validation videos' reals and fakes both scored lower (the gap
    # between them narrowed) and DFDC validation fell to 0.891 at the chosen epoch. Run 13
    # tried 0.4: DFDC validation held (0.908), but 3 of 9 validation real segments scored above 0.5.
    # Run 14 tried 0.5 from seed 2024: DFDC validation 0.899 at the chosen epoch, 3 of 9 above
    # 0.5: at 0.5 DFDC falls on both seeds, and run 12's low real scores were its seed's chance.
    sbi_fraction: float = 0.3
    # False: DFDC's face swaps leave the training crops (frame stage and crop sequences), and
    # the model learns fakes from self-blends alone, as the SBI paper trains on reals only.
    # Run 25 added such a member (sbi_fraction 0.5, crop_sequences 0) to the shipped two: guard
    # held (ensemble DFDC val 0.904), but 4 of 9 validation real segments scored above 0.5; the
    # member too read lp-s20 and lp-d19 as fake, and its wider logits weighed most in the mean.
    dfdc_fakes: bool = True
    # True: training fakes also get deformed-outline and inner-face masks (validation and test
    # fakes keep the ellipse either way, so their sets stay the same). Run 5 tried it, with
    # more views and weight decay 0.05: more false positives on the validation videos; run 7,
    # the same at weight decay 1e-4, too: the masks and views, not the decay, cost.
    sbi_varied_masks: bool = False
    # True: no real training crop (DFDC or video) is replaced; each is also read as its own
    # self-blended fake under the same degradation, as the SBI paper pairs them, so the blend
    # is all that tells the pair apart (sbi_fraction and video_sbi_fraction are then unused).
    # Run 17 tried it at the default's compute (frame_views 2, frame_epochs 8, video_crop_views
    # 2): DFDC validation 0.897 at the chosen epoch, and the validation videos ranked worse
    # (AUC 0.901; lp-d19's real segments 0.89 and 0.93). As a third member beside run 10's two:
    # 2 of 9 validation real segments above 0.5, against run 10's 1.
    sbi_paired: bool = False
    # How often a training crop (frames and temporal clips; both labels, unless the real odds
    # below are set) is blurred, and how often down- then up-scaled. Validation sets keep the
    # default, so runs compare.
    # Run 21 tried 0.5 and 0.5: guard held (DFDC val 0.910) and validation-video AUC stayed
    # 1.000, but 3 of 9 real segments scored above 0.5 (accuracy 0.889, ECE 0.133), and a
    # blurred real video face still read as fake. Run 22, its two-seed ensemble (as the shipped
    # model is of the default), lost the same way: accuracy 0.889, ECE 0.127.
    blur_probability: float = 0.2
    rescale_probability: float = 0.25
    # Real crops' own odds (None: as fakes'), in the frame crops and the temporal clips.
    # Run 24 tried 0.5 and 0.5 for reals (fakes at the default): guard held (DFDC val 0.905),
    # but 5 of 9 validation real segments scored above 0.5: sharpness then read as fake.
    real_blur_probability: float | None = None
    real_rescale_probability: float | None = None
    # How often a real frame-stage training crop (DFDC or video track) that stays real gets its
    # inner face smoothed, as beauty filters do (sbi.retouch_params). Run 25 read that this
    # alone turns every real face fake to the shipped model: the blend it learnt is a softer
    # inner face, which retouched real video has too. Run 26 tried 0.3: guard held (DFDC val
    # 0.921), but 6 of 9 validation real segments scored above 0.5; radius-2 smoothing then read
    # real, radius 1 (inside the blended copies' 0.4-1.2) still fake.
    real_retouch_probability: float = 0.0
    # False: a frame-stage training blend's copy is never blurred (random_blend_params blurs it
    # in one blend of three; the draws stay the same, so do validation and test fakes), so
    # a softer inner face is never by itself what makes a training fake. Run 27 tried it with
    # retouch 0.3: guard held (DFDC val 0.921), 2 of 9 validation real segments above 0.5
    # (run 26: 6; the shipped ensemble: 1), so it lost and was not tested. Run 28, its two-seed
    # ensemble: guard held (0.931), 4 of 9 above 0.5; lost, not tested.
    sbi_blurred_copies: bool = True
    # True: the temporal stage's training clips follow the two fields above as the frame
    # stage's crops do: real clips (video windows and DFDC crop sequences) retouched at
    # real_retouch_probability, one retouch for all of a clip's frames, and the fakes' copies
    # unblurred when sbi_blurred_copies is false. Validation clips never change. Run 29 tried it
    # on run 28's frame stages: the same 4 of 9 validation real segments above 0.5, each within
    # 0.011 of run 28's score (the frame logits' mean decides); lost, not tested.
    temporal_retouch: bool = False
    # Temporal stage: LSTM head on frame-code sequences from real videos and their SBI fakes.
    real_videos: str = str(SHARED_DATA / "real-videos")
    # Held out from temporal training: val videos choose the epoch and calibrate; test videos
    # only measure (video-level AUC against self-blended fakes of them).
    val_videos: tuple[str, ...] = ("lp-d11.mp4", "lp-s20.mp4", "lp-d19.mp4", "vr-3.mp4")
    test_videos: tuple[str, ...] = (
        "lp-d10.mp4",
        "lp-s18.mp4",
        "lp-d18.mp4",
        "vr-2.mp4",
        "lp-s29.mp4",
    )
    track_frames: int = 96  # frames sampled per video to cut face tracks from
    clip_length: int = 32  # the engine scores tracks of up to `frames` crops: train that long
    clips_per_video: int = 24
    # DFDC crop pseudo-sequences (one still crop, jittered per frame) the LSTM trains on (0:
    # none, it learns from the training videos and their self-blends only) and validates on.
    # Run 23 retrained the shipped members' temporal stages with 0: validation won on ECE
    # (0.095 against 0.111), but the test's video AUC stayed 0.938.
    crop_sequences: int = 600
    val_crop_sequences: int = 200
    crop_sequence_length: int = 8
    temporal_epochs: int = 40
    temporal_batch_size: int = 64
    temporal_lr: float = 1e-4  # at 1e-3 the LSTM overfits from the first epoch
    # Calibration: read every crop also after fixed reference self-blends and count how much
    # more fake it looks against it (models/blend_contrast.py), the two weights fitted on
    # validation data before Platt scaling. Why: a real face changes a lot when blended, a
    # face already blended or swapped less (validation videos' crops: mean gap 7.8 to 11.6
    # for reals, -0.6 to 5.0 for their self-blends; DFDC validation: 7.84 against 4.17).
    # Run 34 read run 10's members so with 3 blends (frame weight 0.066, track weight 0.523):
    # validation ECE 0.064 against 0.111 at equal AUC and accuracy; shipped until run 36.
    reference_blends: bool = False
    # How many of the reference blends (models/blend_contrast.py, up to 6) each crop is read
    # with, each one more pass of the CNN. Run 35 tried 6 on run 10's members: validation AUC
    # and accuracy as with 3, ECE 0.066 against 0.064; lost, not tested. Run 36 read them
    # with 1 (frame weight 0.051, track weight 0.325): validation as with 3 (ECE 0.063),
    # calibration 6.7 min instead of 14.7, detect() 2.3 s instead of about 4; shipped.
    reference_blend_count: int = 1
    # Evaluation of the finished model on held-out test videos.
    test_segment_s: float = 3.0
    test_fakes_per_video: int = 2
    # (): one model. Otherwise an ensemble with one member per training seed: the frame and
    # temporal stages train each member in its own folder (run dir / seed-N), then the mean
    # of the members' logits is calibrated, validated and tested as one model. The shipped
    # model is (1337, 2024). On a 2-core CPU, frames + temporal of one run took 73.9, 80.2 and
    # 87.8 min (runs 11, 9, 13; run 13 from a bare machine, face tracks and caches included).
    # Run 11 added a third member (4096): more false positives on the validation videos.
    ensemble_seeds: tuple[int, ...] = ()
    # Recipe changes for single members, by seed ("4096": {"dfdc_fakes": false}): an ensemble
    # may mix members trained for different evidence.
    member_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def softening(self) -> Softening:
        return Softening(
            blur=self.blur_probability,
            rescale=self.rescale_probability,
            real_blur=self.real_blur_probability,
            real_rescale=self.real_rescale_probability,
        )

    def overrides(self) -> dict[str, Any]:
        """What differs from the default recipe: the --config file that reproduces this one."""
        default = TrainConfig().to_dict()
        return {k: v for k, v in self.to_dict().items() if v != default[k]}

    def member_runs(self, run_dir: Path) -> list[tuple["TrainConfig", Path]]:
        """The single models this recipe trains and their folders: itself in run_dir, or one
        per ensemble seed in run_dir/seed-N."""
        if not self.ensemble_seeds:
            return [(self, run_dir)]
        unknown = set(self.member_overrides) - {str(seed) for seed in self.ensemble_seeds}
        if unknown:
            raise ValueError(f"member_overrides for seeds not in ensemble_seeds: {sorted(unknown)}")
        return [
            (
                dataclasses.replace(
                    self,
                    seed=seed,
                    ensemble_seeds=(),
                    member_overrides={},
                    **self.member_overrides.get(str(seed), {}),
                ),
                run_dir / f"seed-{seed}",
            )
            for seed in self.ensemble_seeds
        ]

    @classmethod
    def load(cls, path: Path | None) -> "TrainConfig":
        if path is None:
            return cls()
        data = json.loads(Path(path).read_text())
        for key in (
            "mean",
            "std",
            "val_videos",
            "test_videos",
            "video_reencode_crf",
            "ensemble_seeds",
        ):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)
