"""A minimal W3C WebDriver client (Python's stdlib only) for Debian's chromium + chromedriver.

Chrome(outdir) starts chromedriver on a free loopback port and one headless Chromium session
with the flags these machines need (a fresh profile in `outdir`, no background networking);
quit() ends both. Tests skip with `Chrome.missing()`'s message when either binary is absent.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import urllib.error
import urllib.request

from harness import wait_for

CHROMIUM = os.environ.get("INGESTOR_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("INGESTOR_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1000"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebDriverError(AssertionError):
    pass


class Chrome:
    @staticmethod
    def missing():
        """Why no browser test can run here, or None."""
        for path, pkg in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
            if not (os.path.exists(path) or shutil.which(path)):
                return (f"{path} not found: install the Debian package {pkg} "
                        f"(`make deps` installs chromium and chromium-driver)")
        return None

    def __init__(self, outdir):
        self.outdir = outdir
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=outdir)
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.log = open(os.path.join(outdir, "chromedriver.log"), "ab")
        self.proc = subprocess.Popen([CHROMEDRIVER, f"--port={port}"], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.session = None
        try:
            wait_for(self._ready, 20, interval=0.1, what="chromedriver")
            caps = {"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": CHROMIUM,
                                       "args": FLAGS + [f"--user-data-dir={self.profile}"]}}}}
            self.session = self._call("POST", "/session", caps)["sessionId"]
        except BaseException:
            self.quit()
            raise

    def _ready(self):
        try:
            return self._call("GET", "/status").get("ready")
        except (OSError, WebDriverError):
            return False

    def _call(self, method, path, body=None, timeout=30):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            raise WebDriverError(f"{method} {path}: {e.code} {e.read()[:500]!r}") from None

    def cmd(self, method, path, body=None):
        return self._call(method, f"/session/{self.session}{path}", body)

    def get(self, url):
        self.cmd("POST", "/url", {"url": url})

    def js(self, script, *args):
        """Runs `script` (a function body; `arguments` holds args) and returns its value."""
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def screenshot(self, path):
        png = base64.b64decode(self.cmd("GET", "/screenshot"))
        with open(path, "wb") as f:
            f.write(png)
        return path

    def quit(self):
        if self.session:
            try:
                self.cmd("DELETE", "")
            except (OSError, WebDriverError):
                pass
            self.session = None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)
