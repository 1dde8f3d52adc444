"""`ingestor consumer` against hostile or careless input (issue 16): its bad-input list, one test
per input, so the next campaign starts from here. Real store and consumer processes on loopback.

- Lies in notifications (a notification is a hint; S3 says what the object is): a forged size,
  a forged ETag, a key that S3 does not have; none may hide the genuine notification, corrupt the
  ledger or cause a second download.
- Bytes damaged on the way to a multipart object without a checksum (5 and 6 MiB parts, and parts
  of unequal sizes): dead-lettered, never done; the same bytes undamaged: done.
- A response whose Content-Length disagrees with the object's size: refused at the headers.
- Status endpoints without the secret; a data dir where a download could land; an empty secret.
- Control characters in keys and buckets: refused, and logged escaped (no forged log line).
- Malformed, unsigned, oversized or unsafe POST /objects bodies and GET paths: refused, nothing
  queued.
"""
import collections
import hashlib
import json
import os
import re
import unittest

from harness import wait_for
from relay_harness import (PipelineTestCase, Proc, StoreConsumerTestCase, TcpProxy, free_port,
                           http_json, notice, sign)

SECRET = "hostile-consumer-secret"
MIB = 1024 * 1024


class FlipOneByteProxy(TcpProxy):
    """Flips one byte in the body of every response (server -> client) that has a body of more than
    a few KiB, past its headers: bytes damaged on the way under headers that look right.
    flip=False passes everything as is."""

    def __init__(self, target_port, flip=True):
        self.flip = flip
        super().__init__(target_port)

    def relay_conn(self, data, to_client, conn):
        if not to_client or not self.flip:
            return None
        if data.startswith(b"HTTP/1."):
            conn["flipped"] = False
            return None
        if len(data) > 2000 and conn.get("flipped") is False:
            conn["flipped"] = True
            i = len(data) // 2
            return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:]
        return None


class ContentLengthProxy(TcpProxy):
    """In every 200 answer to a GET, replaces the Content-Length with `length` (HEAD answers pass
    untouched); the body follows as sent."""

    def __init__(self, target_port, length):
        self.length = length
        self.gets = 0
        super().__init__(target_port)

    def relay_conn(self, data, to_client, conn):
        methods = conn.setdefault("methods", collections.deque())
        if not to_client:
            m = data.split(b" ", 1)[0]
            if m in (b"GET", b"HEAD"):
                methods.append(m)
            return None
        if not data.startswith(b"HTTP/1.") or not methods:
            return None
        if methods.popleft() != b"GET" or not data.startswith(b"HTTP/1.1 200"):
            return None
        self.gets += 1
        head, sep, rest = data.partition(b"\r\n\r\n")
        head = re.sub(rb"(?i)\r\ncontent-length: *\d+", b"\r\nContent-Length: %d" % self.length,
                      head)
        return head + sep + rest


class HostileTestCase(StoreConsumerTestCase):
    SECRET = SECRET

    def consumer(self, endpoint=None, args=()):
        return self.start_consumer(endpoint or self.store.endpoint, ["--secret", SECRET] + list(args))

    def put(self, key, data):
        return super().put(key, data).strip('"')

    def wait_state(self, consumer, key, state, timeout=30):
        def reached():
            s = self.object_state(consumer, "data", key)
            return s if s and s["state"] == state else None
        return wait_for(reached, timeout, what=f"data/{key} {state}")

    def settled(self, consumer):
        """Waits until no row is pending or downloading; returns the metrics."""
        def idle():
            m = self.metrics(consumer)
            return m if m["states"]["pending"] == 0 and m["states"]["downloading"] == 0 else None
        return wait_for(idle, 30, what="an idle queue")


