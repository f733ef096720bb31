"""A websocket peer that accepts and then never speaks: a proxy that holds messages back, or an
event lost on the way. Pages and the extension must still reach the verdict."""

import base64
import hashlib
import json
import re
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager

WEBSOCKET_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3


class QuietSocketHandler(socketserver.BaseRequestHandler):
    """Completes the websocket handshake, then holds the line without a word until the client
    hangs up; it never answers a close frame either."""

    def handle(self) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            request += chunk
        key = re.search(rb"Sec-WebSocket-Key: *(\S+)", request, re.IGNORECASE).group(1)
        accept = base64.b64encode(hashlib.sha1(key + WEBSOCKET_GUID).digest())
        self.request.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        self.server.opened += 1
        while self.request.recv(4096):
            pass


class QuietSocketServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    opened = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.server_address[1]}/ws/quiet/"


@contextmanager
def quiet_socket_server() -> Iterator[QuietSocketServer]:
    server = QuietSocketServer(("127.0.0.1", 0), QuietSocketHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def reroute_sockets(url: str) -> str:
    """A script (for a page's init script or a service worker's evaluate) after which every
    WebSocket the page or worker opens reaches `url` instead."""
    return f"""(() => {{ const Real = globalThis.WebSocket;
        globalThis.WebSocket = class extends Real {{
            constructor() {{ super({json.dumps(url)}); }}
        }};
    }})()"""
