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
from tqdm import tqdm

from detection.errors import DetectionError
from detection.pipeline import Engine
from unmask.analyses.engine import build_engine
from unmask.analyses.jobs import fetch
from unmask.analyses.progress import percent

logger = logging.getLogger(__name__)


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
        flags = {"frames": opts["frames"], "device": opts["device"], "model_path": opts["model"]}
        # The settings' untrained-model escape is for the job tests: this command never uses it.
        engine = build_engine(
            **{k: v for k, v in flags.items() if v is not None}, allow_untrained=False
        )
        try:
            loaded = engine.load()
        except DetectionError as exc:
            raise CommandError(exc.message) from exc
        if not loaded.card.trained:
            raise CommandError(
                f"The model at {loaded.path} is not trained, so it cannot give a verdict. "
                "Train one (manage.py train_detector) or pass --model with a trained checkpoint."
            )
        failed = 0
        for source in opts["sources"]:
            outcome = self._run_one(
                source, engine, opts["start"], opts["end"], show_progress=not opts["json"]
            )
            failed += "error" in outcome
            if opts["json"]:
                self.stdout.write(json.dumps(outcome))
            else:
                self.stdout.write(_human(outcome))
        if failed:
            raise CommandError(f"{failed} of {len(opts['sources'])} inputs could not be analysed.")

    def _run_one(
        self,
        source: str,
        engine: Engine,
        start: float | None,
        end: float | None,
        *,
        show_progress: bool,
    ) -> dict[str, Any]:
        try:
            with tempfile.TemporaryDirectory(prefix="unmask-detect-") as tmp:
                path = _local_path(source, Path(tmp))
                with tqdm(
                    total=100, desc=path.name, disable=not show_progress or None, leave=False
                ) as bar:

                    def on_progress(stage: str, fraction: float) -> None:
                        bar.set_postfix_str(str(stage))
                        bar.update(max(0, round(percent(stage, fraction)) - bar.n))

                    result = engine.detect(path, start=start, end=end, on_progress=on_progress)
        except DetectionError as exc:
            return {"source": source, "error": exc.message}
        except Exception as exc:  # a bug, not bad input: still one line, detail in the log
            logger.exception("detect failed for %s", source)
            return {"source": source, "error": f"The analysis failed unexpectedly ({exc})."}
        return {"source": source, **result.to_dict()}


def _local_path(source: str, tmp: Path) -> Path:
    if source.lower().startswith(("http://", "https://")) or "://" in source:
        return fetch(source, tmp).path
    return Path(source)


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
