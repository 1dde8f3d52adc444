"""Bad input against `ingestor store`: unsigned, wrongly signed and skewed requests, malformed
XML, a truncated aws-chunked body, Content-MD5 and checksum mismatches, a 2,000-byte key, invalid
bucket names, part numbers 0 and 10,001, non-UTF-8 keys: each gets the S3 error AWS gives, the
store keeps running, and nothing is written. Hostile keys are stored and listed correctly and
never touch a path outside the data directory."""
import base64
import datetime
import hashlib
import http.client
import os
import re
import socket
import subprocess
import unittest
import urllib.parse
import zlib

from harness import BIN
from store_harness import (ACCESS_KEY, SECRET_KEY, BucketTestCase, StoreTestCase,
                           require_boto3, signed_headers)


class SignedRequests:
    """For a StoreTestCase: requests to self.store signed by botocore's S3 SigV4 signer and sent
    byte-exact."""

    def signed_headers(self, method, path, body=b"", headers=None, akid=ACCESS_KEY,
                       secret=SECRET_KEY, payload_hash=None, now=None):
        """`headers` plus the signature's (Authorization, X-Amz-Date, X-Amz-Content-SHA256)."""
        return signed_headers(self.store.port, method, path, body, headers, akid, secret,
                              payload_hash, now)

    def raw(self, method, path, body=b"", headers=None, akid=ACCESS_KEY, secret=SECRET_KEY,
            sign=True, payload_hash=None, now=None):
        headers = dict(headers or {})
        if sign:
            headers = self.signed_headers(method, path, body, headers, akid, secret, payload_hash,
                                          now)
        c = http.client.HTTPConnection("127.0.0.1", self.store.port, timeout=10)
        c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        if "Host" not in headers and "host" not in headers:
            c.putheader("Host", f"127.0.0.1:{self.store.port}")
        for k, v in headers.items():
            c.putheader(k, v)
        if "Content-Length" not in headers and "Transfer-Encoding" not in headers:
            c.putheader("Content-Length", str(len(body)))
        c.endheaders(body if body else None)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def code(self, data):
        m = re.search(rb"<Code>([^<]*)</Code>", data)
        return m.group(1).decode() if m else None


