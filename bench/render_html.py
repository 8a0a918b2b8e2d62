"""Render a speedup report's report.html in headless Chromium and save a screenshot, to check by
eye that the self-contained page (tables, inlined PNG plots) displays offline.

    python bench/render_html.py reports/report.html /tmp/report.png

Prints the screenshot path and size; exits 0 with a note when no Chromium is installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(html: Path, png: Path, width: int = 1400, height: int = 4000) -> Path:
    exe = find_chromium()
    if exe is None:
        raise FileNotFoundError("no chromium on PATH")
    with tempfile.TemporaryDirectory() as profile:
        # offline: no network, no first-run, a throwaway profile
        subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--no-first-run",
                        f"--user-data-dir={profile}", f"--window-size={width},{height}",
                        f"--screenshot={png.resolve()}", html.resolve().as_uri()],
                       check=True, capture_output=True, timeout=120)
    return png


def main(argv: list[str]) -> int:
    html = Path(argv[1] if len(argv) > 1 else "reports/report.html")
    png = Path(argv[2] if len(argv) > 2 else "report_screenshot.png")
    if find_chromium() is None:
        print("no chromium installed (apt-get install chromium); nothing rendered")
        return 0
    screenshot(html, png)
    print(f"{png}: {png.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
