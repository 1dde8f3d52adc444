"""Kafka source (Flume's KafkaSource keys and headers, kafka.md §1.2) against librdkafka's mock
cluster, with kcat producing on the other side: bodies and headers (timestamp, topic, partition,
offset, key, header.NAME), Flume-format (Avro) values built by python3-avro, an undecodable record
counted and skipped, regex subscription, resuming from committed offsets after a restart, and a
full channel pausing the partitions while the consumer stays in its group.

Events come out through a file_roll sink with the header_and_text serializer ("{k=v, ...} body").
"""
import os
import re
import tempfile
import threading
import time
import unittest

from harness import AgentTestCase, PausableServer, metrics, rolled, wait_for
from kafka_harness import MockKafka
from test_kafka_sink import avro_encode

# Short group timings for the mock (kafka.md §3.3: a rejoin waits session.timeout.ms - 1 s).
FAST_GROUP = """a1.sources.r1.kafka.consumer.session.timeout.ms = 6000
a1.sources.r1.kafka.consumer.heartbeat.interval.ms = 500
a1.sources.r1.kafka.consumer.fetch.max.wait.ms = 50
a1.sources.r1.kafka.consumer.auto.offset.reset = earliest
"""


def config(bootstrap, outdir, extra="", group="g1", sink=None):
    sink = sink or f"""a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = {outdir}
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.serializer = header_and_text
"""
    return f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = org.apache.flume.source.kafka.KafkaSource
a1.sources.r1.channels = c1
a1.sources.r1.kafka.bootstrap.servers = {bootstrap}
a1.sources.r1.kafka.consumer.group.id = {group}
a1.sources.r1.batchSize = 100
a1.sources.r1.batchDurationMillis = 200
{FAST_GROUP}{extra}
a1.channels.c1.type = memory
a1.channels.c1.capacity = 10000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.channel = c1
{sink}"""


def parse_events(data):
    """header_and_text lines -> [(headers dict, body str)]."""
    out = []
    for line in data.decode().splitlines():
        m = re.match(r"^\{(.*?)\} (.*)$", line)
        hdrs = dict(kv.split("=", 1) for kv in m.group(1).split(", ") if kv)
        out.append((hdrs, m.group(2)))
    return out


class KafkaSourceTest(AgentTestCase):
    def setUp(self):
        super().setUp()
        self.kafka = MockKafka(brokers=3, topics={"t1": 3, "rt1": 1, "rt2": 1, "rt22": 1,
                                                  "avro": 1})
        self.out = tempfile.mkdtemp(dir=self.tmp)

    def tearDown(self):
        super().tearDown()
        self.kafka.stop()

    def start_agent(self, config, **kw):
        return super().start_agent(config, args=["--metrics-port", "0"], **kw)

    def events(self, n, timeout=30):
        return wait_for(lambda: (lambda ev: len(ev) >= n and ev)(parse_events(rolled(self.out))),
                        timeout=timeout, what=f"{n} events")

    def test_bodies_and_flume_headers(self):
        self.kafka.produce("t1", ["k1:v1", "k2:v2"], partition=1, key_delim=":",
                           headers=["h1=x", "h2=y"])
        self.kafka.produce("t1", ["nokey"], partition=2)
        a = self.start_agent(config(self.kafka.bootstrap, self.out,
                                    "a1.sources.r1.header.corr = h1\n"
                                    "a1.sources.r1.kafka.topics = t1\n"))
        ev = sorted(self.events(3), key=lambda e: e[1])
        self.assertEqual([b for _, b in ev], ["nokey", "v1", "v2"])
        h = ev[1][0]
        self.assertEqual((h["topic"], h["partition"], h["offset"], h["key"], h["corr"]),
                         ("t1", "1", "0", "k1", "x"))
        self.assertEqual(ev[2][0]["offset"], "1")
        self.assertGreater(int(h["timestamp"]), 1600000000000)
        self.assertNotIn("key", ev[0][0])
        self.assertNotIn("h2", h)
        m = metrics(a)["SOURCE.r1"]
        self.assertEqual(m["EventAcceptedCount"], "3")
        wait_for(lambda: metrics(a)["SOURCE.r1"]["KafkaConsumerLag"] == "0", what="lag 0")
        self.assertIn("KafkaConsumerLag.1@t1", metrics(a)["SOURCE.r1"])

    def test_flume_event_format_and_a_bad_record(self):
        path = os.path.join(self.tmp, "ev.bin")
        for body, hdrs in ((b"hello, world", {"topic": "from-earlier-hop", "a": "b"}),
                           (b"garbage\xff", None), (b"hello, world2", {})):
            with open(path, "wb") as f:
                f.write(avro_encode(hdrs, body) if hdrs is not None else b"\x05\x02")
            self.kafka.produce_file("avro", path)
        a = self.start_agent(config(self.kafka.bootstrap, self.out, """a1.sources.r1.kafka.topics = avro
