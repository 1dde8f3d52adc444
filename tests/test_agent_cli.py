"""`ingestor agent` command line and configuration errors, against the real binary."""
import os
import socket
import subprocess
import tempfile
import unittest

from harness import BIN, AgentTestCase, http, metrics, run_agent_once, wait_for, connect, recv_lines

GOOD = """a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
"""


class ConfigErrorTest(unittest.TestCase):
    def assertRefused(self, config, *needles, args=()):
        code, out = run_agent_once(config, args=args)
        self.assertNotEqual(code, 0, out)
        for n in needles:
            self.assertIn(n, out)
        return out

    def test_unknown_type_names_component_and_key(self):
        self.assertRefused(GOOD.replace("type = netcat", "type = netcatt"),
                           "a1.sources.r1.type", "unknown source type 'netcatt'")

    def test_unknown_key_suggests_the_right_one(self):
        self.assertRefused(GOOD + "a1.sources.r1.prot = 4\n", "a1.sources.r1.prot", "did you mean 'port'")

    def test_bad_number(self):
        self.assertRefused(GOOD.replace("port = 0", "port = abc"), "a1.sources.r1.port", "abc")

    def test_sink_with_plural_channels(self):
        self.assertRefused(GOOD.replace("a1.sinks.k1.channel = c1", "a1.sinks.k1.channels = c1"),
                           "sink k1", "channels")

    def test_unknown_channel(self):
        self.assertRefused(GOOD.replace("a1.sources.r1.channels = c1", "a1.sources.r1.channels = c9"),
                           "c9")

    def test_batch_size_over_transaction_capacity(self):
        self.assertRefused(GOOD + "a1.channels.c1.transactionCapacity = 10\na1.sinks.k1.batchSize = 50\n",
                           "a1.sinks.k1.batchSize", "transactionCapacity")

    def test_transaction_capacity_over_capacity(self):
        self.assertRefused(GOOD + "a1.channels.c1.capacity = 10\na1.channels.c1.transactionCapacity = 50\n",
                           "channel c1", "capacity")

    def test_file_channel_transaction_capacity_over_capacity_names_the_channel(self):
        with tempfile.TemporaryDirectory() as d:
            out = self.assertRefused(
                GOOD.replace("type = memory", "type = file") +
                f"a1.channels.c1.checkpointDir = {d}/cp\na1.channels.c1.dataDirs = {d}/data\n"
                "a1.channels.c1.capacity = 10\na1.channels.c1.transactionCapacity = 50\n",
                "error: channel c1: a1.channels.c1: ", "transactionCapacity 50, capacity 10")
            self.assertNotIn("a1.channels.c1.:", out)

    def test_one_line_per_problem(self):
        out = self.assertRefused(GOOD + "a1.sources.r1.foo = 1\na1.sinks.k1.bar = 2\n", "foo", "bar")
        self.assertEqual(len([l for l in out.splitlines() if l.startswith("error:")]), 2, out)

    def test_missing_agent(self):
        code, out = run_agent_once(GOOD, name="zz")
        self.assertNotEqual(code, 0)
        self.assertIn("zz", out)

    def test_missing_file(self):
        p = subprocess.run([BIN, "agent", "-n", "a1", "-f", "/nonexistent/agent.conf"],
                           capture_output=True, timeout=20)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"/nonexistent/agent.conf", p.stderr)


