"""Issue 19's crash test on the S3 path: taildir -> file channel -> S3 sink (hdfs on s3a://) ->
a real `ingestor store`, kill -9 at >= 20 random moments while a writer appends numbered lines
and rotates app.log by rename every few hundred lines. Every line must be in the bucket exactly
once: none missing, none twice, no object a copy of another, no temporary or in-progress key.

The source carries a `uuid` interceptor and the sink writes header_and_text, so a line that is in
the bucket twice tells who sent it twice: two ids = the source put it in the channel twice (its
position was not committed with its events, guarantee 8); one id twice = the sink staged or
uploaded the same events twice (guarantees 2-4).

The kill delays come from a seeded RNG (INGESTOR_CRASH_SEED, default 1919) and are printed, so a
failing run can be replayed with the same input.
"""
import collections
import os
import random
import re
import threading
import time
import unittest

from harness import metrics, wait_for
from test_s3_sink import BUCKET, S3SinkTest

PREFIX = "tail"
KEY_RE = re.compile(rf"^{PREFIX}/FlumeData\.\d+$")


def file_channel_s3_sink(chan, staging, endpoint, prefix):
    """The crash tests' channel and sink: a file channel into the S3 sink (hdfs on s3a://),
    small objects (200 lines or 1 s), header_and_text so every line carries its uuid header."""
    return f"""a1.channels.c1.type = file
a1.channels.c1.checkpointDir = {chan}/checkpoint
a1.channels.c1.dataDirs = {chan}/data
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = 1000
a1.channels.c1.minimumRequiredSpace = 1048576
a1.channels.c1.checkpointInterval = 2000
a1.sinks.k1.type = hdfs
a1.sinks.k1.channel = c1
a1.sinks.k1.hdfs.path = s3a://{BUCKET}/{prefix}
a1.sinks.k1.hdfs.fileType = DataStream
a1.sinks.k1.hdfs.useLocalTimeStamp = true
a1.sinks.k1.hdfs.rollInterval = 1
a1.sinks.k1.hdfs.rollSize = 0
a1.sinks.k1.hdfs.rollCount = 200
a1.sinks.k1.hdfs.batchSize = 20
a1.sinks.k1.serializer = header_and_text
a1.sinks.k1.s3.endpoint = {endpoint}
a1.sinks.k1.s3.pathStyleAccess = true
a1.sinks.k1.s3.stagingDir = {staging}
"""


def agent_config(logs, pos, chan, staging, endpoint):
    return f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = TAILDIR