class ForgedNotificationTest(HostileTestCase):
    """A notification is a hint: what S3 says about the object decides."""

    def test_a_forged_size_causes_one_correct_download_and_no_retry(self):
        # Before: the consumer expected the notification's size, downloaded the whole object,
        # found the size wrong at the end, and did so again on every attempt until a dead letter;
        # the genuine notification, a duplicate, never brought the object.
        c = self.consumer(args=["--max-attempts", "3"])
        data = os.urandom(300_000)
        etag = self.put("sized.bin", data)
        for lie in (len(data) + 1000, 1):
            st, body = self.post(c, notice("data", "sized.bin", lie, etag))
            self.assertIn(st, (200, 202), body)
        st, body = self.post(c, notice("data", "sized.bin", len(data), etag))
        self.assertEqual(st, 200, body)
        self.assertTrue(body["duplicate"])
        s = self.wait_done(c, "data", "sized.bin")
        self.assertEqual(self.downloaded("data", "sized.bin"), data)
        self.assertEqual(s["attempts"], 1)
        self.assertEqual(s["size"], len(data))  # the ledger keeps what S3 said
        m = self.settled(c)
        self.assertEqual((m["downloads"], m["attemptFailures"], m["bytesDownloaded"]),
                         (1, 0, len(data)))

    def test_a_forged_etag_downloads_nothing(self):
        c = self.consumer()
        data = os.urandom(50_000)
        etag = self.put("etag.bin", data)
        for i in range(5):
            fake = "%032x" % (0xdead0000 + i)
            st, _ = self.post(c, notice("data", "etag.bin", len(data), fake))
            self.assertEqual(st, 202)
        m = self.settled(c)
        self.assertEqual((m["downloads"], m["bytesDownloaded"], m["superseded"]), (0, 0, 5))
        s = self.object_state(c, "data", "etag.bin")
        self.assertEqual(s["state"], "superseded")
        self.assertIn(f"holds ETag {etag} now", s["lastError"])
        self.assertFalse(os.path.exists(os.path.join(self.download_dir, "data", "etag.bin")))
        st, _ = self.post(c, notice("data", "etag.bin", len(data), etag))
        self.assertEqual(st, 202)
        self.wait_done(c, "data", "etag.bin")
        self.assertEqual(self.downloaded("data", "etag.bin"), data)
        self.assertEqual(self.settled(c)["downloads"], 1)

    def test_a_notification_of_a_key_s3_does_not_have_is_superseded_then_revived(self):
        # A lie about an existing bucket: the key is not there (yet). The row is not retried
        # forever, and the genuine notification, later, is not taken for a duplicate of it.
        c = self.consumer(args=["--max-attempts", "50"])
        data = os.urandom(20_000)
        etag = hashlib.md5(data).hexdigest()
        st, _ = self.post(c, notice("data", "later.bin", len(data), etag))
        self.assertEqual(st, 202)
        s = self.wait_state(c, "later.bin", "superseded")
        self.assertIn("NoSuchKey", s["lastError"])
        self.assertEqual(s["attempts"], 1)
        self.assertEqual(self.put("later.bin", data), etag)
        st, body = self.post(c, notice("data", "later.bin", len(data), etag))
        self.assertEqual(st, 202, body)
        self.assertTrue(body["revived"])
        self.wait_done(c, "data", "later.bin")
        self.assertEqual(self.downloaded("data", "later.bin"), data)

    def test_every_lie_then_the_genuine_notification_downloads_once(self):
        c = self.consumer(args=["--max-attempts", "2"])
        data = os.urandom(200_000)
        etag = self.put("obj.bin", data)
        lies = [notice("data", "obj.bin", len(data) * 2, etag),        # wrong size
                notice("data", "obj.bin", len(data), "f" * 32),        # wrong ETag
                notice("data", "obj.bin", 0, "0" * 32 + "-3"),         # wrong everything
                notice("data", "not-there.bin", len(data), etag)]      # no such key
        for n in lies:
            st, body = self.post(c, n)
            self.assertIn(st, (200, 202), body)
        st, _ = self.post(c, notice("data", "obj.bin", len(data), etag))
        self.assertIn(st, (200, 202))
        # GET /objects/data/obj.bin shows the newest row (a lie, superseded): the list of done
        # rows says which version was downloaded.
        ok = {"Authorization": f"Bearer {SECRET}"}

        def done():
            st, body = http_json(c.port, "GET", "/objects?state=done", headers=ok)
            return [o for o in body["objects"] if o["key"] == "obj.bin"]
        rows = wait_for(done, 30, what="data/obj.bin done")
        self.assertEqual([(r["etag"], r["size"], r["attempts"]) for r in rows],
                         [(etag, len(data), 1)])
        self.assertEqual(self.downloaded("data", "obj.bin"), data)
        m = self.settled(c)
        self.assertEqual((m["downloads"], m["bytesDownloaded"], m["deadLetters"]),
                         (1, len(data), 0))
        self.assertFalse(os.path.exists(os.path.join(self.download_dir, "data", "not-there.bin")))
        # Late lies about the downloaded object change nothing.
        for size in (1, len(data) + 1):
            st, body = self.post(c, notice("data", "obj.bin", size, etag))
            self.assertEqual((st, body["state"]), (200, "done"))
        self.assertEqual(self.settled(c)["downloads"], 1)


