"""The SSRF table at the fetcher itself: every notation of an inside address, names that resolve
inside, other schemes and redirects into the inside — refused with a sentence, and a canary
server on loopback proves nothing was fetched. (The API's refusal is in tests/unmask/api.)"""

import socket

import pytest

from detection.errors import FetchError, UnsafeURL
from detection.fetch import check_url, fetch_video
from tests.reliability.conftest import is_sentence

# {port} is the canary's: a guard that let any of these through would hit it.
INSIDE = [
    "http://127.0.0.1:{port}/v.mp4",
    "http://2130706433:{port}/v.mp4",
    "http://0x7f.0.0.1:{port}/v.mp4",
    "http://0x7f000001:{port}/v.mp4",
    "http://0177.0.0.1:{port}/v.mp4",
    "http://127.1:{port}/v.mp4",
    "http://127.0.0.1.:{port}/v.mp4",
    "http://localhost:{port}/v.mp4",
    "http://LOCALHOST:{port}/v.mp4",
    "http://[::1]:{port}/v.mp4",
    "http://[::ffff:127.0.0.1]:{port}/v.mp4",
    "http://[::ffff:7f00:1]:{port}/v.mp4",
    "http://[0:0:0:0:0:ffff:127.0.0.1]:{port}/v.mp4",
    "http://[2002:7f00:1::]:{port}/v.mp4",  # 6to4 wrapping 127.0.0.1
    "http://0.0.0.0:{port}/v.mp4",
    "http://0:{port}/v.mp4",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/v.mp4",
    "http://[fd00::1]/v.mp4",
    "http://10.0.0.1/v.mp4",
    "http://172.16.0.1/v.mp4",
    "http://192.168.1.1/v.mp4",
    "http://100.64.0.1/v.mp4",  # carrier-grade NAT
    "http://224.0.0.1/v.mp4",
    "http://255.255.255.255/v.mp4",
    "http://user:pass@127.0.0.1:{port}/v.mp4",
    "https://127.0.0.1:{port}/v.mp4",
]
OTHER_SCHEMES = [
    "file:///etc/passwd",
    "ftp://127.0.0.1:{port}/v.mp4",
    "gopher://127.0.0.1:{port}/_GET",
    "dict://127.0.0.1:{port}/",
    "data:video/mp4;base64,AAAA",
    "//127.0.0.1:{port}/v.mp4",
    "127.0.0.1:{port}/v.mp4",
]
# Names a public-looking link may resolve to inside our network.
RESOLVES_INSIDE = {
    "videos.example.com": "127.0.0.1",
    "metadata.google.internal": "169.254.169.254",
    "intranet.example.org": "10.1.2.3",
    "v6.example.net": "::1",
}


@pytest.fixture
def test_resolver(monkeypatch):
    """Answers for the names above at the OS resolver's boundary; other names resolve as usual."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        address = RESOLVES_INSIDE.get(str(host).rstrip(".").lower())
        if address is None:
            return real(host, port, *args, **kwargs)
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port or 80))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def fetch(url: str, tmp_path, allow_hosts=()):
    return fetch_video(
        url, tmp_path, max_bytes=10**7, max_duration_s=600, timeout_s=5, allow_hosts=allow_hosts
    )


@pytest.mark.parametrize("template", INSIDE + OTHER_SCHEMES)
def test_inside_addresses_and_other_schemes_are_never_fetched(template, canary, tmp_path):
    url = template.format(port=canary.base.rsplit(":", 1)[1])
    with pytest.raises(FetchError) as refused:
        fetch(url, tmp_path)
    assert is_sentence(str(refused.value))
    assert canary.hits == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", sorted(RESOLVES_INSIDE))
def test_names_that_resolve_inside_are_refused(name, test_resolver, canary, tmp_path):
    port = canary.base.rsplit(":", 1)[1]
    with pytest.raises(UnsafeURL, match="private, local or reserved"):
        fetch(f"http://{name}:{port}/v.mp4", tmp_path)
    assert canary.hits == []


def test_one_inside_answer_among_public_ones_is_enough_to_refuse(monkeypatch):
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
        ],
    )
    with pytest.raises(UnsafeURL):
        check_url("https://cdn.example.com/v.mp4")


@pytest.mark.parametrize(
    "target",
    [
        "http://localhost:{port}/v.mp4",
        "http://2130706433:{port}/v.mp4",
        "http://0x7f.1:{port}/v.mp4",
        "http://[::ffff:127.0.0.1]:{port}/v.mp4",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
    ],
)
def test_an_allowed_host_redirecting_inside_is_stopped_at_the_hop(
    target, hostile_host, canary, tmp_path
):
    """127.0.0.1 is allowed for the test; its redirect to any other inside address is not."""
    hop = target.format(port=canary.base.rsplit(":", 1)[1])
    with pytest.raises(UnsafeURL) as refused:
        fetch(f"{hostile_host.base}/redirect?to={hop}", tmp_path, allow_hosts=["127.0.0.1"])
    assert is_sentence(str(refused.value))
    assert hostile_host.hits and all(h.startswith("/redirect?to=") for h in hostile_host.hits)
    assert canary.hits == []


def test_a_redirect_to_an_allowed_video_is_followed(hostile_host, tmp_path, face_clip):
    """The hop guard blocks inside addresses, not redirects as such."""
    got = fetch(
        f"{hostile_host.base}/redirect?to={hostile_host.base}/video.mp4",
        tmp_path,
        allow_hosts=["127.0.0.1"],
    )
    assert got.path.read_bytes() == face_clip.read_bytes()


def test_a_name_that_changes_its_answer_after_the_check_is_not_followed(
    monkeypatch, canary, tmp_path
):
    real = socket.getaddrinfo
    answers = {"count": 0}

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.example.com":
            return real(host, port, *args, **kwargs)
        answers["count"] += 1
        address = "93.184.216.34" if answers["count"] <= 2 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    """DNS rebinding: public for the guard's look-ups, loopback when the library connects."""
    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = canary.base.rsplit(":", 1)[1]
    with pytest.raises(UnsafeURL) as refused:
        fetch(f"http://rebind.example.com:{port}/v.mp4", tmp_path)
    assert is_sentence(str(refused.value))
    assert answers["count"] >= 3  # the connect really looked the name up again
    assert canary.hits == []
    assert list(tmp_path.iterdir()) == []
