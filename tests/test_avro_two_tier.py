"""Issue 21's two-tier test: edge agents (netcat, syslogtcp) -> avro sinks in a load_balance group
-> two collector agents (avro source -> file channel -> S3 sink) -> a real `ingestor store`, with
file channels on both tiers. One collector is killed with SIGKILL while events flow and started
again on the same port. Every line an edge acknowledged (netcat `OK`; for syslog, every line
written, as the edge is never killed) must be in the bucket; duplicates are allowed (Avro RPC is
at-least-once: a batch the killed collector committed but did not answer is sent again) and are
counted and printed."""
import collections
import os
import re
import socket

from harness import Agent, connect, metrics, recv_lines, wait_for
from test_s3_sink import BUCKET, S3SinkTest


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def file_channel(d):
    return f"""a1.channels.c1.type = file
a1.channels.c1.checkpointDir = {d}/checkpoint
a1.channels.c1.dataDirs = {d}/data
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = 1000
a1.channels.c1.minimumRequiredSpace = 1048576
a1.channels.c1.checkpointInterval = 2000
"""


def collector_config(port, chan, staging, endpoint, prefix):
    return f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = avro
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = {port}
a1.sources.r1.channels = c1
{file_channel(chan)}
a1.sinks.k1.type = hdfs
a1.sinks.k1.channel = c1
a1.sinks.k1.hdfs.path = s3a://{BUCKET}/{prefix}
a1.sinks.k1.hdfs.fileType = DataStream
a1.sinks.k1.hdfs.useLocalTimeStamp = true
a1.sinks.k1.hdfs.rollInterval = 1
a1.sinks.k1.hdfs.rollSize = 0
a1.sinks.k1.hdfs.rollCount = 0
a1.sinks.k1.hdfs.batchSize = 200
a1.sinks.k1.s3.endpoint = {endpoint}
a1.sinks.k1.s3.pathStyleAccess = true
a1.sinks.k1.s3.stagingDir = {staging}
"""


def edge_config(source, chan, ports):
    sinks = ""
    for i, p in enumerate(ports, 1):
        sinks += f"""a1.sinks.k{i}.type = avro
a1.sinks.k{i}.channel = c1
a1.sinks.k{i}.hostname = 127.0.0.1
a1.sinks.k{i}.port = {p}
a1.sinks.k{i}.batch-size = 100
a1.sinks.k{i}.connect-timeout = 2000
a1.sinks.k{i}.request-timeout = 5000
"""
    return f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1 k2
a1.sources.r1.type = {source}
a1.sources.r1.{"bind" if source == "netcat" else "host"} = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.channels = c1
{file_channel(chan)}
{sinks}
a1.sinkgroups = g1
a1.sinkgroups.g1.sinks = k1 k2
a1.sinkgroups.g1.processor.type = load_balance
a1.sinkgroups.g1.processor.selector = round_robin
a1.sinkgroups.g1.processor.backoff = true
a1.sinkgroups.g1.processor.selector.maxTimeOut = 2000
"""


class AvroTwoTierTest(S3SinkTest):
    def test_sigkill_a_collector_nothing_acknowledged_is_lost(self):
        t = self.tmp
        ports = [free_port(), free_port()]
        collectors = [self.agent(collector_config(ports[i], f"{t}/col{i}/chan",
                                                  f"{t}/col{i}/staging", self.store.endpoint,
                                                  f"col{i}")) for i in range(2)]
        nc = self.agent(edge_config("netcat", f"{t}/edge0/chan", ports))
        sl = self.agent(edge_config("syslogtcp", f"{t}/edge1/chan", ports))
        ncs, sls = connect(nc.port("r1")), connect(sl.port("r1"))
        sent = []
        chunks = 40
        for c in range(chunks):
            lines = [f"nc-{c:02d}-{i:03d}" for i in range(100)]
            ncs.sendall(b"".join(l.encode() + b"\n" for l in lines))
            self.assertEqual(recv_lines(ncs, 100, timeout=30), [b"OK"] * 100)
            sent += lines
            sys_lines = [f"sl-{c:02d}-{i:03d}" for i in range(50)]
            sls.sendall(b"".join(f"<13>Jan  1 00:00:00 edge app: {l}\n".encode()
                                 for l in sys_lines))
            sent += sys_lines
            if c == 12:
                wait_for(lambda: int(metrics(collectors[0])["SOURCE.r1"]["EventAcceptedCount"]),
                         what="collector 0 serving")
                collectors[0].kill()  # SIGKILL while batches are in flight
            if c == 24:
                collectors[0].start()  # same port, same file channel and staging
        ncs.close()
        sls.close()

        token = re.compile(rb"(?:nc|sl)-\d\d-\d\d\d")

        def counts():
            c = collections.Counter()
            for k in self.keys():
                if k not in self.read:
                    self.read[k] = self.body(k)
                c.update(m.decode() for m in token.findall(self.read[k]))
            return c
        self.read = {}
        try:
            got = wait_for(lambda: (lambda c: c if all(l in c for l in sent) else None)(counts()),
                           timeout=90, interval=0.5, what="every acknowledged line in the bucket")
        except AssertionError:
            c = counts()
            missing = [l for l in sent if l not in c]
            raise AssertionError(f"{len(missing)} of {len(sent)} lines missing, e.g. "
                                 f"{missing[:10]}")
        dups = {l: n for l, n in got.items() if n > 1}
        print(f"\ntwo-tier: {len(sent)} lines sent, all in the bucket, {len(dups)} lines "
              f"duplicated ({sum(n - 1 for n in dups.values())} extra copies)", flush=True)
        self.assertEqual(set(got) - set(sent), set())
        # Both collectors served, and the edges saw the dead one fail.
        self.assertTrue(any(k.startswith("col0/") for k in self.read))
        self.assertTrue(any(k.startswith("col1/") for k in self.read))
        fails = sum(int(metrics(e)[f"SINK.k1"]["EventWriteFail"]) for e in (nc, sl))
        self.assertGreaterEqual(fails, 1)
