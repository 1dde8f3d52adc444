"""Kafka source under faults and scale-out, on librdkafka's mock cluster with kcat producing:
every broker down and back (nothing lost, nothing twice), a second agent joining the group while
records flow (nothing lost; duplicates counted and bounded by one batch per partition, since the
2.0.2 mock refuses commits during a join-triggered rebalance: kafka.md §3.3), and two agents in one
group splitting the partitions and delivering every record once between them.
(Sink-side faults, produce errors and brokers down, are in test_kafka_sink.py.)
"""
import collections
import os
import subprocess
import tempfile
import threading
import time
import unittest

from harness import AgentTestCase, metrics, rolled, wait_for
from kafka_harness import KCAT_X, MockKafka

BATCH = 50


def config(bootstrap, outdir, group):
    return f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = kafka
a1.sources.r1.channels = c1
a1.sources.r1.kafka.bootstrap.servers = {bootstrap}
a1.sources.r1.kafka.topics = in
a1.sources.r1.kafka.consumer.group.id = {group}
a1.sources.r1.kafka.consumer.auto.offset.reset = earliest
a1.sources.r1.kafka.consumer.session.timeout.ms = 6000
a1.sources.r1.kafka.consumer.heartbeat.interval.ms = 500
a1.sources.r1.kafka.consumer.fetch.max.wait.ms = 50
a1.sources.r1.batchSize = {BATCH}
a1.sources.r1.batchDurationMillis = 200
a1.channels.c1.type = memory
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = {outdir}
a1.sinks.k1.sink.rollInterval = 0
"""


def lines(outdir):
    return rolled(outdir).split(b"\n")[:-1]


class KafkaFaultTest(AgentTestCase):
    def setUp(self):
        super().setUp()
        self.kafka = MockKafka(brokers=3, topics={"in": 4})

    def tearDown(self):
        super().tearDown()
        self.kafka.stop()

    def start_agent(self, config, **kw):
        return super().start_agent(config, args=["--metrics-port", "0"], **kw)

    def outdir(self):
        return tempfile.mkdtemp(dir=self.tmp)

    @staticmethod
    def assigned(agent):
        return sorted(k.split(".", 1)[1] for k in metrics(agent)["SOURCE.r1"]
                      if k.startswith("KafkaConsumerLag."))

    def producing(self, stop):
        """kcat fed numbered lines from a pipe until `stop`; returns (thread, process, written)."""
        p = subprocess.Popen(["kcat", "-P", "-b", self.kafka.bootstrap, "-t", "in"] + KCAT_X,
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        written = []

        def run():
            n = 0
            while not stop.is_set():
                p.stdin.write(b"".join(b"%08d\n" % (n + i) for i in range(10)))
                p.stdin.flush()
                written.extend(b"%08d" % (n + i) for i in range(10))
                n += 10
                time.sleep(0.01)  # the producer's pace
            p.stdin.close()
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, p, written

    def test_brokers_down_and_back(self):
        out = self.outdir()
        a = self.start_agent(config(self.kafka.bootstrap, out, "down"))
        self.kafka.produce("in", [f"a{i}" for i in range(200)])
        wait_for(lambda: len(lines(out)) >= 200, timeout=30, what="200 records")
        self.kafka.command("down -1")
        wait_for(lambda: "Connection refused" in a.output() or "Disconnected" in a.output()
                 or "down" in a.output(), timeout=20, what="the source noticing")
        self.kafka.command("up -1")
        self.kafka.produce("in", [f"b{i}" for i in range(200)])
        wait_for(lambda: len(lines(out)) >= 400, timeout=60, what="400 records")
        got = lines(out)
        self.assertEqual(len(got), 400)
        self.assertEqual(len(set(got)), 400)

    def test_scale_out_two_agents_split_the_partitions(self):
        out_a, out_b = self.outdir(), self.outdir()
        a = self.start_agent(config(self.kafka.bootstrap, out_a, "scale"))
        wait_for(lambda: len(self.assigned(a)) == 4, timeout=30, what="a with 4 partitions")
        b = self.start_agent(config(self.kafka.bootstrap, out_b, "scale"))
        wait_for(lambda: len(self.assigned(a)) == 2 and len(self.assigned(b)) == 2,
                 timeout=40, what="2 partitions each")
        self.assertEqual(sorted(self.assigned(a) + self.assigned(b)),
                         [f"{p}@in" for p in range(4)])
        # Explicit partitions: keyless records are sticky-partitioned (one partition per batch).
        for p in range(4):
            self.kafka.produce("in", [f"{i:06d}" for i in range(p * 1000, (p + 1) * 1000)],
                               partition=p)
        wait_for(lambda: len(lines(out_a)) + len(lines(out_b)) >= 4000, timeout=60,
                 what="4000 records")
        got_a, got_b = lines(out_a), lines(out_b)
        self.assertGreater(len(got_a), 0)
        self.assertGreater(len(got_b), 0)
        self.assertEqual(sorted(got_a + got_b), [b"%06d" % i for i in range(4000)])

    def test_rebalance_when_a_second_agent_joins_loses_nothing(self):
        out_a, out_b = self.outdir(), self.outdir()
        a = self.start_agent(config(self.kafka.bootstrap, out_a, "join"))
        stop = threading.Event()
        t, kcat, written = self.producing(stop)
        wait_for(lambda: len(lines(out_a)) > 500, timeout=30, what="a consuming")
        b = self.start_agent(config(self.kafka.bootstrap, out_b, "join"))
        wait_for(lambda: self.assigned(b), timeout=40, what="b assigned")
        wait_for(lambda: len(lines(out_b)) > 100, timeout=30, what="b consuming")
        stop.set()
        t.join(10)
        self.assertEqual(kcat.wait(60), 0, kcat.stderr.read())
        want = set(written)
        try:
            wait_for(lambda: want <= set(lines(out_a) + lines(out_b)), timeout=60,
                     what="every record delivered")
        except AssertionError:
            missing = sorted(want - set(lines(out_a) + lines(out_b)))
            raise AssertionError(f"{len(missing)} of {len(want)} missing: {missing[:5]}..."
                                 f"{missing[-5:]}; a {metrics(a)['SOURCE.r1']}, "
                                 f"b {metrics(b)['SOURCE.r1']}")
        got = lines(out_a) + lines(out_b)
        counts = collections.Counter(got)
        dups = sum(c - 1 for c in counts.values())
        print(f"\n{len(written)} records, {dups} duplicates after the join "
              f"(a: {len(lines(out_a))}, b: {len(lines(out_b))})", flush=True)
        self.assertEqual(set(got), want)
        self.assertLessEqual(dups, 4 * BATCH)


if __name__ == "__main__":
    unittest.main()
