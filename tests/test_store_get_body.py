"""GetObject bodies, which `ingestor store` sends over plain HTTP by sendfile(2) from the object's
file or part files: every range is byte-exact where it starts or ends inside a part, on either side
of a part boundary, across several parts, at the first and the last byte; an object deleted while
its body streams still serves its old bytes; and a client that stops reading mid-body is
disconnected once --idle-timeout passes without progress, instead of holding its session."""
import os
import socket
import unittest

from harness import wait_for
from store_harness import BucketTestCase, signed_headers

MIB = 1 << 20
PART = 5 * MIB  # the store's smallest part but the last
TCP_ESTABLISHED = "01"


class GetBodyTest(BucketTestCase):
    def put_multipart(self, key, bodies):
        uid = self.s3.create_multipart_upload(Bucket="bkt", Key=key)["UploadId"]
        listed = []
        for i, body in enumerate(bodies, 1):
            etag = self.s3.upload_part(Bucket="bkt", Key=key, UploadId=uid, PartNumber=i,
                                       Body=body)["ETag"]
            listed.append({"PartNumber": i, "ETag": etag})
        self.s3.complete_multipart_upload(Bucket="bkt", Key=key, UploadId=uid,
                                          MultipartUpload={"Parts": listed})
        return b"".join(bodies)

    def get_range(self, key, first, last):
        g = self.s3.get_object(Bucket="bkt", Key=key, Range=f"bytes={first}-{last}")
        return g["ContentRange"], g["Body"].read()

    def test_ranges_inside_and_across_part_boundaries_are_byte_exact(self):
        bodies = [os.urandom(PART), os.urandom(PART + 3), os.urandom(PART), os.urandom(1001)]
        whole = self.put_multipart("mp", bodies)
        n = len(whole)
        b1 = len(bodies[0])
        b2 = b1 + len(bodies[1])
        b3 = b2 + len(bodies[2])
        ranges = [
            ("first byte", 0, 0), ("last byte", n - 1, n - 1), ("whole object", 0, n - 1),
            ("last byte of part 1", b1 - 1, b1 - 1), ("first byte of part 2", b1, b1),
            ("both sides of the first boundary", b1 - 1, b1),
            ("inside part 2", b1 + 12345, b1 + 2 * MIB), ("part 2 exactly", b1, b2 - 1),
            ("from inside part 1 to inside part 3", b1 - 777, b2 + 777),
            ("from inside part 2 to the end", b1 + 1, n - 1),
            ("from 0 to inside part 4", 0, b3 + 10), ("the last part", b3, n - 1),
            ("the last two bytes of part 3 and the first of part 4", b3 - 2, b3),
        ]
        for what, first, last in ranges:
            with self.subTest(what):
                content_range, got = self.get_range("mp", first, last)
                self.assertEqual(content_range, f"bytes {first}-{last}/{n}")
                self.assertEqual(len(got), last - first + 1)
                self.assertTrue(got == whole[first:last + 1], "bytes differ")
        for i, body in enumerate(bodies, 1):
            with self.subTest(part=i):
                got = self.s3.get_object(Bucket="bkt", Key="mp", PartNumber=i)["Body"].read()
                self.assertTrue(got == body, f"part {i} differs")

    def test_ranges_of_an_object_in_one_file_are_byte_exact(self):
        body = os.urandom(3 * MIB + 5)  # more than one sendfile call's worth
        self.s3.put_object(Bucket="bkt", Key="one", Body=body)
        n = len(body)
        self.assertTrue(self.s3.get_object(Bucket="bkt", Key="one")["Body"].read() == body)
        for first, last in ((0, 0), (n - 1, n - 1), (1, n - 2), (MIB - 1, 2 * MIB + 1)):
            with self.subTest(first=first, last=last):
                content_range, got = self.get_range("one", first, last)
                self.assertEqual(content_range, f"bytes {first}-{last}/{n}")
                self.assertTrue(got == body[first:last + 1], "bytes differ")

    def test_an_object_deleted_while_its_body_streams_serves_its_old_bytes(self):
        whole = self.put_multipart("mp", [os.urandom(PART), os.urandom(PART), os.urandom(7)])
        body = self.s3.get_object(Bucket="bkt", Key="mp")["Body"]
        head = body.read(MIB)
        other = self.client()
        other.delete_object(Bucket="bkt", Key="mp")
        other.put_object(Bucket="bkt", Key="mp", Body=b"new")
        self.assertTrue(head + body.read() == whole, "the streamed body changed")
        wait_for(lambda: len(self.object_files()) == 0, what="the old part files unlinked")
        self.assertEqual(self.s3.get_object(Bucket="bkt", Key="mp")["Body"].read(), b"new")


class IdleReaderTest(BucketTestCase):
    store_args = ("--idle-timeout", "1")

    def server_side_states(self, client_port):
        """The TCP states of the store's end of the connection from `client_port`
        (/proc/net/tcp, hex), empty once the socket is gone."""
        want_local = f"0100007F:{self.store.port:04X}"
        want_remote = f"0100007F:{client_port:04X}"
        with open("/proc/net/tcp") as f:
            rows = [line.split() for line in f.readlines()[1:]]
        return [r[3] for r in rows if r[1] == want_local and r[2] == want_remote]

    def test_a_client_that_stops_reading_is_disconnected_after_the_idle_timeout(self):
        size = 64 * MIB  # far more than the socket buffers of both ends hold
        self.s3.put_object(Bucket="bkt", Key="big", Body=os.urandom(size))
        path = "/bkt/big"
        h = signed_headers(self.store.port, "GET", path)
        h["Host"] = f"127.0.0.1:{self.store.port}"
        request = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items())
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            s.settimeout(30)
            s.connect(("127.0.0.1", self.store.port))
            client_port = s.getsockname()[1]
            s.sendall((request + "\r\n").encode())
            got = b""
            while b"\r\n\r\n" not in got or len(got) < 256 * 1024:
                chunk = s.recv(64 * 1024)
                self.assertTrue(chunk, "the store closed before sending a body")
                got += chunk
            self.assertTrue(got.startswith(b"HTTP/1.1 200"), got[:200])
            # (found, so that "gone" below means closed, not a lookup that never matches)
            self.assertEqual(len(self.server_side_states(client_port)), 1)
            # The client stops reading: the store's end must close (FIN_WAIT1 behind the unsent
            # bytes, or gone) once a second passes without progress, not wait forever.
            states = wait_for(
                lambda: [st for st in self.server_side_states(client_port)
                         if st != TCP_ESTABLISHED] or not self.server_side_states(client_port),
                timeout=20, what="the store closing the idle reader's connection")
            self.assertTrue(states)
            # What the buffers held still arrives, then EOF: a short body, not a hang.
            while True:
                chunk = s.recv(MIB)
                if not chunk:
                    break
                got += chunk
            self.assertLess(len(got), size)
        # The store serves other clients as before.
        self.assertEqual(len(self.s3.get_object(Bucket="bkt", Key="big", Range="bytes=0-9")
                             ["Body"].read()), 10)


if __name__ == "__main__":
    unittest.main()
