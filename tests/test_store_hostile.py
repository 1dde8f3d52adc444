"""Hostile input against `ingestor store` (issue 16): the store's part of the bad-input list, one
test per input, named for what it tries. Each gets S3's answer (or the store's documented one),
nothing is written that should not be, and the store keeps serving. The next campaign starts here;
tests/test_store_bad_input.py has the older list (signatures, XML, digests, keys)."""
import http.client
import json
import os
import re
import resource
import select
import socket
import sqlite3
import subprocess
import time
import unittest
import urllib.parse

from harness import BIN, wait_for
from harness import http as http_request
from store_harness import ACCESS_KEY, SECRET_KEY, BucketTestCase, StoreTestCase
from test_store_bad_input import SignedRequests


def send(port, method, target, headers, body=b"", timeout=10):
    """A request with exactly these headers (no signing); (status, headers dict, body)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
    c.putheader("Host", f"127.0.0.1:{port}")
    for k, v in headers.items():
        c.putheader(k, v)
    c.putheader("Content-Length", str(len(body)))
    c.endheaders(body if body else None)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def raw_exchange(port, request, timeout=10):
    """Sends raw bytes, returns everything the store answers until it closes or goes quiet."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(request)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out:
                head, _, rest = out.partition(b"\r\n\r\n")
                m = re.search(rb"(?i)content-length: *(\d+)", head)
                if m and len(rest) >= int(m.group(1)):
                    break
    except socket.timeout:
        pass
    s.close()
    return out


def code_of(data):
    m = re.search(rb"<Code>([^<]*)</Code>", data)
    return m.group(1).decode() if m else None


