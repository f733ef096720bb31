"""Engine modules run without Django: CLI, worker and tests import them alone."""

import subprocess
import sys

import pytest

from tests.support import REPO_ROOT

ENGINE = ["errors", "stages", "video", "faces", "tracks", "scoring", "pipeline", "fetch"]


@pytest.mark.parametrize("module", ENGINE)
def test_engine_module_imports_without_django(module):
    code = f"import sys, detection.{module}; assert 'django' not in sys.modules, 'django loaded'"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
