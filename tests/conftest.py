"""Shared fixtures: users, API clients (session and token), sample videos, a model checkpoint,
and a real server (daphne in a subprocess) for journeys over HTTP and websockets."""

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests.live import LiveServer, start_live_server
from tests.quiet_socket import QuietSocketServer, quiet_socket_server

os.environ.setdefault("DETECTION_THREADS", "1")  # the engine shares two cores with other work

PASSWORD = "a long enough passphrase 42"


@pytest.fixture(autouse=True)
def _no_embedded_runner(settings):
    """Jobs never start inside the test process; journeys run them in a real server process."""
    settings.ANALYSIS_THREAD_START = False


# --- users and clients -----------------------------------------------------------------------


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", PASSWORD)


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", PASSWORD)


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("sam", "sam@example.com", PASSWORD, is_staff=True)


@pytest.fixture
def session_api() -> Callable[..., APIClient]:
    """An API client signed in through a real session (cookie + CSRF, like the site's pages)."""

    def make(user) -> APIClient:
        client = APIClient(enforce_csrf_checks=False)
        client.force_login(user)
        return client

    return make


@pytest.fixture
def token_api() -> Callable[..., APIClient]:
    """An API client sending `Authorization: Token <key>` for a real device token."""
    from unmask.accounts.services import issue_token

    def make(user, device: str = "pytest") -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user, device).key}")
        return client

    return make


# --- videos ----------------------------------------------------------------------------------


def make_video(path: Path, *, seconds: float = 1.0, size: str = "96x96", rate: int = 10) -> Path:
    """A tiny H.264 mp4 (test pattern, no face) made with ffmpeg."""
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is needed to make test videos (apt install ffmpeg)")
    subprocess.run(
        [
            "ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi",
            "-i", f"testsrc=duration={seconds}:size={size}:rate={rate}",
            "-pix_fmt", "yuv420p", "-c:v", "libx264", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


@pytest.fixture(scope="session")
def sample_video(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("videos") / "pattern.mp4")


@pytest.fixture(scope="session")
def other_video(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("videos") / "pattern-2.mp4", seconds=1.5)


# --- model -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def detection_checkpoint(tmp_path_factory) -> tuple[Path, bool]:
    """(path, trained): the shipped checkpoint when present, else an untrained test one.

    An untrained checkpoint needs DETECTION_ALLOW_UNTRAINED, which settings refuse without
    DEBUG, so it can only ever serve tests.
    """
    from detection.pipeline import DEFAULT_MODEL_PATH

    if DEFAULT_MODEL_PATH.is_file():
        return DEFAULT_MODEL_PATH, True
    from detection.models import ModelCard, create_model, save_checkpoint

    architecture = "cnn_lstm_mobilenet_v2"
    config = {"hidden_size": 32}
    path = tmp_path_factory.mktemp("model") / "test-untrained.pt"
    card = ModelCard(
        architecture=architecture, config=config, frames=8, trained=False, version="test-0"
    )
    save_checkpoint(create_model(architecture, **config), card, path)
    return path, False


# --- a real server ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def live_site(tmp_path_factory, detection_checkpoint) -> Iterator[LiveServer]:
    """daphne serving the site from its own database, running analyses in its own threads."""
    model_path, trained = detection_checkpoint
    server = start_live_server(
        tmp_path_factory.mktemp("live"), model_path=model_path, allow_untrained=not trained
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def quiet_socket() -> Iterator[QuietSocketServer]:
    """A websocket peer that never speaks (tests/quiet_socket.py)."""
    with quiet_socket_server() as server:
        yield server
