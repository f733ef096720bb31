"""The layout keeps Python's own `platform` module reachable, and the project checks clean."""

import os
import platform
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.support import REPO_ROOT

STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()


def manage(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_stdlib_platform_is_not_shadowed_under_pytest():
    assert platform.system() == "Linux"
    assert Path(platform.__file__).resolve().parent == STDLIB
    assert not (REPO_ROOT / "platform" / "__init__.py").exists()


def test_stdlib_platform_is_not_shadowed_under_manage_py():
    done = manage(
        "shell", "-c", "import platform; print(platform.system()); print(platform.__file__)"
    )
    assert done.returncode == 0, done.stderr
    system, location = done.stdout.split()[-2:]  # after the shell's auto-import banner
    assert system == "Linux"
    assert Path(location).resolve().parent == STDLIB


def test_django_checks_and_migrations_are_clean():
    check = manage("check")
    assert check.returncode == 0, check.stderr
    assert "no issues" in check.stdout
    migrations = manage("makemigrations", "--check", "--dry-run")
    assert migrations.returncode == 0, migrations.stdout + migrations.stderr