class MultipartIntegrityTest(HostileTestCase):
    """Objects uploaded in parts without a checksum: only their exact multipart ETag, recomputed
    with the part sizes S3 tells, vouches for the bytes."""

    def upload(self, key, part_sizes):
        plain = self.s3(self.store, checksums=False)
        uid = plain.create_multipart_upload(Bucket="data", Key=key)["UploadId"]
        parts, whole = [], b""
        for i, n in enumerate(part_sizes, 1):
            body = os.urandom(n)
            whole += body
            e = plain.upload_part(Bucket="data", Key=key, UploadId=uid, PartNumber=i,
                                  Body=body)["ETag"]
            parts.append({"PartNumber": i, "ETag": e})
        etag = plain.complete_multipart_upload(Bucket="data", Key=key, UploadId=uid,
                                               MultipartUpload={"Parts": parts})["ETag"]
        self.assertTrue(etag.strip('"').endswith(f"-{len(part_sizes)}"), etag)
        head = self.client.head_object(Bucket="data", Key=key, ChecksumMode="ENABLED")
        self.assertFalse([k for k in head if k.startswith("Checksum")], head)
        return whole, etag.strip('"')

    def through(self, proxy_flip, key, part_sizes, attempts=2):
        whole, etag = self.upload(key, part_sizes)
        proxy = FlipOneByteProxy(self.store.port, flip=proxy_flip)
        self.addCleanup(proxy.close)
        c = self.consumer(f"http://127.0.0.1:{proxy.port}", ["--max-attempts", str(attempts)])
        st, _ = self.post(c, notice("data", key, len(whole), etag))
        self.assertEqual(st, 202)
        return c, whole

    def assert_dead_letter(self, c, key):
        def failed():
            s = self.object_state(c, "data", key)
            return s if s["state"] == "failed" else None
        s = wait_for(failed, 60, what=f"dead letter {key}")
        self.assertEqual(s["attempts"], 2)
        self.assertIn("multipart ETag of the download is", s["lastError"])
        self.assertFalse(os.path.exists(os.path.join(self.download_dir, "data", key)))
        m = self.metrics(c)
        self.assertEqual(m["downloads"], 0)
        self.assertEqual(m["states"]["done"], 0)

    def test_a_flipped_byte_in_5_mib_parts_is_a_dead_letter(self):
        c, _ = self.through(True, "mp5.bin", [5 * MIB, 5 * MIB, 1234])
        self.assert_dead_letter(c, "mp5.bin")

    def test_a_flipped_byte_in_6_mib_parts_is_a_dead_letter(self):
        c, _ = self.through(True, "mp6.bin", [6 * MIB, 6 * MIB, 777])
        self.assert_dead_letter(c, "mp6.bin")

    def test_undamaged_6_mib_parts_are_done_by_their_exact_etag(self):
        c, whole = self.through(False, "ok6.bin", [6 * MIB, 6 * MIB, 777])
        self.wait_done(c, "data", "ok6.bin", timeout=60)
        self.assertEqual(self.downloaded("data", "ok6.bin"), whole)
        m = wait_for(lambda: (lambda m: m["downloads"] == 1 and m)(self.metrics(c)), 10,
                     what="the download counted")
        self.assertEqual(m["verified"], {"checksum": 0, "md5": 0, "multipart-md5": 1})

    def test_parts_of_unequal_sizes_are_asked_one_by_one(self):
        # 5, 7 and 1 MiB: the first guess (every part as large as part 1) is wrong; the sizes
        # S3 tells for each part give the exact ETag.
        c, whole = self.through(False, "uneven.bin", [5 * MIB, 7 * MIB, MIB])
        self.wait_done(c, "data", "uneven.bin", timeout=60)
        self.assertEqual(self.downloaded("data", "uneven.bin"), whole)
        self.assertEqual(self.settled(c)["verified"]["multipart-md5"], 1)


