"""Serving a stored video to its owner, with HTTP Range so players can seek."""

import mimetypes
import re
from collections.abc import Iterator
from pathlib import Path

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect

from unmask.analyses.models import Analysis

CHUNK_BYTES = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def stream_source(request: HttpRequest, analysis: Analysis) -> HttpResponse:
    """Local files are streamed here; remote storage (S3) answers with a short-lived URL."""
    if not analysis.source:
        raise Http404("This analysis has no stored video.")
    storage, name = analysis.source.storage, analysis.source.name
    try:
        path = Path(storage.path(name))
    except NotImplementedError:
        return redirect(storage.url(name))
    if not path.is_file():
        raise Http404("The stored video is gone.")
    size = path.stat().st_size
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    wanted = parse_range(request.headers.get("Range", ""), size)
    if wanted is None:
        response: HttpResponse = FileResponse(path.open("rb"), content_type=content_type)
    elif wanted == (-1, -1):
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
    else:
        start, end = wanted
        response = StreamingHttpResponse(
            _read(path, start, end), status=206, content_type=content_type
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end) inclusive for one `bytes=` range; None: send everything; (-1, -1): 416."""
    match = _RANGE.match(header.strip())
    if not match or not any(match.groups()):
        return None
    first, last = match.groups()
    if not first:  # suffix range: the last N bytes
        length = int(last)
        return (max(0, size - length), size - 1) if length and size else (-1, -1)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return (-1, -1)
    return start, end


def _read(path: Path, start: int, end: int) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        remaining = end - start + 1
        while remaining > 0:
            chunk = handle.read(min(CHUNK_BYTES, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk
