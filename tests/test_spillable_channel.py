"""spillablememory on the real agent: a sink slower than the source (file_roll taking 3 events a
transaction) makes the memory (50 events) fill and spill to the overflow; every event reaches the
output once, in the order it was sent. And `type = jdbc` is refused in one line.
"""
import glob
import os
import unittest

from harness import AgentTestCase, connect, metrics, recv_lines, run_agent_once, wait_for


def config(tmp, out, extra=""):
    return f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.channels = c1
a1.channels.c1.type = spillablememory
a1.channels.c1.memoryCapacity = 50
a1.channels.c1.overflowCapacity = 100000
a1.channels.c1.overflowTimeout = 0
a1.channels.c1.checkpointDir = {tmp}/checkpoint
a1.channels.c1.dataDirs = {tmp}/data
a1.channels.c1.transactionCapacity = 1000
a1.channels.c1.minimumRequiredSpace = 1048576
a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = {out}
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.batchSize = 3
{extra}"""


class SpillableChannelTest(AgentTestCase):
    def test_spills_and_keeps_order(self):
        out = os.path.join(self.tmp, "out")
        os.makedirs(out)
        agent = self.start_agent(config(os.path.join(self.tmp, "chan"), out),
                                 args=["--metrics-port", "0"])
        sent = [f"event-{i:05d}" for i in range(3000)]
        s = connect(agent.port("r1"))
        s.sendall("".join(l + "\n" for l in sent).encode())
        self.assertEqual(recv_lines(s, len(sent), timeout=60), [b"OK"] * len(sent))
        s.close()

        def output():
            lines = []
            for f in sorted(glob.glob(os.path.join(out, "*"))):
                lines += open(f).read().splitlines()
            return lines
        wait_for(lambda: len(output()) >= len(sent), timeout=60, what="every event written")
        self.assertEqual(output(), sent)
        m = metrics(agent)["CHANNEL.c1"]
        self.assertEqual(m["ChannelSize"], "0")
        self.assertEqual(m["ChannelCapacity"], "100050")
        agent.stop()

    def test_jdbc_is_refused_in_one_line(self):
        cfg = config("/tmp/x", "/tmp/y").replace("c1.type = spillablememory", "c1.type = jdbc")
        code, output = run_agent_once(cfg)
        self.assertNotEqual(code, 0)
        lines = [l for l in output.splitlines() if "jdbc channel" in l]
        self.assertEqual(len(lines), 1, output)
        self.assertIn("use type = file (durable) or spillablememory", lines[0])


if __name__ == "__main__":
    unittest.main()
