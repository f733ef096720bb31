"""`manage.py detect PATH_OR_URL...`: run the engine on files or links, print verdicts.

Refuses to run without a trained checkpoint: an untrained model's output is never a verdict.
"""

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

logger = logging.getLogger(__name__)

# Share of the progress bar (percent) each engine stage covers.
STAGE_SPAN = {
    "decoding": (0, 5),
    "detecting_faces": (5, 90),
    "scoring": (90, 99),
    "done": (100, 100),
}


class Command(BaseCommand):
    help = "Tell whether videos (files or http(s) links) are deepfakes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("sources", nargs="+", metavar="PATH_OR_URL")
        parser.add_argument("--json", action="store_true", help="one JSON object per input")
        parser.add_argument("--frames", type=int, help="frames to sample (default: model card)")
        parser.add_argument("--device", default=settings.DETECTION_DEVICE, help="auto, cpu, cuda")
        parser.add_argument("--start", type=float, help="segment start, seconds")
        parser.add_argument("--end", type=float, help="segment end, seconds")
        parser.add_argument("--model", type=Path, help="checkpoint (default: DETECTION_MODEL)")

    def handle(self, *args: Any, **opts: Any) -> None:
        from detection.errors import DetectionError
        from detection.pipeline import (
            DetectOptions,
            load_model,
            resolve_device,
            resolve_model_path,
        )

        model_path = resolve_model_path(opts["model"] or settings.DETECTION_MODEL or None)
        try:
            device = resolve_device(opts["device"])
            card = load_model(model_path, device).card
        except DetectionError as exc:
            raise CommandError(exc.message) from exc
        if not card.trained:
            raise CommandError(
                f"The model at {model_path} is not trained, so it cannot give a verdict. "
                "Train one (manage.py train) or pass --model with a trained checkpoint."
            )
        options = DetectOptions(
            frames=opts["frames"] or settings.DETECTION_FRAMES or None,
            device=device,
            start=opts["start"],
            end=opts["end"],
            model_path=model_path,
            max_duration_s=settings.DETECTION_MAX_DURATION_S,
            max_pixels=settings.DETECTION_MAX_PIXELS,
        )
        failed = 0
        for source in opts["sources"]:
            outcome = self._run_one(source, options, show_progress=not opts["json"])
            failed += "error" in outcome
            if opts["json"]:
                self.stdout.write(json.dumps(outcome))
            else:
                self.stdout.write(_human(outcome))
        if failed:
            raise CommandError(f"{failed} of {len(opts['sources'])} inputs could not be analysed.")

    def _run_one(self, source: str, options: Any, *, show_progress: bool) -> dict[str, Any]:
        from detection.errors import DetectionError

        try:
            with tempfile.TemporaryDirectory(prefix="unmask-detect-") as tmp:
                path = _local_path(source, Path(tmp))
                result = _detect_with_bar(path, options, show_progress=show_progress)
        except DetectionError as exc:
            return {"source": source, "error": exc.message}
        except Exception as exc:  # a bug, not bad input: still one line, detail in the log
            logger.exception("detect failed for %s", source)
            return {"source": source, "error": f"The analysis failed unexpectedly ({exc})."}
        return {"source": source, **result.to_dict()}


def _local_path(source: str, tmp: Path) -> Path:
    from detection.fetch import fetch_video

    if source.lower().startswith(("http://", "https://")) or "://" in source:
        return fetch_video(
            source,
            tmp,
            max_bytes=settings.FETCH_MAX_BYTES,
            max_duration_s=settings.FETCH_MAX_DURATION_S,
            timeout_s=settings.FETCH_TIMEOUT_S,
            allow_hosts=settings.FETCH_ALLOW_HOSTS,
        ).path
    return Path(source)


def _detect_with_bar(path: Path, options: Any, *, show_progress: bool) -> Any:
    from tqdm import tqdm

    from detection.pipeline import detect

    with tqdm(total=100, desc=path.name, disable=not show_progress or None, leave=False) as bar:

        def on_progress(stage: str, fraction: float) -> None:
            first, last = STAGE_SPAN.get(stage, (0, 100))
            bar.set_postfix_str(str(stage))
            bar.update(max(0, round(first + fraction * (last - first)) - bar.n))

        return detect(path, options=options, on_progress=on_progress)


def _human(outcome: dict[str, Any]) -> str:
    if "error" in outcome:
        return f"{outcome['source']}: error: {outcome['error']}"
    probability = outcome["fake_probability"]
    score = "no score" if probability is None else f"fake probability {probability:.0%}"
    lines = [
        f"{outcome['source']}: {outcome['verdict'].upper()} ({score}; "
        f"{outcome['faces_found']} face(s) in {outcome['frames_analyzed']} frames; "
        f"{outcome['timings_ms'].get('total', 0) / 1000:.1f} s)"
    ]
    lines += [
        f"  face {t['id']}: {t['score']:.0%} over {len(t['frames'])} frames"
        + ("" if t["counted"] else " (too few frames to count)")
        for t in outcome["tracks"]
    ]
    lines += [f"  note: {note}" for note in outcome["quality"]]
    return "\n".join(lines)
