"""The numeric flags of every subcommand (and the relay's INGESTOR_RELAY_*_MS variables), against
the real binary: a bad value stops the command before anything starts, with exit code 2 and a
line naming the flag, the value and the accepted range; the bounds of each range are accepted.

"Before anything starts" is checked with a port the test holds open: each role is told to listen
on it (the agent through its netcat source), so a role that bound its port before it checked its
flags would exit 1 with "address in use" instead (test_a_role_that_starts_on_the_held_port_fails
shows it would); and with the data directories, which must not be created."""
import os
import socket
import subprocess
import unittest

from harness import BIN, Agent
from relay_harness import PipelineTestCase, Proc

THREADS = "expected a whole number from 0 to 256"
WORKERS = "expected a whole number from 1 to 256"
MS = "expected a whole number of milliseconds from 1 to 86400000"
PORT = "expected a whole number from 0 to 65535"
LISTEN = "expected HOST:PORT with a port from 0 to 65535"
ANY = "127.0.0.1:0"

AGENT_CONF = """a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = {port}
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
"""


def clean_env(extra=None):
    """The environment without the relay's and Lambda's variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("INGESTOR_") and k != "AWS_LAMBDA_RUNTIME_API"}
    env.update(extra or {})
    return env


class FlagTestCase(PipelineTestCase):
    def setUp(self):
        super().setUp()
        self.held = socket.socket()
        self.held.bind(("127.0.0.1", 0))
        self.held.listen(1)
        self.held_listen = f"127.0.0.1:{self.held.getsockname()[1]}"
        self.data = os.path.join(self.tmp, "data")  # never created by a refused command
        self.status = os.path.join(self.tmp, "status.json")
        self.conf = os.path.join(self.tmp, "agent.conf")
        with open(self.conf, "w") as f:
            f.write(AGENT_CONF.format(port=self.held.getsockname()[1]))

    def tearDown(self):
        self.held.close()
        super().tearDown()

    # The command line of each role, on the held port unless `listen` says otherwise.
    def agent(self, *args):
        return ["agent", "-n", "a1", "-f", self.conf, "--metrics-bind", "127.0.0.1"] + list(args)

    def store(self, *args, listen=None, data=None):
        return ["store", "--listen", listen or self.held_listen, "--data-dir", data or self.data,
                "--access-key", "ak", "--secret-key", "sk"] + list(args)

    def relay(self, *args, listen=None):
        return ["relay", "--listen", listen or self.held_listen,
                "--target", "http://127.0.0.1:9/objects",
                "--webhook-token-file", self.webhook_token_file] + list(args)

    def consumer(self, *args, listen=None):
        return ["consumer", "--listen", listen or self.held_listen, "--download-dir", self.data,
                "--s3-endpoint", "http://127.0.0.1:9"] + list(args)

    def run_once(self, argv, env=None):
        p = subprocess.run([BIN] + argv + ["--status-file", self.status], capture_output=True,
                           timeout=20, env=clean_env(env))
        return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")

    def assertRefused(self, argv, *needles, env=None):
        """Exit 2, every needle in the output, no status file, no data directory."""
        with self.subTest(argv=" ".join(argv), env=env):
            code, out = self.run_once(argv, env)
            self.assertEqual(code, 2, out)
            for n in needles:
                self.assertIn(n, out)
            self.assertNotIn("in use", out)
            self.assertFalse(os.path.exists(self.status), out)
            self.assertFalse(os.path.exists(self.data), out)

    def start(self, name, argv, env=None):
        """Starts a role on port 0 and waits for its status file (it fails if the role exits)."""
        p = Proc(self.tmp, name, argv, env=env)
        self.procs.append(p)
        return p.start()


class RefusedTest(FlagTestCase):
    def test_a_role_that_starts_on_the_held_port_fails(self):
        # The control: with good flags each role gets as far as its port and fails there, with
        # another code, so exit 2 in the tests below means it stopped before.
        for argv in (self.agent(), self.store(), self.relay(), self.consumer()):
            with self.subTest(argv[0]):
                code, out = self.run_once(argv)
                self.assertNotIn(code, (0, 2), out)
                self.assertIn("in use", out)

    def test_consumer(self):
        for v in ("0", "-3", "257", "abc", "4.5", "0x10"):
            self.assertRefused(self.consumer("--workers", v), f"--workers: {WORKERS}, got '{v}'")
        for v in ("0", "-1", "2147483648"):
            self.assertRefused(self.consumer("--max-attempts", v),
                               f"--max-attempts: expected a whole number from 1 to 2147483647, "
                               f"got '{v}'")
        for flag in ("--retry-base-ms", "--retry-max-ms"):
            for v in ("0", "-5", "86400001", "9223372036854775808", "1s"):
                self.assertRefused(self.consumer(flag, v), f"{flag}: {MS}, got '{v}'")
        for v in ("-1", "257"):
            self.assertRefused(self.consumer("--io-threads", v), f"--io-threads: {THREADS}")
        for v in ("127.0.0.1:65536", "127.0.0.1:90x", "localhost"):
            self.assertRefused(self.consumer(listen=v), f"--listen: {LISTEN}, got '{v}'")

    def test_consumer_retry_base_over_retry_max_names_both(self):
        self.assertRefused(self.consumer("--retry-base-ms", "5000", "--retry-max-ms", "1000"),
                           "--retry-base-ms 5000 is more than --retry-max-ms 1000:")
        self.assertRefused(self.consumer("--retry-base-ms", "60001"),
                           "--retry-base-ms 60001 is more than --retry-max-ms 60000 (its default)")

    def test_store(self):
        for v in ("-5", "0", "9", "86400001"):
            self.assertRefused(self.store("--notify-retry-max-ms", v),
                               "--notify-retry-max-ms: expected a whole number of milliseconds "
                               f"from 10 to 86400000, got '{v}'")
        for v in ("-1", "257", "two"):
            self.assertRefused(self.store("--io-threads", v), f"--io-threads: {THREADS}, got '{v}'")
        self.assertRefused(self.store("--min-free-space", "-1"),
                           "--min-free-space: expected a whole number of bytes, 0 or more, "
                           "got '-1'")
        for v in ("0", "86401", "1.5"):
            self.assertRefused(self.store("--idle-timeout", v),
                               "--idle-timeout: expected a whole number of seconds from 1 to "
                               f"86400, got '{v}'")
        for v in ("127.0.0.1:9000x", "127.0.0.1:65536", "127.0.0.1"):
            self.assertRefused(self.store(listen=v), f"--listen: {LISTEN}, got '{v}'")

    def test_relay(self):
        for v in ("0", "-2", "257"):
            self.assertRefused(self.relay("--workers", v), f"--workers: {WORKERS}, got '{v}'")
        for v in ("-1", "300"):
            self.assertRefused(self.relay("--io-threads", v), f"--io-threads: {THREADS}")
        for flag in ("--timeout-ms", "--attempt-timeout-ms"):
            for v in ("0", "-1", "86400001"):
                self.assertRefused(self.relay(flag, v), f"{flag}: {MS}, got '{v}'")
        self.assertRefused(self.relay(listen="127.0.0.1:99999"), f"--listen: {LISTEN}")

    def test_relay_environment(self):
        for var in ("INGESTOR_RELAY_TIMEOUT_MS", "INGESTOR_RELAY_ATTEMPT_TIMEOUT_MS"):
            for v in ("0", "-5", "86400001", "4s", "99999999999999999999"):
                self.assertRefused(self.relay(), f"{var}: {MS}, got '{v}'", env={var: v})

    def test_agent(self):
        for v in ("65536", "-1", "port"):
            self.assertRefused(self.agent("--metrics-port", v), f"--metrics-port: {PORT}, got '{v}'")
        # 70000 used to wrap to port 4464.
        for v in ("70000", "-1", "8080x"):
            self.assertRefused(self.agent(f"-Dflume.monitoring.port={v}"),
                               f"-Dflume.monitoring.port: {PORT}, got '{v}'")
        for v in ("-1", "257"):
            self.assertRefused(self.agent("--io-threads", v), f"--io-threads: {THREADS}, got '{v}'")

    def test_other_usage_errors_exit_2_and_help_exits_0(self):
        self.assertRefused(["store", "--listen", self.held_listen], "--data-dir is required")
        self.assertRefused(self.consumer("--no-such-flag"), "--no-such-flag")
        for argv in (["--help"], ["consumer", "--help"], ["--version"]):
            p = subprocess.run([BIN] + argv, capture_output=True, timeout=20)
            self.assertEqual(p.returncode, 0, argv)
        p = subprocess.run([BIN, "consumer", "--help"], capture_output=True, timeout=20)
        self.assertIn(b"1..256", p.stdout)  # the range is in the help


class BoundsAcceptedTest(FlagTestCase):
    def test_consumer_bounds(self):
        def start(name, *args):  # each with a ledger of its own
            return self.start(name, self.consumer(
                "--data-dir", os.path.join(self.tmp, name), *args, listen=ANY))
        low = start("consumer-low", "--workers", "1", "--max-attempts", "1",
                    "--retry-base-ms", "1", "--retry-max-ms", "1", "--io-threads", "1")
        high = start("consumer-high", "--workers", "256", "--max-attempts", "2147483647",
                     "--retry-base-ms", "86400000", "--retry-max-ms", "86400000",
                     "--io-threads", "256")
        # Decimal, as the configuration reads numbers: CLI11 alone took "010" for 8.
        octal = start("consumer-010", "--workers", "010", "--io-threads", "0")
        # --retry-max-ms alone under the default base (500) caps the first delay: no conflict.
        capped = start("consumer-capped", "--retry-max-ms", "100")
        for p, workers in ((low, 1), (high, 256), (octal, 10), (capped, 4)):
            self.assertIn(f"with {workers} worker(s)", p.output())
            p.stop()
            self.assertEqual(p.proc.returncode, 0, p.output())

    def test_store_bounds(self):
        for name, args in (("store-low", ("--notify-retry-max-ms", "10", "--io-threads", "1",
                                          "--min-free-space", "0", "--idle-timeout", "1")),
                           ("store-high", ("--notify-retry-max-ms", "86400000",
                                           "--io-threads", "256", "--idle-timeout", "86400"))):
            p = self.start(name, self.store(*args, listen=ANY, data=os.path.join(self.tmp, name)))
            self.assertGreater(p.port, 0)
            p.stop()
            self.assertEqual(p.proc.returncode, 0, p.output())

    def test_relay_bounds(self):
        low = self.start("relay-low", self.relay(
            "--workers", "1", "--io-threads", "1", "--timeout-ms", "1",
            "--attempt-timeout-ms", "1", listen=ANY))
        high = self.start("relay-high", self.relay(
            "--workers", "256", "--io-threads", "256", "--timeout-ms", "86400000",
            "--attempt-timeout-ms", "86400000", listen=ANY))
        env = self.start("relay-env", self.relay(listen=ANY),
                         env={"INGESTOR_RELAY_TIMEOUT_MS": "86400000",
                              "INGESTOR_RELAY_ATTEMPT_TIMEOUT_MS": "1"})
        for p in (low, high, env):
            self.assertGreater(p.port, 0)
            p.stop()
            self.assertEqual(p.proc.returncode, 0, p.output())

    def test_agent_bounds(self):
        a = Agent(AGENT_CONF.format(port=0), args=["--metrics-port", "0", "--io-threads", "1"],
                  tmp=self.tmp)
        try:
            a.start()
            self.assertGreater(a.metrics_port, 0)
            self.assertEqual(a.stop(), 0, a.output())
        finally:
            a.kill()

if __name__ == "__main__":
    unittest.main()