class ResponseHeadersTest(HostileTestCase):
    def test_a_content_length_other_than_the_objects_size_is_refused_at_the_headers(self):
        # The proxy announces 100 MB more than the object has and then sends its real body: a
        # client that only checks at the end waits for bytes that never come.
        data = os.urandom(100_000)
        etag = self.put("cl.bin", data)
        proxy = ContentLengthProxy(self.store.port, len(data) + 100_000_000)
        self.addCleanup(proxy.close)
        c = self.consumer(f"http://127.0.0.1:{proxy.port}", ["--max-attempts", "1"])
        st, _ = self.post(c, notice("data", "cl.bin", len(data), etag))
        self.assertEqual(st, 202)
        s = self.wait_state(c, "cl.bin", "failed", timeout=15)
        self.assertIn(f"Content-Length says the object has {len(data) + 100_000_000} bytes, "
                      f"not {len(data)}", s["lastError"])
        self.assertEqual(proxy.gets, 1)
        self.assertFalse(os.path.exists(os.path.join(self.download_dir, "data", "cl.bin")))


class StatusEndpointTest(HostileTestCase):
    def test_the_ledger_is_not_shown_without_the_secret(self):
        c = self.consumer()
        data = b"private"
        etag = self.put("secret/name.txt", data)
        st, _ = self.post(c, notice("data", "secret/name.txt", len(data), etag))
        self.assertEqual(st, 202)
        self.wait_done(c, "data", "secret/name.txt")  # with the Bearer token (harness)
        for path in ("/objects/data/secret/name.txt", "/objects?state=done", "/objects",
                     "/objects/"):
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": SECRET},
                            {"Authorization": "Basic " + SECRET}, {"X-Ingestor-Signature":
                                                                   sign(SECRET, b"")}):
                st, body = http_json(c.port, "GET", path, headers=headers)
                self.assertEqual(st, 401, (path, headers, body))
                self.assertNotIn("name.txt", json.dumps(body))
        ok = {"Authorization": f"Bearer {SECRET}"}
        st, body = http_json(c.port, "GET", "/objects?state=done", headers=ok)
        self.assertEqual(st, 200)
        self.assertEqual([o["key"] for o in body["objects"]], ["secret/name.txt"])
        # Health and the counters stay open (numbers only, no names).
        self.assertEqual(http_json(c.port, "GET", "/healthz")[0], 200)
        st, body = http_json(c.port, "GET", "/metrics")
        self.assertEqual(st, 200)
        self.assertNotIn("name.txt", json.dumps(body))
        self.assertGreaterEqual(body["consumer"]["unauthorized"], 20)

    def test_without_a_secret_the_ledger_is_open(self):
        c = self.start_consumer(self.store.endpoint)
        st, body = http_json(c.port, "GET", "/objects?state=failed")
        self.assertEqual((st, body["objects"]), (200, []))


