"""Download a video from a URL with yt-dlp, without letting the URL reach inside our network.

Every URL yt-dlp requests, and every redirect hop it follows, must be http(s) and resolve only
to public addresses (SSRF guard). The HTTP library resolves the name again to connect, and a
hostile DNS server may answer differently the second time (DNS rebinding), so the address each
socket actually connected to is checked too, before a byte is sent. Playlists and live
streams are refused; size and duration are limited before and during the download.
"""

import contextvars
import ipaddress
import logging
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from detection.errors import FetchError, UnsafeURL

logger = logging.getLogger(__name__)

FORMAT = (
    "best[height<=720][vcodec^=avc1][ext=mp4]/best[height<=720][ext=mp4]/best[height<=720]/best"
)

# The allow-list of the fetch running in this context; None when no fetch is running.
_guard: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar(
    "unmask_fetch_guard", default=None
)
_blocked: contextvars.ContextVar[FetchError | None] = contextvars.ContextVar(
    "unmask_fetch_blocked", default=None
)
# The byte and time budget of the fetch running in this context, spent by every read.
_budget: contextvars.ContextVar["_Budget | None"] = contextvars.ContextVar(
    "unmask_fetch_budget", default=None
)


@dataclass
class _Budget:
    """A whole fetch's limits: a server that drips bytes or never ends must not hold a worker."""

    deadline: float  # time.monotonic() by which the fetch must be over
    timeout_s: float
    bytes_left: int
    max_bytes: int

    def spend(self, count: int) -> None:
        if time.monotonic() > self.deadline:
            _stop(FetchError(f"The download took longer than {self.timeout_s:g} seconds."))
        self.bytes_left -= count
        if self.bytes_left < 0:
            _stop(FetchError(f"The video is larger than {self.max_bytes // (1024 * 1024)} MB."))


@dataclass(frozen=True)
class FetchedVideo:
    path: Path
    title: str
    url: str


