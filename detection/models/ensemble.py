"""An ensemble of CNN-LSTMs trained apart (other seeds): it reads as one CNN-LSTM.

Its codes are the members' codes side by side, and each head is the mean of the members'
logits, so the engine and the training stages use it exactly like a single model. Members
trained from other seeds disagree where one run's luck decides (a video one run calls fake
and the next real); their mean keeps what they agree on.
"""

from typing import Any

import torch
from torch import Tensor, nn

from detection.models.registry import create_model, register_model


class Ensemble(nn.Module):
    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.widths = [m.feature_dim for m in members]
        self.feature_dim = sum(self.widths)

    def _split(self, features: Tensor) -> tuple[Tensor, ...]:
        return torch.split(features, self.widths, dim=-1)

    def features(self, crops: Tensor) -> Tensor:
        """(N, 3, H, W) normalised crops → (N, sum of member widths) codes."""
        return torch.cat([m.features(crops) for m in self.members], dim=-1)

    def frame_logits(self, features: Tensor) -> Tensor:
        parts = zip(self.members, self._split(features), strict=True)
        return torch.stack([m.frame_logits(f) for m, f in parts]).mean(0)

    def sequence_logits(self, features: Tensor, lengths: Tensor | None = None) -> Tensor:
        parts = zip(self.members, self._split(features), strict=True)
        return torch.stack([m.sequence_logits(f, lengths) for m, f in parts]).mean(0)


@register_model
def ensemble(member: str, members: int, **member_config: Any) -> Ensemble:
    """`members` copies of the registered model `member`, each built with `member_config`."""
    if members < 1:
        raise ValueError("an ensemble needs at least one member")
    return Ensemble([create_model(member, **member_config) for _ in range(members)])
