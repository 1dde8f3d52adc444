"""Hadoop SequenceFiles from the hdfs sink (hdfs.fileType absent: SequenceFile, Flume's default)
on local paths and on S3 (s3a://, objects downloaded from `ingestor store`), against the real
agent. The files are read by the reader below, written from Hadoop's format description
(SequenceFile, WritableUtils, LongWritable, BytesWritable, Text), not from our C++: keys are the
events' timestamp headers (or the time they were written), values their bodies, for writeFormat
Writable and Text, uncompressed and BLOCK-compressed (DefaultCodec, GzipCodec, BZip2Codec).
"""
import bz2
import glob
import gzip
import os
import re
import struct
import time
import unittest
import zlib

from harness import Agent, AgentTestCase, connect, metrics, recv_lines, wait_for
from store_harness import StoreTestCase

TS = 1700000000123
DECOMPRESS = {"org.apache.hadoop.io.compress.DefaultCodec": zlib.decompress,
              "org.apache.hadoop.io.compress.GzipCodec": gzip.decompress,
              "org.apache.hadoop.io.compress.BZip2Codec": bz2.decompress}
# codeC -> (codec class, file extension); None: uncompressed.
CODECS = {None: (None, ""), "default": ("org.apache.hadoop.io.compress.DefaultCodec", ".deflate"),
          "gzip": ("org.apache.hadoop.io.compress.GzipCodec", ".gz"),
          "bzip2": ("org.apache.hadoop.io.compress.BZip2Codec", ".bz2")}
VALUE_CLASS = {"Writable": "org.apache.hadoop.io.BytesWritable",
               "Text": "org.apache.hadoop.io.Text"}


def read_vlong(b, p):
    """WritableUtils.readVLong: (value, next position)."""
    first = struct.unpack_from(">b", b, p)[0]
    p += 1
    if first >= -112:
        return first, p
    neg = first < -120
    size = (-119 - first) if neg else (-111 - first)  # decodeVIntSize, first byte included
    v = 0
    for _ in range(size - 1):
        v = (v << 8) | b[p]
        p += 1
    return (v ^ -1) if neg else v, p


def read_text(b, p):
    n, p = read_vlong(b, p)
    return b[p:p + n], p + n


def read_value(cls, b):
    """One serialized value, all of `b`."""
    if cls == "org.apache.hadoop.io.BytesWritable":
        (n,) = struct.unpack_from(">i", b, 0)
        assert n == len(b) - 4, (n, len(b))
        return b[4:]
    n, p = read_vlong(b, 0)
    assert n == len(b) - p
    return b[p:]


def read_sequence_file(data):
    """{key_class, value_class, compressed, block, codec, syncs, records: [(key, value)]}."""
    assert data[:4] == b"SEQ\x06", data[:4]
    p = 4
    kc, p = read_text(data, p)
    vc, p = read_text(data, p)
    f = {"key_class": kc.decode(), "value_class": vc.decode(), "compressed": data[p] == 1,
         "block": data[p + 1] == 1, "codec": None, "syncs": 0, "records": []}
    assert data[p] in (0, 1) and data[p + 1] in (0, 1)
    p += 2
    if f["compressed"]:
        c, p = read_text(data, p)
        f["codec"] = c.decode()
    (nmeta,) = struct.unpack_from(">i", data, p)
    p += 4
    for _ in range(2 * nmeta):
        _, p = read_text(data, p)
    sync = data[p:p + 16]
    p += 16
    assert f["key_class"] == "org.apache.hadoop.io.LongWritable"

    def key(b):
        assert len(b) == 8
        return struct.unpack(">q", b)[0]

    while p < len(data):
        (n,) = struct.unpack_from(">i", data, p)
        p += 4
        if n == -1:  # sync escape
            assert data[p:p + 16] == sync, "bad sync marker at %d" % p
            p += 16
            f["syncs"] += 1
            if not f["block"]:
                continue
            count, p = read_vlong(data, p)
            bufs = []
            for _ in range(4):
                ln, p = read_vlong(data, p)
                bufs.append(DECOMPRESS[f["codec"]](data[p:p + ln]))
                p += ln
            klens, kp, vlens, vp = [], 0, [], 0
            for _ in range(count):
                k, kp = read_vlong(bufs[0], kp)
                klens.append(k)
                v, vp = read_vlong(bufs[2], vp)
                vlens.append(v)
            assert kp == len(bufs[0]) and vp == len(bufs[2])
            ko = vo = 0
            for kl, vl in zip(klens, vlens):
                f["records"].append((key(bufs[1][ko:ko + kl]),
                                     read_value(f["value_class"], bufs[3][vo:vo + vl])))
                ko += kl
                vo += vl
            assert ko == len(bufs[1]) and vo == len(bufs[3])
            continue
        assert not f["block"], "block-compressed data must follow a sync escape"
        (klen,) = struct.unpack_from(">i", data, p)
        p += 4
        rec = data[p:p + n]
        assert len(rec) == n, "truncated record"
        f["records"].append((key(rec[:klen]), read_value(f["value_class"], rec[klen:])))
        p += n
    assert p == len(data)
    return f


