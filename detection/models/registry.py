"""A name → builder registry, so a checkpoint's card can rebuild exactly its model."""

from collections.abc import Callable
from typing import Any

from torch import nn

_BUILDERS: dict[str, Callable[..., nn.Module]] = {}


def register_model(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Register a builder under its function name; the builder takes keyword config only."""
    if builder.__name__ in _BUILDERS:
        raise ValueError(f"model {builder.__name__!r} is registered twice")
    _BUILDERS[builder.__name__] = builder
    return builder


def list_models() -> list[str]:
    return sorted(_BUILDERS)


def create_model(name: str, **config: Any) -> nn.Module:
    try:
        builder = _BUILDERS[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; known models: {', '.join(list_models())}"
        ) from None
    return builder(**config)
