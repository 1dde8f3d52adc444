"""file channel against the real agent: SIGKILL at random moments loses nothing acknowledged.

netcat (acks on) -> file channel -> file_roll. Clients record every id the agent acknowledged
with OK; the agent is killed with SIGKILL at random moments and restarted on the same
directories. At the end every acknowledged id is in the output at least once (file_roll is
at-least-once) and the channel is empty.
"""
import glob
import os
import random
import socket
import threading
import time
import unittest

from harness import Agent, AgentTestCase, connect, metrics, wait_for


def config(tmp, out):
    return f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.channels = c1
a1.channels.c1.type = file
a1.channels.c1.checkpointDir = {tmp}/checkpoint
a1.channels.c1.dataDirs = {tmp}/data1,{tmp}/data2
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = 1000
a1.channels.c1.checkpointInterval = 1000
a1.channels.c1.maxFileSize = 262144
a1.channels.c1.minimumRequiredSpace = 1048576
a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = {out}
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.batchSize = 100
"""


def output_ids(out):
    ids = set()
    for f in glob.glob(os.path.join(out, "*")):
        with open(f, "rb") as fh:
            for line in fh.read().split(b"\n"):
                if line.startswith(b"id-"):
                    ids.add(line.split(b" ")[0].decode())
    return ids


class Client(threading.Thread):
    """Sends pipelined windows of lines and records the ids acknowledged with OK."""

    def __init__(self, port, prefix, acked, lock, rng):
        super().__init__(daemon=True)
        self.port, self.prefix, self.acked, self.lock, self.rng = port, prefix, acked, lock, rng
        self.n = 0

    def run(self):
        try:
            s = connect(self.port, timeout=5)
        except OSError:
            return
        buf = b""
        try:
            while True:
                k = self.rng.randint(1, 40)
                ids = [f"id-{self.prefix}-{self.n + i}" for i in range(k)]
                self.n += k
                pad = "x" * self.rng.randint(0, 200)
                s.sendall(b"".join(f"{i} {pad}\n".encode() for i in ids))
                got = 0
                while got < k:
                    while b"\n" not in buf:
                        chunk = s.recv(65536)
                        if not chunk:
                            return
                        buf += chunk
                    line, buf = buf.split(b"\n", 1)
                    if line == b"OK":
                        with self.lock:
                            self.acked.add(ids[got])
                    got += 1
        except OSError:
            return
        finally:
            s.close()


class FileChannelKillTest(AgentTestCase):
    def test_sigkill_loses_no_acknowledged_event(self):
        rng = random.Random(6)
        tmp = os.path.join(self.tmp, "chan")
        out = os.path.join(self.tmp, "out")
        os.makedirs(out)
        os.makedirs(os.path.join(self.tmp, "agent"))
        agent = Agent(config(tmp, out), tmp=os.path.join(self.tmp, "agent"),
                      args=["--metrics-port", "0"])
        self.agents.append(agent)
        acked, lock = set(), threading.Lock()
        kills = 12
        for round_ in range(kills):
            agent.start()
            port = agent.port("r1")
            clients = [Client(port, f"{round_}-{c}", acked, lock, rng) for c in range(3)]
            for c in clients:
                c.start()
            time.sleep(rng.uniform(0.15, 1.2))
            agent.kill()
            for c in clients:
                c.join(10)
                self.assertFalse(c.is_alive(), "client did not notice the kill")
        self.assertGreater(len(acked), 1000, "the clients should have had events acknowledged")
        agent.start()
        wait_for(lambda: acked <= output_ids(out), timeout=30,
                 what="every acknowledged id in the file_roll output")

        def drained():
            m = metrics(agent)
            return m["CHANNEL.c1"]["ChannelSize"] == "0" and m["CHANNEL.c1"]
        m = wait_for(drained, timeout=20, what="an empty channel")
        self.assertEqual(m["Unhealthy"], "0")
        missing = acked - output_ids(out)
        self.assertEqual(missing, set())
        agent.stop()


if __name__ == "__main__":
    unittest.main()
