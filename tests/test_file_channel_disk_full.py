"""file channel on a full disk, with real processes: refusal, then full recovery, nothing
acknowledged lost (issue 6).

netcat (acks) -> file channel on a 24 MiB tmpfs -> S3 sink -> a gate proxy -> `ingestor store`.
While the gate answers 503 SlowDown the sink cannot drain (it stages at most 1 MB), so the
acknowledged lines fill the volume until the channel refuses puts: netcat answers
"FAILED: Usable space exhausted ..." before any write reaches ENOSPC, the agent keeps running
and says so in its log and metrics. Then:
  A. the gate opens, the sink drains, the channel frees its segments and accepts again, in the
     same process (the channel's maxFileSize is Flume's default, 2 GB: one segment holds the
     whole volume);
  B. the volume is filled again, the agent is SIGKILLed while the disk is full and restarted on
     it: replay must succeed on the full disk, refuse puts still, and recover once the gate
     opens.
At the end every acknowledged line is in the bucket exactly once and no refused line is.

The tmpfs needs CAP_SYS_ADMIN: as root the test mounts it directly; otherwise it runs the agent
inside `unshare -rm` (a user + mount namespace with its own tmpfs, entered with nsenter for each
agent start: disk_full_harness.Volume); if neither works it is skipped with the reason.
"""
import os
import re
import time
import unittest

from disk_full_harness import NsAgent, Sender, Volume
from harness import metrics, wait_for
from test_s3_sink import S3SinkTest, ThrottleProxy, sink_config

VOLUME = "24m"
WINDOW = 200


