"""The training recipe as data: the defaults are the shipped model's recipe; JSON overrides."""

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 1337  # initialisation, augmentation and order of training
    split_seed: int = 1337  # DFDC's identity split into train / val / test
    architecture: str = "cnn_lstm_mobilenet_v2"
    model_config: dict[str, Any] = field(
        default_factory=lambda: {"hidden_size": 128, "num_layers": 1, "dropout": 0.2}
    )
    # What the engine cuts and the CNN sees; training crops are cut by the engine itself.
    input_size: int = 160
    face_margin: float = 0.2
    frames: int = 32
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    threads: int = 2
    # Data, read from ../shared/data at run time.
    dfdc_csv: str = str(SHARED_DATA / "dfdc-faces" / "labels.csv")
    wild_csv: str = str(SHARED_DATA / "wild" / "labels.csv")
    real_videos: str = str(SHARED_DATA / "real-videos")
    # Groups of the wild set's `val` split held back for the figures reported as a test; the
    # rest of `val` chooses the epoch and the pooling, and calibrates. Each method is in both.
    test_groups: tuple[str, ...] = (
        "dreamtalk",
        "HyperLips",
        "dfl-David_Kovalniy",
        "dfl-Keanu_Reeves",
        "dfl-Natasha_Former",
    )
    cache_dir: str = str(REPO_ROOT / "var" / "cache")
    # Frame stage: half of each batch DFDC crops, half engine crops of the training videos, of
    # whose fake draws this share are real crops with the mouth and jaw re-rendered.
    frame_epochs: int = 10
    crops_per_epoch: int = 8192
    frame_batch_size: int = 64
    frame_lr: float = 1e-3
    weight_decay: float = 1e-4
    frame_lower_face_fakes: float = 0.33
    # Lower-face stage: a few epochs from the chosen frame epoch at a lower rate, with a larger
    # share of lower-face fakes: the lip-sync cue the frame stage learns too little of.
    lower_face_epochs: int = 2
    lower_face_lr: float = 3e-4
    lower_face_fakes: float = 0.5
    # Temporal stage: the LSTM reads tracks of augmented training-video crops (one draw of the
    # augmentation per track), so it learns from codes as unfamiliar as a new video's.
    track_views: int = 4
    temporal_epochs: int = 30
    temporal_lr: float = 1e-3
    min_window: int = 8  # tracks are cut to random windows at least this long
    # The LSTM replaces mean pooling only if it beats it on validation video by more than this
    # (16 of the calibration part's 1,600 real/fake pairs; see `keeps_lstm`).
    lstm_margin: float = 0.01
    # Verdict: at most this share of the calibration videos' reals may be called fake.
    max_false_alarm: float = 0.05
    # ... and the "uncertain" band below the fake threshold reaches down until at most this
    # share of their fakes is called real, unless that leaves more than max_uncertain of all
    # calibration videos uncertain.
    max_miss: float = 0.10
    max_uncertain: float = 0.20

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def overrides(self) -> dict[str, Any]:
        """What differs from the default recipe: the --config file that reproduces this one."""
        default = TrainConfig().to_dict()
        return {k: v for k, v in self.to_dict().items() if v != default[k]}

    @classmethod
    def load(cls, path: Path | None) -> "TrainConfig":
        if path is None:
            return cls()
        data = json.loads(Path(path).read_text())
        for key in ("mean", "std", "test_groups"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)
