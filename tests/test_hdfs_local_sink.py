"""hdfs sink on local paths against the real agent: in-use names while a file is written, final
names after, files readable by gzip -d / bzip2 -d / zstd -d, hdfs:// refused in one line, and
SIGKILL losing no event whose take the file channel committed.
"""
import glob
import os
import random
import subprocess
import threading
import time
import unittest

from harness import Agent, AgentTestCase, connect, metrics, recv_lines, run_agent_once, wait_for
from test_file_channel import Client, output_ids

CODECS = {"gzip": ("gz", ["gzip", "-dc"]), "bzip2": ("bz2", ["bzip2", "-dc"]),
          "zstd": ("zst", ["zstd", "-dcq"])}


def codec_config(out, roll_interval):
    lines = ["a1.sources = r1", "a1.channels = " + " ".join(f"c{c}" for c in CODECS),
             "a1.sinks = " + " ".join(f"k{c}" for c in CODECS),
             "a1.sources.r1.type = netcat", "a1.sources.r1.bind = 127.0.0.1",
             "a1.sources.r1.port = 0",
             "a1.sources.r1.channels = " + " ".join(f"c{c}" for c in CODECS)]
    for c in CODECS:
        lines += [f"a1.channels.c{c}.type = memory",
                  f"a1.sinks.k{c}.type = hdfs", f"a1.sinks.k{c}.channel = c{c}",
                  f"a1.sinks.k{c}.hdfs.path = file://{out}/{c}/%{{topic}}",
                  f"a1.sinks.k{c}.hdfs.filePrefix = events",
                  f"a1.sinks.k{c}.hdfs.inUsePrefix = _",
                  f"a1.sinks.k{c}.hdfs.fileType = CompressedStream",
                  f"a1.sinks.k{c}.hdfs.codeC = {c}",
                  f"a1.sinks.k{c}.hdfs.rollInterval = {roll_interval}",
                  f"a1.sinks.k{c}.hdfs.rollSize = 0", f"a1.sinks.k{c}.hdfs.rollCount = 0",
                  f"a1.sinks.k{c}.hdfs.batchSize = 10"]
    lines += ["a1.sources.r1.interceptors = i1", "a1.sources.r1.interceptors.i1.type = static",
              "a1.sources.r1.interceptors.i1.key = topic",
              "a1.sources.r1.interceptors.i1.value = web"]
    return "\n".join(lines) + "\n"


def kill_config(tmp, out):
    return f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.channels = c1
a1.channels.c1.type = file
a1.channels.c1.checkpointDir = {tmp}/checkpoint
a1.channels.c1.dataDirs = {tmp}/data1
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = 1000
a1.channels.c1.checkpointInterval = 1000
a1.channels.c1.maxFileSize = 262144
a1.channels.c1.minimumRequiredSpace = 1048576
a1.sinks.k1.type = hdfs
a1.sinks.k1.channel = c1
a1.sinks.k1.hdfs.path = {out}
a1.sinks.k1.hdfs.fileType = DataStream
a1.sinks.k1.hdfs.rollInterval = 0
a1.sinks.k1.hdfs.rollSize = 0
a1.sinks.k1.hdfs.rollCount = 500
a1.sinks.k1.hdfs.batchSize = 100
"""


class HdfsLocalSinkTest(AgentTestCase):
    def test_in_use_names_then_final_names_readable_by_each_tool(self):
        out = os.path.join(self.tmp, "out")
        agent = self.start_agent(codec_config(out, 3))
        s = connect(agent.port("r1"))
        sent = [f"line {i} " + "x" * (i % 50) for i in range(200)]
        s.sendall("".join(l + "\n" for l in sent).encode())
        self.assertEqual(recv_lines(s, len(sent)), [b"OK"] * len(sent))
        s.close()
        # While the files are written they carry the in-use names, and what was taken is in them.
        for c, (ext, tool) in CODECS.items():
            in_use = os.path.join(out, c, "web", f"_events.*.{ext}.tmp")
            wait_for(lambda: glob.glob(in_use), what=f"an in-use {c} file")
            f = glob.glob(in_use)[0]
            def decoded():
                with open(f, "rb") as fh:
                    t = subprocess.run(tool, stdin=fh, capture_output=True).stdout
                return t if t.count(b"\n") == len(sent) else None
            text = wait_for(decoded, what=f"every event in the in-use {c} file")
            self.assertEqual(text.decode().splitlines(), sent)
        # After the roll interval: final names only, readable by the command-line tools.
        for c, (ext, tool) in CODECS.items():
            final = os.path.join(out, c, "web", f"events.*.{ext}")
            wait_for(lambda: glob.glob(final) and not glob.glob(final + ".tmp"),
                     what=f"the {c} file closed")
            self.assertEqual(os.listdir(os.path.join(out, c, "web")),
                             [os.path.basename(glob.glob(final)[0])])
            p = subprocess.run(tool + [glob.glob(final)[0]], capture_output=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout.decode().splitlines(), sent)
        agent.stop()

    def test_hdfs_paths_are_refused_in_one_line(self):
        cfg = kill_config(self.tmp, "/x").replace(
            "hdfs.path = /x", "hdfs.path = hdfs://namenode:8020/flume/%Y")
        code, output = run_agent_once(cfg)
        self.assertNotEqual(code, 0)
        lines = [l for l in output.splitlines() if "HDFS is not supported" in l]
        self.assertEqual(len(lines), 1, output)
        self.assertIn("hdfs.path = s3a://<bucket>/flume/%Y", lines[0])
        self.assertIn("hdfs.path = file:///flume/%Y", lines[0])

    def test_sigkill_loses_no_acknowledged_event(self):
        rng = random.Random(18)
        tmp = os.path.join(self.tmp, "chan")
        out = os.path.join(self.tmp, "out")
        os.makedirs(os.path.join(self.tmp, "agent"))
        agent = Agent(kill_config(tmp, out), tmp=os.path.join(self.tmp, "agent"),
                      args=["--metrics-port", "0"])
        self.agents.append(agent)
        acked, lock = set(), threading.Lock()
        for round_ in range(6):
            agent.start()
            port = agent.port("r1")
            clients = [Client(port, f"{round_}-{c}", acked, lock, rng) for c in range(3)]
            for c in clients:
                c.start()
            time.sleep(rng.uniform(0.2, 1.0))
            agent.kill()
            for c in clients:
                c.join(10)
                self.assertFalse(c.is_alive(), "client did not notice the kill")
        self.assertGreater(len(acked), 500, "the clients should have had events acknowledged")
        agent.start()
        wait_for(lambda: acked <= output_ids(out), timeout=30,
                 what="every acknowledged id in the hdfs sink's files")
        wait_for(lambda: metrics(agent)["CHANNEL.c1"]["ChannelSize"] == "0", timeout=20,
                 what="an empty channel")
        agent.stop()
        # Stopped cleanly: every file has its final name; in-use files the kills left were
        # closed at the next start.
        names = os.listdir(out)
        self.assertTrue(names)
        self.assertEqual([n for n in names if n.endswith(".tmp")], [])
        self.assertEqual(acked - output_ids(out), set())


if __name__ == "__main__":
    unittest.main()
