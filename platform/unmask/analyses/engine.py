"""The engine this process runs, built once from settings (model, device, threads, limits).

Imported only where videos are analysed (job runners, the detect command): it loads torch.
"""

import functools
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.conf import settings

from detection.pipeline import DetectOptions, Engine


def detect_options(**overrides: Any) -> DetectOptions:
    """The settings' detection options; a command's flags override single fields."""
    return replace(
        DetectOptions(
            frames=settings.DETECTION_FRAMES or None,
            device=settings.DETECTION_DEVICE,
            model_path=Path(settings.DETECTION_MODEL) if settings.DETECTION_MODEL else None,
            allow_untrained=settings.DETECTION_ALLOW_UNTRAINED,
            max_duration_s=settings.DETECTION_MAX_DURATION_S,
            max_pixels=settings.DETECTION_MAX_PIXELS,
        ),
        **overrides,
    )


def build_engine(**overrides: Any) -> Engine:
    return Engine(detect_options(**overrides), threads=settings.DETECTION_THREADS).start()


@functools.cache
def engine() -> Engine:
    """The process's engine: one per process, started on first use."""
    return build_engine()
