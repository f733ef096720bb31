"""Model families and the checkpoint format. Import a family module here to register it."""

from detection.models import cnn_lstm  # noqa: F401  (registers the CNN-LSTM family)
from detection.models.card import ModelCard, load_checkpoint, save_checkpoint
from detection.models.registry import create_model, list_models, register_model

__all__ = [
    "ModelCard",
    "create_model",
    "list_models",
    "load_checkpoint",
    "register_model",
    "save_checkpoint",
]
