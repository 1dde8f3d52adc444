"""Kafka channel (Flume's KafkaChannel, kafka.md §1.4) against librdkafka's mock cluster, with kcat
on the other side: source and sink (headers kept through the Avro value), source only (records
other applications read: raw bodies with parseAsFlumeEvent=false, the key), sink only (records
produced by kcat taken into a sink, the key header), rollback replays (a sink refused then
accepting: every event once, in order), and migrateZookeeperOffsets=true refused.
"""
import json
import tempfile
import threading
import unittest

from harness import (AgentTestCase, PausableServer, http, metrics, rolled, run_agent_once,
                     wait_for)
from kafka_harness import MockKafka
from test_kafka_sink import avro_decode
from test_kafka_source import parse_events

CONSUMER = """a1.channels.c1.kafka.consumer.session.timeout.ms = 6000
a1.channels.c1.kafka.consumer.heartbeat.interval.ms = 500
a1.channels.c1.kafka.consumer.fetch.max.wait.ms = 50
"""


def channel(bootstrap, extra=""):
    return f"""a1.channels.c1.type = org.apache.flume.channel.kafka.KafkaChannel
a1.channels.c1.kafka.bootstrap.servers = {bootstrap}
a1.channels.c1.kafka.topic = ch
a1.channels.c1.kafka.consumer.group.id = cg
a1.channels.c1.kafka.pollTimeout = 100
{CONSUMER}{extra}"""

HTTP_SOURCE = """a1.sources.r1.type = http
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.channels = c1
"""


def file_sink(outdir):
    return f"""a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = {outdir}
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.serializer = header_and_text
"""


class KafkaChannelTest(AgentTestCase):
    def setUp(self):
        super().setUp()
        self.kafka = MockKafka(brokers=3, topics={"ch": 2})
        self.out = tempfile.mkdtemp(dir=self.tmp)

    def tearDown(self):
        super().tearDown()
        self.kafka.stop()

    def start_agent(self, config, **kw):
        return super().start_agent(config, args=["--metrics-port", "0"], **kw)

    def post(self, agent, events):
        st, _, body = http(agent.port("r1"), "POST", "/", json.dumps(events).encode())
        self.assertEqual(st, 200, body)

    def events(self, n, timeout=30):
        return wait_for(lambda: (lambda ev: len(ev) >= n and ev)(parse_events(rolled(self.out))),
                        timeout=timeout, what=f"{n} events")

    def test_source_and_sink_keep_headers(self):
        a = self.start_agent("a1.sources = r1\na1.channels = c1\na1.sinks = k1\n" + HTTP_SOURCE
                             + channel(self.kafka.bootstrap) + file_sink(self.out))
        self.post(a, [{"headers": {"h": str(i), "key": f"k{i % 3}"}, "body": f"e{i}"}
                      for i in range(30)])
        ev = self.events(30)
        self.assertEqual(sorted(int(b[1:]) for _, b in ev), list(range(30)))
        for h, b in ev:
            self.assertEqual(h["h"], b[1:])
            self.assertEqual(h["key"], f"k{int(b[1:]) % 3}")
        recs = self.kafka.consume("ch")
        self.assertEqual(len(recs), 30)
        d = avro_decode(recs[0]["value"])
        self.assertEqual(d["headers"]["key"], recs[0]["key"].decode())
        m = metrics(a)["CHANNEL.c1"]
        for k in ("EventPutAttemptCount", "EventPutSuccessCount", "EventTakeSuccessCount"):
            self.assertEqual(m[k], "30", k)
        self.assertEqual(m["ChannelCapacity"], "0")

    def test_source_only_writes_raw_bodies_for_other_applications(self):
        self.start_agent("a1.sources = r1\na1.channels = c1\n" + HTTP_SOURCE
                         + channel(self.kafka.bootstrap, "a1.channels.c1.parseAsFlumeEvent = false\n"
                                   "a1.channels.c1.partitionIdHeader = p\n"))
        a = self.agents[-1]
        self.post(a, [{"headers": {"key": "kk", "p": "1"}, "body": "raw-1"},
                      {"headers": {"p": "0"}, "body": "raw-2"}])
        recs = {r["value"]: r for r in self.kafka.wait_records("ch", 2)}
        self.assertEqual((recs[b"raw-1"]["key"], recs[b"raw-1"]["partition"]), (b"kk", 1))
        self.assertEqual((recs[b"raw-2"]["key"], recs[b"raw-2"]["partition"]), (None, 0))

    def test_sink_only_takes_records_written_by_others(self):
        self.kafka.produce("ch", [f"{i}-header:{i}" for i in range(10)], key_delim=":")
        self.start_agent("a1.channels = c1\na1.sinks = k1\n"
                         + channel(self.kafka.bootstrap, "a1.channels.c1.parseAsFlumeEvent = false\n")
                         + file_sink(self.out))
        ev = self.events(10)
        self.assertEqual(sorted((b, h["key"]) for h, b in ev),
                         sorted((str(i), f"{i}-header") for i in range(10)))

    def test_rollback_replays_every_event_once_in_order(self):
        server = PausableServer(paused=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            a = self.start_agent("a1.sources = r1\na1.channels = c1\na1.sinks = k1\n" + HTTP_SOURCE
                                 + channel(self.kafka.bootstrap, "a1.channels.c1.defaultPartitionId = 0\n")
                                 + f"""a1.sinks.k1.type = http
a1.sinks.k1.channel = c1
a1.sinks.k1.endpoint = http://127.0.0.1:{server.server_address[1]}/
a1.sinks.k1.backoff.200 = false
a1.sinks.k1.rollback.200 = false
""")
            self.post(a, [{"body": f"e{i}"} for i in range(20)])
            wait_for(lambda: int(metrics(a)["CHANNEL.c1"]["RollbackCount"]) > 0, what="rollback")
            server.resume()
            wait_for(lambda: len(server.got()) >= 20, what="20 events")
            got = [b.decode() for b in server.got()]
            self.assertEqual(got, [f"e{i}" for i in range(20)])
        finally:
            server.shutdown()

    def test_zookeeper_migration_is_refused(self):
        code, out = run_agent_once("a1.sources = r1\na1.channels = c1\n" + HTTP_SOURCE
                                   + channel(self.kafka.bootstrap,
                                             "a1.channels.c1.migrateZookeeperOffsets = true\n"))
        self.assertNotEqual(code, 0)
        self.assertIn("migrateZookeeperOffsets", out)


if __name__ == "__main__":
    unittest.main()
