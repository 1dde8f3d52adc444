"""Helpers for integration tests: start the real build/ingestor on loopback, port 0, temp dirs.

Every wait has a deadline (wait_for); nothing sleeps blindly.
"""
import http.server as http_server
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("INGESTOR_BIN") or os.path.join(HERE, "..", "build", "ingestor")


def wait_for(cond, timeout=20.0, interval=0.02, what="condition"):
    """Polls cond() until it returns a truthy value or the deadline passes (then fails)."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Process:
    """A real `ingestor` process with a status file and a log (the agent, the store, the relay,
    the consumer): launch it, wait for its status file, read its log, stop it with SIGTERM or
    kill it with SIGKILL. Subclasses set `label` (for messages), `status_file` and `log_path`."""

    label = "ingestor"
    proc = None

    def launch(self, cmd, env=None):
        if os.path.exists(self.status_file):
            os.unlink(self.status_file)
        self.log = open(self.log_path, "ab")
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=full_env)

    def wait_status(self, timeout=20.0):
        """The status file's JSON, once the process has written it; fails if it exits first."""
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.label} exited with {self.proc.returncode}:\n{self.output()}")
            if os.path.exists(self.status_file):
                with open(self.status_file) as f:
                    return json.load(f)
            return None
        return wait_for(ready, timeout, what=f"{self.label} start")

    def output(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _close_log(self):
        if getattr(self, "log", None):
            self.log.close()

    def stop(self, timeout=30.0):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.label} did not stop on SIGTERM within {timeout}s")
        self._close_log()
        return self.proc.returncode if self.proc else None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self._close_log()


def test_failed(case):
    """In tearDown: did this test (not an earlier one in the run) fail or raise, in a subtest too?
    (The result's lists hold every test's failures so far; unittest resets its own success flag
    for tearDown.)"""
    result = getattr(getattr(case, "_outcome", None), "result", None)
    if result is None:
        return False
    return any(t is case or getattr(t, "test_case", None) is case
               for t, _ in list(result.failures) + list(result.errors))


class Agent(Process):
    """An `ingestor agent` process built from an inline Flume config."""

    label = "agent"

    def __init__(self, config, name="a1", args=(), tmp=None, env=None):
        self.tmp = tmp or tempfile.mkdtemp(prefix="ingestor-it-")
        self.conf = os.path.join(self.tmp, "agent.conf")
        with open(self.conf, "w") as f:
            f.write(config)
        self.status_file = os.path.join(self.tmp, "status.json")
        self.log_path = os.path.join(self.tmp, "agent.log")
        self.name = name
        self.args = list(args)
        if "--metrics-bind" not in self.args:  # tests keep every listener on loopback
            self.args += ["--metrics-bind", "127.0.0.1"]
        self.env = env
        self.status = None

    def start(self, wait=True):
        self.launch([BIN, "agent", "-n", self.name, "-f", self.conf,
                     "--status-file", self.status_file] + self.args, self.env)
        if wait:
            self.wait_started()
        return self

    def wait_started(self, timeout=20.0):
        self.status = self.wait_status(timeout)
        return self.status

    def port(self, source):
        return self.status["sources"][source]["port"]

    def ports(self, source):
        """Every port of a source, in its configured order (multiport_syslogtcp has several)."""
        return self.status["sources"][source]["ports"]

    @property
    def metrics_port(self):
        return self.status["metrics_port"]


def run_agent_once(config, name="a1", args=(), timeout=20.0):
    """Runs `ingestor agent` expecting it to exit (config errors); returns (code, output)."""
    with tempfile.TemporaryDirectory(prefix="ingestor-it-") as tmp:
        conf = os.path.join(tmp, "agent.conf")
        with open(conf, "w") as f:
            f.write(config)
        p = subprocess.run([BIN, "agent", "-n", name, "-f", conf] + list(args),
                           capture_output=True, timeout=timeout)
        return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def connect(port, timeout=10.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return s


def recv_lines(sock, n, timeout=10.0):
    """Reads until n newline-terminated lines arrived; returns them without the newline."""
    sock.settimeout(timeout)
    buf = b""
    deadline = time.monotonic() + timeout
    while buf.count(b"\n") < n:
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {n} lines, got {buf!r}")
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf.split(b"\n")[:n] if buf.count(b"\n") >= n else buf.split(b"\n")


def http(port, method, path="/", body=b"", headers=None, timeout=10.0):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    hdrs = dict((k.lower(), v) for k, v in r.getheaders())
    c.close()
    return r.status, hdrs, data


def metrics(agent):
    st, _, body = http(agent.metrics_port, "GET", "/metrics")
    assert st == 200, st
    return json.loads(body)


class AgentTestCase(unittest.TestCase):
    """Stops every agent a test started, and prints its log when the test failed."""

    def setUp(self):
        self.agents = []
        self.tmp = tempfile.mkdtemp(prefix="ingestor-it-")

    def start_agent(self, config, **kw):
        a = Agent(config, tmp=tempfile.mkdtemp(dir=self.tmp), **kw)
        self.agents.append(a)
        return a.start()

    def tearDown(self):
        failed = test_failed(self)
        for a in self.agents:
            try:
                a.stop()
            except AssertionError:
                a.kill()
            if failed:
                print(f"--- agent log ({a.tmp}) ---\n{a.output()[-4000:]}")
        import shutil
        shutil.rmtree(self.tmp, ignore_errors=True)


def rolled(outdir):
    """The bytes of every file in `outdir` (a file_roll sink's directory), in name order."""
    import glob
    data = b""
    for f in sorted(glob.glob(os.path.join(outdir, "*"))):
        with open(f, "rb") as fh:
            data += fh.read()
    return data


class PausableServer(http_server.ThreadingHTTPServer):
    """Answers 503 while paused, 200 otherwise, and keeps the bodies it answered 200 to."""
    daemon_threads = True

    def __init__(self, paused=True):
        super().__init__(("127.0.0.1", 0), PausableHandler)
        self.lock = threading.Lock()
        self.paused = paused
        self.bodies = []

    def resume(self):
        with self.lock:
            self.paused = False

    def got(self):
        with self.lock:
            return list(self.bodies)


class PausableHandler(http_server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        srv = self.server
        with srv.lock:
            code = 503 if srv.paused else 200
            if code == 200:
                srv.bodies.append(body)
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass
