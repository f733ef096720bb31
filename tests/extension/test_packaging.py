"""The manifest passes Firefox's linter, and `make extension` builds both browsers' zips."""

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.support import REPO_ROOT, require

EXTENSION = REPO_ROOT / "extension"
WEB_EXT_VERSION = "10.7.0"
NODE_PREFIX = REPO_ROOT / "var" / "node"
WEB_EXT = NODE_PREFIX / "node_modules" / ".bin" / "web-ext"


@pytest.fixture(scope="session")
def web_ext() -> Path:
    """web-ext from var/node (git-ignored); installed there with npm when missing."""
    if not WEB_EXT.is_file():
        require(shutil.which("npm") is not None, "npm is needed to install web-ext")
        subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(NODE_PREFIX),
                "--no-audit",
                "--no-fund",
                f"web-ext@{WEB_EXT_VERSION}",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return WEB_EXT


def lint(web_ext: Path, source: Path) -> dict:
    completed = subprocess.run(
        [
            str(web_ext),
            "lint",
            "--source-dir",
            str(source),
            "--output",
            "json",
            "--no-config-discovery",
            "--ignore-files",
            "pack.sh",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    return json.loads(completed.stdout[completed.stdout.index("{") :])


def test_web_ext_lint_finds_no_errors(web_ext):
    report = lint(web_ext, EXTENSION)
    assert report["errors"] == [], report["errors"]
    # The one-source manifest keeps Chromium's service_worker key, which Firefox ignores.
    assert {w["code"] for w in report["warnings"]} <= {"BACKGROUND_SERVICE_WORKER_IGNORED"}


def referenced_files(manifest: dict) -> set[str]:
    files = set(manifest["icons"].values()) | set(manifest["action"]["default_icon"].values())
    files |= {manifest["action"]["default_popup"], manifest["options_ui"]["page"]}
    background = manifest["background"]
    files |= {background.get("service_worker")} | set(background.get("scripts", []))
    return files - {None}


def test_pack_builds_a_zip_per_browser_with_only_its_own_keys(tmp_path, web_ext):
    subprocess.run(["bash", str(EXTENSION / "pack.sh"), str(tmp_path)], check=True, timeout=60)
    manifests = {}
    for browser in ("chrome", "firefox"):
        with zipfile.ZipFile(tmp_path / f"unmask-{browser}.zip") as archive:
            names = set(archive.namelist())
            manifest = json.loads(archive.read("manifest.json"))
            assert referenced_files(manifest) <= names
            assert {"content/overlay.js", "content/overlay.css"} <= names
            assert "pack.sh" not in names
            manifests[browser] = manifest
    assert "browser_specific_settings" not in manifests["chrome"]
    assert "scripts" not in manifests["chrome"]["background"]
    assert "service_worker" not in manifests["firefox"]["background"]
    assert manifests["firefox"]["browser_specific_settings"]["gecko"]["id"]

    unpacked = tmp_path / "firefox"
    with zipfile.ZipFile(tmp_path / "unmask-firefox.zip") as archive:
        archive.extractall(unpacked)
    report = lint(web_ext, unpacked)
    assert report["errors"] == [] and report["warnings"] == [], report
