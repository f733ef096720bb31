"""A real Unmask server for journey tests: a fresh database, three users, daphne in a subprocess.

The server is configured only through environment variables, exactly as in production, so
the same journeys can run against PostgreSQL + Redis + a Celery worker by passing
`extra_env` (DATABASE_URL, REDIS_URL) and starting a worker beside it.
"""

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import requests

from tests.support import REPO_ROOT, require

PASSWORD = "a long enough passphrase 42"
USERS = {"alice": False, "bob": False, "sam": True}  # name -> is_staff
UPLOAD_MAX_BYTES = 3 * 1024 * 1024
# How long a journey waits for one short clip's job to end: a slow machine is not a failure.
JOB_TIMEOUT_S = 180

_CREATE_USERS = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from unmask.accounts.services import issue_token
out = {}
for name, is_staff in USERS.items():
    user = get_user_model().objects.create_user(
        name, name + "@example.com", PASSWORD, is_staff=is_staff
    )
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    out[name] = {"token": issue_token(user, "live test").key, "sessionid": session.session_key}
print("USERS=" + json.dumps(out))
"""


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    data_dir: Path
    process: subprocess.Popen
    accounts: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def ws_base(self) -> str:
        return "ws" + self.url.removeprefix("http")

    def token(self, name: str) -> str:
        return self.accounts[name]["token"]

    def token_headers(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Token {self.token(name)}"}

    def browser(self, name: str) -> requests.Session:
        """A requests session carrying the user's session cookie and a CSRF token, like a page."""
        csrf = secrets.token_hex(16)
        session = requests.Session()
        host = self.url.split("//", 1)[1].split(":")[0]
        session.cookies.set("sessionid", self.accounts[name]["sessionid"], domain=host)
        session.cookies.set("csrftoken", csrf, domain=host)
        session.headers.update({"X-CSRFToken": csrf, "Referer": self.url + "/"})
        return session

    def upload(
        self,
        video: Path,
        name: str = "alice",
        *,
        filename: str | None = None,
        content_type: str = "video/mp4",
        timeout_s: float = 60,
    ) -> requests.Response:
        """POST a file to the analyses API with the user's token, as API clients do."""
        with video.open("rb") as handle:
            return requests.post(
                f"{self.url}/api/v1/analyses/",
                files={"file": (filename or video.name, handle, content_type)},
                headers=self.token_headers(name),
                timeout=timeout_s,
            )

    def ws_session_headers(self, name: str) -> dict[str, str]:
        return {"Cookie": f"sessionid={self.accounts[name]['sessionid']}", "Origin": self.url}

    def log_tail(self, lines: int = 40) -> str:
        log = self.data_dir / "server.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen, timeout_s: float = 15) -> None:
    """Terminate, then kill if it will not go."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()


def start_celery_worker(server: LiveServer, log: Path, name: str) -> subprocess.Popen:
    """A separate Celery worker process on the `detection` queue, configured like `server`."""
    with log.open("a") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "unmask", "worker", "-Q", "detection",
             "--pool", "solo", "--concurrency", "1", "--loglevel", "INFO",
             "--hostname", f"{name}-{secrets.token_hex(3)}@%h"],
            env=server.env, cwd=REPO_ROOT, stdout=handle, stderr=subprocess.STDOUT,
        )  # fmt: skip


POSTGRES_PORT = 5432  # PostgreSQL as `make services` starts it
POSTGRES_ADMIN_URL = f"postgresql://unmask:unmask@127.0.0.1:{POSTGRES_PORT}/unmask"


def postgres_url(database: str, port: int = POSTGRES_PORT) -> str:
    return f"postgres://unmask:unmask@127.0.0.1:{port}/{database}"


@contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """The name of a new PostgreSQL database, dropped afterwards."""
    try:
        psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3).close()
        up = True
    except psycopg.Error:
        up = False
    require(up, f"PostgreSQL at {POSTGRES_ADMIN_URL} (start it: make services)")
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_live_server(
    data_dir: Path,
    *,
    model_path: Path,
    allow_untrained: bool,
    extra_env: dict[str, str] | None = None,
) -> LiveServer:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "STORAGE_BUCKET", "ANALYSIS_RUNNER"}
    }
    env.update(
        {
            "DEBUG": "1",
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "platform")]),
            "DJANGO_SETTINGS_MODULE": "unmask.settings",
            "UNMASK_DATA_DIR": str(data_dir),
            "DATABASE_URL": f"sqlite:///{data_dir / 'live.sqlite3'}",
            "MEDIA_ROOT": str(data_dir / "media"),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "FETCH_ALLOW_HOSTS": "127.0.0.1",  # the local http.server the URL journey fetches from
            "UPLOAD_MAX_BYTES": str(UPLOAD_MAX_BYTES),
            "DETECTION_MODEL": str(model_path),
            "DETECTION_ALLOW_UNTRAINED": "1" if allow_untrained else "0",
            "DETECTION_FRAMES": "8",
            "DETECTION_THREADS": "1",
            "ANALYSIS_MAX_ACTIVE_PER_USER": "5",
            "API_THROTTLE_USER": "100000/hour",
            "API_THROTTLE_SUBMIT": "100000/hour",
            **(extra_env or {}),
        }
    )
    manage = [sys.executable, str(REPO_ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=REPO_ROOT)
    script = f"USERS = {USERS!r}\nPASSWORD = {PASSWORD!r}\n{_CREATE_USERS}"
    made = subprocess.run(
        [*manage, "shell", "-c", script],
        env=env,
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    accounts = json.loads(made.stdout.split("USERS=", 1)[1].strip())

    port = free_port()
    log = (data_dir / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
         "unmask.asgi:application"],
        env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    server = LiveServer(f"http://127.0.0.1:{port}", env, data_dir, process, accounts)
    _wait_until_up(server)
    return server


def _wait_until_up(server: LiveServer, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{server.log_tail()}")
        try:
            requests.get(server.url + "/", timeout=5)
            return
        except (requests.ConnectionError, requests.Timeout):  # not listening, or still starting
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"the server did not answer within {timeout_s} s:\n{server.log_tail()}")


def wait_for(
    server: LiveServer, analysis_id: str, name: str = "alice", timeout_s: float = JOB_TIMEOUT_S
) -> dict[str, Any]:
    """Poll the API until the analysis is done or failed; return its detail."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = requests.get(
            f"{server.url}/api/v1/analyses/{analysis_id}/",
            headers=server.token_headers(name),
            timeout=10,
        )
        body = response.json()
        if body["status"] in {"done", "failed"}:
            return body
        time.sleep(0.5)
    raise AssertionError(f"analysis {analysis_id} did not finish:\n{server.log_tail()}")


CHROMIUM = Path("/usr/bin/chromium")


@contextmanager
def chromium_context(
    live_site: LiveServer | None = None, user: str | None = None, args: tuple[str, ...] = ()
) -> Iterator:
    """A headless Debian Chromium context (Playwright), signed in as `user` by their session
    cookie when one is named."""
    require(CHROMIUM.is_file(), f"{CHROMIUM} not found (apt install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", *args],
        )
        try:
            context = browser.new_context(viewport={"width": 1100, "height": 900})
            if live_site and user:
                session = live_site.accounts[user]["sessionid"]
                context.add_cookies([{"name": "sessionid", "value": session, "url": live_site.url}])
            yield context
        finally:
            browser.close()
