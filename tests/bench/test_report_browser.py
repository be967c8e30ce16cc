"""ganzoo report in a real browser: Debian's Chromium, headless, driven over the Chrome
DevTools Protocol (CDP) on its websocket (aiohttp's client; nothing is downloaded). The site
of the committed results/mnist5k is served from a localhost http.server thread; the test
reads the table's rows, clicks the FID header (a mouse event at its position) and checks the
rows reorder, every image loaded, the console stayed free of errors, and writes a
screenshot (also to /tmp/ganzoo_report_screenshot.png when GANZOO_SCREENSHOT is set).

``scripts/test.sh`` installs chromium with apt-get when it is missing and it can; otherwise
this test skips, saying why."""

from __future__ import annotations

import asyncio
import base64
import functools
import http.server
import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from ganzoo.bench.report import build_site

aiohttp = pytest.importorskip("aiohttp", reason="aiohttp (the CDP websocket client) is missing")

REPO = Path(__file__).resolve().parents[2]
MNIST = REPO / "results" / "mnist5k"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0", "--window-size=1400,1800"]
SCREENSHOT_COPY = Path("/tmp/ganzoo_report_screenshot.png")

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).is_file(),
    reason="no chromium at /usr/bin/chromium: `apt-get install chromium` (scripts/test.sh "
    "does when it runs as root with apt-get)")


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no line per request in the test output
        pass


@pytest.fixture
def served(tmp_path):
    """The site of results/mnist5k, served on a free localhost port."""
    site = tmp_path / "site"
    build_site([MNIST], site)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def chromium(tmp_path):
    """A headless chromium with its DevTools endpoint: the websocket URL of its first page."""
    process = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                                "about:blank"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()  # chromium's stderr, read on (the pipe never fills)
    threading.Thread(target=lambda: [lines.put(line) for line in process.stderr],
                     daemon=True).start()
    try:
        deadline, port = time.monotonic() + 60, None
        while port is None:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"chromium printed no DevTools endpoint within 60 s (status "
                            f"{process.poll()})")
            found = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            port = found and int(found[1])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            pages = [t for t in json.load(reply) if t["type"] == "page"]
        yield pages[0]["webSocketDebuggerUrl"]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


class DevTools:
    """Commands to one page over CDP; every event is kept in ``events``."""

    def __init__(self, socket) -> None:
        self.socket, self.events, self.next_id = socket, [], 0

    async def send(self, method: str, **params):
        self.next_id += 1
        await self.socket.send_json({"id": self.next_id, "method": method, "params": params})
        while True:
            message = await asyncio.wait_for(self.socket.receive_json(), timeout=30)
            if message.get("id") == self.next_id:
                assert "error" not in message, f"{method}: {message['error']}"
                return message["result"]
            self.events.append(message)

    async def evaluate(self, expression: str):
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                                 awaitPromise=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    async def open(self, url: str) -> None:
        await self.send("Page.navigate", url=url)
        deadline = time.monotonic() + 30
        while await self.evaluate("document.readyState") != "complete":
            assert time.monotonic() < deadline, f"{url} did not finish loading"
            await asyncio.sleep(0.05)

    async def click(self, selector: str) -> None:
        """A mouse click at the middle of ``selector``'s box, as a user's click arrives."""
        box = await self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            await self.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1],
                            button="left", clickCount=1)

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors seen so far."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                found.append("console: " + " ".join(str(a.get("value")) for a in params["args"]))
            elif method == "Runtime.exceptionThrown":
                found.append("exception: " + params["exceptionDetails"].get("text", ""))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                found.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
        return found


ROWS = "Array.from(document.querySelectorAll('#results tbody tr'), r => r.dataset.row)"
FID_KEYS = ("Array.from(document.querySelectorAll('#results tbody tr'), r => parseFloat("
            "r.cells[document.querySelector('#results th[data-key=fid]').cellIndex].dataset.sort))")
IMAGES = ("Array.from(document.images, i => ({src: i.getAttribute('src'), complete: i.complete,"
          " width: i.naturalWidth}))")