a1.sources.r1.useFlumeEventFormat = true
"""))
        ev = self.events(2)
        self.assertEqual([b for _, b in ev], ["hello, world", "hello, world2"])
        self.assertEqual(ev[0][0]["topic"], "from-earlier-hop")  # kept, as Flume
        self.assertEqual(ev[0][0]["a"], "b")
        self.assertEqual(ev[1][0]["topic"], "avro")
        self.assertEqual(metrics(a)["SOURCE.r1"]["EventReadFail"], "1")
        self.assertIn("not an AvroFlumeEvent", a.output())

    def test_regex_subscription_is_a_full_match(self):
        for t in ("rt1", "rt2", "rt22"):
            self.kafka.produce(t, [f"from-{t}"], partition=0)
        self.start_agent(config(self.kafka.bootstrap, self.out,
                                "a1.sources.r1.kafka.topics.regex = rt\\\\d\n"  # rt\\d in Java properties
                                "a1.sources.r1.kafka.topics = t1\n"))
        ev = self.events(2)
        self.assertEqual(sorted(b for _, b in ev), ["from-rt1", "from-rt2"])

    def test_restart_resumes_after_the_committed_offsets(self):
        cfg = config(self.kafka.bootstrap, self.out, "a1.sources.r1.kafka.topics = t1\n")
        self.kafka.produce("t1", [f"a{i}" for i in range(5)])
        a = self.start_agent(cfg)
        self.events(5)
        a.stop()
        self.kafka.produce("t1", [f"b{i}" for i in range(3)])
        self.start_agent(cfg)
        ev = self.events(8)
        bodies = sorted(b for _, b in ev)
        self.assertEqual(bodies, sorted([f"a{i}" for i in range(5)] + [f"b{i}" for i in range(3)]))

    def test_full_channel_pauses_and_keeps_the_group(self):
        server = PausableServer(paused=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            sink = f"""a1.sinks.k1.type = http
a1.sinks.k1.endpoint = http://127.0.0.1:{server.server_address[1]}/
a1.sinks.k1.batchSize = 10
a1.sinks.k1.backoff.200 = false
a1.sinks.k1.rollback.200 = false
"""
            cfg = config(self.kafka.bootstrap, self.out, """a1.sources.r1.kafka.topics = t1
a1.sources.r1.batchSize = 10
a1.sources.r1.kafka.consumer.max.poll.interval.ms = 3000
a1.sources.r1.kafka.consumer.session.timeout.ms = 2500
""", sink=sink).replace("capacity = 10000", "capacity = 20").replace(
                "transactionCapacity = 1000", "transactionCapacity = 10")
            self.kafka.produce("t1", [f"e{i}" for i in range(200)])
            a = self.start_agent(cfg)
            wait_for(lambda: int(metrics(a)["SOURCE.r1"]["ChannelWriteFail"]) > 0,
                     what="channel full")
            # Longer than max.poll.interval.ms while full: without polling we would be evicted.
            deadline = time.monotonic() + 4
            wait_for(lambda: time.monotonic() > deadline, timeout=10, what="4 s full")
            server.resume()
            wait_for(lambda: len(server.got()) >= 200, timeout=60, what="200 events")
            got = [b.decode() if isinstance(b, bytes) else b for b in server.got()]
            self.assertEqual(len(got), len(set(got)))
            self.assertEqual(metrics(a)["SOURCE.r1"]["KafkaRebalanceCount"], "1")
            self.assertNotIn("max.poll.interval", a.output())
        finally:
            server.shutdown()


if __name__ == "__main__":
    unittest.main()
