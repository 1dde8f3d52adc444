"""S3 sink (Flume's hdfs sink on s3a://) against the real `ingestor store`: content, naming,
notifications, codecs, dead letters, throttling, and exactly-once under SIGKILL."""
import gzip
import http.client
import http.server
import json
import os
import random
import re
import socket
import socketserver
import subprocess
import threading
import time
import unittest

from harness import Agent, connect, http as http_req, metrics, test_failed, wait_for
from store_harness import StoreTestCase, Webhook

BUCKET = "events"


def sink_config(endpoint, staging, extra_sink="", channel=None, sources="netcat"):
    channel = channel or ("a1.channels.c1.type = memory\na1.channels.c1.capacity = 100000\n"
                          "a1.channels.c1.transactionCapacity = 1000\n")
    src = ["r1"] + (["r2"] if "http" in sources else [])
    lines = [f"a1.sources = {' '.join(src)}", "a1.channels = c1", "a1.sinks = k1",
             "a1.sources.r1.type = netcat", "a1.sources.r1.bind = 127.0.0.1",
             "a1.sources.r1.port = 0", "a1.sources.r1.channels = c1"]
    if "http" in sources:
        lines += ["a1.sources.r2.type = http", "a1.sources.r2.bind = 127.0.0.1",
                  "a1.sources.r2.port = 0", "a1.sources.r2.channels = c1"]
    lines += [channel,
              "a1.sinks.k1.type = hdfs", "a1.sinks.k1.channel = c1",
              f"a1.sinks.k1.hdfs.path = s3a://{BUCKET}/flume/events",
              "a1.sinks.k1.hdfs.fileType = DataStream",
              "a1.sinks.k1.hdfs.useLocalTimeStamp = true",
              "a1.sinks.k1.hdfs.rollInterval = 1", "a1.sinks.k1.hdfs.rollSize = 0",
              "a1.sinks.k1.hdfs.rollCount = 0", "a1.sinks.k1.hdfs.batchSize = 500",
              f"a1.sinks.k1.s3.endpoint = {endpoint}", "a1.sinks.k1.s3.pathStyleAccess = true",
              f"a1.sinks.k1.s3.stagingDir = {staging}", extra_sink]
    return "\n".join(lines) + "\n"


class S3SinkTest(StoreTestCase):
    def setUp(self):
        self.hook = Webhook().start()
        self.store_args = ("--notify-webhook", self.hook.url)
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
            if test_failed(self):
                print(f"--- agent log ---\n{a.output()[-4000:]}")
        self.hook.stop()
        super().tearDown()

    def agent(self, config, start=True):
        tmp = os.path.join(self.tmp, f"agent{len(self.agents)}")
        os.makedirs(tmp, exist_ok=True)
        a = Agent(config, tmp=tmp, args=["--metrics-port", "0"])
        self.agents.append(a)
        return a.start() if start else a

    def keys(self):
        out, token = [], None
        while True:
            kw = {"Bucket": BUCKET}
            if token:
                kw["ContinuationToken"] = token
            r = self.s3.list_objects_v2(**kw)
            out += [o["Key"] for o in r.get("Contents", [])]
            if not r.get("IsTruncated"):
                return out
            token = r["NextContinuationToken"]

    def body(self, key):
        return self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def all_lines(self, decode=lambda b: b):
        # Objects in name order (Flume's N grows with time), lines in object order.
        def n_of(k):
            m = re.search(r"\.(\d+)(\.[a-z]+)?$", k)
            return int(m.group(1)) if m else 0
        data = b"".join(decode(self.body(k)) for k in sorted(self.keys(), key=n_of))
        return data.split(b"\n")[:-1] if data else []


class DeliveryTest(S3SinkTest):
    def test_netcat_and_http_lines_arrive_once_in_order_with_final_names(self):
        staging = os.path.join(self.tmp, "staging")
        a = self.agent(sink_config(self.store.endpoint, staging, sources="netcat,http"))
        socks = [connect(a.port("r1")) for _ in range(2)]
        for c, s in enumerate(socks):
            s.sendall(b"".join(b"nc%d-%04d\n" % (c, i) for i in range(400)))
        for i in range(20):
            body = json.dumps([{"headers": {}, "body": f"http-{i:04d}"}]).encode()
            st, _, _ = http_req(a.port("r2"), "POST", "/", body)
            self.assertEqual(st, 200)
        for s in socks:
            s.settimeout(10)
            got = b""
            while got.count(b"\n") < 400:
                got += s.recv(65536)
            s.close()
        lines = wait_for(lambda: (lambda l: len(l) >= 820 and l)(self.all_lines()), timeout=60,
                         what="820 lines in the bucket")
        self.assertEqual(len(lines), 820)
        self.assertEqual(len(set(lines)), 820)  # nothing twice
        for c in range(2):
            mine = [l for l in lines if l.startswith(b"nc%d-" % c)]
            self.assertEqual(mine, [b"nc%d-%04d" % (c, i) for i in range(400)])  # per-connection order
        self.assertEqual([l for l in lines if l.startswith(b"http-")],
                         [b"http-%04d" % i for i in range(20)])
        keys = self.keys()
        for k in keys:
            self.assertRegex(k, r"^flume/events/FlumeData\.\d+$")
            self.assertFalse(k.endswith(".tmp"))
        # One ObjectCreated notification per object, no more (no .tmp PUT + COPY).
        wait_for(lambda: len(self.hook.records()) == len(keys), what="one notification per object")
        self.assertEqual(sorted(r["s3"]["object"]["key"] for r in self.hook.records()),
                         sorted(keys))
        self.assertTrue(all(r["eventName"] == "ObjectCreated:Put" for r in self.hook.records()))
        # Staging is empty once everything is uploaded.
        wait_for(lambda: not [f for f in os.listdir(staging) if f.endswith(".data")],
                 what="empty staging")

    def test_roll_count_and_size_and_prefix_suffix(self):
        staging = os.path.join(self.tmp, "staging")
        a = self.agent(sink_config(self.store.endpoint, staging,
                                   "a1.sinks.k1.hdfs.rollCount = 10\na1.sinks.k1.hdfs.rollInterval = 0\n"
                                   "a1.sinks.k1.hdfs.filePrefix = ev-%{src}\n"
                                   "a1.sinks.k1.hdfs.fileSuffix = .log\n")
                       .replace("a1.sinks.k1.hdfs.rollCount = 0\n", ""))
        s = connect(a.port("r1"))
        s.sendall(b"".join(b"line-%02d\n" % i for i in range(30)))
        s.settimeout(10)
        got = b""
        while got.count(b"\n") < 30:
            got += s.recv(65536)
        keys = wait_for(lambda: (lambda k: len(k) == 3 and k)(self.keys()), what="3 objects of 10 events")
        for k in keys:
            self.assertRegex(k, r"^flume/events/ev-\.\d+\.log$")  # %{src} missing: ""
            self.assertEqual(self.body(k).count(b"\n"), 10)

    def test_header_escapes_route_one_batch_to_several_objects_in_order(self):
        # One HTTP request = one batch whose events alternate between two buckets.
        staging = os.path.join(self.tmp, "staging")
        a = self.agent(sink_config(self.store.endpoint, staging,
                                   "a1.sinks.k1.hdfs.path = s3a://events/by/%{src}\n",
                                   sources="netcat,http")
                       .replace(f"a1.sinks.k1.hdfs.path = s3a://{BUCKET}/flume/events\n", ""))
        events = [{"headers": {"src": "ab"[i % 2]}, "body": f"{'ab'[i % 2]}-{i:03d}"}
                  for i in range(200)]
        st, _, _ = http_req(a.port("r2"), "POST", "/", json.dumps(events).encode())
        self.assertEqual(st, 200)
        keys = wait_for(lambda: (lambda k: len(k) == 2 and k)(self.keys()), what="two objects")
        self.assertEqual(sorted(k.split("/")[1] for k in keys), ["a", "b"])
        for k in keys:
            src = k.split("/")[1]
            self.assertRegex(k, rf"^by/{src}/FlumeData\.\d+$")
            self.assertEqual(self.body(k).split(b"\n")[:-1],
                             [f"{src}-{i:03d}".encode() for i in range(200) if "ab"[i % 2] == src])

    def test_gzip_and_zstd_objects_decode(self):
        for codec, ext in (("gzip", ".gz"), ("zstd", ".zst")):
            with self.subTest(codec=codec):
                staging = os.path.join(self.tmp, "staging-" + codec)
                cfg = sink_config(self.store.endpoint, staging,
                                  f"a1.sinks.k1.hdfs.codeC = {codec}\n"
                                  f"a1.sinks.k1.hdfs.filePrefix = {codec}\n") \
                    .replace("fileType = DataStream", "fileType = CompressedStream")
                a = self.agent(cfg)
                s = connect(a.port("r1"))
                payload = b"".join(b"compressible line %05d %s\n" % (i, b"x" * 50) for i in range(2000))
                s.sendall(payload)
                s.settimeout(10)
                got = b""
                while got.count(b"\n") < 2000:
                    got += s.recv(65536)
                s.close()

                def decoded():
                    keys = [k for k in self.keys() if k.split("/")[-1].startswith(codec)]
                    if codec == "gzip":
                        data = b"".join(gzip.decompress(self.body(k)) for k in sorted(keys))
                    else:
                        data = b"".join(subprocess.run(["zstd", "-dc"], input=self.body(k),
                                                       capture_output=True, check=True).stdout
                                        for k in sorted(keys))
                    return data == payload and keys
                keys = wait_for(decoded, timeout=60, what=f"{codec} objects")
                for k in keys:
                    self.assertTrue(k.endswith(ext), k)
                a.stop()

    def test_event_without_timestamp_goes_to_dead_letter_not_blocking(self):
        staging = os.path.join(self.tmp, "staging")
        dead = os.path.join(self.tmp, "dead")
        cfg = sink_config(self.store.endpoint, staging, f"a1.sinks.k1.s3.deadLetterDir = {dead}\n",
                          sources="netcat,http")
        cfg = cfg.replace("hdfs.useLocalTimeStamp = true", "hdfs.useLocalTimeStamp = false") \
                 .replace("s3a://events/flume/events", "s3a://events/flume/%Y-%m-%d")
        a = self.agent(cfg)
        s = connect(a.port("r1"))
        s.sendall(b"no timestamp here\n")  # netcat events have no timestamp header
        self.assertEqual(s.recv(10), b"OK\n")
        ts = 1339601723000  # 2012-06-13
        st, _, _ = http_req(a.port("r2"), "POST", "/", json.dumps(
            [{"headers": {"timestamp": str(ts)}, "body": "with timestamp"}]).encode())
        self.assertEqual(st, 200)
        keys = wait_for(lambda: self.keys(), timeout=30, what="the good event's object")
        self.assertTrue(keys[0].startswith("flume/2012-06-1"), keys)
        self.assertEqual(self.body(keys[0]), b"with timestamp\n")

        def dead_lines():
            out = b""
            for f in os.listdir(dead) if os.path.isdir(dead) else []:
                with open(os.path.join(dead, f), "rb") as fh:
                    out += fh.read()
            return out
        data = wait_for(dead_lines, what="a dead-letter line")
        self.assertIn(b"no timestamp here", data)
        self.assertIn(b"Expected timestamp", data)
        self.assertEqual(metrics(a)["SINK.k1"]["DeadLetterCount"], "1")


