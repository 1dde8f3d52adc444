"""Kafka sink (Flume's KafkaSink keys, kafka.md §1.3) against librdkafka's mock cluster, with kcat
consuming on the other side: topic, key, partitions (header, default, the Java client's murmur2
for keys), timestamp and header mapping, topic override and escapes, the Flume (Avro) event format
checked against python3-avro's own encoding, the 1.6 keys, and faults (brokers down and back,
produce errors: every record delivered once, the failed ones only re-sent).

Events enter through the http source (JSON events with headers) and a memory channel.
"""
import io
import json
import sys
import unittest

try:
    import avro.io  # noqa: F401
except ImportError:
    # The tests' Python may be another 3.11 (pyenv, with boto3); Debian's python3-avro is pure
    # Python and is used from its dist-packages then.
    sys.path.append("/usr/lib/python3/dist-packages")

from harness import AgentTestCase, http, metrics, run_agent_once, wait_for
from kafka_harness import (API_PRODUCE, ERR_MSG_SIZE_TOO_LARGE, ERR_NOT_ENOUGH_REPLICAS,
                           MockKafka)

AVRO_SCHEMA = ('{"type":"record","name":"AvroFlumeEvent","namespace":"org.apache.flume.source.avro",'
               '"fields":[{"name":"headers","type":{"type":"map","values":"string"}},'
               '{"name":"body","type":"bytes"}]}')


def murmur2(data):
    """The Java client's Utils.murmur2 (what DefaultPartitioner hashes keys with), written from
    Kafka's Java code, independent of librdkafka."""
    length = len(data)
    seed, m, r = 0x9747b28c, 0x5bd1e995, 24
    h = (seed ^ length) & 0xffffffff
    for i in range(length // 4):
        k = int.from_bytes(data[i * 4:i * 4 + 4], "little")
        k = (k * m) & 0xffffffff
        k ^= k >> r
        k = (k * m) & 0xffffffff
        h = (h * m) & 0xffffffff
        h ^= k
    rest = length % 4
    tail = data[length - rest:]
    if rest == 3:
        h ^= tail[2] << 16
    if rest >= 2:
        h ^= tail[1] << 8
    if rest >= 1:
        h ^= tail[0]
        h = (h * m) & 0xffffffff
    h ^= h >> 13
    h = (h * m) & 0xffffffff
    h ^= h >> 15
    return h


def java_partition(key, partitions):
    return (murmur2(key) & 0x7fffffff) % partitions


def avro_encode(headers, body):
    import avro.io
    import avro.schema
    schema = avro.schema.parse(AVRO_SCHEMA)
    buf = io.BytesIO()
    avro.io.DatumWriter(schema).write({"headers": headers, "body": body},
                                      avro.io.BinaryEncoder(buf))
    return buf.getvalue()


def avro_decode(data):
    import avro.io
    import avro.schema
    schema = avro.schema.parse(AVRO_SCHEMA)
    return avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(data)))


def config(bootstrap, extra="", capacity=10000):
    return f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = http
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = {capacity}
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink
a1.sinks.k1.channel = c1
a1.sinks.k1.kafka.bootstrap.servers = {bootstrap}
{extra}
"""


class KafkaSinkTest(AgentTestCase):
    def setUp(self):
        super().setUp()
        self.kafka = MockKafka(brokers=3, topics={"t1": 5, "custom-topic": 2, "avro": 1,
                                                  "h-topic": 1})

    def tearDown(self):
        super().tearDown()
        self.kafka.stop()

    def start_agent(self, config, **kw):
        return super().start_agent(config, args=["--metrics-port", "0"], **kw)

    def post(self, agent, events):
        st, _, body = http(agent.port("r1"), "POST", "/", json.dumps(events).encode())
        self.assertEqual(st, 200, body)

    def test_topic_key_partition_timestamp_and_headers(self):
        a = self.start_agent(config(self.kafka.bootstrap, """a1.sinks.k1.kafka.topic = t1
