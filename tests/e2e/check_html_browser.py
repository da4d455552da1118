#!/usr/bin/python3
"""Opens report.html in headless Chromium (Debian's) through the DevTools
protocol and checks what a reader's browser would do with it:

  - no console errors and no uncaught exceptions,
  - no network request other than the file itself (the report is self-contained),
  - at a phone width (390 px) and a desktop width (1280 px): the page does not
    scroll sideways (wide tables scroll inside their own box), and every
    section of the contents is there.

Screenshots of both widths are written to SHOT_DIR.

  check_html_browser.py REPORT_HTML SHOT_DIR
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Browser:
    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="bb_chromium_")
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-extensions", "--hide-scrollbars",
             f"--user-data-dir={self.profile}", f"--remote-debugging-port={self.port}",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=2) as r:
                    pages = [t for t in json.load(r) if t["type"] == "page"]
                if pages:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("chromium did not start")
            time.sleep(0.2)
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=30)
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, name, timeout=30):
        deadline = time.time() + timeout
        for i, e in enumerate(self.events):
            if e.get("method") == name:
                return self.events.pop(i)
        self.ws.settimeout(timeout)
        while time.time() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("method") == name:
                return msg
            self.events.append(msg)
        raise RuntimeError(f"no {name} event")

    def close(self):
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            shutil.rmtree(self.profile, ignore_errors=True)


def main():
    html, shots = os.path.abspath(sys.argv[1]), sys.argv[2]
    os.makedirs(shots, exist_ok=True)
    url = "file://" + html
    failures = []
    b = Browser()
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            b.call(f"{domain}.enable")
        for name, width, height, mobile in (("phone", 390, 844, True), ("desktop", 1280, 900, False)):
            b.events.clear()
            b.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                   deviceScaleFactor=1, mobile=mobile)
            b.call("Page.navigate", url=url)
            b.wait_event("Page.loadEventFired")
            time.sleep(0.3)
            b.call("Runtime.evaluate", expression="1")  # drain events that arrived meanwhile
            for e in b.events:
                m, p = e.get("method"), e.get("params", {})
                if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
                    failures.append(f"{name}: console {p['type']}: {p.get('args')}")
                elif m == "Runtime.exceptionThrown":
                    failures.append(f"{name}: exception {p['exceptionDetails'].get('text')}")
                elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
                    failures.append(f"{name}: log error {p['entry'].get('text')}")
                elif m == "Network.requestWillBeSent" and p["request"]["url"] != url:
                    failures.append(f"{name}: network request to {p['request']['url']}")
            probe = b.call("Runtime.evaluate", returnByValue=True, expression="""({
                scrollWidth: document.documentElement.scrollWidth,
                innerWidth: window.innerWidth,
                toc: [...document.querySelectorAll('nav a')].map(a => a.getAttribute('href')),
                missing: [...document.querySelectorAll('nav a')]
                    .filter(a => !document.querySelector(a.getAttribute('href'))).length,
                svgs: document.querySelectorAll('figure svg').length,
                title: document.title
            })""")["result"]["value"]
            if probe["scrollWidth"] > probe["innerWidth"] + 1:
                failures.append(f"{name}: the page scrolls sideways ({probe['scrollWidth']} > {probe['innerWidth']} px)")
            if probe["missing"] or not probe["toc"]:
                failures.append(f"{name}: contents links without a target: {probe}")
            if probe["svgs"] < 1:
                failures.append(f"{name}: no chart")
            metrics = b.call("Page.getLayoutMetrics")
            full_h = min(int(metrics["cssContentSize"]["height"]), 16000)
            shot = b.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": width, "height": full_h, "scale": 1})
            path = os.path.join(shots, f"report-{name}.png")
            with open(path, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
            print(f"{name}: {width} px wide, {full_h} px tall, {len(probe['toc'])} sections, "
                  f"{probe['svgs']} charts; screenshot {path}")
    finally:
        b.close()
    if failures:
        print("FAILED:")
        for f in failures:
            print("  -", f)
        return 1
    print("ok: no console errors, no network requests, fits phone and desktop widths")
    return 0


if __name__ == "__main__":
    sys.exit(main())
