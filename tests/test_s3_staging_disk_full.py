"""S3 sink whose staging directory is on a full disk, with real processes: the sink fails and
retries, the agent keeps running, and once uploads free the disk every acknowledged line is in
the bucket exactly once.

netcat (acks) -> file channel (durable, on the ordinary temp dir) -> S3 sink (`hdfs` on s3a://)
staging on an 8 MiB tmpfs -> a gate proxy -> `ingestor store`.
While the gate answers 503 SlowDown nothing is uploaded: sealed 1 MiB objects pile up in staging
(s3.maxStagedBytes is 1 GB, so the limit is the disk) until an append to a staging data file
fails with ENOSPC, usually after a short write. The sink rolls back its groups of takes (the one
it serializes and the one whose fsyncs run on the syncer thread), discards the uncommitted staged
bytes and retries; the channel keeps the events and the source keeps acknowledging. Then:
  A. the gate opens: uploads drain staging, space returns, the sink resumes in the same process;
     more lines are sent while it drains and after;
  B. staging is filled again, the agent is SIGKILLed while the disk is full and restarted on the
     same directories; it recovers its staging and channel, and delivers once the gate opens.
At the end every acknowledged line is in the bucket exactly once, whole, in each connection's
order; no key ends in `.tmp`; no multipart upload is left; staging holds nothing.

Two roll policies: size only (the retry of a failed batch appends to the same open object) and
size + 1 s (a timed roll usually seals the object at its committed length before the retry).

The tmpfs needs CAP_SYS_ADMIN or unprivileged user namespaces (disk_full_harness.Volume);
without either the test is skipped with the reason.
"""
import os
import queue
import re
import threading
import time
import unittest

from disk_full_harness import PAD, NsAgent, Sender, Volume
from harness import metrics, wait_for
from test_s3_sink import BUCKET, S3SinkTest, ThrottleProxy, sink_config

VOLUME = "8m"
ROLL = 1 << 20
WINDOW = 200
LINE = re.compile(rb"(c\d+)-(\d{7}) " + PAD.encode())


class Feeder(threading.Thread):
    """A netcat connection in a background thread: sends the numbered lines the test asks for,
    in windows, and records which were acknowledged ("OK") and which refused ("FAILED: ...")."""

    def __init__(self, port, conn):
        super().__init__(daemon=True)
        self.port, self.conn = port, conn
        self.jobs = queue.Queue()
        self.acked, self.refused = [], []
        self.seq = 0
        self.error = None
        self.start()

    def send(self, n):
        self.jobs.put(n)

    def run(self):
        try:
            s = Sender(self.port)
            try:
                while (n := self.jobs.get()) is not None:
                    while n > 0:
                        k = min(n, WINDOW)
                        ids = [f"{self.conn}-{self.seq + i:07d}" for i in range(k)]
                        self.seq += k
                        n -= k
                        for i, r in s.window(ids):
                            if r == b"OK":
                                self.acked.append(i)
                            else:
                                self.refused.append((i, r))
                    self.jobs.task_done()
            finally:
                s.close()
        except BaseException as e:  # reported by wait()
            self.error = e

    def wait(self, timeout=60):
        """Until every line asked for so far has its reply."""
        wait_for(lambda: self.error or self.jobs.unfinished_tasks == 0, timeout=timeout,
                 what=f"replies to {self.conn}'s lines")
        if self.error:
            raise AssertionError(f"{self.conn}: {self.error!r}")

    def close(self):
        self.jobs.put(None)
        self.join(10)


