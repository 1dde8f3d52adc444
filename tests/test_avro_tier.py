"""The avro sink and source between real agents on loopback (flume-components.md 1.7, 6.1):
edge (netcat -> memory -> avro sink[s]) -> collector (avro source -> memory -> file_roll), alone,
in a load_balance group and in a failover group with one collector down. Every line the edge's
netcat acknowledged must reach a collector."""
import os
import socket

from avro_rpc_harness import make_certs
from harness import AgentTestCase, connect, metrics, recv_lines, rolled, wait_for


def collector_config(outdir, deflate=False, extra=""):
    return f"""{extra}
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = avro
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.compression-type = {"deflate" if deflate else "none"}
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 10000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = {outdir}
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.batchSize = 1000
"""


def avro_sink(name, port, deflate=False, extra=""):
    return f"""{extra}a1.sinks.{name}.type = avro
a1.sinks.{name}.channel = c1
a1.sinks.{name}.hostname = 127.0.0.1
a1.sinks.{name}.port = {port}
a1.sinks.{name}.batch-size = 20
a1.sinks.{name}.connect-timeout = 2000
a1.sinks.{name}.request-timeout = 2000
a1.sinks.{name}.compression-type = {"deflate" if deflate else "none"}
"""


def edge_config(sinks, group=""):
    names = " ".join(sinks)
    return f"""
a1.sources = r1
a1.channels = c1
a1.sinks = {names}
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 10000
a1.channels.c1.transactionCapacity = 1000
{"".join(sinks.values())}
{group}
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class AvroTier(AgentTestCase):
    def start_agent(self, config, **kw):
        return super().start_agent(config, args=["--metrics-port", "0"], **kw)

    def collector(self, deflate=False, extra=""):
        out = os.path.join(self.tmp, f"out{len(self.agents)}")
        os.makedirs(out)
        return self.start_agent(collector_config(out, deflate, extra)), out

    def send(self, port, lines, chunk=50):
        s = connect(port)
        for i in range(0, len(lines), chunk):
            part = lines[i:i + chunk]
            s.sendall(b"".join(l.encode() + b"\n" for l in part))
            self.assertEqual(recv_lines(s, len(part), timeout=30), [b"OK"] * len(part))
        s.close()

    def arrived(self, outs, n):
        def lines():
            got = []
            for o in outs:
                got += [l for l in rolled(o).decode().split("\n") if l]
            return got if len(got) >= n else None
        return wait_for(lines, 30, what=f"{n} lines at the collectors")

    def test_edge_to_collector(self):
        for deflate in (False, True):
            with self.subTest(deflate=deflate):
                col, out = self.collector(deflate)
                edge = self.start_agent(edge_config({"k1": avro_sink("k1", col.port("r1"),
                                                                     deflate)}))
                lines = [f"line {i} deflate={deflate}" for i in range(500)]
                self.send(edge.port("r1"), lines)
                got = self.arrived([out], 500)
                self.assertEqual(got, lines)  # one sink, one connection: in order
                m = metrics(col)["SOURCE.r1"]
                self.assertEqual(m["EventAcceptedCount"], "500")
                self.assertEqual(metrics(edge)["SINK.k1"]["ConnectionCreatedCount"], "1")

    def test_edge_to_collector_tls(self):
        certs = make_certs(self.tmp)
        col, out = self.collector(extra=f"a1.sources.r1.ssl = true\n"
                                        f"a1.sources.r1.keystore = {certs['pem']}\n")
        edge = self.start_agent(edge_config({"k1": avro_sink(
            "k1", col.port("r1"), extra=f"a1.sinks.k1.ssl = true\n"
                                        f"a1.sinks.k1.truststore = {certs['cert']}\n")}))
        lines = [f"tls line {i}" for i in range(300)]
        self.send(edge.port("r1"), lines)
        self.assertEqual(self.arrived([out], 300), lines)

    def test_reset_connection_interval(self):
        col, out = self.collector()
        edge = self.start_agent(edge_config({"k1": avro_sink(
            "k1", col.port("r1"), extra="a1.sinks.k1.reset-connection-interval = 1\n")}))
        sent = []

        def reconnected():
            line = f"reset {len(sent)}"
            self.send(edge.port("r1"), [line])
            sent.append(line)
            return int(metrics(edge)["SINK.k1"]["ConnectionCreatedCount"]) >= 3
        wait_for(reconnected, timeout=15, interval=0.1, what="two connection resets")
        self.assertEqual(self.arrived([out], len(sent)), sent)
        self.assertGreaterEqual(int(metrics(edge)["SINK.k1"]["ConnectionClosedCount"]), 2)

    def test_load_balance_with_a_collector_down(self):
        a, out_a = self.collector()
        b, out_b = self.collector()
        group = """a1.sinkgroups = g1
a1.sinkgroups.g1.sinks = k1 k2
a1.sinkgroups.g1.processor.type = load_balance
a1.sinkgroups.g1.processor.selector = round_robin
a1.sinkgroups.g1.processor.backoff = true
"""
        edge = self.start_agent(edge_config({"k1": avro_sink("k1", a.port("r1")),
                                             "k2": avro_sink("k2", b.port("r1"))}, group))
        first = [f"both up {i}" for i in range(400)]
        for i in range(0, 400, 20):  # one batch at a time, so the group alternates
            self.send(edge.port("r1"), first[i:i + 20], chunk=20)
            wait_for(lambda: metrics(edge)["CHANNEL.c1"]["ChannelSize"] == "0",
                     what="the edge's channel drained")
        got = self.arrived([out_a, out_b], 400)
        self.assertEqual(sorted(got), sorted(first))
        self.assertTrue(rolled(out_a) and rolled(out_b), "round robin used both collectors")
        # Every take is committed once the edge idles, the batches sent ahead (pipelining)
        # included: a sink with a batch in flight asks its group to call it again.
        wait_for(lambda: sum(int(metrics(edge)[f"SINK.{k}"]["EventDrainSuccessCount"])
                             for k in ("k1", "k2")) == 400, 10, what="every take committed")
        b.kill()  # collector B dies (SIGKILL): its sink fails and is backed off
        second = [f"b down {i}" for i in range(400)]
        self.send(edge.port("r1"), second)
        got = self.arrived([out_a, out_b], 800)
        self.assertEqual(sorted(set(got)), sorted(first + second))
        self.assertGreaterEqual(int(metrics(edge)["SINK.k2"]["EventWriteFail"]), 1)

    def test_failover_with_the_preferred_collector_down(self):
        b, out_b = self.collector()
        dead = free_port()  # collector A: nothing listens there
        group = """a1.sinkgroups = g1
a1.sinkgroups.g1.sinks = k1 k2
a1.sinkgroups.g1.processor.type = failover
a1.sinkgroups.g1.processor.priority.k1 = 10
a1.sinkgroups.g1.processor.priority.k2 = 5
a1.sinkgroups.g1.processor.maxpenalty = 10000
"""
        edge = self.start_agent(edge_config({"k1": avro_sink("k1", dead),
                                             "k2": avro_sink("k2", b.port("r1"))}, group))
        lines = [f"failover {i}" for i in range(300)]
        self.send(edge.port("r1"), lines)
        got = self.arrived([out_b], 300)
        self.assertEqual(sorted(got), sorted(lines))
        wait_for(lambda: metrics(edge)["SINK.k2"]["EventDrainSuccessCount"] == "300",
                 what="every take committed by the backup sink")
        self.assertGreaterEqual(int(metrics(edge)["SINK.k1"]["ConnectionFailedCount"]), 1)
