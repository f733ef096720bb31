"""Stored videos: served to their owner with HTTP Range (so players can seek), and hashed."""

import hashlib
import mimetypes
import re
from collections.abc import Iterator
from typing import Any

from django.core.files.storage import Storage
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse

from unmask.analyses.models import Analysis

CHUNK_BYTES = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def stream_source(request: HttpRequest, analysis: Analysis) -> HttpResponse:
    """Stream the video from whatever storage holds it (local or S3), honouring Range.

    Streaming through the site keeps the permission check on every byte and never hands the
    browser a storage URL signed for an internal host name.
    """
    if not analysis.source:
        raise Http404("This analysis has no stored video.")
    return stream_stored(request, analysis.source.storage, analysis.source.name)


def stream_stored(request: HttpRequest, storage: Storage, name: str) -> HttpResponse:
    """One stored file with Range support (the original video or its playable preview)."""
    if not name or not storage.exists(name):
        raise Http404("The stored video is gone.")
    size = storage.size(name)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    wanted = parse_range(request.headers.get("Range", ""), size)
    if wanted == (-1, -1):
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
    else:
        start, end = wanted or (0, size - 1)
        response = StreamingHttpResponse(
            _read(storage, name, start, end),
            status=200 if wanted is None else 206,
            content_type=content_type,
        )
        if wanted is not None:
            response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(max(0, end - start + 1))
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


def _read(storage: Storage, name: str, start: int, end: int) -> Iterator[bytes]:
    """Bytes start..end of a stored file, in chunks; S3 objects are read with one ranged GET."""
    if end < start:
        return
    with storage.open(name, "rb") as handle:
        s3_object = getattr(handle, "obj", None)  # django-storages' S3File: no full download
        if s3_object is not None:
            body = s3_object.get(Range=f"bytes={start}-{end}")["Body"]
            yield from body.iter_chunks(CHUNK_BYTES)
            return
        handle.seek(start)
        remaining = end - start + 1
        while remaining > 0:
            chunk = handle.read(min(CHUNK_BYTES, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk


def hash_file(file: Any) -> str:
    """sha256 of a Django File or upload, read in chunks; the file is left at its start."""
    digest = hashlib.sha256()
    file.seek(0)
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()