def check_url(url: str, *, allow_hosts: Sequence[str] = ()) -> None:
    """Raise UnsafeURL unless `url` is http(s) and every address its host resolves to is public.

    Hosts in `allow_hosts` skip the address check (tests serve videos from 127.0.0.1).
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL("The link is not a valid web address.") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise UnsafeURL("Only http and https links can be analysed.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeURL("The link has no host name.")
    if host in {h.lower().strip("[]") for h in allow_hosts}:
        return
    try:
        infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"The host {host} could not be found.") from exc
    for info in infos:
        if not _is_public(info[4][0]):
            raise UnsafeURL(
                "The link points to a private, local or reserved network address, "
                "which cannot be analysed."
            )


def fetch_video(
    url: str,
    dest_dir: Path,
    *,
    max_bytes: int,
    max_duration_s: float,
    timeout_s: float,
    allow_hosts: Sequence[str] = (),
) -> FetchedVideo:
    """Download one video (<=720p, H.264 mp4 preferred) into dest_dir."""
    import yt_dlp
    import yt_dlp.networking.exceptions

    check_url(url, allow_hosts=allow_hosts)
    _install_redirect_guard()
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    params = {
        "format": FORMAT,
        "outtmpl": str(dest_dir / "video.%(ext)s"),
        "noplaylist": True,
        "max_filesize": max_bytes,
        "socket_timeout": timeout_s,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": logger,
        "retries": 1,
        "fragment_retries": 1,
        "concurrent_fragment_downloads": 1,
        "cachedir": False,
        "hls_prefer_native": True,
    }
    guard_token = _guard.set(tuple(allow_hosts))
    blocked_token = _blocked.set(None)
    budget = _Budget(time.monotonic() + timeout_s, timeout_s, max_bytes + 1024 * 1024, max_bytes)
    budget_token = _budget.set(budget)
    try:
        with _guarded_youtube_dl(params) as ydl:
            info = ydl.extract_info(url, download=False)
            _check_info(info, max_bytes=max_bytes, max_duration_s=max_duration_s)
            info = ydl.process_ie_result(info, download=True)
    except (yt_dlp.utils.DownloadError, yt_dlp.networking.exceptions.RequestError) as exc:
        if (blocked := _blocked.get()) is not None:
            raise blocked from exc
        logger.info("yt-dlp failed for %s: %s", url, exc)
        reason = _short(exc)
        raise FetchError(f"The video at this link could not be downloaded ({reason}).") from exc
    except UnsafeURL:
        raise
    finally:
        _guard.reset(guard_token)
        _blocked.reset(blocked_token)
        _budget.reset(budget_token)
    files = [p for p in dest_dir.iterdir() if p.is_file() and not p.name.endswith(".part")]
    if not files:
        raise FetchError("The link did not lead to a downloadable video within the size limit.")
    path = max(files, key=lambda p: p.stat().st_size)
    if path.stat().st_size > max_bytes:
        raise FetchError(f"The video is larger than {max_bytes // (1024 * 1024)} MB.")
    return FetchedVideo(path=path, title=str(info.get("title") or path.name), url=url)


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and not _is_public(str(embedded)):
            return False
    return ip.is_global and not ip.is_multicast


def _check_info(info: dict[str, Any], *, max_bytes: int, max_duration_s: float) -> None:
    if info.get("_type") in ("playlist", "multi_video") or info.get("entries") is not None:
        raise FetchError("The link is a playlist; send the link of a single video.")
    if info.get("is_live") or info.get("live_status") in ("is_live", "is_upcoming"):
        raise FetchError("Live streams cannot be analysed; send a recorded video.")
    duration = info.get("duration")
    if duration and duration > max_duration_s:
        raise FetchError(
            f"The video lasts {duration / 60:.0f} minutes; the limit is "
            f"{max_duration_s / 60:.0f} minutes."
        )
    size = info.get("filesize") or info.get("filesize_approx")
    if size and size > max_bytes:
        raise FetchError(f"The video is larger than {max_bytes // (1024 * 1024)} MB.")


def _short(exc: Exception) -> str:
    text = str(exc).removeprefix("ERROR: ").strip()
    return text if len(text) <= 160 else text[:157] + "..."


def _check_hop(url: str) -> None:
    """Called for every request and redirect yt-dlp makes while a fetch runs."""
    allow = _guard.get()
    if allow is None:
        return
    try:
        check_url(url, allow_hosts=allow)
    except UnsafeURL as exc:
        _blocked.set(exc)
        raise


def _check_peer(host: str, sock: socket.socket) -> None:
    """After connect, before sending: the peer must be public unless `host` is allowed."""
    allow = _guard.get()
    if allow is None or host.lower().rstrip(".").strip("[]") in {
        h.lower().strip("[]") for h in allow
    }:
        return
    try:
        peer = sock.getpeername()[0]
    except OSError:
        return  # not connected: nothing can be sent on it
    if not _is_public(peer):
        sock.close()
        logger.warning("refused a connection to %s: it resolved to %s on connect", host, peer)
        exc = UnsafeURL(
            "The link points to a private, local or reserved network address, "
            "which cannot be analysed."
        )
        _blocked.set(exc)
        raise exc


def _peer_checked(create_connection: Any) -> Any:
    """Wrap a create_connection(address, ...) so the socket it returns passes _check_peer."""

    def guarded(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        sock = create_connection(address, *args, **kwargs)
        _check_peer(str(address[0]), sock)
        return sock

    return guarded


def _guarded_youtube_dl(params: dict[str, Any]) -> Any:
    """A YoutubeDL whose every request URL passes the SSRF guard first."""
    import yt_dlp

    class GuardedYoutubeDL(yt_dlp.YoutubeDL):
        def urlopen(self, req: Any) -> Any:
            _check_hop(req if isinstance(req, str) else req.url)
            response = super().urlopen(req)
            if (budget := _budget.get()) is not None:
                _limit_reads(response, budget)
            return response

    return GuardedYoutubeDL(params)


def _limit_reads(response: Any, budget: _Budget) -> None:
    """Make every read of `response` spend the fetch's budget. Reads return what one receive
    brings (read1), so a server dripping a few bytes at a time meets the deadline too; an
    unbounded read goes in chunks, so a body that never ends is still stopped."""
    read, read1 = response.read, getattr(getattr(response, "fp", None), "read1", None)

    def some(amt: int) -> bytes:
        if read1 is None:
            return read(amt)
        try:
            try:
                return read1(amt, decode_content=True)  # urllib3 (yt-dlp's requests handler)
            except TypeError:
                return read1(amt)  # http.client
        except Exception as exc:  # socket errors, or urllib3's own, which are not OSError
            logger.info("download read failed: %s", exc)
            _stop(FetchError("The connection broke off while downloading the video."))
            raise

    def limited(amt: int | None = None) -> bytes:
        if amt is None or amt < 0:
            return b"".join(iter(lambda: limited(64 * 1024), b""))
        budget.spend(0)
        data = some(amt)
        budget.spend(len(data))
        return data

    response.read = limited


def _stop(exc: FetchError) -> None:
    """Raise `exc` where yt-dlp reads; kept so fetch_video re-raises it if yt-dlp wraps it."""
    _blocked.set(exc)
    raise exc


_redirect_guard_installed = False


def _install_redirect_guard() -> None:
    """yt-dlp follows redirects inside its HTTP handlers; check each hop there too, and the
    address every connection of either handler (urllib, or requests over urllib3) reaches.

    The wrapped hooks only act while a fetch runs in the calling context (see `_guard`).
    """
    global _redirect_guard_installed
    if _redirect_guard_installed:
        return
    import urllib3.util.connection
    from yt_dlp.networking import _requests, _urllib

    _urllib.create_connection = _peer_checked(_urllib.create_connection)
    urllib3.util.connection.create_connection = _peer_checked(
        urllib3.util.connection.create_connection
    )

    original_urllib = _urllib.RedirectHandler.redirect_request

    def urllib_hop(self: Any, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str):
        _check_hop(newurl)
        return original_urllib(self, req, fp, code, msg, headers, newurl)

    original_requests = _requests.RequestsSession.rebuild_method

    def requests_hop(self: Any, prepared_request: Any, response: Any) -> None:
        original_requests(self, prepared_request, response)
        _check_hop(prepared_request.url)

    _urllib.RedirectHandler.redirect_request = urllib_hop
    _requests.RequestsSession.rebuild_method = requests_hop
    _redirect_guard_installed = True
