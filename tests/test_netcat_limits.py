"""netcat source under resource pressure (issue 16, item 8): out of file descriptors, the longest
lines, many connections with a large max-line-length."""
import os
import resource
import time
import unittest

from harness import AgentTestCase, connect, metrics, recv_lines, run_agent_once, wait_for
from test_netcat_source import config, rolled


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vm_kib(pid, field="VmSize"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


class NetcatLimitsTest(AgentTestCase):
    def start(self, extra=""):
        self.out = os.path.join(self.tmp, "out")
        os.makedirs(self.out, exist_ok=True)
        a = self.start_agent(config(self.out, extra), args=["--metrics-port", "0"])
        return a, a.port("r1")

    def test_out_of_file_descriptors_backs_off_logs_once_a_second_and_recovers(self):
        a, port = self.start()
        pid = a.proc.pid
        soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        # Room for two connections, then every accept() fails with EMFILE.
        resource.prlimit(pid, resource.RLIMIT_NOFILE,
                         (len(os.listdir(f"/proc/{pid}/fd")) + 2, hard))
        self.addCleanup(lambda: a.proc.poll() is None and
                        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard)))
        socks = [connect(port) for _ in range(20)]  # queued in the backlog
        for s in socks:
            s.sendall(b"queued\n")
        failed = lambda: a.output().count("accept failed")  # noqa: E731
        wait_for(lambda: failed() >= 1, 10, what="an accept failure in the log")
        cpu0 = cpu_seconds(pid)
        # Three more log lines take at least two seconds with one a second at most.
        first = failed()
        t0 = time.monotonic()
        wait_for(lambda: failed() >= first + 3, 15, what="three more lines (one a second)")
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(elapsed, 1.8, a.output()[-2000:])
        lines = [ln for ln in a.output().splitlines() if "accept failed" in ln]
        self.assertIn("Too many open files", lines[0])
        self.assertLessEqual(failed() - first, elapsed + 2, "more than about one line a second")
        # Backing off, not spinning on the failing accept().
        self.assertLess(cpu_seconds(pid) - cpu0, 0.3 * elapsed, "the accept loop spins")
        # Once the clients go, the same limit is enough again: it keeps accepting.
        for s in socks:
            s.close()

        def answered():
            try:
                s = connect(port, timeout=2)
                s.sendall(b"after-emfile\n")
                return recv_lines(s, 1, timeout=2) == [b"OK"] and s.close() is None
            except OSError:
                return False
        wait_for(answered, 20, interval=0.2, what="a connection served after EMFILE")
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
        self.assertGreaterEqual(int(metrics(a)["SOURCE.r1"]["AcceptFailCount"]), 3)
        wait_for(lambda: b"after-emfile\n" in rolled(self.out), what="the line after EMFILE")

    def test_max_line_length_above_the_documented_maximum_is_a_config_error(self):
        code, out = run_agent_once(config(self.tmp, "a1.sources.r1.max-line-length = 1048577"))
        self.assertNotEqual(code, 0, out)
        self.assertIn("max-line-length", out)
        self.assertIn("1048576", out)
        code, out = run_agent_once(config(self.tmp, "a1.sources.r1.max-line-length = 2147483647"))
        self.assertNotEqual(code, 0, out)

    def test_buffers_grow_as_lines_need_not_four_times_the_maximum_up_front(self):
        a, port = self.start("a1.sources.r1.max-line-length = 1048576")
        pid = a.proc.pid
        first = connect(port)
        first.sendall(b"warm\n")
        self.assertEqual(recv_lines(first, 1), [b"OK"])
        before = vm_kib(pid)
        socks = [connect(port) for _ in range(100)]
        for s in socks:
            s.sendall(b"x\n")
        for s in socks:
            self.assertEqual(recv_lines(s, 1), [b"OK"])
        grown_mib = (vm_kib(pid) - before) / 1024
        # Reserving 4 x 1 MiB per connection took 400 MiB here; 64 KiB each is ~6 MiB.
        self.assertLess(grown_mib, 100, f"{grown_mib:.0f} MiB for 100 idle connections")
        for s in socks:
            s.close()
        # The longest lines still pass, in UTF-8 of 1 to 3 bytes a character, the buffer growing
        # under them; one character more fails.
        for ch in ("a", "é", "€"):
            with self.subTest(ch=ch):
                line = (ch * (1048576 - 1)).encode() + b"\n"
                s = connect(port, timeout=30)
                s.sendall(line)
                self.assertEqual(recv_lines(s, 1, timeout=30), [b"OK"])
                s.close()
        s = connect(port, timeout=30)
        s.sendall(b"y" * 1048576 + b"\n")
        self.assertEqual(recv_lines(s, 1, timeout=30)[0],
                         b"FAILED: Event exceeds the maximum length (1048576 chars, including "
                         b"newline)")
        s.close()

    def test_utf16_long_lines_grow_the_buffer_too(self):
        a, port = self.start("a1.sources.r1.max-line-length = 300000\n"
                             "a1.sources.r1.encoding = UTF-16LE")
        line = "ж" * 299999 + "\n"
        s = connect(port, timeout=30)
        s.sendall(line.encode("utf-16-le"))
        reply = b""
        while len(reply) < 6:
            chunk = s.recv(100)
            self.assertTrue(chunk, reply)
            reply += chunk
        self.assertEqual(reply, "OK\n".encode("utf-16-le"))
        s.close()
        wait_for(lambda: rolled(self.out) == line.encode(), 30, what="the long UTF-16 line")


if __name__ == "__main__":
    unittest.main()
