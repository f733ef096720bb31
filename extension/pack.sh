#!/usr/bin/env bash
# Pack extension/ into DIST/unmask-chrome.zip and DIST/unmask-firefox.zip (default DIST: dist).
# One source tree: each zip gets the manifest with the other browser's keys removed, so neither
# store nor browser warns about keys it does not know.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dist="${1:-dist}"
mkdir -p "$dist"
python3 - "$here" "$dist" <<'PY'
import json
import sys
import zipfile
from pathlib import Path

source, dist = Path(sys.argv[1]), Path(sys.argv[2])
skip = {"pack.sh"}
files = sorted(
    p for p in source.rglob("*")
    if p.is_file() and p.name not in skip and p.name != "manifest.json" and not p.name.startswith(".")
)
manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))


def for_chrome(m):
    m = json.loads(json.dumps(m))
    m.pop("browser_specific_settings", None)
    m["background"].pop("scripts", None)
    return m


def for_firefox(m):
    m = json.loads(json.dumps(m))
    m["background"].pop("service_worker", None)
    return m


for name, build in (("chrome", for_chrome), ("firefox", for_firefox)):
    target = dist / f"unmask-{name}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(build(manifest), indent=2, ensure_ascii=False) + "\n")
        for path in files:
            archive.write(path, path.relative_to(source).as_posix())
    print(f"{target}: {len(files) + 1} files")
PY