def committed_rows() -> list[str]:
    """The ranked rows of results/mnist5k/table.md's main table, in its order (the real
    floor sits in the page's table foot, which sorting leaves in place)."""
    text = (MNIST / "table.md").read_text().split("### Every run")[0]
    return [line.split(" | ")[1].split(" +")[0]  # the row, without its recipe tokens
            for line in text.splitlines()[1:] if line.startswith("| ")
            and not line.startswith("| floor |")][1:]


async def drive(page_socket: str, base: str, screenshot: Path) -> dict:
    async with aiohttp.ClientSession() as session, session.ws_connect(
            page_socket, max_msg_size=0) as socket:
        tools = DevTools(socket)
        for domain in ("Page", "Runtime", "Log"):
            await tools.send(f"{domain}.enable")
        await tools.open(f"{base}/index.html")
        seen = {"index_links": await tools.evaluate(
            "Array.from(document.querySelectorAll('li a'), a => a.getAttribute('href'))")}
        await tools.open(f"{base}/mnist5k/index.html")
        seen["rows"] = await tools.evaluate(ROWS)
        seen["fid_before"] = await tools.evaluate(FID_KEYS)
        await tools.click("#results th[data-key=fid]")
        seen["rows_after_click"] = await tools.evaluate(ROWS)
        seen["fid_after_click"] = await tools.evaluate(FID_KEYS)
        seen["aria_after_click"] = await tools.evaluate(
            "document.querySelector('#results th[data-key=fid]').getAttribute('aria-sort')")
        await tools.click("#results th[data-key=model]")
        seen["rows_by_model"] = await tools.evaluate(ROWS)
        await tools.click("#results th[data-key=fid]")
        seen["rows_by_fid"] = await tools.evaluate(ROWS)
        seen["images"] = await tools.evaluate(IMAGES)
        await tools.send("Emulation.setDeviceMetricsOverride", width=1400, height=1800,
                         deviceScaleFactor=1, mobile=False)
        height = await tools.evaluate("document.documentElement.scrollHeight")
        shot = await tools.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                                clip={"x": 0, "y": 0, "width": 1400, "scale": 1,
                                      "height": min(height, 6000)})  # table, curves, grids
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        await asyncio.sleep(0.2)  # late console messages arrive as events
        await tools.evaluate("1")
        seen["errors"] = tools.errors()
        await tools.evaluate("console.error('probe')")  # the error collector itself works
        seen["probe"] = tools.errors()[len(seen["errors"]):]
        return seen


def test_the_report_in_chromium(served, chromium, tmp_path):
    screenshot = tmp_path / "report.png"
    seen = asyncio.run(drive(chromium, served, screenshot))

    assert seen["index_links"] == ["mnist5k/index.html"]
    expected = committed_rows()
    assert seen["rows"] == expected and len(expected) == 6
    # table.md's order: by FID within each block (the label-supervised row last)
    assert seen["fid_before"][:5] == sorted(seen["fid_before"][:5])
    fid = dict(zip(seen["rows"], seen["fid_before"], strict=True))
    by_fid = sorted(expected, key=fid.get)
    # the table is sorted by FID ascending: the first click on FID sorts it descending
    assert seen["aria_after_click"] == "descending"
    assert seen["rows_after_click"] == by_fid[::-1]
    assert seen["fid_after_click"] == sorted(seen["fid_before"], reverse=True)
    assert seen["rows_by_model"] == sorted(expected)
    assert seen["rows_by_fid"] == by_fid  # model order, then FID ascending again

    images = seen["images"]
    assert len(images) == 3 + 6 + 6  # curves, one grid and one grid over time per row
    assert all(i["complete"] and i["width"] > 0 for i in images), images
    assert seen["errors"] == []
    assert seen["probe"] == ["console: probe"]

    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    if os.environ.get("GANZOO_SCREENSHOT"):
        shutil.copyfile(screenshot, SCREENSHOT_COPY)
