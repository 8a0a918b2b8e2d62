"""Open a speedup report's report.html in headless Chromium, offline, check it like a reader
would, and save a screenshot.

    python bench/render_html.py [reports/report.html] [docs/report_screenshot.png]

Chromium (Debian's `chromium` package) is driven over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: no port, no network, no extra Python package). ``check_page``
reports (tests/test_browser.py asserts on it):
  - console errors and uncaught exceptions while the page loads and is used;
  - each <figure>: a screenshot of exactly its box, with the share of non-white pixels and the
    number of distinct colours (a blank figure has ~0 % ink and one colour);
  - sorting: a click on a numeric header of the headline table, then the column read back
    (ascending), a second click (descending);
  - drill-down: a per-layer section opened, its table built.
Exits 1 if a check fails, 0 with a note when no Chromium is installed.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """Headless Chromium on a DevTools pipe: fd 3 carries commands in, fd 4 replies and events
    out, each message JSON ending in a NUL byte."""

    def __init__(self, exe: str | None = None, width: int = 1400, height: int = 1000):
        exe = exe or find_chromium()
        if exe is None:
            raise FileNotFoundError("no chromium on PATH")
        self.width, self.height = width, height
        self.profile = tempfile.TemporaryDirectory()
        to_r, self._to_w = os.pipe()
        self._from_r, from_w = os.pipe()

        def child_fds():
            os.dup2(to_r, 3)
            os.dup2(from_w, 4)

        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--disable-background-networking", "--no-first-run", "--disable-extensions",
             "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
             f"--user-data-dir={self.profile.name}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=child_fds)
        os.close(to_r)
        os.close(from_w)
        self._id = 0
        self._replies: dict[int, dict] = {}
        self.events: list[dict] = []
        self._cv = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]
        for m in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.call(m, session=self.session)
        self.call("Emulation.setDeviceMetricsOverride", session=self.session, width=width,
                  height=height, deviceScaleFactor=1, mobile=False)

    def _read(self):
        buf = b""
        with os.fdopen(self._from_r, "rb", buffering=0) as f:
            while True:
                chunk = f.read(1 << 16)
                if not chunk:
                    break
                buf += chunk
                *msgs, buf = buf.split(b"\0")
                with self._cv:
                    for m in msgs:
                        msg = json.loads(m)
                        if "id" in msg:
                            self._replies[msg["id"]] = msg
                        else:
                            self.events.append(msg)
                    self._cv.notify_all()

    def call(self, method: str, session: str | None = None, timeout: float = 60, **params):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._to_w, json.dumps(msg).encode() + b"\0")
        with self._cv:
            if not self._cv.wait_for(lambda: self._id in self._replies, timeout):
                raise TimeoutError(f"chromium did not answer {method}")
            reply = self._replies.pop(self._id)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def page(self, method: str, **params):
        return self.call(method, session=self.session, **params)

    def wait_event(self, method: str, since: int, timeout: float = 60) -> dict:
        with self._cv:
            ok = self._cv.wait_for(lambda: any(e.get("method") == method
                                               for e in self.events[since:]), timeout)
        if not ok:
            raise TimeoutError(f"no {method} from chromium")
        return next(e for e in self.events[since:] if e.get("method") == method)

    def open(self, url: str) -> int:
        """Navigate and wait for the load event; returns the event index the page starts at."""
        since = len(self.events)
        self.page("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired", since)
        return since

    def js(self, expr: str, await_promise: bool = False):
        r = self.page("Runtime.evaluate", expression=expr, returnByValue=True,
                      awaitPromise=await_promise)
        if "exceptionDetails" in r:
            raise RuntimeError(f"page script failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    def errors(self, since: int = 0) -> list[str]:
        """Console errors, uncaught exceptions and error log entries since event ``since``."""
        out = []
        for e in self.events[since:]:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console: " + " ".join(str(a.get("value", a.get("description")))
                                                  for a in p.get("args", [])))
            elif m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append("exception: " + str(d.get("exception", {}).get("description")
                                               or d.get("text")))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append("log: " + p["entry"].get("text", ""))
        return out

    def screenshot(self, clip: dict | None = None) -> bytes:
        params = {"format": "png", "captureBeyondViewport": True}
        if clip:
            params["clip"] = {**clip, "scale": 1}
        return base64.b64decode(self.page("Page.captureScreenshot", **params)["data"])

    def close(self):
        try:
            self.call("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_w)
        self.profile.cleanup()


def ink(png: bytes) -> tuple[float, int]:
    """(share of non-white pixels, distinct colours) of a PNG."""
    import io

    import matplotlib.image as mpimg
    import numpy as np

    img = (mpimg.imread(io.BytesIO(png), format="png")[..., :3] * 255).astype(np.uint8)
    inked = float((img.min(axis=2) < 235).mean())
    return inked, len(np.unique(img.reshape(-1, 3), axis=0))


FIGURES_JS = """Array.from(document.querySelectorAll('figure')).map(function (f) {
  var el = f.querySelector('svg, img') || f;
  var r = el.getBoundingClientRect();
  return {id: f.id, x: r.left + window.scrollX, y: r.top + window.scrollY,
          width: r.width, height: r.height};
})"""

COLUMN_JS = """(function () {
  var t = document.getElementById('%s');
  var heads = Array.from(t.tHead.rows[0].cells).map(function (h) { return h.textContent; });
  var i = heads.indexOf('%s');
  return {sort: t.tHead.rows[0].cells[i].getAttribute('aria-sort'),
          values: Array.from(t.tBodies[0].rows).map(function (r) {
            return r.cells[i].textContent; })};
})()"""


def _num(s: str) -> float:
    return float(s.replace("%", "").replace(",", ""))


def check_sort(b: Browser, table_id: str = "all-table",
               header: str = "cycles (M)") -> tuple[bool, str]:
    """Click ``header`` twice; the column must read ascending, then descending (so it needs
    two distinct values: an unsorted column fails one of the two)."""
    before = b.js(COLUMN_JS % (table_id, header))["values"]
    click = ("(function () { var t = document.getElementById('%s');"
             " Array.from(t.tHead.rows[0].cells).filter(function (h) {"
             " return h.textContent === '%s'; })[0].click(); })()" % (table_id, header))
    b.js(click)
    up = [_num(v) for v in b.js(COLUMN_JS % (table_id, header))["values"]]
    b.js(click)
    down = [_num(v) for v in b.js(COLUMN_JS % (table_id, header))["values"]]
    ok = up == sorted(up) and down == sorted(down, reverse=True) and len(up) == len(before) \
        and len(set(up)) > 1
    return ok, (f"{header}: {len(up)} rows, ascending after one click: {up == sorted(up)}, "
                f"descending after two: {down == sorted(down, reverse=True)}")


CHECKS = ("figures", "sort", "layers")


def check_figures(b: Browser, min_ink: float, min_colours: int) -> list[dict]:
    """One screenshot of the whole page, cut at each figure's box."""
    import io

    import matplotlib.image as mpimg
    import numpy as np

    boxes = b.js(FIGURES_JS)
    height = int(b.js("document.documentElement.scrollHeight"))
    full = b.screenshot({"x": 0, "y": 0, "width": b.width, "height": height})
    img = (mpimg.imread(io.BytesIO(full), format="png")[..., :3] * 255).astype(np.uint8)
    figs = []
    for f in boxes:
        x0, y0 = int(f["x"]), int(f["y"])
        part = img[y0:y0 + int(f["height"]), x0:x0 + int(f["width"])]
        if part.size == 0:
            figs.append({**f, "ink": 0.0, "colours": 0, "ok": False})
            continue
        share = float((part.min(axis=2) < 235).mean())
        colours = len(np.unique(part.reshape(-1, 3), axis=0))
        figs.append({**f, "ink": share, "colours": colours,
                     "ok": share >= min_ink and colours >= min_colours})
    return figs