class StartupTest(HostileTestCase):
    def run_consumer(self, args, env=None, name="bad-consumer"):
        p = Proc(self.tmp, name, ["consumer", "--listen", "127.0.0.1:0", "--download-dir",
                                  self.download_dir, "--s3-endpoint", self.store.endpoint]
                 + list(args), env=env)
        self.procs.append(p)
        p.start(wait=False)
        return p.wait_exit(), p.output()

    def test_a_data_dir_equal_to_the_download_dir_is_refused(self):
        rc, out = self.run_consumer(["--data-dir", self.download_dir + "/"])
        self.assertEqual(rc, 2, out)
        self.assertIn("is --download-dir", out)
        self.assertFalse(os.path.exists(self.download_dir))

    def test_a_data_dir_where_a_bucket_lands_is_refused(self):
        rc, out = self.run_consumer(["--data-dir", os.path.join(self.download_dir, "data", "db")])
        self.assertEqual(rc, 2, out)
        self.assertIn("is inside --download-dir", out)
        self.assertFalse(os.path.exists(self.download_dir))

    def test_the_temp_dir_as_data_dir_is_refused(self):
        rc, out = self.run_consumer(["--data-dir", os.path.join(self.download_dir, ".ingestor-tmp")])
        self.assertEqual(rc, 2, out)
        self.assertIn("a download could overwrite the ledger", out)

    def test_a_data_dir_inside_through_a_symlink_is_refused(self):
        os.makedirs(os.path.join(self.download_dir, "data"))
        link = os.path.join(self.tmp, "link")
        os.symlink(os.path.join(self.download_dir, "data"), link)
        rc, out = self.run_consumer(["--data-dir", link])
        self.assertEqual(rc, 2, out)
        self.assertIn("is inside --download-dir", out)

    def test_the_default_and_an_outside_data_dir_are_accepted(self):
        for args in ([], ["--data-dir", os.path.join(self.download_dir, ".ingestor-consumer")],
                     ["--data-dir", os.path.join(self.tmp, "ledger")]):
            c = self.start_consumer(self.store.endpoint, args, name=f"ok{len(self.procs)}")
            self.assertEqual(http_json(c.port, "GET", "/healthz")[0], 200)
            c.stop()

    def test_an_empty_secret_is_refused(self):
        rc, out = self.run_consumer(["--secret", ""])
        self.assertEqual(rc, 2, out)
        self.assertIn("--secret is empty", out)

    def test_an_empty_secret_in_the_environment_is_refused(self):
        env = dict(os.environ, INGESTOR_SECRET="")
        rc, out = self.run_consumer([], env=env)
        self.assertEqual(rc, 2, out)
        self.assertIn("INGESTOR_SECRET is set but empty", out)


class LogInjectionTest(HostileTestCase):
    FORGED = "[2026-01-01 00:00:00.000] [error] FORGED"

    def assert_no_forged_line(self, c):
        with open(c.log_path, "rb") as f:
            raw = f.read()
        self.assertNotIn(b"\x1b", raw)
        self.assertNotIn(b"\x00", raw)
        self.assertNotIn(b"\r", raw)
        lines = raw.decode("utf-8", "replace").splitlines()
        forged = [ln for ln in lines if "FORGED" in ln]
        self.assertTrue(forged, "the refusal should be logged")
        for ln in forged:
            self.assertIn("consumer: refused", ln)
            self.assertFalse(ln.startswith(self.FORGED), ln)

    def test_a_newline_in_a_key(self):
        c = self.consumer()
        st, _ = self.post(c, notice("data", "a\n" + self.FORGED, 3, "e" * 32))
        self.assertEqual(st, 422)
        wait_for(lambda: "FORGED" in c.output(), 10, what="the refusal in the log")
        self.assert_no_forged_line(c)
        self.assertIn("a\\n[2026", c.output())

    def test_a_carriage_return_in_a_key(self):
        c = self.consumer()
        st, _ = self.post(c, notice("data", "a\r\n" + self.FORGED, 3, "e" * 32))
        self.assertEqual(st, 422)
        wait_for(lambda: "FORGED" in c.output(), 10, what="the refusal in the log")
        self.assert_no_forged_line(c)

    def test_an_escape_sequence_in_a_key(self):
        c = self.consumer()
        st, _ = self.post(c, notice("data", "a\x1b[2K\x1b[1G" + self.FORGED, 3, "e" * 32))
        self.assertEqual(st, 422)
        wait_for(lambda: "FORGED" in c.output(), 10, what="the refusal in the log")
        self.assert_no_forged_line(c)
        self.assertIn("a\\x1b[2K", c.output())

    def test_a_nul_in_a_key(self):
        c = self.consumer()
        st, _ = self.post(c, notice("data", "a\x00\n" + self.FORGED, 3, "e" * 32))
        self.assertEqual(st, 422)
        wait_for(lambda: "FORGED" in c.output(), 10, what="the refusal in the log")
        self.assert_no_forged_line(c)

    def test_a_newline_in_a_bucket(self):
        c = self.consumer()
        st, _ = self.post(c, notice("data\n" + self.FORGED, "k", 3, "e" * 32))
        self.assertEqual(st, 422)
        wait_for(lambda: "FORGED" in c.output(), 10, what="the refusal in the log")
        self.assert_no_forged_line(c)


