"""Bodies of 256 KiB and more, which `ingestor store` reads from the socket straight into the
blocks it hashes (the ETag's MD5 runs on a shared worker, up to eight bodies at once) and writes:
the ETag and the bytes are exact on both sides of every block boundary, concurrent uploads each
get their own ETag, digest mismatches are refused with nothing written, a request pipelined behind
a body on the same connection is answered, and a body cut short leaves nothing behind."""
import base64
import concurrent.futures
import hashlib
import os
import socket
import unittest
import zlib

from harness import wait_for
from store_harness import BucketTestCase, signed_headers

KIB = 1024
BLOCK = 256 * KIB  # BodyPipeline::kHashBlock
UNSIGNED = "UNSIGNED-PAYLOAD"


class LargeBodyTest(BucketTestCase):
    def request(self, method, path, body=b"", headers=None, payload_hash=UNSIGNED,
                content_length=None):
        """A signed request as bytes: header and body go out in one send, so the store gets
        body bytes together with the header."""
        h = signed_headers(self.store.port, method, path, body, headers,
                           payload_hash=payload_hash)
        if not any(k.lower() == "host" for k in h):
            h["Host"] = f"127.0.0.1:{self.store.port}"
        h["Content-Length"] = str(len(body) if content_length is None else content_length)
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items())
        return (head + "\r\n").encode() + body

    @staticmethod
    def response(f):
        status = int(f.readline().split()[1])
        headers = {}
        while True:
            line = f.readline().rstrip(b"\r\n")
            if not line:
                break
            k, v = line.decode().split(":", 1)
            headers[k.strip().lower()] = v.strip()
        body = f.read(int(headers.get("content-length", "0")))
        return status, headers, body

    def send(self, *requests):
        with socket.create_connection(("127.0.0.1", self.store.port), timeout=30) as s:
            s.sendall(b"".join(requests))
            f = s.makefile("rb")
            return [self.response(f) for _ in requests]

    def put(self, key, body, headers=None, payload_hash=UNSIGNED):
        return self.send(self.request("PUT", f"/bkt/{key}", body, headers, payload_hash))[0]

    def get(self, key):
        return self.s3.get_object(Bucket="bkt", Key=key)["Body"].read()

    def assert_nothing_written(self):
        self.assertEqual(self.s3.list_objects_v2(Bucket="bkt")["KeyCount"], 0)
        self.assertEqual(self.object_files(), [])
        self.assertEqual([f for f in self.data_files() if f.startswith("tmp/")], [])

    def test_etag_and_bytes_on_both_sides_of_every_block_boundary(self):
        sizes = [BLOCK - 1, BLOCK, BLOCK + 1, 4 * BLOCK, 5 * BLOCK + 17, 3 * 1024 * KIB + 5]
        for i, n in enumerate(sizes):
            with self.subTest(size=n):
                body = os.urandom(n)
                md5 = hashlib.md5(body)
                headers = {"Content-MD5": base64.b64encode(md5.digest()).decode()} if i % 2 else {}
                # one of them with a signed payload: its SHA-256 is checked on the same bytes
                ph = hashlib.sha256(body).hexdigest() if n == 4 * BLOCK else UNSIGNED
                st, h, data = self.put(f"k{n}", body, headers, ph)
                self.assertEqual(st, 200, data)
                self.assertEqual(h["etag"], f'"{md5.hexdigest()}"')
                self.assertEqual(self.get(f"k{n}"), body)
                self.assertEqual(self.s3.head_object(Bucket="bkt", Key=f"k{n}")["ETag"],
                                 f'"{md5.hexdigest()}"')

    def test_concurrent_uploads_each_get_their_own_etag(self):
        bodies = {f"c{i}": os.urandom(BLOCK * (1 + i % 6) + i * 101) for i in range(24)}
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            results = dict(zip(bodies, pool.map(lambda k: self.put(k, bodies[k]), bodies)))
        for k, body in bodies.items():
            st, h, data = results[k]
            self.assertEqual(st, 200, data)
            self.assertEqual(h["etag"], f'"{hashlib.md5(body).hexdigest()}"', k)
            self.assertEqual(self.get(k), body, k)

    def test_digest_mismatches_are_refused_and_nothing_is_written(self):
        body = os.urandom(4 * BLOCK + 17)
        other = base64.b64encode(hashlib.md5(b"other").digest()).decode()
        st, _, data = self.put("md5", body, {"Content-MD5": other})
        self.assertEqual(st, 400)
        self.assertIn(b"<Code>BadDigest</Code>", data)
        wrong_crc = base64.b64encode((zlib.crc32(body) ^ 1).to_bytes(4, "big")).decode()
        st, _, data = self.put("crc", body, {"x-amz-checksum-crc32": wrong_crc})
        self.assertEqual(st, 400)
        self.assertIn(b"<Code>BadDigest</Code>", data)
        st, _, data = self.put("sha", body, payload_hash=hashlib.sha256(b"other").hexdigest())
        self.assertEqual(st, 400)
        self.assertIn(b"<Code>XAmzContentSHA256Mismatch</Code>", data)
        self.assert_nothing_written()
        right_crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
        st, h, _ = self.put("crc", body, {"x-amz-checksum-crc32": right_crc})
        self.assertEqual((st, h.get("x-amz-checksum-crc32")), (200, right_crc))

    def test_requests_pipelined_behind_a_body_are_answered_in_order(self):
        body = os.urandom(BLOCK + 300 * KIB)
        (st1, h1, _), (st2, _, got), (st3, _, head_body) = self.send(
            self.request("PUT", "/bkt/pipelined", body),
            self.request("GET", "/bkt/pipelined"),
            self.request("GET", "/bkt?list-type=2"))
        self.assertEqual((st1, h1["etag"]), (200, f'"{hashlib.md5(body).hexdigest()}"'))
        self.assertEqual(st2, 200)
        self.assertEqual(got, body)
        self.assertEqual(st3, 200)
        self.assertIn(b"<Key>pipelined</Key>", head_body)

    def test_a_body_cut_short_leaves_nothing_and_the_store_carries_on(self):
        body = os.urandom(3 * BLOCK)
        with socket.create_connection(("127.0.0.1", self.store.port), timeout=30) as s:
            s.sendall(self.request("PUT", "/bkt/cut", body, content_length=8 * BLOCK))
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(s.recv(1), b"")  # the store closes without an answer
        wait_for(lambda: not [f for f in self.data_files() if f.startswith("tmp/")],
                 what="the temp file of the cut body removed")
        self.assert_nothing_written()
        st, _, _ = self.put("after", body)
        self.assertEqual(st, 200)
        self.assertEqual(self.get("after"), body)


if __name__ == "__main__":
    unittest.main()
