"""The engine is a library: it runs without Django and never reaches into the platform."""

import ast
import subprocess
import sys

from tests.support import REPO_ROOT

ENGINE_FILES = sorted((REPO_ROOT / "detection").rglob("*.py"))


def _module(path):
    return ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts).removesuffix(".__init__")


def test_no_engine_module_imports_django_or_the_platform():
    for path in ENGINE_FILES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in {"django", "unmask"}, f"{path}: imports {name}"


def test_every_engine_module_imports_without_django():
    modules = [_module(path) for path in ENGINE_FILES]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('django', 'unmask')]\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
