"""The avro_event serializer (Flume's FlumeEventAvroEventSerializer) in file_roll, the hdfs sink on
local paths and the S3 sink, against the real agent: every file or object is an Avro container
that python3-avro and avro-c's avrocat (avro_files.py) read back with Flume's schema, the codec
asked for, and the events' headers and bodies in order; hdfs.rollSize counts encoded bytes.
"""
import glob
import hashlib
import json
import os
import re
import resource
import signal
import subprocess
import unittest

from avro_files import avrocat, python_avro
from harness import Agent, AgentTestCase, connect, metrics, recv_lines, wait_for
from test_s3_sink import BUCKET, S3SinkTest, sink_config

SCHEMA = ('{"type":"record","name":"Event","fields":[{"name":"headers","type":'
          '{"type":"map","values":"string"}},{"name":"body","type":"bytes"}]}')
CODECS = ("null", "deflate", "snappy")


def source_lines(channels):
    return ["a1.sources = r1", "a1.channels = " + " ".join(channels),
            "a1.sources.r1.type = netcat", "a1.sources.r1.bind = 127.0.0.1",
            "a1.sources.r1.port = 0", "a1.sources.r1.channels = " + " ".join(channels),
            "a1.sources.r1.interceptors = i1", "a1.sources.r1.interceptors.i1.type = static",
            "a1.sources.r1.interceptors.i1.key = topic",
            "a1.sources.r1.interceptors.i1.value = web"]


def send(agent, lines):
    s = connect(agent.port("r1"))
    s.sendall(b"".join(l + b"\n" for l in lines))
    assert recv_lines(s, len(lines), timeout=30) == [b"OK"] * len(lines)
    s.close()


def drained(agent, sinks, n):
    wait_for(lambda: all(metrics(agent)[f"SINK.{k}"]["EventDrainSuccessCount"] == str(n)
                         for k in sinks), timeout=60, what=f"{n} events through {sinks}")


def n_of(path):
    return int(re.search(r"\.(\d+)$", path).group(1))


class AvroFilesCheck:
    def assert_container_files(self, paths, codec, sent):
        """The files, in order, hold `sent` with the topic header, as both readers see them."""
        expected = [({"topic": "web"}, b) for b in sent]
        if codec != "snappy":  # python3-avro has no snappy codec
            files = python_avro(paths)
            for f in files:
                self.assertEqual(f["schema"], SCHEMA)
                self.assertEqual(f["codec"], codec)
            self.assertEqual([r for f in files for r in f["records"]], expected)
        self.assertEqual([r for p in paths for r in avrocat(p)], expected)


class FileRollAvroTest(AgentTestCase, AvroFilesCheck):
    def test_each_codec_writes_containers_both_readers_read(self):
        out = os.path.join(self.tmp, "out")
        lines = source_lines([f"c{c}" for c in CODECS]) + ["a1.sinks = " + " ".join(
            f"k{c}" for c in CODECS)]
        for c in CODECS:
            lines += [f"a1.channels.c{c}.type = memory", f"a1.sinks.k{c}.type = file_roll",
                      f"a1.sinks.k{c}.channel = c{c}", f"a1.sinks.k{c}.sink.directory = {out}/{c}",
                      f"a1.sinks.k{c}.sink.rollInterval = 0", f"a1.sinks.k{c}.sink.batchSize = 50",
                      f"a1.sinks.k{c}.sink.serializer = avro_event",
                      f"a1.sinks.k{c}.sink.serializer.compressionCodec = {c}",
                      f"a1.sinks.k{c}.sink.serializer.syncIntervalBytes = 4096"]
        agent = self.start_agent("\n".join(lines) + "\n", args=["--metrics-port", "0"])
        sent = [b"event %04d %s" % (i, b"abc" * (i % 40)) for i in range(1000)]
        send(agent, sent[:400])
        drained(agent, [f"k{c}" for c in CODECS], 400)
        send(agent, sent[400:])
        drained(agent, [f"k{c}" for c in CODECS], 1000)
        agent.stop()
        for c in CODECS:
            with self.subTest(codec=c):
                files = sorted(glob.glob(f"{out}/{c}/*"))
                self.assertEqual(len(files), 1)
                self.assert_container_files(files, c, sent)
                if c == "null":
                    # ~80 KB of records in blocks of syncIntervalBytes (4096) at most, one block
                    # more per batch at most.
                    self.assertGreaterEqual(python_avro(files)[0]["blocks"], 80000 // 4096)


class HdfsLocalAvroTest(AgentTestCase, AvroFilesCheck):
    def test_size_rolls_count_encoded_bytes_and_every_file_is_a_container(self):
        out = os.path.join(self.tmp, "out")
        lines = source_lines([f"c{c}" for c in CODECS]) + ["a1.sinks = " + " ".join(
            f"k{c}" for c in CODECS)]
        for c in CODECS:
            lines += [f"a1.channels.c{c}.type = memory", f"a1.sinks.k{c}.type = hdfs",
                      f"a1.sinks.k{c}.channel = c{c}",
                      f"a1.sinks.k{c}.hdfs.path = file://{out}/{c}/%{{topic}}",
                      f"a1.sinks.k{c}.hdfs.filePrefix = events",
                      f"a1.sinks.k{c}.hdfs.fileType = DataStream",
                      f"a1.sinks.k{c}.hdfs.rollInterval = 0",
                      f"a1.sinks.k{c}.hdfs.rollSize = 4096", f"a1.sinks.k{c}.hdfs.rollCount = 0",
                      f"a1.sinks.k{c}.hdfs.batchSize = 20",
                      f"a1.sinks.k{c}.serializer = avro_event",
                      f"a1.sinks.k{c}.serializer.compressionCodec = {c}"]
        agent = self.start_agent("\n".join(lines) + "\n", args=["--metrics-port", "0"])
        # Hex digests: deflate and snappy shrink them by about half, not to nothing.
        sent = [b"event %04d %s" % (i, hashlib.sha256(b"%d" % i).hexdigest().encode() * 2)
                for i in range(2000)]
        send(agent, sent)
        drained(agent, [f"k{c}" for c in CODECS], len(sent))
        agent.stop()  # closes (renames) the last file of each sink
        for c in CODECS:
            with self.subTest(codec=c):
                files = sorted(glob.glob(f"{out}/{c}/web/events.*"), key=n_of)
                self.assertEqual(glob.glob(f"{out}/{c}/web/*.tmp"), [])
                # ~270 KB of records: several files, each (but the last) closed once its encoded
                # size reached 4096 bytes, compressed ones too (counting the records' bytes
                # would close them smaller).
                self.assertGreater(len(files), 3)
                for f in files[:-1]:
                    self.assertGreaterEqual(os.path.getsize(f), 4096)
                self.assert_container_files(files, c, sent)


class FileSizeLimitedAgent(Agent):
    """An agent whose writes beyond `limit` bytes per file fail with EFBIG after a short write
    (RLIMIT_FSIZE, SIGXFSZ ignored), until lift() raises the limit of the running process."""

    def __init__(self, config, limit, **kw):
        super().__init__(config, **kw)
        self.limit = limit

    def launch(self, cmd, env=None):
        if os.path.exists(self.status_file):
            os.unlink(self.status_file)
        self.log = open(self.log_path, "ab")

        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE,
                               (self.limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, **(env or {})), preexec_fn=limit)

    def lift(self):
        hard = resource.prlimit(self.proc.pid, resource.RLIMIT_FSIZE)[1]
        resource.prlimit(self.proc.pid, resource.RLIMIT_FSIZE, (hard, hard))