def n_of(path):
    return int(re.search(r"\.(\d+)(\.[a-z0-9]+)?$", path).group(1))


def send(agent, lines):
    s = connect(agent.port("r1"))
    s.sendall(b"".join(l + b"\n" for l in lines))
    assert recv_lines(s, len(lines), timeout=30) == [b"OK"] * len(lines)
    s.close()


def variants():
    for fmt in ("Writable", "Text"):
        for codec in CODECS:
            yield fmt, codec


def name(fmt, codec):
    return f"{fmt.lower()}_{codec or 'none'}"


class SequenceFileCheck:
    def assert_sequence_files(self, blobs, fmt, codec, sent, ts=TS):
        files = [read_sequence_file(b) for b in blobs]
        cls, _ = CODECS[codec]
        for f in files:
            self.assertEqual(f["value_class"], VALUE_CLASS[fmt])
            self.assertEqual(f["compressed"], codec is not None)
            self.assertEqual(f["block"], codec is not None)
            self.assertEqual(f["codec"], cls)
            self.assertGreaterEqual(f["syncs"], 1)
        records = [r for f in files for r in f["records"]]
        self.assertEqual([v for _, v in records], sent)
        if callable(ts):
            for k, _ in records:
                self.assertTrue(ts(k), k)
        else:
            self.assertEqual({k for k, _ in records}, {ts})


def source(channels, timestamp=True):
    lines = ["a1.sources = r1", "a1.channels = " + " ".join(channels),
             "a1.sources.r1.type = netcat", "a1.sources.r1.bind = 127.0.0.1",
             "a1.sources.r1.port = 0", "a1.sources.r1.channels = " + " ".join(channels)]
    if timestamp:
        lines += ["a1.sources.r1.interceptors = i1",
                  "a1.sources.r1.interceptors.i1.type = static",
                  "a1.sources.r1.interceptors.i1.key = timestamp",
                  f"a1.sources.r1.interceptors.i1.value = {TS}"]
    return lines


