"""Links into our own network are refused by the API with a sentence; nothing is fetched."""

import http.server
import threading

import pytest

from unmask.analyses.models import Analysis


@pytest.fixture
def inside_server():
    """A server on loopback that must never be reached; counts requests."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], hits
    server.shutdown()


HOSTILE = [
    "http://127.0.0.1:{port}/video.mp4",
    "http://localhost:{port}/video.mp4",
    "http://2130706433:{port}/video.mp4",  # 127.0.0.1 as one number
    "http://0x7f.1:{port}/video.mp4",  # hex and short form
    "http://0177.0.0.1:{port}/video.mp4",  # octal
    "http://[::1]:{port}/video.mp4",
    "http://[::ffff:127.0.0.1]:{port}/video.mp4",  # IPv4-mapped IPv6
    "http://10.0.0.5/video.mp4",
    "http://192.168.1.1/video.mp4",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "http://224.0.0.1/video.mp4",  # multicast
    "http://0.0.0.0:{port}/video.mp4",
    "file:///etc/passwd",
    "ftp://example.com/video.mp4",
    "gopher://127.0.0.1:{port}/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_links_are_refused(template, alice, token_api, inside_server, settings):
    settings.FETCH_ALLOW_HOSTS = []
    port, hits = inside_server
    response = token_api(alice).post(
        "/api/v1/analyses/", {"url": template.format(port=port)}, format="json"
    )
    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    assert detail.endswith(".") and len(detail.split()) >= 4  # a sentence, not a code
    assert not Analysis.objects.exists()
    assert hits == []


@pytest.mark.django_db
def test_only_a_listed_loopback_host_is_allowed(alice, token_api, inside_server, settings):
    port, hits = inside_server
    settings.FETCH_ALLOW_HOSTS = ["127.0.0.1"]
    client = token_api(alice)
    allowed = client.post("/api/v1/analyses/", {"url": f"http://127.0.0.1:{port}/v.mp4"})
    assert allowed.status_code == 201
    refused = client.post("/api/v1/analyses/", {"url": f"http://localhost:{port}/v.mp4"})
    assert refused.status_code == 400
    assert hits == []  # submitting never fetches; the worker does