class CliTest(AgentTestCase):
    def test_help_for_each_command(self):
        for cmd in (["--help"], ["agent", "--help"], ["up", "--help"]):
            p = subprocess.run([BIN] + cmd, capture_output=True, timeout=20)
            self.assertEqual(p.returncode, 0, cmd)
            self.assertIn(b"Usage", p.stdout)
        p = subprocess.run([BIN, "agent", "--help"], capture_output=True, timeout=20)
        for flag in (b"--name", b"--conf-file", b"--conf", b"--no-reload-conf", b"-D", b"--lenient"):
            self.assertIn(flag, p.stdout)

    def test_describe_prints_keys_and_defaults_from_the_spec(self):
        p = subprocess.run([BIN, "agent", "--describe", "netcat"], capture_output=True, timeout=20)
        self.assertEqual(p.returncode, 0)
        for word in (b"max-line-length", b"512", b"ack-every-event", b"bind", b"port"):
            self.assertIn(word, p.stdout)
        p = subprocess.run([BIN, "agent", "--describe", "org.apache.flume.channel.MemoryChannel"],
                           capture_output=True, timeout=20)
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"transactionCapacity", p.stdout)
        p = subprocess.run([BIN, "agent", "--describe", "nope"], capture_output=True, timeout=20)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"netcat", p.stderr)

    def test_describe_lists_issue_18_storage_types(self):
        for name, words in (
                ("spillablememory", [b"memoryCapacity", b"overflowCapacity", b"overflowTimeout",
                                     b"avgEventSize", b"byteCapacityBufferPercentage",
                                     b"checkpointDir", b"dataDirs"]),
                ("org.apache.flume.channel.SpillableMemoryChannel", [b"memoryCapacity"]),
                ("jdbc", [b"Not supported"]),
                ("http", [b"endpoint", b"connectTimeout", b"requestTimeout", b"contentTypeHeader",
                          b"acceptHeader", b"defaultBackoff", b"defaultRollback",
                          b"defaultIncrementMetrics", b"backoff.", b"rollback.",
                          b"incrementMetrics."]),
                ("org.apache.flume.sink.http.HttpSink", [b"endpoint"]),
                ("hdfs", [b"file:///dir", b"inUsePrefix", b"inUseSuffix", b"bzip2",
                          b"deadLetterDir"])):
            p = subprocess.run([BIN, "agent", "--describe", name], capture_output=True, timeout=20)
            self.assertEqual(p.returncode, 0, name)
            for w in words:
                self.assertIn(w, p.stdout, (name, w))

    def test_flume_builtins_not_provided_are_refused_as_such(self):
        code, out = run_agent_once(
            GOOD.replace("a1.sinks.k1.type = null", "a1.sinks.k1.type = org.apache.flume.sink.hbase.HBaseSink")
            .replace("a1.sources.r1.type = netcat", "a1.sources.r1.type = thrift"))
        self.assertEqual(code, 1, out)
        self.assertIn("HBase sinks are not supported", out)
        self.assertIn("the thrift source (Flume's Thrift RPC) is not supported", out)
        self.assertNotIn("unknown sink type", out)

    def test_check_validates_prints_the_wiring_and_binds_nothing(self):
        # A port that is busy: a real start would fail to bind it, --check never tries.
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        cfg = GOOD.replace("a1.sources.r1.port = 0", f"a1.sources.r1.port = {port}") + \
            "a1.sources.r1.interceptors = t\na1.sources.r1.interceptors.t.type = timestamp\n"
        try:
            code, out = run_agent_once(cfg, args=["--check"])
        finally:
            busy.close()
        self.assertEqual(code, 0, out)
        self.assertIn("agent a1: configuration OK: 1 source(s), 1 channel(s), 1 sink(s)", out)
        self.assertIn("source r1 (netcat) -> c1 [replicating] interceptors: t(timestamp)", out)
        self.assertIn("sink k1 (null) <- c1", out)
        code, out = run_agent_once(GOOD.replace("type = null", "type = nul"), args=["--check"])
        self.assertEqual(code, 1, out)
        self.assertIn("a1.sinks.k1.type", out)
        self.assertNotIn("configuration OK", out)

    def test_lenient_drops_bad_component_and_runs_the_rest(self):
        cfg = GOOD.replace("a1.sources = r1", "a1.sources = r1 r2") + \
            "a1.sources.r2.type = netcatt\na1.sources.r2.channels = c1\n"
        code, out = run_agent_once(cfg)
        self.assertNotEqual(code, 0)
        a = self.start_agent(cfg, args=["--lenient"])
        self.assertIn("r1", a.status["sources"])
        self.assertNotIn("r2", a.status["sources"])
        s = connect(a.port("r1"))
        s.sendall(b"hello\n")
        self.assertEqual(recv_lines(s, 1), [b"OK"])

    def test_flume_flags_and_class_names(self):
        cfg = GOOD.replace("type = netcat", "type = org.apache.flume.source.NetcatSource") \
                  .replace("type = memory", "type = MEMORY")
        a = self.start_agent(cfg, args=["-c", self.tmp, "--no-reload-conf", "-Dflume.monitoring.type=http",
                                        "-Dflume.monitoring.port=0", "-Dflume.root.logger=INFO,console"])
        self.assertGreater(a.metrics_port, 0)
        self.assertIn("SOURCE.r1", metrics(a))

    def test_later_conf_files_override_and_env_substitution(self):
        over = os.path.join(self.tmp, "over.conf")
        with open(over, "w") as f:
            f.write("a1.sources.r1.max-line-length = ${env:INGESTOR_TEST_MAXLEN}\n")
        a = self.start_agent(GOOD, args=["-f", over], env={"INGESTOR_TEST_MAXLEN": "5"})
        s = connect(a.port("r1"))
        s.sendall(b"123456\n")
        self.assertEqual(recv_lines(s, 1), [b"FAILED: Event exceeds the maximum length (5 chars, including newline)"])


if __name__ == "__main__":
    unittest.main()