class BadRequestTest(PipelineTestCase):
    """POST /objects and GET paths that are refused, with nothing queued (no S3 needed)."""
    SECRET = SECRET

    def setUp(self):
        super().setUp()
        self.c = self.start_consumer(f"http://127.0.0.1:{free_port()}", ["--secret", SECRET])

    GOOD = notice("data", "k", 3, "e" * 32)


def _case(name, make, status, text):
    def test(self):
        st, body = make(self)
        self.assertEqual(st, status, body)
        if text:
            self.assertIn(text, body["error"] if isinstance(body, dict) else str(body))
        m = self.metrics(self.c)
        self.assertEqual((m["queued"], sum(m["states"].values())), (0, 0))
    test.__name__ = "test_" + name
    setattr(BadRequestTest, test.__name__, test)


G = BadRequestTest.GOOD
for _name, _make, _status, _text in [
    ("not_json", lambda t: t.post(t.c, b"{not json"), 400, "not JSON"),
    ("not_an_object", lambda t: t.post(t.c, b"[1,2]"), 400, "not a JSON object"),
    ("no_etag", lambda t: t.post(t.c, {k: v for k, v in G.items() if k != "etag"}), 400, "etag"),
    ("no_size", lambda t: t.post(t.c, {k: v for k, v in G.items() if k != "size"}), 400, "size"),
    ("negative_size", lambda t: t.post(t.c, dict(G, size=-5)), 400, "size"),
    ("fractional_size", lambda t: t.post(t.c, dict(G, size=1.5)), 400, "size"),
    ("string_size", lambda t: t.post(t.c, dict(G, size="3")), 400, "size"),
    ("empty_bucket", lambda t: t.post(t.c, dict(G, bucket="")), 400, "bucket"),
    ("empty_key", lambda t: t.post(t.c, dict(G, key="")), 400, "key"),
    ("wrong_signature", lambda t: t.post(t.c, G, secret="wrong-secret"), 401, "does not match"),
    ("no_signature", lambda t: t.post(t.c, G, secret=None), 401, "required"),
    ("signature_of_another_body", lambda t: t.post(t.c, G, secret=None, headers={
        "X-Ingestor-Signature": sign(SECRET, json.dumps(G).encode() + b" ")}), 401,
     "does not match"),
    ("dot_dot_key", lambda t: t.post(t.c, dict(G, key="../../etc/passwd")), 422, ".."),
    ("absolute_key", lambda t: t.post(t.c, dict(G, key="/abs")), 422, "absolute"),
    ("empty_segment_key", lambda t: t.post(t.c, dict(G, key="a//b")), 422, "empty"),
    ("trailing_slash_key", lambda t: t.post(t.c, dict(G, key="dir/")), 422, "empty"),
    ("nul_key", lambda t: t.post(t.c, dict(G, key="a\u0000b")), 422, "NUL"),
    ("control_key", lambda t: t.post(t.c, dict(G, key="a\u0007b")), 422, "control"),
    ("long_key", lambda t: t.post(t.c, dict(G, key="k" * 1025)), 422, "1024"),
    ("long_segment", lambda t: t.post(t.c, dict(G, key="d/" + "s" * 256)), 422, "255"),
    ("dot_dot_bucket", lambda t: t.post(t.c, dict(G, bucket="../x")), 422, "bucket"),
    ("dot_bucket", lambda t: t.post(t.c, dict(G, bucket=".ingestor-consumer")), 422, "bucket"),
    ("slash_bucket", lambda t: t.post(t.c, dict(G, bucket="a/b")), 422, "bucket"),
    ("oversized_body", lambda t: t.post(t.c, dict(G, sequencer="x" * 70_000)), 413, None),
    ("bad_escape_in_get", lambda t: http_json(t.c.port, "GET", "/objects/data/%zz", headers={
        "Authorization": f"Bearer {SECRET}"}), 400, "escape"),
    ("unknown_state", lambda t: http_json(t.c.port, "GET", "/objects?state=bogus", headers={
        "Authorization": f"Bearer {SECRET}"}), 400, "unknown state"),
    ("unknown_endpoint", lambda t: http_json(t.c.port, "DELETE", "/objects/data/k"), 404,
     "no such endpoint"),
]:
    _case(_name, _make, _status, _text)


if __name__ == "__main__":
    unittest.main()