def check_page(b: Browser, html: Path, min_ink: float = 0.01, min_colours: int = 8,
               checks=CHECKS) -> dict:
    """Open ``html`` and run ``checks`` (console errors always); returns {'errors', 'figures',
    'sort', 'layers'} (a check not run: None)."""
    since = b.open(html.resolve().as_uri())
    figs = check_figures(b, min_ink, min_colours) if "figures" in checks else None
    sort_ok, sort_note = check_sort(b) if "sort" in checks else (None, "")
    # open the first per-layer section; its table is built from the embedded data
    layers = None if "layers" not in checks else b.js("""new Promise(function (done) {
      var d = document.querySelector('details[data-run]');
      if (!d) { done(-1); return; }
      d.open = true;
      var n = 0, t = setInterval(function () {
        var tb = d.querySelector('table');
        if (tb || ++n > 100) { clearInterval(t); done(tb ? tb.tBodies[0].rows.length : 0); }
      }, 20);
    })""", await_promise=True)
    time.sleep(0.2)  # late console messages
    return {"errors": b.errors(since), "figures": figs, "sort": (sort_ok, sort_note),
            "layers": layers}


def save_screenshot(b: Browser, html: Path, png: Path, height: int = 2200) -> Path:
    """The top of the page (summary, headline table) as a reader first sees it."""
    b.open(html.resolve().as_uri())
    png.write_bytes(b.screenshot({"x": 0, "y": 0, "width": b.width, "height": height}))
    return png


def main(argv: list[str]) -> int:
    html = Path(argv[1] if len(argv) > 1 else "reports/report.html")
    png = Path(argv[2] if len(argv) > 2 else "docs/report_screenshot.png")
    if find_chromium() is None:
        print("no chromium installed (apt-get install chromium); nothing rendered")
        return 0
    b = Browser()
    try:
        res = check_page(b, html)
        save_screenshot(b, html, png)
    finally:
        b.close()
    bad = [f["id"] for f in res["figures"] if not f["ok"]]
    for f in res["figures"]:
        print(f"{f['id']}: {f['width']:.0f}x{f['height']:.0f} px, {100 * f['ink']:.1f}% inked, "
              f"{f['colours']} colours")
    print(f"sort: {res['sort'][1]}; per-layer table rows: {res['layers']}; "
          f"console errors: {res['errors'] or 'none'}")
    print(f"wrote {png} ({png.stat().st_size} bytes)")
    ok = not bad and not res["errors"] and res["sort"][0] and res["layers"] > 0
    print("renders" if ok else f"BROKEN: blank figures {bad}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