class HdfsLocalSequenceFileTest(AgentTestCase, SequenceFileCheck):
    def test_default_file_type_writes_sequence_files_each_format_and_codec(self):
        out = os.path.join(self.tmp, "out")
        sinks = [name(f, c) for f, c in variants()]
        lines = source([f"c_{s}" for s in sinks]) + ["a1.sinks = " + " ".join(sinks)]
        for fmt, codec in variants():
            s = name(fmt, codec)
            lines += [f"a1.channels.c_{s}.type = memory",
                      f"a1.sinks.{s}.type = hdfs", f"a1.sinks.{s}.channel = c_{s}",
                      f"a1.sinks.{s}.hdfs.path = file://{out}/{s}",
                      f"a1.sinks.{s}.hdfs.filePrefix = events",
                      f"a1.sinks.{s}.hdfs.rollInterval = 0", f"a1.sinks.{s}.hdfs.rollSize = 0",
                      f"a1.sinks.{s}.hdfs.rollCount = 300", f"a1.sinks.{s}.hdfs.batchSize = 50",
                      f"a1.sinks.{s}.hdfs.writeFormat = {fmt}"]
            if codec:
                lines.append(f"a1.sinks.{s}.hdfs.codeC = {codec}")
        agent = self.start_agent("\n".join(lines) + "\n", args=["--metrics-port", "0"])
        sent = [b"event %04d %s" % (i, b"x" * (i % 300)) for i in range(1000)]
        send(agent, sent)
        wait_for(lambda: all(metrics(agent)[f"SINK.{s}"]["EventDrainSuccessCount"] == "1000"
                             for s in sinks), timeout=60, what="1000 events through each sink")
        # While a file is written it is whole: what the batches committed is a SequenceFile.
        for fmt, codec in variants():
            s = name(fmt, codec)
            with self.subTest(sink=s, while_open=True):
                tmp = glob.glob(f"{out}/{s}/events.*.tmp")
                self.assertEqual(len(tmp), 1)
                with open(tmp[0], "rb") as f:
                    self.assert_sequence_files([f.read()], fmt, codec, sent[900:])
        agent.stop()
        for fmt, codec in variants():
            s = name(fmt, codec)
            with self.subTest(sink=s):
                self.assertEqual(glob.glob(f"{out}/{s}/*.tmp"), [])
                paths = sorted(glob.glob(f"{out}/{s}/events.*"), key=n_of)
                self.assertEqual(len(paths), 4)  # 300, 300, 300, 100
                ext = CODECS[codec][1]
                for p in paths:
                    self.assertRegex(os.path.basename(p), r"^events\.\d+" + re.escape(ext) + "$")
                blobs = []
                for p in paths:
                    with open(p, "rb") as f:
                        blobs.append(f.read())
                self.assert_sequence_files(blobs, fmt, codec, sent)
                self.assertEqual([len(read_sequence_file(b)["records"]) for b in blobs],
                                 [300, 300, 300, 100])

    def test_no_timestamp_header_keys_are_the_write_time(self):
        out = os.path.join(self.tmp, "out")
        cfg = "\n".join(source(["c1"], timestamp=False) + [
            "a1.sinks = k1", "a1.channels.c1.type = memory",
            "a1.sinks.k1.type = hdfs", "a1.sinks.k1.channel = c1",
            f"a1.sinks.k1.hdfs.path = {out}", "a1.sinks.k1.hdfs.rollInterval = 0",
            "a1.sinks.k1.hdfs.rollSize = 0", "a1.sinks.k1.hdfs.rollCount = 0",
            f"a1.sinks.k1.deadLetterDir = {self.tmp}/dead"]) + "\n"
        before = int(time.time() * 1000)
        agent = self.start_agent(cfg, args=["--metrics-port", "0"])
        sent = [b"plain %d" % i for i in range(20)]
        send(agent, sent)
        wait_for(lambda: metrics(agent)["SINK.k1"]["EventDrainSuccessCount"] == "20",
                 timeout=30, what="20 events")
        agent.stop()
        after = int(time.time() * 1000)
        paths = glob.glob(f"{out}/FlumeData.*")
        self.assertEqual(len(paths), 1)
        with open(paths[0], "rb") as f:
            self.assert_sequence_files([f.read()], "Writable", None, sent,
                                       ts=lambda k: before <= k <= after)

    def test_bad_timestamp_header_goes_to_the_dead_letters(self):
        out = os.path.join(self.tmp, "out")
        cfg = "\n".join(source(["c1"], timestamp=False) + [
            "a1.sources.r1.interceptors = i1", "a1.sources.r1.interceptors.i1.type = static",
            "a1.sources.r1.interceptors.i1.key = timestamp",
            "a1.sources.r1.interceptors.i1.value = yesterday",
            "a1.sinks = k1", "a1.channels.c1.type = memory",
            "a1.sinks.k1.type = hdfs", "a1.sinks.k1.channel = c1",
            f"a1.sinks.k1.hdfs.path = {out}", "a1.sinks.k1.hdfs.rollInterval = 0",
            f"a1.sinks.k1.deadLetterDir = {self.tmp}/dead"]) + "\n"
        agent = self.start_agent(cfg, args=["--metrics-port", "0"])
        send(agent, [b"poison 1", b"poison 2"])
        wait_for(lambda: metrics(agent)["SINK.k1"].get("DeadLetterCount") == "2", timeout=30,
                 what="2 dead letters")
        agent.stop()
        self.assertEqual(glob.glob(f"{out}/FlumeData.*"), [])
        dead = b""
        for p in glob.glob(f"{self.tmp}/dead/**/*", recursive=True):
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    dead += f.read()
        self.assertIn(b"poison 1", dead)
        self.assertIn(b"not a number", dead)


