"""Flume's routing on the real agent: a multiplexing selector fanning out to sink groups, a
failover group whose primary dies and comes back, load balancing over three sinks with one backing
off, and each new interceptor's headers in file_roll's header_and_text output.

A file_roll sink "dies" when its directory is replaced by a plain file: once its current file is
rolled (rollInterval 1 s) it cannot open the next one, and process() fails until the directory is
back."""
import glob
import os
import unittest

from harness import AgentTestCase, connect, http, metrics, recv_lines, run_agent_once, wait_for

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def lines_in(d):
    out = []
    for f in sorted(glob.glob(os.path.join(d, "*"))):
        if os.path.isfile(f):
            with open(f, "rb") as fh:
                out += fh.read().decode("utf-8", "replace").splitlines()
    return out


def file_roll(name, channel, d, roll=0, serializer="text", batch=10):
    return f"""a1.sinks.{name}.type = file_roll
a1.sinks.{name}.channel = {channel}
a1.sinks.{name}.sink.directory = {d}
a1.sinks.{name}.sink.rollInterval = {roll}
a1.sinks.{name}.sink.serializer = {serializer}
a1.sinks.{name}.sink.batchSize = {batch}
"""


def netcat(extra="", channels="c1"):
    return f"""a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.channels = {channels}
{extra}
"""


def memory(*names):
    return "".join(f"a1.channels.{n}.type = memory\na1.channels.{n}.capacity = 10000\n"
                   f"a1.channels.{n}.transactionCapacity = 100\n" for n in names)


def kill_dir(d):
    """Moves the directory to <d>.dead and puts a plain file in its place: file_roll cannot open
    its next file there."""
    os.rename(d, d + ".dead")
    with open(d, "w") as f:
        f.write("not a directory")


def revive_dir(d):
    os.unlink(d)
    os.makedirs(d)


