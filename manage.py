#!/usr/bin/env python
"""Django's command-line utility for Unmask."""

import os
import sys
from pathlib import Path

# The site's package lives in platform/unmask; platform/ itself is a plain folder, never a
# package, so the standard-library module `platform` stays importable.
sys.path.insert(0, str(Path(__file__).resolve().parent / "platform"))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unmask.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
