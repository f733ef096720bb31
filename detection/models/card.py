"""Checkpoint = weights + ModelCard: the card holds everything needed to rebuild and use it."""

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from detection.models.registry import create_model

CHECKPOINT_FORMAT = "detection-checkpoint/1"


class CheckpointError(Exception):
    """The checkpoint file is missing, unreadable or does not fit this code."""


@dataclass(frozen=True)
class ModelCard:
    architecture: str  # registry name, e.g. "cnn_lstm_mobilenet_v2"
    config: dict[str, Any] = field(default_factory=dict)  # builder keyword arguments
    input_size: int = 160  # square crop side in pixels
    frames: int = 32  # frames sampled per video
    face_margin: float = 0.3  # crop margin around the face box, as a fraction of its size
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    threshold: float = 0.5  # calibrated probability at or above which a video is "fake"
    uncertain_band: tuple[float, float] = (0.35, 0.65)  # calibrated probabilities → "uncertain"
    min_face_px: int = 0  # median face side below which a verdict is "uncertain" whatever the score
    # Platt scaling: p = sigmoid(logit / temperature + bias), fitted on validation data.
    sequence_temperature: float = 1.0
    sequence_bias: float = 0.0
    frame_temperature: float = 1.0
    frame_bias: float = 0.0
    trained: bool = False  # False: weights are not a trained detector; never show a verdict
    version: str = "0"
    training_data: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelCard":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise CheckpointError(f"model card has unknown fields: {', '.join(sorted(unknown))}")
        data = dict(data)
        for key in ("mean", "std", "uncertain_band"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)


def weights_digest(model: nn.Module) -> str:
    """12 hex digits of SHA-256 over the weights as saved (fp16): a model's version must change
    with its weights, or results of an older model would be reused as the new one's."""
    digest = hashlib.sha256()
    for name, value in sorted(model.state_dict().items()):
        value = value.half() if value.is_floating_point() else value
        digest.update(name.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]


def save_checkpoint(model: nn.Module, card: ModelCard, path: Path, *, half: bool = True) -> None:
    """Write weights (fp16 by default, to keep the shipped file small) and card together."""
    state = {
        k: (v.half() if half and v.is_floating_point() else v).detach().cpu().contiguous()
        for k, v in model.state_dict().items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({"format": CHECKPOINT_FORMAT, "card": card.to_dict(), "state_dict": state}, tmp)
    tmp.replace(path)


def load_checkpoint(path: Path, device: str | torch.device = "cpu") -> tuple[nn.Module, ModelCard]:
    """Rebuild exactly the model the card describes and load its weights, in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"model file {path} does not exist")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise CheckpointError(f"model file {path} is not a readable checkpoint: {exc}") from exc
    if not isinstance(blob, dict) or blob.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"model file {path} is not an Unmask checkpoint ({CHECKPOINT_FORMAT})"
        )
    card = ModelCard.from_dict(blob["card"])
    try:
        model = create_model(card.architecture, **card.config)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"model file {path} needs an unknown model: {exc}") from exc
    state = {k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()}
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"model file {path} does not fit {card.architecture}: {exc}") from exc
    return model.to(device).eval(), card