class BadInputTest(SignedRequests, BucketTestCase):
    def assert_nothing_written(self):
        self.assertEqual(self.s3.list_objects_v2(Bucket="bkt")["KeyCount"], 0)
        self.assertEqual(self.object_files(), [])
        self.assertEqual([f for f in self.data_files() if f.startswith("tmp/")], [])

    def test_authentication_errors(self):
        st, data = self.raw("PUT", "/bkt/k", b"x", sign=False)
        self.assertEqual((st, self.code(data)), (403, "AccessDenied"))
        st, data = self.raw("PUT", "/bkt/k", b"x", secret="wrong")
        self.assertEqual((st, self.code(data)), (403, "SignatureDoesNotMatch"))
        st, data = self.raw("PUT", "/bkt/k", b"x", akid="AKIDUNKNOWN")
        self.assertEqual((st, self.code(data)), (403, "InvalidAccessKeyId"))
        skewed = datetime.datetime.utcnow() - datetime.timedelta(hours=1)
        st, data = self.raw("PUT", "/bkt/k", b"x", now=skewed)
        self.assertEqual((st, self.code(data)), (403, "RequestTimeTooSkewed"))
        # the payload hash is checked against the body
        st, data = self.raw("PUT", "/bkt/k", b"x", payload_hash=hashlib.sha256(b"y").hexdigest())
        self.assertEqual((st, self.code(data)), (400, "XAmzContentSHA256Mismatch"))
        self.assert_nothing_written()
        st, _ = self.raw("PUT", "/bkt/k", b"x")  # and the store still works
        self.assertEqual(st, 200)

    def test_malformed_xml(self):
        for path, body in (("/bkt?delete", b"<Delete><Object><Key>a</Key>"),
                           ("/bkt?delete", b"<NotDelete/>"),
                           ("/bkt?notification", b"<NotificationConfiguration><Queue")):
            md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
            st, data = self.raw("POST" if "delete" in path else "PUT", path, body,
                                {"Content-MD5": md5})
            self.assertEqual((st, self.code(data)), (400, "MalformedXML"), path)
        uid = self.s3.create_multipart_upload(Bucket="bkt", Key="k")["UploadId"]
        st, data = self.raw("POST", f"/bkt/k?uploadId={uid}", b"<CompleteMultipartUpload>")
        self.assertEqual((st, self.code(data)), (400, "MalformedXML"))
        self.assert_nothing_written()

    def test_truncated_chunked_body_and_digest_mismatches(self):
        crc = base64.b64encode(zlib.crc32(b"hello world").to_bytes(4, "big")).decode()
        hdrs = {"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": "11",
                "X-Amz-Trailer": "x-amz-checksum-crc32"}
        good = f"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n".encode()
        for body in (good[:9], good[:20], b"b\r\nhello"):
            st, data = self.raw("PUT", "/bkt/chunked", body, dict(hdrs),
                                payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
            self.assertEqual(st, 400, body)
            self.assertIn(self.code(data), ("IncompleteBody", "InvalidRequest"), data)
        bad_trailer = good.replace(crc.encode(), b"AAAAAA==")
        st, data = self.raw("PUT", "/bkt/chunked", bad_trailer, dict(hdrs),
                            payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        self.assertEqual((st, self.code(data)), (400, "BadDigest"))
        st, data = self.raw("PUT", "/bkt/md5", b"data",
                            {"Content-MD5": base64.b64encode(hashlib.md5(b"other").digest()).decode()})
        self.assertEqual((st, self.code(data)), (400, "BadDigest"))
        st, data = self.raw("PUT", "/bkt/md5", b"data", {"Content-MD5": "not-base64"})
        self.assertEqual((st, self.code(data)), (400, "InvalidDigest"))
        st, data = self.raw("PUT", "/bkt/crc", b"data", {"x-amz-checksum-crc32": "AAAAAA=="})
        self.assertEqual((st, self.code(data)), (400, "BadDigest"))
        self.assert_nothing_written()
        st, _ = self.raw("PUT", "/bkt/chunked", good, dict(hdrs),
                         payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        self.assertEqual(st, 200)
        self.assertEqual(self.s3.get_object(Bucket="bkt", Key="chunked")["Body"].read(),
                         b"hello world")

    def test_names_and_numbers(self):
        key = "k" * 2000
        st, data = self.raw("PUT", "/bkt/" + key, b"x")
        self.assertEqual((st, self.code(data)), (400, "KeyTooLongError"))
        for name in ("ab", "UPPER", "under_score", "-dash", "192.168.0.1", "a..b"):
            st, data = self.raw("PUT", "/" + name, b"")
            self.assertEqual((st, self.code(data)), (400, "InvalidBucketName"), name)
        uid = self.s3.create_multipart_upload(Bucket="bkt", Key="mp")["UploadId"]
        for n in ("0", "10001", "-1", "x"):
            st, data = self.raw("PUT", f"/bkt/mp?partNumber={n}&uploadId={uid}", b"part")
            self.assertEqual((st, self.code(data)), (400, "InvalidArgument"), n)
        st, data = self.raw("PUT", "/bkt/mp?partNumber=1&uploadId=nope", b"part")
        self.assertEqual((st, self.code(data)), (404, "NoSuchUpload"))
        st, data = self.raw("PUT", "/bkt/%FF%FE", b"x")
        self.assertEqual((st, self.code(data)), (400, "InvalidURI"))
        st, data = self.raw("GET", "/nosuchbucket/k")
        self.assertEqual((st, self.code(data)), (404, "NoSuchBucket"))
        st, data = self.raw("GET", "/bkt/nosuchkey")
        self.assertEqual((st, self.code(data)), (404, "NoSuchKey"))
        st, data = self.raw("GET", "/bkt?list-type=2&max-keys=-1")
        self.assertEqual((st, self.code(data)), (400, "InvalidArgument"))
        self.s3.abort_multipart_upload(Bucket="bkt", Key="mp", UploadId=uid)
        self.assert_nothing_written()
        self.assertEqual([b["Name"] for b in self.s3.list_buckets()["Buckets"]], ["bkt"])

    def test_hostile_keys(self):
        deep = "/".join(["d"] * 300) + "/leaf"
        keys = ["../x", "../../etc/passwd", "a//b", ".", "..", "./.", "/lead", "trail/",
                deep, "sp ace+plus%percent", "caf\u00e9/\u65e5\u672c"]
        for k in keys:
            self.s3.put_object(Bucket="bkt", Key=k, Body=k.encode())
        for k in keys:
            self.assertEqual(self.s3.get_object(Bucket="bkt", Key=k)["Body"].read(), k.encode())
        listed = [c["Key"] for c in self.s3.list_objects_v2(Bucket="bkt")["Contents"]]
        self.assertEqual(listed, sorted(keys, key=lambda s: s.encode()))
        v1 = [c["Key"] for c in self.s3.list_objects(Bucket="bkt")["Contents"]]
        self.assertEqual(v1, listed)
        # every file the store wrote is inside the data dir (these small bodies are stored inline
        # in meta.db; larger ones get a file named by content id under objects/)
        for f in self.data_files():
            self.assertTrue(f.startswith("objects/") or f.startswith("meta.db"), f)
        self.assertEqual(self.s3.list_objects_v2(Bucket="bkt")["KeyCount"], len(keys))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "x")))
        self.assertFalse(os.path.exists(os.path.join(os.path.dirname(self.store.data_dir), "x")))
        # the raw path forms reach the same keys
        st, data = self.raw("GET", "/bkt/" + urllib.parse.quote("../x", safe="/"))
        self.assertEqual((st, data), (200, b"../x"))
        st, data = self.raw("GET", "/bkt/a//b")
        self.assertEqual((st, data), (200, b"a//b"))
        r = self.s3.delete_objects(Bucket="bkt", Delete={"Objects": [{"Key": k} for k in keys]})
        self.assertEqual(len(r["Deleted"]), len(keys))
        self.assertEqual(self.object_files(), [])


