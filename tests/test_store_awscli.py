"""`ingestor store` driven by the real aws CLI: s3 mb/cp/ls/rm/sync and s3api calls, a 40 MiB
multipart upload and download, and the CLI's default CRC32 checksums (headers over HTTP)."""
import hashlib
import json
import os
import unittest

from store_harness import StoreTestCase, aws_cli


class AwsCliTest(StoreTestCase):
    def setUp(self):
        aws_cli()  # fails with an install hint if missing
        super().setUp()

    def test_mb_cp_ls_rm_and_sync(self):
        self.aws("s3", "mb", "s3://cli-bucket")
        _, out, _ = self.aws("s3", "ls")
        self.assertIn("cli-bucket", out)
        src = os.path.join(self.tmp, "a b+c.txt")
        with open(src, "wb") as f:
            f.write(b"hello world")
        self.aws("s3", "cp", src, "s3://cli-bucket/dir/a b+c.txt")
        _, out, _ = self.aws("s3", "ls", "s3://cli-bucket/dir/")
        self.assertIn("a b+c.txt", out)
        dst = os.path.join(self.tmp, "back.txt")
        self.aws("s3", "cp", "s3://cli-bucket/dir/a b+c.txt", dst)
        with open(dst, "rb") as f:
            self.assertEqual(f.read(), b"hello world")
        # sync a small tree up and back down
        tree = os.path.join(self.tmp, "tree")
        for rel in ("x/1.txt", "x/y/2.txt", "3 space.txt"):
            p = os.path.join(tree, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(rel * 10)
        self.aws("s3", "sync", tree, "s3://cli-bucket/tree")
        _, out, _ = self.aws("s3", "ls", "--recursive", "s3://cli-bucket/tree/")
        for rel in ("tree/x/1.txt", "tree/x/y/2.txt", "tree/3 space.txt"):
            self.assertIn(rel, out)
        down = os.path.join(self.tmp, "down")
        self.aws("s3", "sync", "s3://cli-bucket/tree", down)
        with open(os.path.join(down, "x/y/2.txt")) as f:
            self.assertEqual(f.read(), "x/y/2.txt" * 10)
        # a second sync uploads nothing
        _, out, _ = self.aws("s3", "sync", tree, "s3://cli-bucket/tree")
        self.assertNotIn("upload:", out)
        self.aws("s3", "rm", "--recursive", "s3://cli-bucket/")
        _, out, _ = self.aws("s3", "ls", "--recursive", "s3://cli-bucket/")
        self.assertEqual(out.strip(), "")
        self.aws("s3", "rb", "s3://cli-bucket")
        _, out, _ = self.aws("s3", "ls")
        self.assertNotIn("cli-bucket", out)

    def test_multipart_40mib_copy_roundtrip(self):
        self.aws("s3", "mb", "s3://big")
        src = os.path.join(self.tmp, "big.bin")
        block = hashlib.sha256(b"seed").digest() * 2048  # 64 KiB, not compressible to nothing
        with open(src, "wb") as f:
            for _ in range(640):
                f.write(block)
        self.assertEqual(os.path.getsize(src), 40 << 20)
        self.aws("s3", "cp", src, "s3://big/obj.bin", timeout=120)
        _, out, _ = self.aws("s3api", "head-object", "--bucket", "big", "--key", "obj.bin")
        head = json.loads(out)
        self.assertEqual(head["ContentLength"], 40 << 20)
        self.assertTrue(head["ETag"].strip('"').endswith("-5"), head["ETag"])  # 8 MiB parts
        # the ETag follows S3's md5-of-part-md5s rule
        md5s = b""
        with open(src, "rb") as f:
            while True:
                chunk = f.read(8 << 20)
                if not chunk:
                    break
                md5s += hashlib.md5(chunk).digest()
        self.assertEqual(head["ETag"].strip('"'), hashlib.md5(md5s).hexdigest() + "-5")
        # server-side copy, then ranged/If-Match download by the CLI
        self.aws("s3", "cp", "s3://big/obj.bin", "s3://big/copy.bin", timeout=120)
        dst = os.path.join(self.tmp, "back.bin")
        self.aws("s3", "cp", "s3://big/copy.bin", dst, timeout=120)
        with open(src, "rb") as a, open(dst, "rb") as b:
            self.assertEqual(hashlib.sha256(a.read()).digest(), hashlib.sha256(b.read()).digest())
        _, out, _ = self.aws("s3api", "list-multipart-uploads", "--bucket", "big")
        self.assertNotIn("Uploads", json.loads(out or "{}"))
        # nothing else is left behind: obj.bin and copy.bin (which the CLI copies by
        # UploadPartCopy, 8 MiB at a time) are five part files each
        self.assertEqual(len(self.object_files()), 5 + 5)

    def test_s3api_put_get_checksums_and_metadata(self):
        self.aws("s3api", "create-bucket", "--bucket", "api")
        body = os.path.join(self.tmp, "body")
        with open(body, "wb") as f:
            f.write(b"hello world")
        _, out, _ = self.aws("s3api", "put-object", "--bucket", "api", "--key", "k",
                             "--body", body, "--metadata", "color=blue,Owner=me",
                             "--content-type", "text/plain")
        put = json.loads(out)
        self.assertEqual(put["ETag"], '"5eb63bbbe01eeed093cb22bb8f5acdc3"')
        # the CLI's default CRC32 was sent, verified, echoed
        self.assertEqual(put.get("ChecksumCRC32"), "DUoRhQ==")
        outfile = os.path.join(self.tmp, "out")
        _, out, _ = self.aws("s3api", "get-object", "--bucket", "api", "--key", "k",
                             "--checksum-mode", "ENABLED", outfile)
        got = json.loads(out)
        self.assertEqual(got["Metadata"], {"color": "blue", "owner": "me"})
        self.assertEqual(got["ContentType"], "text/plain")
        self.assertEqual(got.get("ChecksumCRC32"), "DUoRhQ==")
        self.assertEqual(got.get("ChecksumType"), "FULL_OBJECT")
        _, out, _ = self.aws("s3api", "get-object", "--bucket", "api", "--key", "k",
                             "--range", "bytes=6-", outfile)
        self.assertEqual(json.loads(out)["ContentRange"], "bytes 6-10/11")
        with open(outfile, "rb") as f:
            self.assertEqual(f.read(), b"world")
        _, out, _ = self.aws("s3api", "list-objects-v2", "--bucket", "api")
        self.assertEqual([c["Key"] for c in json.loads(out)["Contents"]], ["k"])
        _, out, _ = self.aws("s3api", "list-objects", "--bucket", "api")
        self.assertEqual([c["Key"] for c in json.loads(out)["Contents"]], ["k"])
        self.aws("s3api", "head-bucket", "--bucket", "api")
        rc, _, err = self.aws("s3api", "delete-bucket", "--bucket", "api", check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("BucketNotEmpty", err)
        self.aws("s3api", "delete-object", "--bucket", "api", "--key", "k")
        rc, _, err = self.aws("s3api", "head-object", "--bucket", "api", "--key", "k", check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("404", err)
        self.aws("s3api", "delete-bucket", "--bucket", "api")


if __name__ == "__main__":
    unittest.main()


class AwsCliHttpsTest(StoreTestCase):
    """Over HTTPS botocore switches uploads to aws-chunked bodies with a CRC32 trailer
    (STREAMING-UNSIGNED-PAYLOAD-TRAILER inside HTTP chunked): aws.md section 0 item 1."""

    def setUp(self):
        aws_cli()
        import shutil
        import subprocess
        import tempfile
        if not shutil.which("openssl"):
            raise AssertionError("openssl is missing (apt-get install openssl)")
        self.certdir = tempfile.mkdtemp(prefix="ingestor-store-tls-")
        self.cert = os.path.join(self.certdir, "cert.pem")
        self.key = os.path.join(self.certdir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", self.key, "-out", self.cert], check=True, capture_output=True)
        self.store_args = ["--tls-cert", self.cert, "--tls-key", self.key]
        super().setUp()
        self.env["AWS_CA_BUNDLE"] = self.cert

    def tearDown(self):
        super().tearDown()
        import shutil
        shutil.rmtree(self.certdir, ignore_errors=True)

    def test_chunked_crc32_trailer_uploads(self):
        self.assertEqual(self.store.scheme, "https")
        self.aws("s3", "mb", "s3://tls")
        src = os.path.join(self.tmp, "f.bin")
        with open(src, "wb") as f:
            f.write(os.urandom(3 << 20))
        self.aws("s3", "cp", src, "s3://tls/f.bin")
        body = os.path.join(self.tmp, "hw")
        with open(body, "wb") as f:
            f.write(b"hello world")
        _, out, _ = self.aws("s3api", "put-object", "--bucket", "tls", "--key", "hw",
                             "--body", body)
        self.assertEqual(json.loads(out).get("ChecksumCRC32"), "DUoRhQ==")
        dst = os.path.join(self.tmp, "back.bin")
        self.aws("s3", "cp", "s3://tls/f.bin", dst)
        with open(src, "rb") as a, open(dst, "rb") as b:
            self.assertEqual(a.read(), b.read())
        _, out, _ = self.aws("s3api", "head-object", "--bucket", "tls", "--key", "hw",
                             "--checksum-mode", "ENABLED")
        self.assertEqual(json.loads(out).get("ChecksumCRC32"), "DUoRhQ==")