a1.sinks.k1.partitionIdHeader = p
a1.sinks.k1.timestampHeader = ts
a1.sinks.k1.header.corr = FLUME_CORRELATOR
a1.sinks.k1.header.method = FLUME_METHOD
"""))
        self.post(a, [
            {"headers": {"p": "3", "ts": "1600000000123", "corr": "12345", "method": "m"},
             "body": "e0"},
            {"headers": {"topic": "custom-topic", "key": "custom-key"}, "body": "e1"},
            {"headers": {"p": "4", "key": "kk"}, "body": "e2"},
            {"headers": {"ts": "not-a-number", "p": "0"}, "body": "e3"},
        ])
        recs = {r["value"]: r for r in self.kafka.wait_records("t1", 3)}
        self.assertEqual(set(recs), {b"e0", b"e2", b"e3"})
        self.assertEqual(recs[b"e0"]["partition"], 3)
        self.assertEqual(recs[b"e0"]["timestamp"], 1600000000123)
        self.assertEqual(recs[b"e0"]["headers"], ["FLUME_CORRELATOR=12345", "FLUME_METHOD=m"])
        self.assertIsNone(recs[b"e0"]["key"])
        self.assertEqual((recs[b"e2"]["partition"], recs[b"e2"]["key"]), (4, b"kk"))
        self.assertEqual(recs[b"e3"]["partition"], 0)
        self.assertGreater(recs[b"e3"]["timestamp"], 1600000000123)  # the producer's clock
        custom = self.kafka.wait_records("custom-topic", 1)
        self.assertEqual([(r["value"], r["key"]) for r in custom], [(b"e1", b"custom-key")])
        m = metrics(a)["SINK.k1"]
        self.assertEqual(m["EventDrainSuccessCount"], "4")
        self.assertIn("KafkaEventSendTimer", m)

    def test_keyed_records_land_where_the_java_client_puts_them(self):
        a = self.start_agent(config(self.kafka.bootstrap, "a1.sinks.k1.kafka.topic = t1\n"))
        keys = [f"user-{i}" for i in range(40)] + ["", "a", "ab", "abc"]
        self.post(a, [{"headers": {"key": k}, "body": f"v-{k}"} for k in keys])
        recs = self.kafka.wait_records("t1", len(keys))
        for r in recs:
            self.assertEqual(r["partition"], java_partition(r["key"], 5), r["key"])
        self.assertEqual(len({r["partition"] for r in recs}), 5)

    def test_default_partition_and_topic_escapes(self):
        a = self.start_agent(config(self.kafka.bootstrap, """a1.sinks.k1.kafka.topic = %{h1}-topic
a1.sinks.k1.defaultPartitionId = 1
"""))
        self.post(a, [{"headers": {"h1": "custom"}, "body": "x"},
                      {"headers": {"h1": "custom", "topic": "h-topic"}, "body": "y"}])
        self.assertEqual([(r["value"], r["partition"]) for r in
                          self.kafka.wait_records("custom-topic", 1)], [(b"x", 1)])
        # defaultPartitionId 1 does not exist in h-topic (1 partition): that record is refused
        # and retried; only it.
        wait_for(lambda: int(metrics(a)["SINK.k1"]["EventWriteFail"]) >= 1, what="write fail")
        self.assertEqual(len(self.kafka.consume("custom-topic")), 1)

    def test_no_override_uses_the_configured_topic_as_is(self):
        a = self.start_agent(config(self.kafka.bootstrap, """a1.sinks.k1.kafka.topic = t1
a1.sinks.k1.allowTopicOverride = false
"""))
        self.post(a, [{"headers": {"topic": "custom-topic"}, "body": "z"}])
        self.assertEqual([r["value"] for r in self.kafka.wait_records("t1", 1)], [b"z"])
        self.assertEqual(self.kafka.consume("custom-topic"), [])

    def test_flume_event_format_matches_avros_encoding(self):
        a = self.start_agent(config(self.kafka.bootstrap, """a1.sinks.k1.kafka.topic = avro
a1.sinks.k1.useFlumeEventFormat = true
"""))
        self.post(a, [{"headers": {"key": "custom-key"}, "body": "hello, world"},
                      {"headers": {}, "body": ""}])
        recs = self.kafka.wait_records("avro", 2)
        self.assertEqual(recs[0]["key"], b"custom-key")
        self.assertEqual(recs[0]["value"], avro_encode({"key": "custom-key"}, b"hello, world"))
        self.assertEqual(recs[1]["value"], b"\x00\x00")
        self.assertEqual(avro_decode(recs[0]["value"]),
                         {"headers": {"key": "custom-key"}, "body": b"hello, world"})

    def test_flume16_keys_are_mapped_with_a_warning(self):
        a = self.start_agent(config("", f"""a1.sinks.k1.brokerList = {self.kafka.bootstrap}