class DiskFullTest(S3SinkTest):
    def setUp(self):
        super().setUp()
        self.vol = Volume(os.path.join(self.tmp, "vol"), VOLUME)
        self.mode = self.vol.mount()
        self.proxy = ThrottleProxy(self.store.port)
        self.addCleanup(self.proxy.stop)
        self.acked, self.refused = [], []
        self.next_id = 0

    def tearDown(self):
        for a in self.agents:  # off the volume before it goes away
            a.kill()
        self.vol.unmount()
        super().tearDown()

    def config(self):
        v = self.vol.path
        channel = "\n".join([
            "a1.channels.c1.type = file",
            f"a1.channels.c1.checkpointDir = {v}/checkpoint",
            f"a1.channels.c1.dataDirs = {v}/data",
            "a1.channels.c1.capacity = 1000000",
            "a1.channels.c1.transactionCapacity = 1000",
            "a1.channels.c1.checkpointInterval = 1000",
            "a1.channels.c1.minimumRequiredSpace = 1048576",
            "a1.channels.c1.keep-alive = 1"]) + "\n"
        extra = ("a1.sinks.k1.s3.maxStagedBytes = 1000000\n"
                 "a1.sources.r1.max-line-length = 2048\n")
        cfg = sink_config(f"http://127.0.0.1:{self.proxy.port}",
                          os.path.join(self.tmp, "staging"), extra, channel=channel)
        # Objects of 256 KiB: the sink drains as fast as it uploads, not one object a second.
        roll = "a1.sinks.k1.hdfs.rollSize = 0\n"
        assert roll in cfg
        return cfg.replace(roll, "a1.sinks.k1.hdfs.rollSize = 262144\n")

    def start_agent(self, agent=None):
        if agent is None:
            tmp = os.path.join(self.tmp, "agent")
            os.makedirs(tmp, exist_ok=True)
            agent = NsAgent(self.config(), self.vol.prefix, tmp=tmp,
                            args=["--metrics-port", "0"])
            self.agents.append(agent)
        return agent.start()

    def send(self, sender, n=WINDOW):
        ids = [f"df-{self.next_id + i:07d}" for i in range(n)]
        self.next_id += n
        out = sender.window(ids)
        for i, r in out:
            if r == b"OK":
                self.acked.append(i)
            else:
                self.assertTrue(r.startswith(b"FAILED: "), f"unexpected reply {r!r}")
                self.refused.append((i, r))
        return out

    def fill_until_refused(self, agent):
        """Sends acknowledged windows until the channel refuses a whole window."""
        s = Sender(agent.port("r1"))
        deadline = time.monotonic() + 60
        try:
            while True:
                self.assertLess(time.monotonic(), deadline, "the channel never refused a put")
                out = self.send(s)
                if all(r != b"OK" for _, r in out):
                    return out
        finally:
            s.close()

    def check_refusal(self, agent, out):
        self.assertIsNone(agent.proc.poll(), "the agent must keep running on a full disk")
        reasons = {r for _, r in out}
        # The reserve refuses before the volume is full: no write ever reaches ENOSPC (where even
        # the sink's take records and the checkpoints would fail).
        self.assertTrue(all(re.fullmatch(rb"FAILED: Usable space exhausted, only \d+ bytes "
                                         rb"remaining, required 1048576 bytes", r)
                            for r in reasons), reasons)
        m = metrics(agent)
        self.assertGreater(int(m["SOURCE.r1"]["ChannelWriteFail"]), 0)
        self.assertGreater(int(m["CHANNEL.c1"]["EventPutErrorCount"]), 0)
        self.assertEqual(m["CHANNEL.c1"]["Unhealthy"], "0")
        self.assertGreater(int(m["CHANNEL.c1"]["ChannelSize"]), 10000)
        wait_for(lambda: "usable space exhausted" in agent.output().lower(), timeout=10,
                 what="a warning in the agent's log")
        return m

    def drain_and_accept(self, agent):
        """Opens the gate; the sink drains, and the channel must accept puts again."""
        self.proxy.throttling = False
        s = Sender(agent.port("r1"))
        try:
            wait_for(lambda: all(r == b"OK" for _, r in self.send(s, 20)), timeout=60,
                     interval=0.2, what="the channel accepting puts again after the drain")
            # Accepting again for good: a full volume's worth more goes through.
            for _ in range(30):
                out = self.send(s)
                self.assertTrue(all(r == b"OK" for _, r in out), out[:3])
        finally:
            s.close()

    def test_full_disk_refuses_then_recovers_without_losing_acknowledged_lines(self):
        t0 = time.monotonic()
        marks = []

        def mark(what):
            marks.append(f"{what} {time.monotonic() - t0:.1f}s")
        self.proxy.throttling = True
        agent = self.start_agent()

        # Fill, refuse, recover in the same process.
        out = self.fill_until_refused(agent)
        n_acked_a = len(self.acked)
        self.assertGreater(n_acked_a, 15000, "about 20 MiB should have been accepted")
        self.check_refusal(agent, out)
        mark("A: refused")
        self.drain_and_accept(agent)
        mark("A: accepting again")

        # Fill again, crash while full, restart on the full volume, recover.
        self.proxy.throttling = True
        out = self.fill_until_refused(agent)
        self.check_refusal(agent, out)
        before = int(metrics(agent)["CHANNEL.c1"]["ChannelSize"])
        mark("B: refused")
        agent.kill()
        self.start_agent(agent)
        mark("B: restarted")
        m = metrics(agent)
        self.assertEqual(m["CHANNEL.c1"]["Unhealthy"], "0", agent.output()[-3000:])
        self.assertGreaterEqual(int(m["CHANNEL.c1"]["ChannelSize"]), before - 2000)
        s = Sender(agent.port("r1"))
        try:
            self.assertTrue(all(r != b"OK" for _, r in self.send(s, 20)),
                            "a restarted channel on a full disk must still refuse puts")
        finally:
            s.close()
        self.drain_and_accept(agent)
        mark("B: accepting again")

        def drained():
            m = metrics(agent)
            return m["CHANNEL.c1"]["ChannelSize"] == "0" and m
        m = wait_for(drained, timeout=60, what="an empty channel")
        self.assertEqual(m["CHANNEL.c1"]["Unhealthy"], "0")
        self.assertEqual(m["CHANNEL.c1"]["CorruptRecordCount"], "0")
        agent.stop()  # seals and uploads the last object
        mark("drained")

        lines = self.all_lines()
        ids = [l.split(b" ", 1)[0].decode() for l in lines]
        counts = {}
        for i in ids:
            counts[i] = counts.get(i, 0) + 1
        dups = {i: c for i, c in counts.items() if c > 1}
        self.assertEqual(dups, {}, "lines delivered more than once")
        missing = set(self.acked) - counts.keys()
        self.assertEqual(len(missing), 0, f"acknowledged lines lost: {sorted(missing)[:10]}")
        refused = {i for i, _ in self.refused}
        self.assertEqual(refused & counts.keys(), set(), "refused lines must not be delivered")
        self.assertEqual(len(ids), len(self.acked))
        self.assertNotIn("No space left on device", agent.output())
        print(f"\n[{self.mode}] acknowledged {len(self.acked)} lines, refused "
              f"{len(self.refused)}; reasons: "
              f"{sorted({r.decode()[:42] for _, r in self.refused})}; {', '.join(marks)}")


if __name__ == "__main__":
    unittest.main()