def metrics(port):
    return json.loads(http_request(port, "GET", "/_ingestor/metrics")[2])["store"]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def closed_by_peer(sock, timeout):
    """True when the store closes `sock` within `timeout` seconds (EOF or reset)."""
    r, _, _ = select.select([sock], [], [], timeout)
    if not r:
        return False
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def raise_fd_limit(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


class PresignedTest(SignedRequests, BucketTestCase):
    """Item 1: every x-amz-* header must be signed; a presigned URL (SignedHeaders=host, as every
    SDK presigns) cannot be turned into another operation by adding headers."""

    def setUp(self):
        super().setUp()
        self.s3.create_bucket(Bucket="private")
        self.s3.put_object(Bucket="private", Key="secret", Body=b"top secret",
                           Metadata={"owner": "alice"})
        self.v4 = self.client(signature_version="s3v4")
        self.put_url = self.v4.generate_presigned_url(
            "put_object", Params={"Bucket": "bkt", "Key": "k"}, ExpiresIn=600)
        self.assertIn("X-Amz-SignedHeaders=host", self.put_url)

    def put_presigned(self, headers, url=None):
        u = urllib.parse.urlsplit(url or self.put_url)
        return send(self.store.port, "PUT", f"{u.path}?{u.query}", headers, b"mine")

    def assert_unsigned_refused(self, st, data, header):
        self.assertEqual((st, code_of(data)), (403, "AccessDenied"), data)
        self.assertIn(b"There were headers present in the request which were not signed", data)
        self.assertIn(f"<HeadersNotSigned>{header}</HeadersNotSigned>".encode(), data)
        keys = [o["Key"] for o in self.s3.list_objects_v2(Bucket="bkt").get("Contents", [])]
        self.assertEqual(keys, [])

    def test_presigned_put_with_unsigned_copy_source_copies_nothing(self):
        st, _, data = self.put_presigned({"x-amz-copy-source": "/private/secret"})
        self.assert_unsigned_refused(st, data, "x-amz-copy-source")
        st, _, _ = self.put_presigned({})  # the URL itself still works
        self.assertEqual(st, 200)
        self.assertEqual(self.s3.get_object(Bucket="bkt", Key="k")["Body"].read(), b"mine")

    def test_presigned_put_with_unsigned_metadata(self):
        st, _, data = self.put_presigned({"X-Amz-Meta-Evil": "1"})
        self.assert_unsigned_refused(st, data, "x-amz-meta-evil")

    def test_presigned_put_with_unsigned_acl(self):
        st, _, data = self.put_presigned({"x-amz-acl": "public-read-write"})
        self.assert_unsigned_refused(st, data, "x-amz-acl")

    def test_presigned_put_with_unsigned_date_header(self):
        st, _, data = self.put_presigned({"x-amz-date": "20200101T000000Z"})
        self.assert_unsigned_refused(st, data, "x-amz-date")

    def test_presigned_get_with_unsigned_checksum_mode(self):
        url = self.v4.generate_presigned_url(
            "get_object", Params={"Bucket": "private", "Key": "secret"}, ExpiresIn=600)
        u = urllib.parse.urlsplit(url)
        st, _, data = send(self.store.port, "GET", f"{u.path}?{u.query}",
                           {"x-amz-checksum-mode": "ENABLED"})
        self.assertEqual((st, code_of(data)), (403, "AccessDenied"))
        st, _, data = send(self.store.port, "GET", f"{u.path}?{u.query}", {})
        self.assertEqual((st, data), (200, b"top secret"))

    def test_presigned_put_with_signed_metadata_is_fine(self):
        url = self.v4.generate_presigned_url(
            "put_object", Params={"Bucket": "bkt", "Key": "k", "Metadata": {"a": "1"}},
            ExpiresIn=600)
        st, _, data = self.put_presigned({"x-amz-meta-a": "1"}, url)
        self.assertEqual(st, 200, data)
        self.assertEqual(self.s3.head_object(Bucket="bkt", Key="k")["Metadata"], {"a": "1"})

    def test_header_signed_put_with_header_added_after_signing(self):
        h = self.signed_headers("PUT", "/bkt/k", b"mine")
        h["x-amz-copy-source"] = "/private/secret"
        st, _, data = send(self.store.port, "PUT", "/bkt/k", h, b"mine")
        self.assert_unsigned_refused(st, data, "x-amz-copy-source")

    def test_sigv2_presigned_put_with_added_copy_source(self):
        # SigV2 signs every x-amz-* header (its string to sign lists them all): an added one
        # breaks the signature.
        v2 = self.client(signature_version="s3")
        url = v2.generate_presigned_url("put_object", Params={"Bucket": "bkt", "Key": "k"},
                                        ExpiresIn=600)
        self.assertIn("AWSAccessKeyId=", url)
        st, _, data = self.put_presigned({"x-amz-copy-source": "/private/secret"}, url)
        self.assertEqual((st, code_of(data)), (403, "SignatureDoesNotMatch"))
        self.assertEqual(self.s3.list_objects_v2(Bucket="bkt")["KeyCount"], 0)

    def test_anonymous_copy_of_private_object_into_public_bucket(self):
        # Anonymous requests have no signature to cover their headers: the ACLs decide, of the
        # source too.
        self.s3.create_bucket(Bucket="open", ACL="public-read-write")
        st, _, data = send(self.store.port, "PUT", "/open/copy",
                           {"x-amz-copy-source": "/private/secret"})
        self.assertEqual((st, code_of(data)), (403, "AccessDenied"))
        self.assertEqual(self.s3.list_objects_v2(Bucket="open")["KeyCount"], 0)


class ResponseSplittingTest(SignedRequests, BucketTestCase):
    """Item 2: no value from a request becomes a response header with CR, LF or another control
    character: 400 InvalidArgument, and the store checks what it writes as a last line."""

    def setUp(self):
        super().setUp()
        self.s3.put_object(Bucket="bkt", Key="k", Body=b"data")

    def test_response_content_disposition_with_crlf(self):
        url = self.client(signature_version="s3v4").generate_presigned_url(
            "get_object", Params={"Bucket": "bkt", "Key": "k",
                                  "ResponseContentDisposition": "a\r\nSet-Cookie: stolen=1"},
            ExpiresIn=600)
        u = urllib.parse.urlsplit(url)
        st, hdrs, data = send(self.store.port, "GET", f"{u.path}?{u.query}", {})
        self.assertEqual((st, code_of(data)), (400, "InvalidArgument"), data)
        self.assertNotIn("set-cookie", hdrs)

    def test_response_content_type_with_lf_and_body(self):
        with self.assertRaises(Exception) as cm:
            self.s3.get_object(Bucket="bkt", Key="k",
                               ResponseContentType="text/html\n\n<script>alert(1)</script>")
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgument")

    def test_response_content_language_with_nul(self):
        with self.assertRaises(Exception) as cm:
            self.s3.get_object(Bucket="bkt", Key="k", ResponseContentLanguage="x\x00y")
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgument")

    def raw_put(self, header_line):
        req = (f"PUT /bkt/k2 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\n"
               f"Connection: close\r\n").encode() + header_line + b"\r\n\r\nx"
        return raw_exchange(self.store.port, req)

    def test_metadata_value_with_control_character(self):
        out = self.raw_put(b"x-amz-meta-a: ok\x01\x1b[2J")
        self.assertTrue(out.startswith(b"HTTP/1.1 400"), out[:200])
        self.assertEqual(self.s3.list_objects_v2(Bucket="bkt")["KeyCount"], 1)

    def test_content_disposition_with_delete_character(self):
        out = self.raw_put(b"Content-Disposition: attachment\x7f")
        self.assertTrue(out.startswith(b"HTTP/1.1 400"), out[:200])

    def test_metadata_value_with_bare_cr(self):
        out = self.raw_put(b"x-amz-meta-a: a\rSet-Cookie: x=1")
        self.assertTrue(out.startswith(b"HTTP/1.1 400"), out[:200])
        self.assertNotIn(b"Set-Cookie", out)

    def test_origin_with_control_character(self):
        out = raw_exchange(self.store.port, b"GET /bkt/k HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           b"Origin: http://a\x0bb\r\nConnection: close\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 400"), out[:200])

    def test_stored_metadata_with_crlf_is_never_written(self):
        # Metadata that got into the database by another way (an older version, a hand edit) is
        # caught where headers are written: 500, the header is not sent, the log line escaped.
        self.store.stop()
        db = sqlite3.connect(os.path.join(self.store.data_dir, "meta.db"))
        db.execute("UPDATE objects SET user_meta=? WHERE key='k'",
                   (json.dumps([["x-amz-meta-a", "v\r\nSet-Cookie: stolen=1\x1b[31m"]]),))
        db.commit()
        db.close()
        self.store = self.start_store(data_dir=self.store.data_dir)
        self.s3 = self.client()
        out = raw_exchange(self.store.port, self.raw_request("GET", "/bkt/k"))
        self.assertTrue(out.startswith(b"HTTP/1.1 500"), out[:300])
        self.assertNotIn(b"Set-Cookie", out)
        self.assertNotIn(b"stolen", out)
        log = wait_for(lambda: "control character" in self.store.output() and self.store.output(),
                       10, what="the refused header logged")
        self.assertIn("\\r\\nSet-Cookie", log)
        self.assertNotIn("\x1b", log)
        self.assertNotIn("\r", log)
        self.assertEqual(metrics(self.store.port)["unsafeResponseHeaders"], 1)

    def raw_request(self, method, path):
        h = self.signed_headers(method, path)
        lines = [f"{method} {path} HTTP/1.1", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in h.items()]
        if "Host" not in h:
            lines.append(f"Host: 127.0.0.1:{self.store.port}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()


class SseTest(BucketTestCase):
    """Item 6: the store does not encrypt at rest, so every SSE request is refused with 501
    NotImplemented rather than stored in the clear (SSE-S3 AES256 too)."""

    SSE_C = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": "k" * 32}

    def assert_501(self, call, **kw):
        with self.assertRaises(Exception) as cm:
            call(**kw)
        resp = cm.exception.response
        self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], 501, resp)
        if "Code" in resp.get("Error", {}) and not resp["Error"]["Code"].isdigit():
            self.assertEqual(resp["Error"]["Code"], "NotImplemented")

    def assert_absent(self, key="k"):
        keys = [o["Key"] for o in self.s3.list_objects_v2(Bucket="bkt").get("Contents", [])]
        self.assertNotIn(key, keys)

    def test_put_with_sse_c_key(self):
        self.assert_501(self.s3.put_object, Bucket="bkt", Key="k", Body=b"x", **self.SSE_C)
        self.assert_absent()

    def test_put_with_sse_kms(self):
        self.assert_501(self.s3.put_object, Bucket="bkt", Key="k", Body=b"x",
                        ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/x")
        self.assert_absent()

    def test_put_with_dsse_kms(self):
        self.assert_501(self.s3.put_object, Bucket="bkt", Key="k", Body=b"x",
                        ServerSideEncryption="aws:kms:dsse")
        self.assert_absent()

    def test_put_with_sse_s3_aes256(self):
        self.assert_501(self.s3.put_object, Bucket="bkt", Key="k", Body=b"x",
                        ServerSideEncryption="AES256")
        self.assert_absent()

    def test_get_and_head_with_sse_c_key(self):
        self.s3.put_object(Bucket="bkt", Key="plain", Body=b"x")
        self.assert_501(self.s3.get_object, Bucket="bkt", Key="plain", **self.SSE_C)
        self.assert_501(self.s3.head_object, Bucket="bkt", Key="plain", **self.SSE_C)

    def test_copy_with_sse_c_source_key(self):
        self.s3.put_object(Bucket="bkt", Key="plain", Body=b"x")
        self.assert_501(self.s3.copy_object, Bucket="bkt", Key="k",
                        CopySource={"Bucket": "bkt", "Key": "plain"},
                        CopySourceSSECustomerAlgorithm="AES256",
                        CopySourceSSECustomerKey="k" * 32)
        self.assert_absent()

    def test_copy_with_sse_kms(self):
        self.s3.put_object(Bucket="bkt", Key="plain", Body=b"x")
        self.assert_501(self.s3.copy_object, Bucket="bkt", Key="k",
                        CopySource={"Bucket": "bkt", "Key": "plain"},
                        ServerSideEncryption="aws:kms")
        self.assert_absent()

    def test_create_multipart_upload_with_sse_kms(self):
        self.assert_501(self.s3.create_multipart_upload, Bucket="bkt", Key="k",
                        ServerSideEncryption="aws:kms")
        self.assertEqual(self.s3.list_multipart_uploads(Bucket="bkt").get("Uploads", []), [])

    def test_upload_part_with_sse_c_key(self):
        up = self.s3.create_multipart_upload(Bucket="bkt", Key="k")["UploadId"]
        self.assert_501(self.s3.upload_part, Bucket="bkt", Key="k", UploadId=up, PartNumber=1,
                        Body=b"x", **self.SSE_C)
        self.assertEqual(self.s3.list_parts(Bucket="bkt", Key="k", UploadId=up).get("Parts", []),
                         [])


class ConnectionLimitsTest(StoreTestCase):
    """Item 8: idle connections cost little, their number is capped, a slow header is dropped,
    and running out of file descriptors does not spin the accept loop."""

    store_args = ("--header-timeout", "120")

    def test_thousand_idle_connections_cost_little_memory(self):
        raise_fd_limit(4096)
        pid = self.store.proc.pid
        metrics(self.store.port)  # warm: one request served
        before = rss_kib(pid)
        socks = []
        try:
            for _ in range(1000):
                socks.append(socket.create_connection(("127.0.0.1", self.store.port)))
            wait_for(lambda: metrics(self.store.port)["connectionsOpen"] >= 1001, 30,
                     what="1,000 connections accepted")
            after = rss_kib(pid)
        finally:
            for s in socks:
                s.close()
        grown_mib = (after - before) / 1024
        print(f"store VmRSS: {before / 1024:.1f} MiB before, {after / 1024:.1f} MiB with 1,000 "
              f"idle connections (+{grown_mib:.1f} MiB)")
        self.assertLess(grown_mib, 40)  # was ~280 MB (270 KiB per connection)

    def test_connections_beyond_max_connections_are_closed(self):
        self.store.stop()
        self.store = self.start_store(("--max-connections", "3"), data_dir=self.store.data_dir)
        port = self.store.port
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        try:
            self.assertEqual(metrics(port)["connectionsOpen"], 3)  # two idle and this one

            def third():  # once the store has seen the metrics connection go
                s = socket.create_connection(("127.0.0.1", port))
                if closed_by_peer(s, 0.5):
                    s.close()
                    return None
                return s
            idle.append(wait_for(third, 10, what="a third connection kept"))
            extra = socket.create_connection(("127.0.0.1", port))
            self.assertTrue(closed_by_peer(extra, 10), "the 4th connection was not closed")
            extra.close()
        finally:
            for s in idle:
                s.close()

        def served():
            try:
                return metrics(port)
            except OSError:
                return None
        m = wait_for(served, 10, what="the store serving again")
        self.assertGreaterEqual(m["connectionsRefused"], 1)
        self.assertIn("--max-connections", self.store.output())

    def test_slow_header_is_dropped(self):
        self.store.stop()
        self.store = self.start_store(("--header-timeout", "1"), data_dir=self.store.data_dir)
        port = self.store.port
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(b"GET /_ingestor/metrics HTTP/1.1\r\nHost: x\r\n")  # and never the end
        t0 = time.monotonic()
        self.assertTrue(closed_by_peer(slow, 10), "a slow header was not dropped")
        self.assertLess(time.monotonic() - t0, 8)
        slow.close()
        silent = socket.create_connection(("127.0.0.1", port))  # connects, sends nothing
        self.assertTrue(closed_by_peer(silent, 10))
        silent.close()
        self.assertEqual(metrics(port)["headerTimeouts"], 2)
        # A keep-alive connection may idle longer than the header timeout between requests.
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/_ingestor/metrics")
        self.assertEqual(c.getresponse().read()[:1], b"{")
        self.assertFalse(closed_by_peer(c.sock, 2.5))
        c.request("GET", "/_ingestor/metrics")
        self.assertEqual(c.getresponse().status, 200)
        c.close()

    def test_accept_loop_out_of_file_descriptors_backs_off(self):
        raise_fd_limit(4096)
        self.store.stop()
        self.store = self.start_store(data_dir=self.store.data_dir,
                                      prefix=["prlimit", "--nofile=48:48", "--"])
        port, pid = self.store.port, self.store.proc.pid
        socks = []
        try:
            # Connections complete in the kernel's backlog whether or not the store accepts them.
            for _ in range(80):
                socks.append(socket.create_connection(("127.0.0.1", port)))
            wait_for(lambda: "accept failed" in self.store.output(), 10, what="EMFILE")
            cpu0, t0 = cpu_seconds(pid), time.monotonic()
            lines0 = self.store.output().count("accept failed")
            wait_for(lambda: self.store.output().count("accept failed") >= lines0 + 2, 10,
                     interval=0.1, what="two more throttled lines")
            cpu, wall = cpu_seconds(pid) - cpu0, time.monotonic() - t0
            lines = self.store.output().count("accept failed") - lines0
            print(f"out of descriptors: {cpu:.2f} s CPU in {wall:.2f} s, {lines} log lines")
            self.assertLess(cpu, 0.5 * wall)  # it used to spin a whole core
            self.assertLessEqual(lines, wall + 2)  # at most one a second
        finally:
            for s in socks:
                s.close()

        def served():
            try:
                return metrics(port)
            except OSError:
                return None
        m = wait_for(served, 20, what="the store serving again")
        self.assertGreater(m["acceptFailures"], 0)


class StartupTest(unittest.TestCase):
    """Item 9: an empty secret is refused at start with one clear line."""

    def run_store(self, *args):
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            p = subprocess.run([BIN, "store", "--listen", "127.0.0.1:0", "--data-dir", tmp] +
                               list(args), capture_output=True, timeout=30)
        return p.returncode, p.stderr.decode("utf-8", "replace")

    def test_empty_secret_key(self):
        rc, err = self.run_store("--access-key", ACCESS_KEY, "--secret-key", "")
        self.assertEqual(rc, 2)
        self.assertIn("--secret-key is empty", err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)

    def test_empty_access_key(self):
        rc, err = self.run_store("--access-key", "", "--secret-key", SECRET_KEY)
        self.assertEqual(rc, 2)
        self.assertIn("--access-key is empty", err)

    def test_empty_user_secret(self):
        rc, err = self.run_store("--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY,
                                 "--user", "alt:AKIDALT:")
        self.assertEqual(rc, 2)
        self.assertIn("none of them empty", err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)


class LogInjectionTest(SignedRequests, BucketTestCase):
    """Item 7: keys and headers with newline, ESC or NUL never reach the log raw."""

    def test_hostile_keys_and_headers_do_not_forge_log_lines(self):
        for key in ("a\nFAKE 2026-01-01 ERROR forged", "esc\x1b[31mred", "cr\rline"):
            self.s3.put_object(Bucket="bkt", Key=key, Body=b"x")
            self.assertEqual(self.s3.get_object(Bucket="bkt", Key=key)["Body"].read(), b"x")
        raw_exchange(self.store.port, b"GET /bkt/%00%0a%1b HTTP/1.1\r\nHost: x\r\n"
                     b"Connection: close\r\n\r\n")
        raw_exchange(self.store.port, b"GET /bkt/k HTTP/1.1\r\nHost: x\r\nx-amz-meta-a: \x1b\x00\r\n"
                     b"Connection: close\r\n\r\n")
        self.assertIn("requests", metrics(self.store.port))  # still serving
        log = self.store.output()
        self.assertNotIn("\x1b", log)
        self.assertNotIn("\x00", log)
        self.assertNotIn("forged", log)


if __name__ == "__main__":
    unittest.main()