a1.sinks.k1.topic = t1
a1.sinks.k1.batchSize = 300
a1.sinks.k1.requiredAcks = all
""").replace("a1.sinks.k1.kafka.bootstrap.servers = \n", ""))
        self.post(a, [{"body": "old"}])
        self.assertEqual([r["value"] for r in self.kafka.wait_records("t1", 1)], [b"old"])
        log = a.output()
        for key in ("brokerList", "topic is deprecated", "batchSize", "requiredAcks"):
            self.assertIn(key, log)

    def test_config_errors_name_the_key(self):
        code, out = run_agent_once(config(self.kafka.bootstrap, """a1.sinks.k1.kafka.producer.sasl.jaas.config = x required username="u" password="pw";
"""))
        self.assertNotEqual(code, 0)
        self.assertIn("kafka.producer.sasl.username", out)
        self.assertNotIn('password="pw"', out)
        code, out = run_agent_once(config(self.kafka.bootstrap, "a1.sinks.k1.kafka.producer.lingerms = 5\n"))
        self.assertNotEqual(code, 0)
        self.assertIn("kafka.producer.lingerms", out)

    def test_a_kafka_source_feeding_the_sink_warns_of_the_topic_loop(self):
        loop = f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = kafka
a1.sources.r1.channels = c1
a1.sources.r1.kafka.bootstrap.servers = {self.kafka.bootstrap}
a1.sources.r1.kafka.topics = t1
a1.channels.c1.type = memory
a1.sinks.k1.type = kafka
a1.sinks.k1.channel = c1
a1.sinks.k1.kafka.bootstrap.servers = {self.kafka.bootstrap}
a1.sinks.k1.kafka.topic = custom-topic
"""
        a = self.start_agent(loop)
        self.assertIn("topic loop", a.output())
        b = self.start_agent(loop + "a1.sources.r1.setTopicHeader = false\n")
        self.assertNotIn("topic loop", b.output())

    def test_brokers_down_and_back_deliver_every_record_once(self):
        a = self.start_agent(config(self.kafka.bootstrap, "a1.sinks.k1.kafka.topic = t1\n"))
        self.post(a, [{"body": f"before-{i}"} for i in range(50)])
        self.kafka.wait_records("t1", 50)
        self.kafka.command("down -1")
        self.post(a, [{"body": f"during-{i}"} for i in range(50)])
        wait_for(lambda: int(metrics(a)["SINK.k1"]["EventDrainAttemptCount"]) >= 100,
                 what="the sink taking the batch")
        self.kafka.command("up -1")
        recs = self.kafka.wait_records("t1", 100)
        values = [r["value"] for r in recs]
        self.assertEqual(len(values), 100)
        self.assertEqual(len(set(values)), 100)

    def test_failed_records_alone_are_sent_again(self):
        a = self.start_agent(config(self.kafka.bootstrap, """a1.sinks.k1.kafka.topic = t1
a1.sinks.k1.defaultPartitionId = 0
a1.sinks.k1.kafka.producer.linger.ms = 50
"""))
        # Retriable errors: librdkafka retries them itself (idempotent producer).
        self.kafka.command(f"err {API_PRODUCE} {ERR_NOT_ENOUGH_REPLICAS} {ERR_NOT_ENOUGH_REPLICAS}")
        self.post(a, [{"body": f"r-{i}"} for i in range(20)])
        self.kafka.wait_records("t1", 20)
        # A permanent error fails the records of one produce request; the sink keeps the
        # transaction and re-sends only what failed.
        self.kafka.command(f"err {API_PRODUCE} {ERR_MSG_SIZE_TOO_LARGE}")
        self.post(a, [{"body": f"p-{i}"} for i in range(20)])
        recs = self.kafka.wait_records("t1", 40)
        values = [r["value"] for r in recs]
        self.assertEqual(sorted(values), sorted({v for v in values}), "duplicates")
        self.assertEqual(len(values), 40)
        m = metrics(a)["SINK.k1"]
        self.assertGreaterEqual(int(m["EventWriteFail"]), 1)
        self.assertGreaterEqual(int(m["EventResendCount"]), 1)
        self.assertEqual(m["RollbackCount"], "0")


if __name__ == "__main__":
    unittest.main()
