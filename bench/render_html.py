"""Render a speedup report's report.html in headless Chromium, offline, and check the screenshot.

    python bench/render_html.py [reports/report.html] [docs/report_screenshot.png]

Chromium (Debian's `chromium` package) loads the page from disk with networking off; the
screenshot must show the page, not an error or a blank: a share of non-white pixels and a
number of distinct colours that only tables plus the inlined matplotlib plots reach (a blank
page has 1 colour, a text-only page a few dozen grey levels). Prints the figures; exits 1 if the
check fails, 0 with a note when no Chromium is installed.
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


def screenshot(html: Path, png: Path, width: int = 1400, height: int = 7000) -> Path:
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


def check(png: Path) -> tuple[bool, str]:
    """(ok, figures) of a screenshot: the page painted text, tables and colour plots."""
    import matplotlib.image as mpimg
    import numpy as np

    img = (mpimg.imread(png)[..., :3] * 255).astype(np.uint8)
    inked = float((img.min(axis=2) < 200).mean())
    colours = len(np.unique(img.reshape(-1, 3), axis=0))
    # the plots' blue bars (matplotlib tab/seaborn blues): a colour no table or text uses
    blue = float(((img[..., 2] > 150) & (img[..., 0] < 120)).mean())
    ok = inked > 0.02 and colours > 150 and blue > 0.001
    return ok, (f"{img.shape[1]}x{img.shape[0]} px, {100 * inked:.1f}% inked, {colours} "
                f"colours, {100 * blue:.2f}% plot blue")


def main(argv: list[str]) -> int:
    html = Path(argv[1] if len(argv) > 1 else "reports/report.html")
    png = Path(argv[2] if len(argv) > 2 else "docs/report_screenshot.png")
    if find_chromium() is None:
        print("no chromium installed (apt-get install chromium); nothing rendered")
        return 0
    screenshot(html, png)
    ok, figures = check(png)
    print(f"{png}: {png.stat().st_size} bytes, {figures}: {'renders' if ok else 'BLANK OR BROKEN'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