class S3AvroTest(S3SinkTest, AvroFilesCheck):
    def test_failed_staging_writes_leave_whole_containers(self):
        # Staging appends fail part way (the object's data file reaches the file size limit): the
        # sink rolls its groups back, staging cuts the data back to its last commit, and the
        # retries, once the limit is lifted, give objects that are whole containers holding every
        # event once, in order.
        staging = os.path.join(self.tmp, "staging")
        cfg = sink_config(self.store.endpoint, staging,
                          "a1.sinks.k1.hdfs.rollCount = 400\na1.sinks.k1.hdfs.batchSize = 50\n"
                          "a1.sinks.k1.serializer = avro_event\n") \
            .replace("a1.sinks.k1.hdfs.rollCount = 0\n", "").replace(
                "a1.sinks.k1.hdfs.batchSize = 500\n", "")
        cfg += ("a1.sources.r1.interceptors = i1\na1.sources.r1.interceptors.i1.type = static\n"
                "a1.sources.r1.interceptors.i1.key = topic\n"
                "a1.sources.r1.interceptors.i1.value = web\n")
        tmp = os.path.join(self.tmp, "agent-limited")
        os.makedirs(tmp)
        a = FileSizeLimitedAgent(cfg, 24 << 10, tmp=tmp, args=["--metrics-port", "0"])
        self.agents.append(a)
        a.start()
        sent = [b"limited %04d %s" % (i, b"z" * 80) for i in range(2000)]
        send(a, sent)  # acknowledged once in the channel
        wait_for(lambda: int(metrics(a)["SINK.k1"]["EventWriteFail"]) > 0, timeout=30,
                 what="a failed staging write")
        a.lift()
        keys = wait_for(lambda: (lambda k: len(k) == 5 and k)(self.keys()), timeout=60,
                        what="5 objects of 400 events")
        paths = []
        for k in sorted(keys, key=n_of):
            p = os.path.join(self.tmp, k.replace("/", "_"))
            with open(p, "wb") as f:
                f.write(self.body(k))
            paths.append(p)
        self.assert_container_files(paths, "null", sent)


    def test_objects_are_containers_both_readers_read(self):
        for codec in CODECS:
            with self.subTest(codec=codec):
                staging = os.path.join(self.tmp, "staging-" + codec)
                cfg = sink_config(self.store.endpoint, staging,
                                  f"a1.sinks.k1.hdfs.filePrefix = {codec}\n"
                                  "a1.sinks.k1.hdfs.rollCount = 300\n"
                                  "a1.sinks.k1.serializer = "
                                  "org.apache.flume.serialization.FlumeEventAvroEventSerializer$Builder\n"
                                  f"a1.sinks.k1.serializer.compressionCodec = {codec}\n") \
                    .replace("a1.sinks.k1.hdfs.rollCount = 0\n", "")
                cfg += ("a1.sources.r1.interceptors = i1\n"
                        "a1.sources.r1.interceptors.i1.type = static\n"
                        "a1.sources.r1.interceptors.i1.key = topic\n"
                        "a1.sources.r1.interceptors.i1.value = web\n")
                a = self.agent(cfg)
                sent = [b"s3 event %04d %s" % (i, b"q" * (i % 90)) for i in range(1000)]
                send(a, sent)
                keys = wait_for(lambda: (lambda k: len(k) == 4 and k)(
                    [k for k in self.keys() if k.split("/")[-1].startswith(codec + ".")]),
                    timeout=60, what=f"4 {codec} objects (300, 300, 300, 100 events)")
                paths = []
                for k in sorted(keys, key=n_of):
                    p = os.path.join(self.tmp, k.replace("/", "_"))
                    with open(p, "wb") as f:
                        f.write(self.body(k))
                    paths.append(p)
                self.assert_container_files(paths, codec, sent)
                a.stop()


if __name__ == "__main__":
    unittest.main()