class ThrottleProxy:
    """Forwards HTTP to the store; while `throttling`, answers 503 SlowDown instead."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.throttling = False
        self.throttled = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_any(self):
                n = int(self.headers.get("Content-Length", "0") or 0)
                body = self.rfile.read(n) if n else b""
                if outer.throttling:
                    outer.throttled += 1
                    xml = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code>"
                           b"<Message>Please reduce your request rate.</Message></Error>")
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(xml)))
                    self.end_headers()
                    self.wfile.write(xml)
                    return
                c = http.client.HTTPConnection("127.0.0.1", outer.target_port, timeout=30)
                headers = {k: v for k, v in self.headers.items()}
                c.request(self.command, self.path, body=body, headers=headers)
                r = c.getresponse()
                data = r.read()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                c.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

            def log_message(self, *a):
                pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class ThrottleTest(S3SinkTest):
    def test_slowdown_backs_off_without_loss_or_memory_growth(self):
        proxy = ThrottleProxy(self.store.port)
        self.addCleanup(proxy.stop)
        proxy.throttling = True
        staging = os.path.join(self.tmp, "staging")
        cfg = sink_config(f"http://127.0.0.1:{proxy.port}", staging,
                          "a1.sinks.k1.s3.maxStagedBytes = 2000000\n")
        a = self.agent(cfg)
        s = connect(a.port("r1"))
        n = 60000
        sender = threading.Thread(target=lambda: s.sendall(
            b"".join(b"t-%06d %s\n" % (i, b"y" * 80) for i in range(n))), daemon=True)
        sender.start()
        # S3 refuses everything: staging fills to its limit and the sink stops taking.
        wait_for(lambda: proxy.throttled > 3 and
                 int(metrics(a)["SINK.k1"]["StagedBytes"]) > 0, timeout=60, what="throttled uploads")
        wait_for(lambda: int(metrics(a)["CHANNEL.c1"]["ChannelSize"]) > 0 or
                 int(metrics(a)["SINK.k1"]["ProcessErrorCount"]) > 0, timeout=60,
                 what="the sink pushing back")
        with open(f"/proc/{a.proc.pid}/status") as f:
            rss = int([l for l in f if l.startswith("VmRSS")][0].split()[1])
        self.assertLess(rss, 128 * 1024, "RSS must stay bounded while S3 is throttling")
        self.assertLessEqual(int(metrics(a)["SINK.k1"]["StagedBytes"]), 2000000 + 500 * 100)
        proxy.throttling = False  # S3 recovers
        s.settimeout(120)
        acks = b""
        while acks.count(b"\n") < n:
            chunk = s.recv(65536)
            if not chunk:
                break
            acks += chunk
        self.assertEqual(acks.count(b"OK\n"), n)
        lines = wait_for(lambda: (lambda l: len(l) >= n and l)(self.all_lines()), timeout=120,
                         what="every line after the throttling")
        self.assertEqual(len(lines), n)
        self.assertEqual(len(set(lines)), n)


class MultipartTest(S3SinkTest):
    PART = 5 * 2**20  # S3's minimum part size

    def send(self, sock, first, n):
        """n lines of 1000 bytes, numbered from `first`; waits for their acknowledgements."""
        sock.sendall(b"".join(b"%07d %s\n" % (i, b"m" * 991) for i in range(first, first + n)))
        got = b""
        while got.count(b"\n") < n:
            got += sock.recv(65536)
        self.assertEqual(got.count(b"OK\n"), n)

    def start_rolling_at_three_parts(self):
        """An agent whose objects roll at 3 parts of PART bytes, and a connection to its netcat."""
        a = self.agent(sink_config(self.store.endpoint, os.path.join(self.tmp, "staging"),
                                   "a1.sinks.k1.hdfs.rollInterval = 0\n"
                                   f"a1.sinks.k1.hdfs.rollSize = {3 * self.PART}\n"
                                   f"a1.sinks.k1.s3.partSize = {self.PART}\n"
                                   "a1.sources.r1.max-line-length = 2048\n"))
        s = connect(a.port("r1"))
        s.settimeout(30)
        return a, s

    def test_large_object_uploads_parts_while_it_fills(self):
        a, s = self.start_rolling_at_three_parts()
        # A bit over one part: the part goes up while the object is still open.
        self.send(s, 0, 6000)
        uploads = wait_for(lambda: self.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads"),
                           timeout=30, what="a multipart upload in progress")
        self.assertEqual(len(uploads), 1)
        self.assertEqual(self.keys(), [])  # nothing visible before the object is complete
        parts = wait_for(lambda: self.s3.list_parts(Bucket=BUCKET, Key=uploads[0]["Key"],
                                                    UploadId=uploads[0]["UploadId"]).get("Parts"),
                         timeout=30, what="the first part uploaded")
        self.assertEqual(parts[0]["Size"], self.PART)
        # Past the roll size: the object completes under its final key, in parts.
        self.send(s, 6000, 10000)
        keys = wait_for(self.keys, timeout=60, what="the rolled object")
        self.assertEqual(keys, [uploads[0]["Key"]])
        head = self.s3.head_object(Bucket=BUCKET, Key=keys[0])
        self.assertRegex(head["ETag"], r'-[3-9]"$')  # a multipart ETag: 3 full parts and the rest
        self.assertGreaterEqual(head["ContentLength"], 3 * self.PART)
        s.close()
        a.stop()  # flushes the open remainder
        lines = self.all_lines()
        self.assertEqual(lines, [b"%07d %s" % (i, b"m" * 991) for i in range(16000)])
        self.assertEqual(self.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []), [])
        wait_for(lambda: len(self.hook.records()) == 2, what="one notification per object")
        self.assertEqual(sorted(r["eventName"] for r in self.hook.records()),
                         ["ObjectCreated:CompleteMultipartUpload", "ObjectCreated:Put"])


    def test_kill_with_parts_uploaded_gives_the_object_once_and_no_orphan(self):
        a, s = self.start_rolling_at_three_parts()
        self.send(s, 0, 6000)  # acknowledged = staged: the sink commits the take after staging
        upload = wait_for(lambda: self.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads"),
                          timeout=30, what="a multipart upload in progress")[0]
        wait_for(lambda: self.s3.list_parts(Bucket=BUCKET, Key=upload["Key"],
                                            UploadId=upload["UploadId"]).get("Parts"),
                 timeout=30, what="the first part uploaded")
        s.close()
        a.kill()  # SIGKILL with a part uploaded and the object open
        a.start()
        # The restart seals the staged object under the same key, aborts its own orphaned
        # upload and uploads the object once, whole.
        keys = wait_for(self.keys, timeout=60, what="the recovered object")
        self.assertEqual(keys, [upload["Key"]])
        # Sealed with both of its parts ready: they went up together, and in order.
        self.assertRegex(self.s3.head_object(Bucket=BUCKET, Key=keys[0])["ETag"], r'-2"$')
        wait_for(lambda: not self.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads"),
                 timeout=30, what="no orphaned multipart upload")
        a.stop()
        self.assertEqual(self.all_lines(), [b"%07d %s" % (i, b"m" * 991) for i in range(6000)])
        wait_for(lambda: len(self.hook.records()) >= 1, what="the object's notification")
        self.assertEqual(len(self.keys()), 1)


class CrashTest(S3SinkTest):
    KILLS = 30

    def test_sigkill_at_random_moments_gives_every_acked_event_exactly_once(self):
        staging = os.path.join(self.tmp, "staging")
        cp = os.path.join(self.tmp, "fc-checkpoint")
        data = os.path.join(self.tmp, "fc-data")
        channel = (f"a1.channels.c1.type = file\na1.channels.c1.checkpointDir = {cp}\n"
                   f"a1.channels.c1.dataDirs = {data}\na1.channels.c1.minimumRequiredSpace = 1048576\n"
                   "a1.channels.c1.checkpointInterval = 2000\n"
                   # A bounded backlog: the clients get backpressure (netcat FAIL, HTTP 503)
                   # instead of a queue the small-batch sink needs minutes to drain.
                   "a1.channels.c1.capacity = 3000\na1.channels.c1.transactionCapacity = 1000\n")
        cfg = sink_config(self.store.endpoint, staging,
                          "a1.sinks.k1.hdfs.rollInterval = 0\na1.sinks.k1.hdfs.rollCount = 50\n"
                          "a1.sinks.k1.hdfs.batchSize = 20\n",
                          channel=channel, sources="netcat,http") \
            .replace("a1.sinks.k1.hdfs.rollCount = 0\n", "")
        a = self.agent(cfg, start=False)
        acked = set()
        lock = threading.Lock()
        stop = threading.Event()
        rng = random.Random(4)

        def netcat_client(cid):
            seq = 0
            while not stop.is_set():
                try:
                    port = a.status and a.port("r1")
                    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                        while not stop.is_set():
                            batch = [f"n{cid}-{seq + i}" for i in range(10)]
                            s.sendall("".join(b + "\n" for b in batch).encode())
                            got = b""
                            while got.count(b"\n") < 10:
                                chunk = s.recv(4096)
                                if not chunk:
                                    raise OSError("closed")
                                got += chunk
                            oks = got.split(b"\n")[:10]
                            with lock:
                                for b, r in zip(batch, oks):
                                    if r == b"OK":
                                        acked.add(b)
                            seq += 10
                except (OSError, TypeError, KeyError):
                    seq += 10  # ids of an unacknowledged try are not reused
                    time.sleep(0.02)

        def http_client():
            seq = 0
            while not stop.is_set():
                batch = [f"h-{seq + i}" for i in range(5)]
                seq += 5
                try:
                    port = a.status and a.port("r2")
                    st, _, _ = http_req(port, "POST", "/", json.dumps(
                        [{"body": b} for b in batch]).encode(), timeout=5)
                    if st == 200:
                        with lock:
                            acked.update(batch)
                except (OSError, TypeError, KeyError, http.client.HTTPException):
                    time.sleep(0.02)

        a.start()
        clients = [threading.Thread(target=netcat_client, args=(c,), daemon=True) for c in range(2)]
        clients.append(threading.Thread(target=http_client, daemon=True))
        for t in clients:
            t.start()
        for k in range(self.KILLS):
            time.sleep(rng.uniform(0.05, 0.6))  # a random moment under load, not a wait for a state
            a.kill()
            a.status = None
            a.start()
        time.sleep(0.5)
        stop.set()
        for t in clients:
            t.join(10)
        # Let the last run drain and upload, then stop it cleanly (it flushes open objects).
        wait_for(lambda: metrics(a)["CHANNEL.c1"]["ChannelSize"] == "0", timeout=60,
                 what="an empty channel")
        a.stop()
        lines = [l.decode() for l in self.all_lines()]
        counts = {}
        for l in lines:
            counts[l] = counts.get(l, 0) + 1
        missing = acked - set(counts)
        dups = {l: c for l, c in counts.items() if c > 1}
        self.assertGreater(len(acked), 500)
        self.assertEqual(missing, set(), f"{len(missing)} acknowledged events lost")
        if dups:
            first = sorted(dups)[0].encode()
            where = [k for k in self.keys() if first in self.body(k).split(b"\n")]
            self.fail(f"{len(dups)} of {len(counts)} events duplicated (first {first!r} in {where})")
        keys = self.keys()
        self.assertEqual(len(keys), len(set(keys)))
        self.assertFalse([k for k in keys if k.endswith(".tmp")])


if __name__ == "__main__":
    unittest.main()
