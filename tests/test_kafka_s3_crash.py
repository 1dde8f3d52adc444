"""Issue 20's crash test: Kafka source -> file channel -> S3 sink (hdfs on s3a://) -> a real
`ingestor store`, kill -9 of the agent at >= 20 random moments while kcat keeps producing
numbered records into a 4-partition topic on librdkafka's mock cluster. Every record must be in
the bucket exactly once: the source's offsets commit with its events in the file channel's WAL
(position tokens, DESIGN.md guarantee 8) and an assignment starts from them.

Each incarnation of the agent joins a new consumer group: on the 2.0.2 mock a member killed
without leaving holds its group for ~11 s whatever its session timeout (measured), while a new
group's first join takes 3 s. A new group has no committed offsets, so where each partition
resumes comes from the channel's positions alone: exactly the mechanism under test (a partition
the channel has no position for starts at the earliest offset, which is right, as nothing of it was
committed). A line in the bucket twice says who sent it twice, as in test_taildir_s3_crash.py.

The kill delays come from a seeded RNG (INGESTOR_CRASH_SEED, default 2020) and are printed.
"""
import os
import random
import re
import subprocess
import threading
import time
import unittest

from harness import metrics, wait_for
from kafka_harness import KCAT_X, MockKafka
from test_s3_sink import BUCKET, S3SinkTest
from test_taildir_s3_crash import TaildirS3CrashTest, file_channel_s3_sink

PREFIX = "kafka"
KEY_RE = re.compile(rf"^{PREFIX}/FlumeData\.\d+$")


def agent_config(bootstrap, group, chan, staging, endpoint):
    return f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = org.apache.flume.source.kafka.KafkaSource
a1.sources.r1.channels = c1
a1.sources.r1.kafka.bootstrap.servers = {bootstrap}
a1.sources.r1.kafka.topics = in
a1.sources.r1.kafka.consumer.group.id = {group}
a1.sources.r1.kafka.consumer.auto.offset.reset = earliest
a1.sources.r1.kafka.consumer.fetch.max.wait.ms = 20
a1.sources.r1.batchSize = 50
a1.sources.r1.batchDurationMillis = 100
a1.sources.r1.interceptors = u
a1.sources.r1.interceptors.u.type = uuid
{file_channel_s3_sink(chan, staging, endpoint, PREFIX)}"""


class KafkaS3CrashTest(S3SinkTest):
    KILLS = 20

    def setUp(self):
        super().setUp()
        self.kafka = MockKafka(brokers=1, topics={"in": 4})
        self.read = {}

    def tearDown(self):
        super().tearDown()
        self.kafka.stop()

    bodies = TaildirS3CrashTest.bodies

    def producer(self, stop, rng):
        """One kcat process reading numbered lines from a pipe until `stop`."""
        p = subprocess.Popen(["kcat", "-P", "-b", self.kafka.bootstrap, "-t", "in"] + KCAT_X,
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        written = []

        def run():
            n = 0
            while not stop.is_set():
                burst = rng.randint(1, 30)
                p.stdin.write(b"".join(b"%08d\n" % (n + i) for i in range(burst)))
                p.stdin.flush()
                written.extend(b"%08d" % (n + i) for i in range(burst))
                n += burst
                time.sleep(0.01)  # the producer's pace, not a wait for a condition
            p.stdin.close()
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, p, written

    def test_sigkill_kafka_file_channel_s3_every_record_exactly_once(self):
        seed = int(os.environ.get("INGESTOR_CRASH_SEED", "2020"))
        rng = random.Random(seed)
        delays = [round(rng.uniform(0.05, 0.8), 3) for _ in range(self.KILLS)]
        print(f"\nseed {seed}: {self.KILLS} kills at {delays} s after an assignment", flush=True)
        started = time.monotonic()
        staging = os.path.join(self.tmp, "staging")
        chan = os.path.join(self.tmp, "chan")
        a = self.agent(agent_config(self.kafka.bootstrap, "g0", chan, staging,
                                    self.store.endpoint), start=False)
        stop = threading.Event()
        t, kcat, written = self.producer(stop, random.Random(seed + 1))

        def assigned():
            return any(k.startswith("KafkaConsumerLag.") for k in metrics(a)["SOURCE.r1"])
        for i, d in enumerate(delays):
            with open(a.conf, "w") as f:  # a new group per incarnation (see the docstring)
                f.write(agent_config(self.kafka.bootstrap, f"g{i}", chan, staging,
                                     self.store.endpoint))
            a.start()
            wait_for(assigned, timeout=30, what="an assignment")
            time.sleep(d)  # a random moment while records flow: the test's input
            a.kill()
        with open(a.conf, "w") as f:
            f.write(agent_config(self.kafka.bootstrap, "final", chan, staging, self.store.endpoint))
        a.start()
        stop.set()
        t.join(10)
        self.assertEqual(kcat.wait(60), 0, kcat.stderr.read())
        killed_at = time.monotonic()

        def all_uploaded():
            if int(metrics(a)["CHANNEL.c1"]["ChannelSize"]) != 0:
                return False
            if [f for f in os.listdir(staging) if f.endswith(".data")]:
                return False
            seen = TaildirS3CrashTest.ids_by_line(self.bodies())
            return all(l in seen for l in written)
        try:
            wait_for(all_uploaded, timeout=60, interval=0.25, what="every record in the bucket")
        except AssertionError:
            seen = TaildirS3CrashTest.ids_by_line(self.bodies())
            missing = [l for l in written if l not in seen]
            raise AssertionError(f"{len(missing)} of {len(written)} records missing from the "
                                 f"bucket, e.g. {missing[:5]}")
        drained_at = time.monotonic()
        self.assertEqual(a.stop(), 0)

        bodies = self.bodies()
        keys = sorted(bodies)
        seen = TaildirS3CrashTest.ids_by_line(bodies)
        self.assertEqual([k for k in keys if not KEY_RE.match(k)], [], "unexpected keys")
        self.assertEqual([l for l in written if l not in seen], [], "records lost")
        twice = {l: ids for l, ids in seen.items() if len(ids) > 1}
        if twice:
            resent = {l: ids for l, ids in twice.items() if len(set(ids)) > 1}
            redelivered = {l: ids for l, ids in twice.items() if len(set(ids)) == 1}
            self.fail(f"{len(twice)} records in the bucket more than once: {len(resent)} put in "
                      f"the channel twice by the source (e.g. {sorted(resent)[:3]}), "
                      f"{len(redelivered)} staged twice by the sink (e.g. "
                      f"{sorted(redelivered)[:3]})")
        self.assertEqual(sorted(seen), sorted(written), "records nobody wrote")
        self.assertGreater(len(written), 2000)
        print(f"seed {seed}: {self.KILLS} kills, {len(written)} records, {len(keys)} objects; "
              f"kills took {killed_at - started:.1f} s, drain {drained_at - killed_at:.1f} s")


if __name__ == "__main__":
    unittest.main()
