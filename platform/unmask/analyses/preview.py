"""A copy of every analysed video that browsers can play, so the result page's player, timeline
and faces can be checked against the picture whatever was uploaded (MPEG-4 Part 2, HEVC in
.mov, MKV, AVI...).

The worker makes it next to the original (H.264 MP4, faststart, short side at most 720 px)
when the original is not already playable; then the preview URL serves the original itself.
The original always stays downloadable as it was uploaded.
"""

import json
import logging
import subprocess
from pathlib import Path, PurePath
from typing import Any

from django.core.files import File
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse

from unmask.analyses.media import stream_stored
from unmask.analyses.models import Analysis, Status

logger = logging.getLogger(__name__)

MAX_SIDE_PX = 720
TIMEOUT_S = 900
# (file suffix, video codecs, audio codecs) that Chromium and Firefox both play as they are.
PLAYABLE = (
    ({".mp4", ".m4v"}, {"h264"}, {"aac", "mp3"}),
    ({".webm"}, {"vp8", "vp9", "av1"}, {"opus", "vorbis"}),
)
# Short side to at most 720 px, even sizes (yuv420p needs them), landscape or portrait.
_SIDE = f"trunc(min({{}},{MAX_SIDE_PX})/2)*2"
SCALE = f"scale=w='if(gt(iw,ih),-2,{_SIDE.format('iw')})':h='if(gt(iw,ih),{_SIDE.format('ih')},-2)'"


def preview_name(analysis: Analysis) -> str:
    """Beside the original, in the analysis's own folder (deleted with it)."""
    return f"analyses/{analysis.id}/preview.mp4"


def make_preview(analysis: Analysis, path: Path) -> None:
    """Store a playable copy unless the original plays as it is. Never fails the analysis:
    without a preview the page still shows the result and offers the original."""
    try:
        if is_playable(path, PurePath(analysis.source.name or path.name).suffix.lower()):
            return
        out = path.with_name(f"{path.stem}-preview.mp4")
        transcode(path, out)
        storage, name = analysis.source.storage, preview_name(analysis)
        storage.delete(name)  # a retried job replaces its half-made copy, never adds a second
        with out.open("rb") as handle:
            storage.save(name, File(handle))
    except Exception:
        logger.exception("no preview for analysis %s", analysis.id)


def is_playable(path: Path, suffix: str) -> bool:
    streams = probe(path)
    video = [s["codec_name"] for s in streams if s.get("codec_type") == "video"]
    audio = [s["codec_name"] for s in streams if s.get("codec_type") == "audio"]
    pix_fmts = {s.get("pix_fmt") for s in streams if s.get("codec_type") == "video"}
    return bool(video) and any(
        suffix in suffixes
        and video[0] in video_codecs
        and set(audio) <= audio_codecs
        and pix_fmts <= {"yuv420p", "yuvj420p"}
        for suffixes, video_codecs, audio_codecs in PLAYABLE
    )


def probe(path: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name,pix_fmt",
         "-of", "json", str(path)],
        capture_output=True, text=True, timeout=60, check=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return json.loads(out.stdout).get("streams", [])


def transcode(source: Path, out: Path) -> None:
    """H.264 High + AAC in MP4 with the index first, so playback and seeking start at once."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source),
         "-map", "0:v:0", "-map", "0:a:0?", "-sn", "-dn", "-vf", SCALE,
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "26", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", str(out)],
        capture_output=True, timeout=TIMEOUT_S, check=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def preview_path(analysis: Analysis, *, shared: bool = False) -> str:
    """Where a finished analysis's player reads from; empty while it runs or without a video."""
    if analysis.status != Status.DONE or not analysis.source:
        return ""
    if shared:
        return reverse("analyses:shared-preview", args=[analysis.share_token])
    return reverse("analyses:preview", args=[analysis.id])


def stream_preview(request: HttpRequest, analysis: Analysis) -> HttpResponse:
    """The preview when one was made, else the original (which then plays as it is)."""
    if not analysis.source:
        raise Http404("This analysis has no stored video.")
    storage = analysis.source.storage
    # A reused result's video has the same bytes as its original's, so shares its preview.
    made = [preview_name(a) for a in (analysis, analysis.reused_from) if a is not None]
    name = next((n for n in made if storage.exists(n)), analysis.source.name)
    return stream_stored(request, storage, name)