class FreeSpaceFloorTest(SignedRequests, StoreTestCase):
    """A store whose free-space floor no disk can keep (1 EiB): every request that brings new
    data is refused before its body is read, with a 507 that says why; reads, deletes and bucket
    operations still work. (tests/test_store_disk_full.py fills a real volume to the floor.)"""
    store_args = ("--min-free-space", str(1 << 60))

    def test_new_data_is_refused_with_507_and_nothing_is_written(self):
        require_boto3()
        from botocore.exceptions import ClientError
        s3 = self.client(retries={"total_max_attempts": 1})
        s3.create_bucket(Bucket="bkt")  # a bucket is a row, not data: allowed
        for what, call in (
                ("PutObject", lambda: s3.put_object(Bucket="bkt", Key="k", Body=b"x" * 1024)),
                ("CreateMultipartUpload + UploadPart", lambda: s3.upload_part(
                    Bucket="bkt", Key="m", PartNumber=1, Body=b"y" * 1024,
                    UploadId=s3.create_multipart_upload(Bucket="bkt", Key="m")["UploadId"]))):
            with self.subTest(what):
                with self.assertRaises(ClientError) as cm:
                    call()
                err = cm.exception.response
                self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 507)
                self.assertEqual(err["Error"]["Code"], "InsufficientStorage")
                self.assertIn("--min-free-space", err["Error"]["Message"])
        self.assertEqual(s3.list_objects_v2(Bucket="bkt").get("KeyCount"), 0)
        uploads = s3.list_multipart_uploads(Bucket="bkt").get("Uploads", [])
        self.assertEqual([u["Key"] for u in uploads], ["m"])
        self.assertEqual(s3.list_parts(Bucket="bkt", Key="m",
                                       UploadId=uploads[0]["UploadId"]).get("Parts", []), [])
        s3.abort_multipart_upload(Bucket="bkt", Key="m", UploadId=uploads[0]["UploadId"])
        s3.delete_bucket(Bucket="bkt")
        self.assertIsNone(self.store.proc.poll())

    def test_an_aws_chunked_upload_is_refused_before_its_body_is_stored(self):
        """The streaming form botocore uses over HTTPS: Content-Encoding aws-chunked, the
        object's size in x-amz-decoded-content-length, a CRC32 trailer."""
        require_boto3()
        s3 = self.client()
        s3.create_bucket(Bucket="bkt")
        crc = base64.b64encode(zlib.crc32(b"hello world").to_bytes(4, "big")).decode()
        framed = f"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n".encode()
        hdrs = {"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": "11",
                "X-Amz-Trailer": "x-amz-checksum-crc32",
                "Host": f"127.0.0.1:{self.store.port}"}
        # Sent whole, as botocore sends it.
        st, data = self.raw("PUT", "/bkt/chunked", framed, dict(hdrs),
                            payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        self.assertEqual((st, self.code(data)), (507, "InsufficientStorage"), data)
        # With Expect: 100-continue the 507 comes instead of the 100: the body is never sent.
        head = self.signed_headers("PUT", "/bkt/chunked", b"", dict(
            hdrs, **{"Content-Length": str(len(framed)), "Expect": "100-continue"}),
            payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        with socket.create_connection(("127.0.0.1", self.store.port), timeout=10) as sock:
            sock.sendall(("PUT /bkt/chunked HTTP/1.1\r\n" +
                          "".join(f"{k}: {v}\r\n" for k, v in head.items()) + "\r\n").encode())
            reply = b""
            while chunk := sock.recv(65536):  # the store closes: it will not read a body now
                reply += chunk
        self.assertTrue(reply.startswith(b"HTTP/1.1 507 "), reply[:200])
        self.assertEqual(self.code(reply), "InsufficientStorage")
        self.assertEqual(s3.list_objects_v2(Bucket="bkt")["KeyCount"], 0)
        self.assertEqual(s3.list_multipart_uploads(Bucket="bkt").get("Uploads", []), [])
        self.assertEqual([f for f in self.data_files()
                          if f.startswith("objects/") or f.startswith("tmp/")], [])

    def test_a_bad_min_free_space_stops_the_store_before_it_starts(self):
        for bad in ("abc", "-1", "18446744073709551616"):
            with self.subTest(bad):
                data = os.path.join(self.tmp, "never-created")
                status = os.path.join(self.tmp, "never-written.json")
                p = subprocess.run(
                    [BIN, "store", "--listen", "127.0.0.1:0", "--data-dir", data,
                     "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY,
                     "--status-file", status, "--min-free-space", bad],
                    capture_output=True, timeout=20)
                out = (p.stdout + p.stderr).decode("utf-8", "replace")
                self.assertEqual(p.returncode, 2, out)
                self.assertIn("--min-free-space", out)
                self.assertIn(bad, out)
                self.assertFalse(os.path.exists(status), out)
                self.assertFalse(os.path.exists(data), out)


if __name__ == "__main__":
    unittest.main()