class RoutingTest(AgentTestCase):
    def dirs(self, *names):
        out = {}
        for n in names:
            out[n] = os.path.join(self.tmp, "out-" + n)
            os.makedirs(out[n])
        return out

    def send(self, port, lines):
        s = connect(port)
        s.sendall(b"".join(l.encode() + b"\n" for l in lines))
        self.assertEqual(recv_lines(s, len(lines), timeout=30), [b"OK"] * len(lines))
        s.close()

    def test_multiplexing_fans_out_to_sink_groups(self):
        d = self.dirs("k1", "k2", "k3", "k4", "k5")
        conf = f"""a1.sources = r1
a1.channels = c1 c2 c3
a1.sinks = k1 k2 k3 k4 k5
a1.sinkgroups = g1 g2
""" + netcat("""a1.sources.r1.interceptors = x
a1.sources.r1.interceptors.x.type = regex_extractor
a1.sources.r1.interceptors.x.regex = ^(\\\\w+):
a1.sources.r1.interceptors.x.serializers = s1
a1.sources.r1.interceptors.x.serializers.s1.name = state
a1.sources.r1.selector.type = multiplexing
a1.sources.r1.selector.header = state
a1.sources.r1.selector.mapping.CZ = c1
a1.sources.r1.selector.mapping.US = c1 c2
a1.sources.r1.selector.optional.DE = c2
a1.sources.r1.selector.default = c3""", "c1 c2 c3") + memory("c1", "c2", "c3") + \
            file_roll("k1", "c1", d["k1"]) + file_roll("k2", "c1", d["k2"]) + \
            file_roll("k3", "c2", d["k3"]) + file_roll("k4", "c2", d["k4"]) + \
            file_roll("k5", "c3", d["k5"]) + """
a1.sinkgroups.g1.sinks = k1 k2
a1.sinkgroups.g1.processor.type = failover
a1.sinkgroups.g1.processor.priority.k1 = 10
a1.sinkgroups.g1.processor.priority.k2 = 5
a1.sinkgroups.g2.sinks = k3 k4
a1.sinkgroups.g2.processor.type = load_balance
"""
        a = self.start_agent(conf, args=["--metrics-port", "0"])
        sent = [f"CZ:{i}" for i in range(20)] + [f"US:{i}" for i in range(20)] + \
               [f"DE:{i}" for i in range(20)] + [f"FR:{i}" for i in range(20)] + ["none"]
        # In rounds, each delivered before the next: a file_roll sink drains every full batch
        # in the channel in one call, so one burst could land on one sink of the round robin.
        for r in range(4):
            part = [l for i, l in enumerate(sent) if i % 4 == r]
            self.send(a.port("r1"), part)
            done = [l for i, l in enumerate(sent) if i % 4 <= r]
            wait_for(lambda: len(lines_in(d["k3"]) + lines_in(d["k4"])) ==
                     sum(1 for l in done if l[:3] in ("US:", "DE:")), what=f"round {r} on g2")
        c1 = sorted(l for l in sent if l[:3] in ("CZ:", "US:"))
        c2 = sorted(l for l in sent if l[:3] in ("US:", "DE:"))  # DE: optional
        c3 = sorted(l for l in sent if l[:3] not in ("CZ:", "US:"))  # DE has no mapping
        wait_for(lambda: sorted(lines_in(d["k1"]) + lines_in(d["k2"])) == c1, what="c1 via g1")
        wait_for(lambda: sorted(lines_in(d["k3"]) + lines_in(d["k4"])) == c2, what="c2 via g2")
        wait_for(lambda: sorted(lines_in(d["k5"])) == c3, what="c3 via k5")
        self.assertEqual(lines_in(d["k2"]), [])  # failover: the primary takes everything
        self.assertTrue(lines_in(d["k3"]) and lines_in(d["k4"]))  # round robin: both
        st, _, body = http(a.metrics_port, "GET", "/topology")
        self.assertIn(b'"processor":"failover"', body)

    def test_failover_primary_dies_and_comes_back(self):
        d = self.dirs("k1", "k2")
        conf = """a1.sources = r1
a1.channels = c1
a1.sinks = k1 k2
a1.sinkgroups = g1
""" + netcat() + memory("c1") + file_roll("k1", "c1", d["k1"], roll=1) + \
            file_roll("k2", "c1", d["k2"]) + """
a1.sinkgroups.g1.sinks = k1 k2
a1.sinkgroups.g1.processor.type = failover
a1.sinkgroups.g1.processor.priority.k1 = 10
a1.sinkgroups.g1.processor.priority.k2 = 5
a1.sinkgroups.g1.processor.maxpenalty = 2000
"""
        a = self.start_agent(conf, args=["--metrics-port", "0"])
        port = a.port("r1")
        self.send(port, [f"first-{i}" for i in range(10)])
        wait_for(lambda: len(lines_in(d["k1"])) == 10, what="10 events on the primary")
        # The group's runner closes the primary's file on its 1 s roll timer; then it dies.
        wait_for(lambda: metrics(a)["SINK.k1"]["ConnectionClosedCount"] == "1",
                 what="the primary's file rolled")
        self.assertEqual(lines_in(d["k2"]), [])
        kill_dir(d["k1"])
        self.send(port, [f"second-{i}" for i in range(10)])
        wait_for(lambda: sorted(lines_in(d["k2"])) == sorted(f"second-{i}" for i in range(10)),
                 what="the backup taking over")
        self.assertNotEqual(metrics(a)["SINK.k1"]["ProcessErrorCount"], "0")
        self.assertIn("Sink k1 failed and has been sent to failover list", a.output())
        revive_dir(d["k1"])
        # Back after its cool-down (2 s at most): new events go to the primary again.
        def primary_back():
            self.send(port, ["third"])
            return "third" in lines_in(d["k1"])
        wait_for(primary_back, timeout=30, interval=0.5, what="the primary back")
        self.assertIn("sink k1 is back", a.output())
        self.assertEqual(sorted(lines_in(d["k1"] + ".dead")), sorted(f"first-{i}" for i in range(10)))

    def test_load_balance_three_sinks_one_backing_off(self):
        d = self.dirs("k1", "k2", "k3")
        conf = """a1.sources = r1
a1.channels = c1
a1.sinks = k1 k2 k3
a1.sinkgroups = g1
""" + netcat() + memory("c1") + file_roll("k1", "c1", d["k1"], batch=1) + \
            file_roll("k2", "c1", d["k2"], batch=1) + file_roll("k3", "c1", d["k3"], batch=1) + """
a1.sinkgroups.g1.sinks = k1 k2 k3
a1.sinkgroups.g1.processor.type = load_balance
a1.sinkgroups.g1.processor.backoff = true
a1.sinkgroups.g1.processor.selector = round_robin
a1.sinkgroups.g1.processor.selector.maxTimeOut = 1000
"""
        a = self.start_agent(conf, args=["--metrics-port", "0"])
        kill_dir(d["k2"])  # k2 cannot open its first file (it opens one on its first event)
        port = a.port("r1")
        sent = []
        for n in range(20):  # several rounds, so that k2's turn comes round
            batch = [f"e{n}-{i}" for i in range(5)]
            self.send(port, batch)
            sent += batch
            # Each round delivered before the next: a file_roll sink drains every full batch in
            # the channel in one call, so a burst could land on one sink.
            wait_for(lambda: len(lines_in(d["k1"]) + lines_in(d["k3"])) == len(sent),
                     what=f"round {n} delivered")
        wait_for(lambda: sorted(lines_in(d["k1"]) + lines_in(d["k3"])) == sorted(sent),
                 what="every event on k1 and k3")
        # The healthy two take turns.
        self.assertTrue(lines_in(d["k1"]) and lines_in(d["k3"]))
        self.assertIn("Sink k2 failed to consume event. Attempting next sink if available.",
                      a.output())
        revive_dir(d["k2"])  # its blacklist lasts 1 s at most: it gets events again
        def k2_back():
            self.send(port, ["late"] * 3)
            return "late" in lines_in(d["k2"])
        wait_for(k2_back, timeout=30, interval=0.3, what="k2 taking events again")

    def test_interceptor_headers_in_header_and_text(self):
        d = self.dirs("k1")
        conf = """a1.sources = r1
a1.channels = c1
a1.sinks = k1
""" + netcat("""a1.sources.r1.interceptors = f s x u
a1.sources.r1.interceptors.f.type = regex_filter
a1.sources.r1.interceptors.f.regex = DEBUG
a1.sources.r1.interceptors.f.excludeEvents = true
a1.sources.r1.interceptors.s.type = search_replace
a1.sources.r1.interceptors.s.searchPattern = password=\\\\S+
a1.sources.r1.interceptors.s.replaceString = password=***
a1.sources.r1.interceptors.x.type = regex_extractor
a1.sources.r1.interceptors.x.regex = ^(\\\\d{4}-\\\\d{2}-\\\\d{2}) (\\\\w+)
a1.sources.r1.interceptors.x.serializers = day level
a1.sources.r1.interceptors.x.serializers.day.name = day
a1.sources.r1.interceptors.x.serializers.level.name = level
a1.sources.r1.interceptors.u.type = org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder
a1.sources.r1.interceptors.u.prefix = ev-""") + memory("c1") + \
            file_roll("k1", "c1", d["k1"], serializer="header_and_text")
        a = self.start_agent(conf)
        self.send(a.port("r1"), ["2024-01-02 INFO login user=bob password=hunter2",
                                 "2024-01-02 DEBUG noise",
                                 "no date here"])
        wait_for(lambda: len(lines_in(d["k1"])) == 2, what="2 events (DEBUG dropped)")
        first, second = lines_in(d["k1"])
        self.assertRegex(first, r"^\{day=2024-01-02, level=INFO, id=ev-" + UUID +
                         r"\} 2024-01-02 INFO login user=bob password=\*\*\*$")
        self.assertRegex(second, r"^\{id=ev-" + UUID + r"\} no date here$")

    def test_morphline_and_bad_patterns_are_config_errors(self):
        base = """a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
""" + memory("c1")
        code, out = run_agent_once(base + netcat("""a1.sources.r1.interceptors = m
a1.sources.r1.interceptors.m.type = org.apache.flume.sink.solr.morphline.MorphlineInterceptor$Builder
a1.sources.r1.interceptors.m.morphlineFile = /etc/flume/morphline.conf"""))
        self.assertNotEqual(code, 0)
        self.assertIn("a1.sources.r1.interceptors.m.type: morphline interceptors are not supported",
                      out)
        code, out = run_agent_once(base + netcat("""a1.sources.r1.interceptors = f
a1.sources.r1.interceptors.f.type = regex_filter
a1.sources.r1.interceptors.f.regex = ([a-z"""))
        self.assertNotEqual(code, 0)
        self.assertIn("a1.sources.r1.interceptors.f: regex", out)


if __name__ == "__main__":
    unittest.main()
