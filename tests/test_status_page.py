"""The live status page on the monitoring port, in a real browser (Debian's headless Chromium
driven through chromedriver): the pipeline drawn as configured, rates that move, sink states,
and under `ingestor up` the store, relay and consumer charts. Screenshots go to
<build>/test-output/status_page/. Skipped, naming the package, without chromium/chromium-driver.
"""
import json
import os
import socket
import threading
import time
import unittest
import urllib.request

from harness import BIN, Agent, http, wait_for
from test_up import UpCase
from webdriver import Chrome

OUT = os.environ.get("INGESTOR_TEST_OUTPUT") or os.path.join(
    os.path.dirname(os.path.abspath(BIN)), "test-output", "status_page")

# Two sources, a replicating selector with an optional channel, two channels, a sink group.
CFG = """a1.sources = r1 r2
a1.channels = c1 c2
a1.sinks = k1 k2 k3
a1.sinkgroups = g1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.channels = c1 c2
a1.sources.r1.selector.type = replicating
a1.sources.r1.selector.optional = c2
a1.sources.r1.interceptors = ts
a1.sources.r1.interceptors.ts.type = timestamp
a1.sources.r2.type = http
a1.sources.r2.bind = 127.0.0.1
a1.sources.r2.port = 0
a1.sources.r2.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 10000
a1.channels.c2.type = memory
a1.channels.c2.capacity = 10000
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
a1.sinks.k2.type = null
a1.sinks.k2.channel = c2
a1.sinks.k3.type = null
a1.sinks.k3.channel = c2
a1.sinkgroups.g1.sinks = k2 k3
a1.sinkgroups.g1.processor.type = load_balance
"""

NODES_JS = """return Array.from(document.querySelectorAll('.node:not(.implicit)')).map(n => [n.dataset.kind,
  n.dataset.name, n.querySelector('.type').textContent]);"""
FIGURE_JS = """const n = document.querySelector(`.node[data-kind="${arguments[0]}"][data-name="${arguments[1]}"]`);
const v = n && n.querySelector(`[data-figure="${arguments[2]}"] .value`);
return v ? v.dataset.value || '' : null;"""
STATE_JS = """const n = document.querySelector(`.node[data-kind="sink"][data-name="${arguments[0]}"] .state`);
return n ? n.dataset.state : null;"""
SERIES_MAX_JS = """const h = window.ingestorStatus && window.ingestorStatus.history[arguments[0]];
return h ? Math.max(0, ...h.filter(v => v !== null)) : null;"""


class Feeder:
    """Sends netcat lines in the background (a few per 50 ms) until stopped, at most 60 s."""

    def __init__(self, port):
        self.port, self.stop_flag, self.sent = port, threading.Event(), 0
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        deadline = time.monotonic() + 60
        while not self.stop_flag.is_set() and time.monotonic() < deadline:
            s.sendall(b"status-page-line\n" * 5)
            got = b""
            while got.count(b"\n") < 5:
                got += s.recv(64)
            self.sent += 5
            self.stop_flag.wait(0.05)
        s.close()

    def stop(self):
        self.stop_flag.set()
        self.thread.join(15)


class StatusPageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        why = Chrome.missing()
        if why:
            raise unittest.SkipTest(why)
        os.makedirs(OUT, exist_ok=True)
        cls.chrome = Chrome(OUT)

    @classmethod
    def tearDownClass(cls):
        cls.chrome.quit()

    def open_page(self, port):
        c = self.chrome
        c.get(f"http://127.0.0.1:{port}/")
        wait_for(lambda: c.js("return Number(document.body.dataset.polls || 0)") >= 2, 20,
                 interval=0.1, what="the page's first polls")
        self.assertIsNone(c.js("return window.__errors || null"))
        self.assertEqual(c.js("return document.querySelector('#conn').dataset.state"), "live")

    def figure(self, kind, name, key):
        v = self.chrome.js(FIGURE_JS, kind, name, key)
        return float(v) if v not in (None, "") else None

    def test_agent_page_draws_the_pipeline_with_moving_rates(self):
        a = Agent(CFG, args=["--metrics-port", "0"])
        self.addCleanup(a.stop)
        a.start()
        port = a.metrics_port
        # The JSON the page draws from.
        st, hdrs, body = http(port, "GET", "/topology")
        self.assertEqual(st, 200)
        topo = json.loads(body)
        r1 = next(s for s in topo["sources"] if s["name"] == "r1")
        self.assertEqual(r1["selector"], {"type": "replicating", "header": "", "mapping": {},
                                          "optional": {"*": ["c2"]}, "default": []})
        self.assertEqual(r1["interceptors"], [{"name": "ts", "type": "timestamp"}])
        self.assertEqual(topo["sinkgroups"],
                         [{"name": "g1", "processor": "load_balance", "sinks": ["k2", "k3"]}])
        self.assertEqual(topo["roles"], [])
        self.assertEqual(http(port, "GET", "/roles")[0], 404)

        self.open_page(port)
        c = self.chrome
        nodes = {(k, n): t for k, n, t in c.js(NODES_JS)}
        self.assertEqual(nodes, {
            ("source", "r1"): "netcat", ("source", "r2"): "http",
            ("selector", "r1"): "replicating", ("selector", "r2"): "replicating",
            ("channel", "c1"): "memory", ("channel", "c2"): "memory",
            ("sinkgroup", "g1"): "load_balance",
            ("sink", "k1"): "null", ("sink", "k2"): "null", ("sink", "k3"): "null"})
        # k1 is in no group: a pass-through box stands for Flume's default processor.
        self.assertEqual(c.js("return Array.from(document.querySelectorAll('.node.implicit'))"
                              ".map(n => n.dataset.name)"), ["k1"])
        # Wires: r1, r2 -> their selectors; r1 -> c1, c2 (optional, dashed); r2 -> c1;
        # c1 -> (k1) -> k1; c2 -> g1 -> k2, k3.
        self.assertEqual(c.js("return document.querySelectorAll('#wires path').length"), 10)
        self.assertEqual(c.js("return document.querySelectorAll('#wires path.optional').length"), 1)

        feeder = Feeder(a.port("r1"))
        self.addCleanup(feeder.stop)
        first = wait_for(lambda: self.figure("source", "r1", "rate"), 20, interval=0.1,
                         what="a rate for r1 on the page")
        self.assertGreater(first, 0)
        wait_for(lambda: (self.figure("source", "r1", "rate") or 0) not in (0, first), 20,
                 interval=0.1, what="r1's rate to move")
        wait_for(lambda: (self.figure("sink", "k1", "rate") or 0) > 0, 20, interval=0.1,
                 what="k1's rate")
        wait_for(lambda: (self.figure("channel", "c1", "put") or 0) > 0, 20, interval=0.1,
                 what="c1's put rate")
        self.assertEqual(c.js(STATE_JS, "k1"), "ok")
        self.assertGreater(c.js(SERIES_MAX_JS, "in"), 0)
        c.screenshot(os.path.join(OUT, "agent.png"))
        feeder.stop()

    def test_up_page_shows_store_relay_and_consumer_figures(self):
        up = UpCase("run")
        up.setUp()
        self.addCleanup(up.tearDown)
        st = up.start_up()
        port = st["metrics_port"]
        code, _, body = http(port, "GET", "/roles")
        self.assertEqual(code, 200)
        self.assertEqual(set(json.loads(body)), {"store", "relay", "consumer"})
        self.assertEqual(json.loads(http(port, "GET", "/topology")[2])["roles"],
                         ["store", "relay", "consumer"])
        self.open_page(port)
        c = self.chrome
        charts = set(c.js("return Array.from(document.querySelectorAll('.chart'))"
                          ".map(e => e.dataset.chart)"))
        self.assertLessEqual({"events-in", "store-requests", "store-outbox", "relay-posted",
                              "consumer-downloads", "consumer-lag"}, charts)
        self.assertEqual(c.js("return document.querySelectorAll('.chart canvas').length"),
                         len(charts), "one uPlot canvas per chart")
        feeder = Feeder(st["netcat_port"])
        self.addCleanup(feeder.stop)
        # Objects roll every second, are notified, relayed and downloaded: the consumer's
        # downloads per second and the store's requests show up in the charts.
        wait_for(lambda: (c.js(SERIES_MAX_JS, "consumer:dl") or 0) > 0, 40, interval=0.2,
                 what="downloads on the consumer's chart")
        self.assertGreater(c.js(SERIES_MAX_JS, "store:req"), 0)
        self.assertGreater(c.js(SERIES_MAX_JS, "relay:posted"), 0)
        self.assertEqual(c.js(STATE_JS, "s3Sink"), "ok")
        c.screenshot(os.path.join(OUT, "up.png"))
        feeder.stop()


if __name__ == "__main__":
    unittest.main()
