"""Kafka test helpers: librdkafka's mock cluster as a process (build/ingestor_kafka_mock,
tests/kafka/kafka_mock.cc) and kcat (Debian `kcat`) as the independent client on the other side.

No real Kafka server can run on these machines; the mock speaks the Kafka protocol on 127.0.0.1
(reference kafka.md §3: no TLS/SASL, auto-created topics have 4 partitions, a new consumer group's
first join waits 3 s, 5 MiB kept per partition). Every kcat call has a timeout and bounded
librdkafka timeouts, so a broken test fails in seconds instead of waiting for librdkafka's 300 s.

Mock fault commands (MockKafka.command): "down ID|-1", "up ID|-1", "err APIKEY CODE...",
"clear APIKEY", "leader TOPIC P ID", "rtt ID MS", "topic NAME P", "coord group KEY ID".
"""
import os
import subprocess

from harness import BIN, wait_for

MOCK_BIN = os.environ.get("INGESTOR_KAFKA_MOCK") or os.path.join(
    os.path.dirname(os.path.abspath(BIN)), "ingestor_kafka_mock")

# Kafka API keys and error codes used by the fault tests (rdkafka_protocol.h is not installed).
API_PRODUCE, API_FETCH, API_OFFSET_COMMIT = 0, 1, 8
ERR_NOT_LEADER = 6
ERR_REQUEST_TIMED_OUT = 7
ERR_MSG_SIZE_TOO_LARGE = 10
ERR_NOT_ENOUGH_REPLICAS = 19

# Short librdkafka timeouts for every kcat invocation.
KCAT_X = ["-X", "message.timeout.ms=15000", "-X", "socket.timeout.ms=10000"]


class MockKafka:
    """A mock cluster of `brokers` brokers with `topics` ({name: partitions}) created up front."""

    def __init__(self, brokers=3, topics=None):
        args = [MOCK_BIN, str(brokers)] + [f"{t}:{p}" for t, p in (topics or {}).items()]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.bootstrap = self.proc.stdout.readline().decode().strip()
        if not self.bootstrap.startswith("127.0.0.1:"):
            self.stop()
            raise AssertionError(f"mock cluster did not start: {self.bootstrap!r}")

    def command(self, line):
        """Runs one fault-injection command; returns the mock's answer (raises on an error)."""
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().decode().strip()
        if not answer.startswith("ok "):
            raise AssertionError(f"mock command {line!r}: {answer!r}")
        return answer

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    # --- kcat, the independent client -------------------------------------------------------

    def produce(self, topic, lines, partition=None, key_delim=None, headers=(), extra=()):
        """Produces each of `lines` (bytes or str) as one record; `key_delim` splits key:value."""
        data = b"".join((l if isinstance(l, bytes) else l.encode()) + b"\n" for l in lines)
        cmd = ["kcat", "-P", "-b", self.bootstrap, "-t", topic] + KCAT_X
        if partition is not None:
            cmd += ["-p", str(partition)]
        if key_delim:
            cmd += ["-K", key_delim]
        for h in headers:
            cmd += ["-H", h]
        cmd += list(extra)
        subprocess.run(cmd, input=data, check=True, timeout=60, capture_output=True)

    def produce_file(self, topic, path, partition=0, key=None):
        """Produces the whole file as one record (e.g. an Avro datum built by a test)."""
        cmd = ["kcat", "-P", "-b", self.bootstrap, "-t", topic, "-p", str(partition)] + KCAT_X
        if key is not None:
            cmd += ["-k", key]
        subprocess.run(cmd + [path], check=True, timeout=60, capture_output=True)

    def consume(self, topic, timeout=30):
        """Every record of `topic` from the beginning to the end: a list of dicts with partition,
        offset, timestamp, key (bytes or None), value (bytes), headers (list of "k=v" strings)."""
        cmd = ["kcat", "-C", "-b", self.bootstrap, "-t", topic, "-o", "beginning", "-e", "-q",
               "-f", "%p %o %T %K %S %h\n%k%s"] + KCAT_X
        out = subprocess.run(cmd, check=True, timeout=timeout, capture_output=True).stdout
        return parse_records(out)

    def wait_records(self, topic, n, timeout=30):
        """Consumes until `topic` holds at least n records (with a deadline)."""
        got = []

        def enough():
            got[:] = self.consume(topic)
            return len(got) >= n
        wait_for(enough, timeout=timeout, interval=0.2, what=f"{n} records in {topic}")
        return got

    def end_offsets(self, topic, partitions):
        """High watermarks: {partition: end offset}."""
        out = {}
        for p in range(partitions):
            r = subprocess.run(["kcat", "-Q", "-b", self.bootstrap, "-t", f"{topic}:{p}:-1"]
                               + KCAT_X, capture_output=True, timeout=30, check=True)
            out[p] = int(r.stdout.split()[-1])
        return out


def parse_records(out):
    recs = []
    i = 0
    while i < len(out):
        nl = out.index(b"\n", i)
        head = out[i:nl].decode()
        parts = head.split(" ", 5)
        p, o, ts, klen, vlen = (int(x) for x in parts[:5])
        hdrs = parts[5] if len(parts) > 5 else ""
        i = nl + 1
        key = None
        if klen >= 0:
            key = out[i:i + klen]
            i += klen
        vlen = max(vlen, 0)
        value = out[i:i + vlen]
        i += vlen
        recs.append({"partition": p, "offset": o, "timestamp": ts, "key": key, "value": value,
                     "headers": [h for h in hdrs.split(",") if h]})
    return recs