a1.sources.r1.channels = c1
a1.sources.r1.filegroups = g1
a1.sources.r1.filegroups.g1 = {logs}/app\\.log
a1.sources.r1.positionFile = {pos}
a1.sources.r1.batchSize = 50
a1.sources.r1.idleTimeout = 2000
a1.sources.r1.maxBackoffSleep = 200
a1.sources.r1.backoffSleepIncrement = 50
a1.sources.r1.interceptors = u
a1.sources.r1.interceptors.u.type = uuid
{file_channel_s3_sink(chan, staging, endpoint, PREFIX)}"""


class TaildirS3CrashTest(S3SinkTest):
    KILLS = 30

    def setUp(self):
        super().setUp()
        self.logs = os.path.join(self.tmp, "logs")
        os.makedirs(self.logs)
        self.read = {}  # key -> bytes of the objects downloaded so far

    def bodies(self):
        """{key: bytes} of every object in the bucket (an object never changes: each is read once;
        a key that went away would go from the answer too)."""
        keys = self.keys()
        for k in keys:
            if k not in self.read:
                self.read[k] = self.body(k)
        return {k: self.read[k] for k in keys}

    def where(self, lines):
        """Which log files hold `lines`, with their inodes and sizes (for a failure message)."""
        want, out = set(lines), []
        for name in sorted(os.listdir(self.logs)):
            path = os.path.join(self.logs, name)
            with open(path, "rb") as f:
                mine = [l for l in f.read().split(b"\n")[:-1] if l in want]
            if mine:
                st = os.stat(path)
                out.append(f"{name} (inode {st.st_ino}, {st.st_size} bytes): {len(mine)} lines "
                           f"{mine[0].decode()}..{mine[-1].decode()}")
        return "; ".join(out)

    @staticmethod
    def ids_by_line(bodies):
        """{line: [id, ...]} with one id per occurrence, from header_and_text '{id=...} line'."""
        seen = collections.defaultdict(list)
        for data in bodies.values():
            for rec in data.split(b"\n")[:-1]:
                head, _, line = rec.partition(b"} ")
                seen[line].append(head)
        return seen

    def writer(self, stop, up, rng):
        """Appends numbered 9-byte lines to app.log until `stop`, and renames it to app.log.<n>
        every few hundred lines. A rotation waits until the agent has been (re)started since the
        previous one (`up`): a file created and renamed away while the agent is down was never
        seen by it and cannot be found again by name (taildir follows `app\\.log` only)."""
        written = []
        errors = []

        def run():
            try:
                n, rotations, since = 0, 0, 0
                every = rng.randint(200, 500)
                while not stop.is_set():
                    with open(os.path.join(self.logs, "app.log"), "ab") as f:
                        burst = rng.randint(1, 20)
                        f.write(b"".join(b"%08d\n" % (n + i) for i in range(burst)))
                        written.extend(b"%08d" % (n + i) for i in range(burst))
                        n += burst
                        since += burst
                    if since >= every and up.is_set():
                        up.clear()
                        rotations += 1
                        os.rename(os.path.join(self.logs, "app.log"),
                                  os.path.join(self.logs, f"app.log.{rotations}"))
                        since, every = 0, rng.randint(200, 500)
                    time.sleep(0.005)  # the writer's pace, not a wait for a condition
            except Exception as e:  # noqa: BLE001 - reported by the test
                errors.append(e)
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, written, errors

    def test_sigkill_taildir_file_channel_s3_every_line_exactly_once(self):
        seed = int(os.environ.get("INGESTOR_CRASH_SEED", "1919"))
        rng = random.Random(seed)
        delays = [round(rng.uniform(0.1, 0.7), 3) for _ in range(self.KILLS)]
        print(f"\nseed {seed}: {self.KILLS} kills after {delays} s", flush=True)
        started = time.monotonic()
        staging = os.path.join(self.tmp, "staging")
        with open(os.path.join(self.logs, "app.log"), "ab"):
            pass
        a = self.agent(agent_config(self.logs, os.path.join(self.tmp, "state", "positions.json"),
                                    os.path.join(self.tmp, "chan"), staging, self.store.endpoint))
        up, stop = threading.Event(), threading.Event()
        up.set()
        t, written, errors = self.writer(stop, up, random.Random(seed + 1))
        for d in delays:
            time.sleep(d)  # a random moment while the writer appends: the test's input
            a.kill()
            a.start()
            up.set()
        stop.set()
        t.join(10)
        self.assertFalse(t.is_alive(), "the writer did not stop")
        self.assertEqual(errors, [])
        rotations = len([f for f in os.listdir(self.logs) if f.startswith("app.log.")])
        killed_at = time.monotonic()

        # Everything reaches the bucket: every line in an object, nothing left staged or queued.
        def all_uploaded():
            if int(metrics(a)["CHANNEL.c1"]["ChannelSize"]) != 0:
                return False
            if [f for f in os.listdir(staging) if f.endswith(".data")]:
                return False
            seen = self.ids_by_line(self.bodies())
            return all(l in seen for l in written)
        try:
            wait_for(all_uploaded, timeout=60, interval=0.25, what="every line in the bucket")
        except AssertionError:
            seen = self.ids_by_line(self.bodies())
            missing = [l for l in written if l not in seen]
            raise AssertionError(f"{len(missing)} of {len(written)} lines missing from the "
                                 f"bucket, e.g. {missing[:5]}; staging: "
                                 f"{sorted(os.listdir(staging))}; {self.where(missing)}")
        drained_at = time.monotonic()
        self.assertEqual(a.stop(), 0)

        bodies = self.bodies()
        keys = sorted(bodies)
        seen = self.ids_by_line(bodies)
        # No in-progress or temporary object, no multipart upload left behind.
        self.assertEqual([k for k in keys if not KEY_RE.match(k)], [], "unexpected keys")
        self.assertEqual(self.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []), [])
        # One ObjectCreated notification per object: nothing else was ever created, even for a
        # moment (a temporary key, or a replay overwriting a key).
        wait_for(lambda: len(self.hook.records()) >= len(keys), timeout=20,
                 what="one notification per object")
        self.assertEqual(sorted(r["s3"]["object"]["key"] for r in self.hook.records()), keys)
        # No object is a copy of another (a replay under a second key).
        by_body = collections.defaultdict(list)
        for k, data in bodies.items():
            by_body[data].append(k)
        copies = [ks for ks in by_body.values() if len(ks) > 1]
        self.assertEqual(copies, [], "objects with the same bytes under different keys")
        self.assertNotIn(b"", bodies.values(), "an empty object")
        # Every line exactly once; a duplicate says who made it.
        self.assertEqual([l for l in written if l not in seen], [], "lines lost")
        twice = {l: ids for l, ids in seen.items() if len(ids) > 1}
        if twice:
            resent = {l: ids for l, ids in twice.items() if len(set(ids)) > 1}
            redelivered = {l: ids for l, ids in twice.items() if len(set(ids)) == 1}
            first = sorted(twice)[0]
            where = [k for k in keys if first in bodies[k]]
            self.fail(f"{len(twice)} lines in the bucket more than once: {len(resent)} put in "
                      f"the channel twice by the source (e.g. {sorted(resent)[:3]}), "
                      f"{len(redelivered)} staged twice by the sink (e.g. "
                      f"{sorted(redelivered)[:3]}); {first!r} is in {where}")
        self.assertEqual(sorted(seen), sorted(written), "lines nobody wrote")
        self.assertGreater(len(written), 2000)
        self.assertGreaterEqual(rotations, 10)
        print(f"seed {seed}: {self.KILLS} kills, {len(written)} lines, {rotations} rotations, "
              f"{len(keys)} objects; kills took {killed_at - started:.1f} s, drain "
              f"{drained_at - killed_at:.1f} s, total {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    unittest.main()