class StagingDiskFullTest(S3SinkTest):
    def setUp(self):
        super().setUp()
        self.vol = Volume(os.path.join(self.tmp, "vol"), VOLUME)
        self.mode = self.vol.mount()
        self.proxy = ThrottleProxy(self.store.port)
        self.addCleanup(self.proxy.stop)
        self.feeders = []

    def tearDown(self):
        for f in self.feeders:
            f.close()
        for a in self.agents:  # off the volume before it goes away
            a.kill()
        self.vol.unmount()
        super().tearDown()

    def config(self, roll_interval):
        channel = "\n".join([
            "a1.channels.c1.type = file",
            f"a1.channels.c1.checkpointDir = {self.tmp}/fc-checkpoint",
            f"a1.channels.c1.dataDirs = {self.tmp}/fc-data",
            "a1.channels.c1.capacity = 1000000",
            "a1.channels.c1.transactionCapacity = 1000",
            "a1.channels.c1.minimumRequiredSpace = 1048576"]) + "\n"
        extra = ("a1.sinks.k1.s3.maxStagedBytes = 1000000000\n"
                 "a1.sources.r1.max-line-length = 2048\n")
        cfg = sink_config(f"http://127.0.0.1:{self.proxy.port}",
                          os.path.join(self.vol.path, "staging"), extra, channel=channel)
        # Objects of 1 MiB: eight fill the volume while the gate is shut.
        for key, value in (("rollSize", ROLL), ("rollInterval", roll_interval)):
            old = next(l for l in cfg.splitlines() if l.startswith(f"a1.sinks.k1.hdfs.{key} = "))
            cfg = cfg.replace(old + "\n", f"a1.sinks.k1.hdfs.{key} = {value}\n")
        return cfg

    def start_agent(self, config=None, agent=None):
        if agent is None:
            tmp = os.path.join(self.tmp, "agent")
            os.makedirs(tmp, exist_ok=True)
            agent = NsAgent(config, self.vol.prefix, tmp=tmp, args=["--metrics-port", "0"])
            self.agents.append(agent)
        return agent.start()

    def feeder(self, agent):
        f = Feeder(agent.port("r1"), f"c{len(self.feeders)}")
        self.feeders.append(f)
        return f

    def sink(self, agent):
        return metrics(agent)["SINK.k1"]

    def staged_files(self):
        return [n for n in self.vol.listdir("staging") if n.endswith((".data", ".meta"))]

    def fill_staging(self, agent, feeder, fails_before=0):
        """Sends 12000 lines (11 MB for an 8 MiB volume) with the gate shut; waits until an append
        to staging failed (after `fails_before` failed batches) and checks the agent's state."""
        keys_before = sorted(self.keys())
        self.proxy.throttling = True
        feeder.send(12000)

        def failed():
            m = self.sink(agent)
            return int(m["EventWriteFail"]) > fails_before and m
        m = wait_for(failed, timeout=60, interval=0.1, what="a failed staging append")
        self.assertGreater(int(m["ProcessErrorCount"]), 0)
        wait_for(lambda: "No space left on device" in agent.output(), timeout=10,
                 what="the ENOSPC in the agent's log")
        feeder.wait()
        # The channel acknowledged every line and holds what staging could not take.
        self.assertEqual(feeder.refused, [])
        self.assertIsNone(agent.proc.poll(), "the agent must keep running on a full disk")
        self.assertGreater(int(metrics(agent)["CHANNEL.c1"]["ChannelSize"]), 1000)
        free = self.vol.free_bytes()
        self.assertLess(free, 2 * ROLL, f"staging should have filled the volume ({free} free)")
        self.assertEqual(sorted(self.keys()), keys_before,
                         "the gate is shut: nothing more may be uploaded")
        return int(self.sink(agent)["EventWriteFail"])

    def wait_delivered(self, agent, timed_rolls):
        """Until the channel is empty and every sealed object is uploaded: staging holds at most
        the open object (nothing with timed rolls)."""
        def done():
            m = metrics(agent)
            s = m["SINK.k1"]
            left = 0 if timed_rolls else ROLL
            return (m["CHANNEL.c1"]["ChannelSize"] == "0" and s["UploadsPending"] == "0" and
                    int(s["StagedBytes"]) <= left and
                    len(self.staged_files()) <= (0 if timed_rolls else 2) and m)
        m = wait_for(done, timeout=90, interval=0.2, what="an empty channel and staging")
        self.assertEqual(m["CHANNEL.c1"]["Unhealthy"], "0")
        self.assertEqual(m["CHANNEL.c1"]["CorruptRecordCount"], "0")
        return m

    def check_bucket(self):
        """Every acknowledged line exactly once, whole, in its connection's order."""
        acked = {i for f in self.feeders for i in f.acked}
        problems, ids = [], []

        def n_of(k):
            return int(re.search(r"\.(\d+)$", k).group(1))
        keys = sorted(self.keys(), key=n_of)
        for k in keys:
            data = self.body(k)
            if not data.endswith(b"\n"):
                problems.append(f"{k} ({len(data)} bytes) ends inside a line: "
                                f"{data[data.rfind(bytes([10])) + 1:][:20]!r}...")
            off = 0
            for line in data.split(b"\n")[:-1]:
                found = [m.group(1).decode() for m in re.finditer(rb"(c\d+-\d{7}) p", line)]
                ids += found
                if not LINE.fullmatch(line):
                    problems.append(f"{k} offset {off}: a torn line of {len(line)} bytes "
                                    f"holding {found}")
                off += len(line) + 1
        counts = {}
        for i in ids:
            counts[i] = counts.get(i, 0) + 1
        dups = sorted(i for i, c in counts.items() if c > 1)
        missing = sorted(acked - counts.keys())
        unknown = sorted(counts.keys() - acked)
        if dups:
            problems.append(f"{len(dups)} lines twice (in whole or torn lines): {dups[:5]}...")
        if missing:
            problems.append(f"{len(missing)} acknowledged lines lost: {missing[:5]}...")
        if unknown:
            problems.append(f"{len(unknown)} lines delivered that were never acknowledged: "
                            f"{unknown[:5]}")
        for f in self.feeders:
            mine = [i for i in ids if i.startswith(f.conn + "-")]
            if mine != sorted(mine):
                problems.append(f"{f.conn}'s lines are out of order")
        if problems:
            self.fail(f"{len(acked)} lines acknowledged; in the bucket:\n  " +
                      "\n  ".join(problems))
        self.assertEqual([k for k in keys if k.endswith(".tmp")], [])
        self.assertEqual(self.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []), [])
        return len(acked), len(keys)

    def run_scenario(self, roll_interval):
        timed = roll_interval > 0
        t0 = time.monotonic()
        marks = []

        def mark(what):
            marks.append(f"{what} {time.monotonic() - t0:.1f}s")
        self.proxy.throttling = True
        agent = self.start_agent(self.config(roll_interval))

        # A: fill staging; then open the gate and recover in the same process.
        f0 = self.feeder(agent)
        fails = self.fill_staging(agent, f0)
        mark("A: staging full")
        f0.send(2000)  # lines keep coming while the staging disk is full: the channel takes them
        f0.wait()
        self.proxy.throttling = False
        f0.send(2000)  # while staging drains
        f0.wait()
        self.wait_delivered(agent, timed)
        mark("A: drained")
        f0.send(2000)  # after the recovery
        f0.wait()
        self.wait_delivered(agent, timed)
        self.assertEqual(f0.refused, [])

        # B: fill again, SIGKILL while the staging disk is full, restart on the same directories.
        f1 = self.feeder(agent)
        self.fill_staging(agent, f1, fails)
        mark("B: staging full")
        agent.kill()
        self.start_agent(agent=agent)  # on the full volume, the gate still shut
        mark("B: restarted")
        self.proxy.throttling = False
        f2 = self.feeder(agent)
        f2.send(2000)
        f2.wait()
        self.assertEqual(f2.refused, [])
        self.wait_delivered(agent, timed)
        mark("B: drained")
        agent.stop()  # seals and uploads the open object
        self.assertEqual(self.staged_files(), [], "staging must be empty after a clean stop")

        n_acked, n_keys = self.check_bucket()
        print(f"\n[{self.mode}] {n_acked} lines acknowledged in {n_keys} objects; "
              f"{', '.join(marks)}")

    def test_size_rolls_full_staging_disk_loses_and_duplicates_nothing(self):
        self.run_scenario(roll_interval=0)

    def test_timed_rolls_full_staging_disk_loses_and_duplicates_nothing(self):
        self.run_scenario(roll_interval=1)


if __name__ == "__main__":
    unittest.main()