BUCKET = "events"


class S3SequenceFileTest(StoreTestCase, SequenceFileCheck):
    def setUp(self):
        super().setUp()
        self.s3 = self.client()
        self.s3.create_bucket(Bucket=BUCKET)
        self.agents = []

    def tearDown(self):
        for a in self.agents:
            try:
                a.stop()
            except AssertionError:
                a.kill()
        super().tearDown()

    def keys(self, prefix):
        r = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
        return [o["Key"] for o in r.get("Contents", [])]

    def test_objects_are_sequence_files_each_format_and_codec(self):
        sinks = [name(f, c) for f, c in variants()]
        lines = source([f"c_{s}" for s in sinks]) + ["a1.sinks = " + " ".join(sinks)]
        for fmt, codec in variants():
            s = name(fmt, codec)
            lines += [f"a1.channels.c_{s}.type = memory",
                      f"a1.sinks.{s}.type = hdfs", f"a1.sinks.{s}.channel = c_{s}",
                      f"a1.sinks.{s}.hdfs.path = s3a://{BUCKET}/{s}",
                      f"a1.sinks.{s}.hdfs.rollInterval = 0", f"a1.sinks.{s}.hdfs.rollSize = 0",
                      f"a1.sinks.{s}.hdfs.rollCount = 300", f"a1.sinks.{s}.hdfs.batchSize = 50",
                      f"a1.sinks.{s}.hdfs.writeFormat = {fmt}",
                      f"a1.sinks.{s}.s3.endpoint = {self.store.endpoint}",
                      f"a1.sinks.{s}.s3.pathStyleAccess = true",
                      f"a1.sinks.{s}.s3.stagingDir = {self.tmp}/staging-{s}"]
            if codec:
                lines.append(f"a1.sinks.{s}.hdfs.codeC = {codec}")
        tmp = os.path.join(self.tmp, "agent")
        os.makedirs(tmp)
        a = Agent("\n".join(lines) + "\n", tmp=tmp, args=["--metrics-port", "0"])
        self.agents.append(a)
        a.start()
        sent = [b"s3 event %04d %s" % (i, b"q" * (i % 200)) for i in range(1000)]
        send(a, sent)
        for fmt, codec in variants():
            s = name(fmt, codec)
            # 300, 300, 300 roll on count; the last 100 once the agent stops.
            wait_for(lambda: len(self.keys(s + "/")) == 3, timeout=60, what=f"3 objects of {s}")
        a.stop()
        for fmt, codec in variants():
            s = name(fmt, codec)
            with self.subTest(sink=s):
                keys = sorted(self.keys(s + "/"), key=n_of)
                self.assertEqual(len(keys), 4)
                for k in keys:
                    self.assertTrue(k.endswith(CODECS[codec][1]), k)
                blobs = [self.s3.get_object(Bucket=BUCKET, Key=k)["Body"].read() for k in keys]
                self.assert_sequence_files(blobs, fmt, codec, sent)


if __name__ == "__main__":
    unittest.main()
