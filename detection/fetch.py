"""Download a video from a URL with yt-dlp, without letting the URL reach inside our network.

The link must be http(s) and resolve only to public addresses (SSRF guard). yt-dlp then
reaches the web only through a guard proxy on loopback, one per fetch, set as its `proxy`
option (a supported setting, unlike its handlers' internals): each connection it opens, for
the link, a redirect hop, a fragment or a page it found, is made by the proxy to an address the
proxy itself resolved and found public, so a name that answers differently the second time
(DNS rebinding) is caught too. Plain-http redirects are checked as they pass. Playlists and
live streams are refused; size and duration are limited before and during the download.
"""

import contextlib
import contextvars
import ipaddress
import logging
import select
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from detection.errors import FetchError, UnsafeURL

logger = logging.getLogger(__name__)

FORMAT = (
    "best[height<=720][vcodec^=avc1][ext=mp4]/best[height<=720][ext=mp4]/best[height<=720]/best"
)

INSIDE = (
    "The link points to a private, local or reserved network address, which cannot be analysed."
)
HEAD_LIMIT = 64 * 1024  # an HTTP head larger than this is not a real client's or server's
RELAY_CHUNK = 64 * 1024

# Why the fetch running in this context was stopped (by the budget), if it was.
_blocked: contextvars.ContextVar[FetchError | None] = contextvars.ContextVar(
    "fetch_blocked", default=None
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
            raise UnsafeURL(INSIDE)


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
    blocked_token = _blocked.set(None)
    budget = _Budget(time.monotonic() + timeout_s, timeout_s, max_bytes + 1024 * 1024, max_bytes)
    try:
        with GuardProxy(allow_hosts, timeout_s=timeout_s) as proxy:
            try:
                with _guarded_youtube_dl(
                    {**params, "proxy": proxy.url}, budget, allow_hosts
                ) as ydl:
                    info = ydl.extract_info(url, download=False)
                    _check_info(info, max_bytes=max_bytes, max_duration_s=max_duration_s)
                    info = ydl.process_ie_result(info, download=True)
            except (yt_dlp.utils.DownloadError, yt_dlp.networking.exceptions.RequestError) as exc:
                if (blocked := proxy.refused or _blocked.get()) is not None:
                    raise blocked from exc
                logger.info("yt-dlp failed for %s: %s", url, exc)
                reason = _short(exc)
                raise FetchError(
                    f"The video at this link could not be downloaded ({reason})."
                ) from exc
    finally:
        _blocked.reset(blocked_token)
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


def _guarded_youtube_dl(params: dict[str, Any], budget: _Budget, allow_hosts: Sequence[str]) -> Any:
    """A YoutubeDL that checks each URL it requests before it reaches the guard proxy (a
    sentence for another scheme; a name looked up once more), and whose every response
    spends the fetch's byte and time budget."""
    import yt_dlp

    class GuardedYoutubeDL(yt_dlp.YoutubeDL):
        def urlopen(self, req: Any) -> Any:
            try:
                check_url(req if isinstance(req, str) else req.url, allow_hosts=allow_hosts)
            except UnsafeURL as exc:
                _stop(exc)
            response = super().urlopen(req)
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


class GuardProxy:
    """A loopback HTTP proxy for one fetch: the only way its yt-dlp reaches the network.

    CONNECT (https) is tunnelled and plain http forwarded, each to an address this proxy
    resolved and found public (or to a host on the allow-list), so the address checked is the
    address connected to. A plain-http redirect whose target fails `check_url` is answered 403
    instead. `refused` keeps the first refusal, for fetch_video to raise as the sentence.
    """

    def __init__(self, allow_hosts: Sequence[str], *, timeout_s: float) -> None:
        self.allow_hosts = tuple(allow_hosts)
        self.refused: FetchError | None = None
        self.timeout_s = timeout_s
        self._server = socket.create_server(("127.0.0.1", 0))
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"

    def __enter__(self) -> "GuardProxy":
        threading.Thread(target=self._accept, name="fetch-guard", daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.close()
        with self._lock:
            for sock in self._open:
                _close(sock)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed: the fetch is over
            threading.Thread(
                target=self._serve, args=(client,), name="fetch-guard-conn", daemon=True
            ).start()

    def _track(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._open.add(sock)
        return sock

    def _serve(self, client: socket.socket) -> None:
        self._track(client)
        upstream = None
        try:
            head, rest = _read_head(client)
            method, target, version = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                upstream = self._connect(host, int(port))
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                upstream.sendall(rest)
                _relay(client, upstream)
                return
            parts = urlsplit(target)
            if parts.scheme != "http":
                raise UnsafeURL("Only http and https links can be analysed.")
            upstream = self._connect(parts.hostname or "", parts.port or 80)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            upstream.sendall(_origin_head(head, method, path, version) + rest)
            answer, body = _read_head(upstream)
            self._check_redirect(answer, target)
            client.sendall(answer + body)
            _relay(client, upstream)
        except FetchError as exc:
            self.refused = self.refused or exc
            logger.warning("fetch guard refused a connection: %s", exc)
            _answer(client, b"403 Forbidden")
        except (OSError, ValueError) as exc:
            logger.info("fetch guard: connection failed: %s", exc)
            _answer(client, b"502 Bad Gateway")
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    _close(sock)
                    with self._lock:
                        self._open.discard(sock)

    def _connect(self, host: str, port: int) -> socket.socket:
        """Resolve once, check every answer, connect to a checked address."""
        name = host.lower().rstrip(".").strip("[]")
        try:
            infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(f"The host {name} could not be found.") from exc
        allowed = name in {h.lower().strip("[]") for h in self.allow_hosts}
        if not allowed and not all(_is_public(info[4][0]) for info in infos):
            raise UnsafeURL(INSIDE)
        family, kind, proto, _, address = infos[0]
        sock = self._track(socket.socket(family, kind, proto))
        sock.settimeout(self.timeout_s)
        sock.connect(address)
        sock.settimeout(None)
        return sock

    def _check_redirect(self, answer: bytes, target: str) -> None:
        status_line, _, headers = answer.decode("latin-1").partition("\r\n")
        if status_line.split(" ")[1:2] not in (["301"], ["302"], ["303"], ["307"], ["308"]):
            return
        for line in headers.split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "location":
                check_url(urljoin(target, value.strip()), allow_hosts=self.allow_hosts)


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """An HTTP head (through the blank line) and whatever arrived after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > HEAD_LIMIT:
            raise ValueError("HTTP head too large")
        chunk = sock.recv(RELAY_CHUNK)
        if not chunk:
            raise ValueError("connection closed before a full HTTP head")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


def _origin_head(head: bytes, method: str, path: str, version: str) -> bytes:
    """The proxied request as the origin expects it: its path only, one request per connection."""
    lines = head.decode("latin-1").split("\r\n")[1:]
    kept = [
        line
        for line in lines
        if line
        and line.split(":", 1)[0].strip().lower() not in ("connection", "proxy-connection")
        and not line.lower().startswith("proxy-")
    ]
    return "\r\n".join([f"{method} {path} {version}", *kept, "Connection: close", "", ""]).encode(
        "latin-1"
    )


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    peers = {a: b, b: a}
    while True:
        readable, _, _ = select.select(list(peers), [], [])
        for sock in readable:
            data = sock.recv(RELAY_CHUNK)
            if not data:
                return
            peers[sock].sendall(data)


def _answer(client: socket.socket, status: bytes) -> None:
    with contextlib.suppress(OSError):
        client.sendall(b"HTTP/1.1 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" % status)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
