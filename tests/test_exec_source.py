"""exec and seq sources against the real agent: tail -F of a growing file, exit statuses logged,
counted and restarted, a full channel blocking the command with nothing lost, the command gone
when the agent is SIGKILLed, stderr logged escaped, and seq's exact 0..N-1.
"""
import datetime
import glob
import os
import subprocess
import sys
import threading
import time
import unittest

from harness import (BIN, AgentTestCase, PausableServer, metrics, rolled, run_agent_once,
                     wait_for)


def file_roll(outdir, channel="c1"):
    return f"""a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = {channel}
a1.sinks.k1.sink.directory = {outdir}
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.batchSize = 100
"""


def config(source, sink, channel="a1.channels.c1.capacity = 10000\n"
                                  "a1.channels.c1.transactionCapacity = 1000"):
    return f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.channels = c1
{source}
a1.channels.c1.type = memory
{channel}
{sink}
"""


def gone(pid):
    """True once the process no longer exists (or is a zombie nobody reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


# Writes N lines of 500 bytes, recording its pid and, after each line, how many it wrote.
WRITER = """import os, sys
n, progress = int(sys.argv[1]), sys.argv[2]
with open(progress + ".pid", "w") as f:
    f.write(str(os.getpid()))
for i in range(n):
    sys.stdout.write("%06d" % i + "x" * 493 + "\\n")
    sys.stdout.flush()
    with open(progress + ".tmp", "w") as f:
        f.write(str(i + 1))
    os.replace(progress + ".tmp", progress)
"""


class ExecSourceTest(AgentTestCase):
    def setUp(self):
        super().setUp()
        self.out = os.path.join(self.tmp, "out")
        os.makedirs(self.out)

    def start(self, source, sink=None, **kw):
        return self.start_agent(config(source, sink or file_roll(self.out), **kw),
                                args=["--metrics-port", "0"])

    def lines(self):
        return rolled(self.out).splitlines()

    def test_tail_F_of_a_growing_file(self):
        log = os.path.join(self.tmp, "app.log")
        open(log, "w").close()
        self.start(f"""a1.sources.r1.type = exec
a1.sources.r1.command = tail -F {log}
a1.sources.r1.batchTimeout = 100""")
        expected = []
        for round_ in range(3):
            batch = [f"round{round_}-line{i}".encode() for i in range(5)]
            with open(log, "ab") as f:
                f.write(b"".join(l + b"\n" for l in batch))
            expected += batch
            wait_for(lambda: self.lines() == expected, what=f"round {round_} in the output")

    def test_exit_status_is_logged_and_counted(self):
        a = self.start("""a1.sources.r1.type = exec
a1.sources.r1.shell = /bin/sh -c
a1.sources.r1.command = echo ran; exit 5
a1.sources.r1.batchTimeout = 100""")
        wait_for(lambda: metrics(a)["SOURCE.r1"]["CommandExitCount"] == "1", what="one exit")
        m = metrics(a)["SOURCE.r1"]
        self.assertEqual(m["CommandLastExitCode"], "5")
        self.assertEqual(m["CommandNonZeroExitCount"], "1")
        self.assertEqual(m["CommandRunning"], "0")
        wait_for(lambda: self.lines() == [b"ran"], what="the line")
        wait_for(lambda: "Command [echo ran; exit 5] exited with 5" in a.output(), what="log")
        self.assertNotIn("restarting", a.output())

    def test_restart_runs_the_command_again_after_restart_throttle(self):
        a = self.start("""a1.sources.r1.type = exec
a1.sources.r1.shell = /bin/sh -c
a1.sources.r1.command = echo ran; exit 7
a1.sources.r1.restart = true
a1.sources.r1.restartThrottle = 500
a1.sources.r1.batchTimeout = 50""")
        wait_for(lambda: int(metrics(a)["SOURCE.r1"]["CommandExitCount"]) >= 3, what="3 exits")
        # Each run starts restartThrottle after the previous one exited (log timestamps).
        stamps = [datetime.datetime.fromisoformat(l.split()[0]) for l in a.output().splitlines()
                  if "starting with command" in l or "exited with 7" in l][:6]
        self.assertEqual(len(stamps), 6)
        for exited, started in zip(stamps[1::2], stamps[2::2]):
            self.assertGreaterEqual((started - exited).total_seconds(), 0.49)
        m = metrics(a)["SOURCE.r1"]
        self.assertEqual(m["CommandLastExitCode"], "7")
        self.assertGreaterEqual(int(m["CommandStartCount"]), 3)
        self.assertIn("exited with 7; restarting in 500 ms", a.output())
        wait_for(lambda: len(self.lines()) >= 3, what="3 lines")
        self.assertEqual(set(self.lines()), {b"ran"})

    def test_full_channel_blocks_the_command_and_loses_nothing(self):
        server = PausableServer()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        script = os.path.join(self.tmp, "writer.py")
        with open(script, "w") as f:
            f.write(WRITER)
        progress = os.path.join(self.tmp, "progress")
        n = 3000
        a = self.start(f"""a1.sources.r1.type = exec
a1.sources.r1.command = {sys.executable} {script} {n} {progress}
a1.sources.r1.batchSize = 10
a1.sources.r1.batchTimeout = 50""", sink=f"""a1.sinks.k1.type = http
a1.sinks.k1.channel = c1
a1.sinks.k1.endpoint = http://127.0.0.1:{server.server_address[1]}/
a1.sinks.k1.backoff.200 = false
a1.sinks.k1.rollback.200 = false
""", channel="a1.channels.c1.capacity = 50\na1.channels.c1.transactionCapacity = 50")
        wait_for(lambda: metrics(a)["CHANNEL.c1"]["ChannelSize"] == "50", what="a full channel")

        def written():
            try:
                with open(progress) as f:
                    return int(f.read() or 0)
            except (OSError, ValueError):
                return 0
        # The writer stalls: what it wrote is the channel, the pipe (64 KiB) and one read
        # buffer of the source (64 KiB), far from all 3000 lines.
        stalled = [written(), time.monotonic()]

        def stable():
            w = written()
            if w != stalled[0]:
                stalled[:] = [w, time.monotonic()]
            return time.monotonic() - stalled[1] > 1.0
        wait_for(stable, what="the command blocked on its writes")
        self.assertLess(stalled[0], 600)
        with open(progress + ".pid") as f:
            pid = int(f.read())
        self.assertFalse(gone(pid))  # blocked, not killed
        m = metrics(a)["SOURCE.r1"]
        self.assertEqual(m["ChannelWriteFail"], "0")
        self.assertEqual(m["CommandExitCount"], "0")

        with server.lock:
            server.paused = False
        wait_for(lambda: len(server.bodies) >= n, timeout=40, what=f"{n} events delivered")
        wait_for(lambda: metrics(a)["SOURCE.r1"]["CommandExitCount"] == "1", what="the exit")
        with server.lock:
            got = [b[:6] for b in server.bodies]
        self.assertEqual(got, [b"%06d" % i for i in range(n)])  # all, once, in order
        m = metrics(a)["SOURCE.r1"]
        self.assertEqual(m["EventAcceptedCount"], str(n))
        self.assertEqual(m["CommandLastExitCode"], "0")

    def test_agent_killed_takes_the_command_with_it(self):
        log = os.path.join(self.tmp, "app.log")
        open(log, "w").close()
        for how in ("SIGKILL", "SIGTERM"):
            with self.subTest(how=how):
                for f in glob.glob(os.path.join(self.out, "*")):
                    os.unlink(f)
                a = self.start(f"""a1.sources.r1.type = exec
a1.sources.r1.shell = /bin/sh -c
a1.sources.r1.command = echo $$; exec tail -F {log}
a1.sources.r1.batchTimeout = 50""")
                pid = int(wait_for(lambda: self.lines() and self.lines()[0], what="the pid"))
                self.assertFalse(gone(pid))
                if how == "SIGKILL":
                    a.kill()
                else:
                    self.assertEqual(a.stop(), 0)
                wait_for(lambda: gone(pid), timeout=10, what=f"tail -F ({pid}) gone")

    def test_stderr_is_logged_escaped(self):
        a = self.start("""a1.sources.r1.type = exec
a1.sources.r1.shell = /bin/sh -c
a1.sources.r1.command = printf 'oops \\\\033[31mred\\\\n' >&2; echo out
a1.sources.r1.logStdErr = true
a1.sources.r1.batchTimeout = 50""")
        wait_for(lambda: self.lines() == [b"out"], what="stdout")
        wait_for(lambda: "StderrLogger[1] = 'oops \\x1b[31mred'" in a.output(), what="stderr")
        self.assertNotIn("\x1b", a.output())

    def test_describe_and_config_errors(self):
        p = subprocess.run([BIN, "agent", "--describe", "exec"], capture_output=True, timeout=20)
        self.assertEqual(p.returncode, 0, p.stderr)
        text = p.stdout.decode()
        for word in ("org.apache.flume.source.ExecSource", "cannot resume", "restartThrottle",
                     "10000", "logStdErr", "batchTimeout", "charset"):
            self.assertIn(word, text)
        p = subprocess.run([BIN, "agent", "--describe", "org.apache.flume.source.SequenceGeneratorSource"],
                           capture_output=True, timeout=20)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("totalEvents", p.stdout.decode())
        self.assertIn("9223372036854775807", p.stdout.decode())
        code, out = run_agent_once(config("""a1.sources.r1.type = exec
a1.sources.r1.command = cat
a1.sources.r1.charset = UTF-16""", file_roll(self.out)))
        self.assertNotEqual(code, 0)
        self.assertIn("UTF-16", out)
        code, out = run_agent_once(config("a1.sources.r1.type = exec", file_roll(self.out)))
        self.assertNotEqual(code, 0)
        self.assertIn("command", out)


class SeqSourceTest(AgentTestCase):
    def test_total_events_1000_delivers_exactly_0_to_999(self):
        out = os.path.join(self.tmp, "out")
        os.makedirs(out)
        a = self.start_agent(config("""a1.sources.r1.type = seq
a1.sources.r1.totalEvents = 1000
a1.sources.r1.batchSize = 10""", file_roll(out), channel="a1.channels.c1.capacity = 100\n"
                                                          "a1.channels.c1.transactionCapacity = 100"),
                             args=["--metrics-port", "0"])
        expected = b"".join(b"%d\n" % i for i in range(1000))
        wait_for(lambda: len(rolled(out)) >= len(expected), what="1000 events")
        self.assertEqual(rolled(out), expected)
        m = metrics(a)["SOURCE.r1"]
        self.assertEqual(m["EventAcceptedCount"], "1000")
        self.assertEqual(metrics(a)["CHANNEL.c1"]["EventPutSuccessCount"], "1000")
        wait_for(lambda: "generated all 1000 events" in a.output(), what="the end logged")


if __name__ == "__main__":
    unittest.main()
