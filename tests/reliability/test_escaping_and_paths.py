"""Hostile file names, links and titles are shown as text on every page, never run as markup;
a hostile upload name cannot place a file outside the media folder; production settings pass
`manage.py check --deploy` with no warning."""

import os
import secrets
import subprocess
import sys

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.reliability.conftest import is_sentence
from tests.support import REPO_ROOT
from unmask.analyses.models import Analysis
from unmask.analyses.progress import mark_done
from unmask.review.models import Review

# A "/" in an upload name is a path separator (the name is cut at it), so the file-name payload
# has none; links and titles keep theirs.
NAME = "<img src=x onerror=alert(1)>.mp4"
LINK = 'http://127.0.0.1:9/"><script>alert(2)</script>.mp4'
TITLE = "<svg/onload=alert(3)> & 'quotes'"
RAW = ("<img src=x onerror=alert(1)>", "<script>alert(2)</script>", '"><script>', "<svg/onload")
ESCAPED = ("&lt;img src=x onerror=alert(1)&gt;", "&lt;script&gt;alert(2)", "&lt;svg/onload")


def assert_escaped(html: str, expect: int = 1) -> None:
    for raw in RAW:
        assert raw not in html
    assert sum(e in html for e in ESCAPED) >= expect


@pytest.fixture
def hostile(alice, token_api, settings, tmp_path) -> list[Analysis]:
    """Three analyses of Alice's through the real submit path, each done and flagged."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FETCH_ALLOW_HOSTS = ["127.0.0.1"]
    settings.ANALYSIS_MAX_ACTIVE_PER_USER = 0
    client = token_api(alice)
    by_file = client.post("/api/v1/analyses/", {"file": SimpleUploadedFile(NAME, b"\0" * 64)})
    by_link = client.post("/api/v1/analyses/", {"url": LINK}, format="json")
    titled = client.post("/api/v1/analyses/", {"url": "http://127.0.0.1:9/t.mp4"}, format="json")
    assert {by_file.status_code, by_link.status_code, titled.status_code} == {201}
    # A fetched video's title lands in source_name, as the worker's fetch step stores it.
    Analysis.objects.filter(pk=titled.json()["id"]).update(source_name=TITLE)
    analyses = [Analysis.objects.get(pk=r.json()["id"]) for r in (by_file, by_link, titled)]
    for analysis in analyses:
        assert mark_done(
            analysis, {"verdict": "fake", "fake_probability": 0.97, "model": {"version": "t"}}
        )
    return analyses


@pytest.mark.django_db
def test_owner_pages_escape_names_links_and_titles(hostile, alice, client):
    client.force_login(alice)
    assert Analysis.objects.get(pk=hostile[0].pk).source_name == NAME  # kept as sent, as text
    pages = ["/", "/analyses/", "/analyses/?q=alert"]
    pages += [f"/analyses/{a.pk}/" for a in hostile]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert_escaped(response.content.decode())


@pytest.mark.django_db
def test_review_pages_escape_names_links_and_titles(hostile, staff, client):
    client.force_login(staff)
    for page in ["/review/", *[f"/review/{a.pk}/" for a in hostile]]:
        response = client.get(page)
        assert response.status_code == 200, page
        assert_escaped(response.content.decode())
    Review.objects.create(analysis=hostile[0], reviewer=staff, decision="confirmed_fake")
    assert_escaped(client.get("/review/?tab=reviewed").content.decode())


@pytest.mark.django_db
def test_refusal_messages_that_quote_the_name_are_escaped(alice, client):
    client.force_login(alice)
    response = client.post(
        "/analyses/new/", {"file": SimpleUploadedFile(NAME.replace(".mp4", ".txt"), b"hello")}
    )
    assert response.status_code == 400
    assert_escaped(response.content.decode())


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd.mp4",
        "..\\..\\..\\windows\\evil.mp4",
        "/etc/cron.d/evil.mp4",
        "....//....//evil.mp4",
        "%2e%2e%2fevil.mp4",
        "evil.mp4\x00.png",
        "ok/../../../evil.mp4",
    ],
)
def test_upload_names_cannot_leave_the_media_folder(name, alice, token_api, settings, tmp_path):
    media = tmp_path / "deep" / "media"
    settings.MEDIA_ROOT = media
    response = token_api(alice).post(
        "/api/v1/analyses/", {"file": SimpleUploadedFile(name, b"\1" * 64)}
    )
    if response.status_code != 201:  # refused outright is fine, with a sentence
        assert response.status_code == 400 and is_sentence(response.json()["detail"])
        return
    analysis = Analysis.objects.get(pk=response.json()["id"])
    stored = (media / analysis.source.name).resolve()
    assert stored.is_file() and stored.is_relative_to(media.resolve())
    assert stored.parent.name == str(analysis.pk)
    assert "/" not in analysis.source_name and "\\" not in analysis.source_name
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_relative_to(media)]
    assert outside == []


def test_production_settings_pass_the_deploy_check(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DEBUG", "SECURE_"))},
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "unmask.example.com",
        "UNMASK_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "DETECTION_ALLOW_UNTRAINED": "0",
        "EMAIL_HOST": "smtp.example.com",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)

    def deploy_check(environment: dict) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(REPO_ROOT / "manage.py"), "check", "--deploy",
             "--fail-level", "WARNING"],
            env=environment, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    done = deploy_check(env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout
    # Without a mail server, password-reset mail would only reach the logs: the check says so.
    no_mail = deploy_check({k: v for k, v in env.items() if k != "EMAIL_HOST"})
    assert no_mail.returncode != 0
    assert "mail.E001" in no_mail.stdout + no_mail.stderr
    # The settings the check looks at, read back from the same environment.
    shown = subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), "shell", "-c",
         "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, "
         "s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS >= 31536000, "
         "s.SECURE_PROXY_SSL_HEADER, s.DEBUG)"],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert shown.stdout.split("\n")[-2] == (
        "True True True True ('HTTP_X_FORWARDED_PROTO', 'https') False"
    ), shown.stdout + shown.stderr


def test_production_refuses_the_development_secret(tmp_path):
    env = {**os.environ, "DEBUG": "0", "UNMASK_DATA_DIR": str(tmp_path)}
    env.pop("SECRET_KEY", None)
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), "check"],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in done.stderr
