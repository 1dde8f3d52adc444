"""`ingestor store` driven by boto3: list pagination (v2 and v1, delimiter, url encoding),
conditional put, delete_objects, presigned GET (SigV2 default and SigV4), multipart via s3api
calls (objects made of their part files: ranges across parts, partNumber, part files released on
delete and overwrite, SIGKILL before and after Complete), virtual-hosted addressing, CopyObject,
conditional GET; objects on both sides of the inline threshold (stored in meta.db up to 64 KiB,
in files above) through Range, conditions, copy, overwrite and delete; acknowledged PUTs
surviving SIGKILL of the store."""
import concurrent.futures
import hashlib
import os
import threading
import time
import unittest
import urllib.request

from store_harness import BucketTestCase


class Boto3Test(BucketTestCase):
    def test_list_pagination_v2_and_v1(self):
        keys = sorted([f"p/{i:03d}" for i in range(25)] + ["a b+c", "dir/x/1", "dir/y/2", "z"])
        for k in keys:
            self.s3.put_object(Bucket="bkt", Key=k, Body=k.encode())
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket="bkt", PaginationConfig={"PageSize": 7})
        seen = [c["Key"] for p in pages for c in p.get("Contents", [])]
        self.assertEqual(seen, keys)
        # delimiter: common prefixes count once, across pages
        pages = list(self.s3.get_paginator("list_objects_v2").paginate(
            Bucket="bkt", Delimiter="/", PaginationConfig={"PageSize": 2}))
        cps = [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])]
        top = [c["Key"] for p in pages for c in p.get("Contents", [])]
        self.assertEqual(cps, ["dir/", "p/"])
        self.assertEqual(top, ["a b+c", "z"])
        r = self.s3.list_objects_v2(Bucket="bkt", Prefix="p/", StartAfter="p/020")
        self.assertEqual([c["Key"] for c in r["Contents"]], [f"p/{i:03d}" for i in range(21, 25)])
        self.assertEqual(r["KeyCount"], 4)
        r = self.s3.list_objects_v2(Bucket="bkt", MaxKeys=0)
        self.assertEqual(r["KeyCount"], 0)
        self.assertFalse(r["IsTruncated"])
        # v1 with marker
        pages = self.s3.get_paginator("list_objects").paginate(
            Bucket="bkt", PaginationConfig={"PageSize": 6})
        self.assertEqual([c["Key"] for p in pages for c in p.get("Contents", [])], keys)
        with self.assertRaises(self.s3.exceptions.ClientError) as cm:
            self.s3.list_objects_v2(Bucket="bkt", ContinuationToken="bogus")
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgument")

    def test_conditional_put(self):
        self.s3.put_object(Bucket="bkt", Key="once", Body=b"1", IfNoneMatch="*")
        with self.assertRaises(self.s3.exceptions.ClientError) as cm:
            self.s3.put_object(Bucket="bkt", Key="once", Body=b"2", IfNoneMatch="*")
        self.assertEqual(cm.exception.response["Error"]["Code"], "PreconditionFailed")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 412)
        self.assertEqual(self.s3.get_object(Bucket="bkt", Key="once")["Body"].read(), b"1")
        # conditional GET
        etag = self.s3.head_object(Bucket="bkt", Key="once")["ETag"]
        with self.assertRaises(self.s3.exceptions.ClientError) as cm:
            self.s3.get_object(Bucket="bkt", Key="once", IfNoneMatch=etag)
        self.assertEqual(cm.exception.response["Error"]["Code"], "304")
        with self.assertRaises(self.s3.exceptions.ClientError) as cm:
            self.s3.get_object(Bucket="bkt", Key="once", IfMatch='"0000"')
        self.assertEqual(cm.exception.response["Error"]["Code"], "PreconditionFailed")
        self.assertEqual(self.s3.get_object(Bucket="bkt", Key="once", IfMatch=etag)["Body"].read(),
                         b"1")

    def test_delete_objects(self):
        for k in ("a", "b", "c"):
            self.s3.put_object(Bucket="bkt", Key=k, Body=b"x")
        r = self.s3.delete_objects(Bucket="bkt", Delete={
            "Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "missing"}]})
        self.assertEqual(sorted(d["Key"] for d in r["Deleted"]), ["a", "b", "missing"])
        self.assertNotIn("Errors", r)
        left = [c["Key"] for c in self.s3.list_objects_v2(Bucket="bkt")["Contents"]]
        self.assertEqual(left, ["c"])
        r = self.s3.delete_objects(Bucket="bkt", Delete={"Objects": [{"Key": "c"}], "Quiet": True})
        self.assertNotIn("Deleted", r)
        self.assertEqual(self.s3.list_objects_v2(Bucket="bkt")["KeyCount"], 0)

    def test_presigned_get_sigv2_and_sigv4(self):
        self.s3.put_object(Bucket="bkt", Key="dir/a b+c~d=e.txt", Body=b"presigned body")
        url2 = self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": "bkt", "Key": "dir/a b+c~d=e.txt"}, ExpiresIn=300)
        self.assertIn("Signature=", url2)
        self.assertIn("AWSAccessKeyId=", url2)
        self.assertEqual(urllib.request.urlopen(url2, timeout=10).read(), b"presigned body")
        s3v4 = self.client(signature_version="s3v4")
        url4 = s3v4.generate_presigned_url(
            "get_object", Params={"Bucket": "bkt", "Key": "dir/a b+c~d=e.txt"}, ExpiresIn=300)
        self.assertIn("X-Amz-Signature=", url4)
        self.assertEqual(urllib.request.urlopen(url4, timeout=10).read(), b"presigned body")
        for bad in (url2.replace("Signature=", "Signature=A"), url4[:-4] + "0000"):
            with self.assertRaises(urllib.error.HTTPError) as cm:
                urllib.request.urlopen(bad, timeout=10)
            self.assertEqual(cm.exception.code, 403)
            self.assertIn(b"SignatureDoesNotMatch", cm.exception.read())

    def test_multipart_api_and_copy(self):
        mp = self.s3.create_multipart_upload(Bucket="bkt", Key="mp", Metadata={"m": "v"})
        uid = mp["UploadId"]
        p1 = b"a" * (5 << 20)
        e1 = self.s3.upload_part(Bucket="bkt", Key="mp", UploadId=uid, PartNumber=1, Body=p1)["ETag"]
        e2 = self.s3.upload_part(Bucket="bkt", Key="mp", UploadId=uid, PartNumber=2, Body=b"tail")["ETag"]
        parts = self.s3.list_parts(Bucket="bkt", Key="mp", UploadId=uid)["Parts"]
        self.assertEqual([(p["PartNumber"], p["Size"]) for p in parts], [(1, 5 << 20), (2, 4)])
        ups = self.s3.list_multipart_uploads(Bucket="bkt")["Uploads"]
        self.assertEqual([(u["Key"], u["UploadId"]) for u in ups], [("mp", uid)])
        r = self.s3.complete_multipart_upload(Bucket="bkt", Key="mp", UploadId=uid,
                                              MultipartUpload={"Parts": [
                                                  {"PartNumber": 1, "ETag": e1},
                                                  {"PartNumber": 2, "ETag": e2}]})
        self.assertTrue(r["ETag"].endswith('-2"'))
        got = self.s3.get_object(Bucket="bkt", Key="mp")
        self.assertEqual(got["Metadata"], {"m": "v"})
        self.assertEqual(got["Body"].read(), p1 + b"tail")
        # If-None-Match on Complete
        mp2 = self.s3.create_multipart_upload(Bucket="bkt", Key="mp")["UploadId"]
        e = self.s3.upload_part(Bucket="bkt", Key="mp", UploadId=mp2, PartNumber=1, Body=b"x")["ETag"]
        with self.assertRaises(self.s3.exceptions.ClientError) as cm:
            self.s3.complete_multipart_upload(Bucket="bkt", Key="mp", UploadId=mp2, IfNoneMatch="*",
                                              MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
        self.assertEqual(cm.exception.response["Error"]["Code"], "PreconditionFailed")
        self.s3.abort_multipart_upload(Bucket="bkt", Key="mp", UploadId=mp2)
        with self.assertRaises(self.s3.exceptions.ClientError) as cm:
            self.s3.abort_multipart_upload(Bucket="bkt", Key="mp", UploadId=mp2)
        self.assertEqual(cm.exception.response["Error"]["Code"], "NoSuchUpload")
        # CopyObject with and without metadata replacement
        self.s3.copy_object(Bucket="bkt", Key="copy", CopySource={"Bucket": "bkt", "Key": "mp"})
        h = self.s3.head_object(Bucket="bkt", Key="copy")
        self.assertEqual(h["ContentLength"], (5 << 20) + 4)
        self.assertEqual(h["Metadata"], {"m": "v"})
        self.s3.copy_object(Bucket="bkt", Key="copy", CopySource="bkt/copy",
                            MetadataDirective="REPLACE", Metadata={"n": "w"})
        self.assertEqual(self.s3.head_object(Bucket="bkt", Key="copy")["Metadata"], {"n": "w"})

    def upload_parts(self, key, bodies, s3=None):
        """Starts a multipart upload of `bodies` as parts 1..N; returns (upload id, part list)."""
        s3 = s3 or self.s3
        uid = s3.create_multipart_upload(Bucket="bkt", Key=key)["UploadId"]
        listed = []
        for i, body in enumerate(bodies, 1):
            etag = s3.upload_part(Bucket="bkt", Key=key, UploadId=uid, PartNumber=i,
                                  Body=body)["ETag"]
            listed.append({"PartNumber": i, "ETag": etag})
        return uid, listed

    def test_multipart_object_is_its_parts_ranges_and_part_numbers(self):
        from botocore.exceptions import ClientError
        mib5 = 5 << 20
        bodies = [os.urandom(mib5), os.urandom(mib5), os.urandom(mib5 + 7), os.urandom(1000)]
        whole = b"".join(bodies)
        n = len(whole)
        uid, listed = self.upload_parts("mp", bodies)
        self.assertEqual(len(self.object_files()), 4)
        self.s3.complete_multipart_upload(Bucket="bkt", Key="mp", UploadId=uid,
                                          MultipartUpload={"Parts": listed})
        # Complete wrote no content: the object is its four part files.
        self.assertEqual(len(self.object_files()), 4)
        self.assertEqual(self.s3.get_object(Bucket="bkt", Key="mp")["Body"].read(), whole)
        b1, b2 = mib5, 2 * mib5
        for what, rng, first, last in (
                ("first byte", "bytes=0-0", 0, 0),
                ("last byte", f"bytes={n - 1}-", n - 1, n - 1),
                ("parts 1 to 3", f"bytes={b1 - 3}-{b2 + 3}", b1 - 3, b2 + 3),
                ("suffix over parts 3 and 4", "bytes=-1500", n - 1500, n - 1)):
            g = self.s3.get_object(Bucket="bkt", Key="mp", Range=rng)
            self.assertEqual(g["Body"].read(), whole[first:last + 1], what)
            self.assertEqual(g["ContentRange"], f"bytes {first}-{last}/{n}", what)
        # ?partNumber= serves that part, with the parts count (as S3 does).
        g = self.s3.get_object(Bucket="bkt", Key="mp", PartNumber=2)
        self.assertEqual(g["Body"].read(), bodies[1])
        self.assertEqual(g["PartsCount"], 4)
        self.assertEqual(g["ContentRange"], f"bytes {b1}-{b2 - 1}/{n}")
        h = self.s3.head_object(Bucket="bkt", Key="mp", PartNumber=4)
        self.assertEqual((h["ContentLength"], h["PartsCount"]), (1000, 4))
        with self.assertRaises(ClientError) as cm:
            self.s3.get_object(Bucket="bkt", Key="mp", PartNumber=5)
        # Past the last part: 400 InvalidPart, as S3 answers (it was 416 InvalidPartNumber).
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidPart")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        # UploadPartCopy of a range across part boundaries of the multipart source.
        uid2 = self.s3.create_multipart_upload(Bucket="bkt", Key="pc")["UploadId"]
        r = self.s3.upload_part_copy(Bucket="bkt", Key="pc", UploadId=uid2, PartNumber=1,
                                     CopySource={"Bucket": "bkt", "Key": "mp"},
                                     CopySourceRange=f"bytes={b1 - 5}-{b2 + 5}")
        self.s3.complete_multipart_upload(
            Bucket="bkt", Key="pc", UploadId=uid2,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["CopyPartResult"]["ETag"]}]})
        self.assertEqual(self.s3.get_object(Bucket="bkt", Key="pc")["Body"].read(),
                         whole[b1 - 5:b2 + 6])
        self.assertEqual(len(self.object_files()), 5)
        # Deleting releases every part file.
        self.s3.delete_objects(Bucket="bkt", Delete={"Objects": [{"Key": "mp"}, {"Key": "pc"}]})
        self.assertEqual(self.object_files(), [])

    def test_multipart_subset_overwrite_and_sigkill(self):
        mib5 = 5 << 20
        bodies = [os.urandom(mib5), os.urandom(mib5), os.urandom(mib5)]
        uid, listed = self.upload_parts("mp", bodies)
        # SIGKILL between the parts and Complete: the upload and its three part files survive.
        self.store.kill()
        self.store = self.start_store(self.store_args, data_dir=self.store.data_dir)
        s3 = self.client()
        self.assertEqual(len(self.object_files()), 3)
        parts = s3.list_parts(Bucket="bkt", Key="mp", UploadId=uid)["Parts"]
        self.assertEqual([p["PartNumber"] for p in parts], [1, 2, 3])
        # Complete with parts 1 and 3: part 2 is released.
        r = s3.complete_multipart_upload(Bucket="bkt", Key="mp", UploadId=uid,
                                         MultipartUpload={"Parts": [listed[0], listed[2]]})
        self.assertTrue(r["ETag"].endswith('-2"'), r["ETag"])
        self.assertEqual(len(self.object_files()), 2)
        want = bodies[0] + bodies[2]
        self.assertEqual(s3.get_object(Bucket="bkt", Key="mp")["Body"].read(), want)
        # Parts keep the numbers they were uploaded as.
        self.assertEqual(s3.get_object(Bucket="bkt", Key="mp", PartNumber=3)["Body"].read(),
                         bodies[2])
        # SIGKILL after Complete: the object reads back whole and the sweep finds no orphan.
        self.store.kill()
        self.store = self.start_store(self.store_args, data_dir=self.store.data_dir)
        s3 = self.client()
        self.assertEqual(s3.get_object(Bucket="bkt", Key="mp")["Body"].read(), want)
        self.assertEqual(len(self.object_files()), 2)
        self.assertNotIn("Uploads", s3.list_multipart_uploads(Bucket="bkt"))
        # Overwrite by another Complete, by CopyObject and by PutObject: each releases every
        # part file of the object it replaces.
        uid, listed = self.upload_parts("mp", [os.urandom(mib5), b"tail"], s3)
        s3.complete_multipart_upload(Bucket="bkt", Key="mp", UploadId=uid,
                                     MultipartUpload={"Parts": listed})
        self.assertEqual(len(self.object_files()), 2)
        s3.put_object(Bucket="bkt", Key="big", Body=os.urandom(100000))
        s3.copy_object(Bucket="bkt", Key="mp", CopySource={"Bucket": "bkt", "Key": "big"})
        self.assertEqual(len(self.object_files()), 2)  # big and its copy
        uid, listed = self.upload_parts("mp", [os.urandom(mib5), b"tail"], s3)
        s3.complete_multipart_upload(Bucket="bkt", Key="mp", UploadId=uid,
                                     MultipartUpload={"Parts": listed})
        s3.put_object(Bucket="bkt", Key="mp", Body=b"small")
        self.assertEqual(len(self.object_files()), 1)  # big's
        self.assertEqual(s3.get_object(Bucket="bkt", Key="mp")["Body"].read(), b"small")

    def test_inline_threshold_range_conditions_copy_overwrite(self):
        from botocore.exceptions import ClientError
        sizes = [0, 1, 1024, (64 << 10) - 1, 64 << 10, (64 << 10) + 1, 300000]
        bodies = {f"s{n}": os.urandom(n) for n in sizes}
        for k, b in bodies.items():
            r = self.s3.put_object(Bucket="bkt", Key=k, Body=b)
            self.assertEqual(r["ETag"], '"%s"' % hashlib.md5(b).hexdigest())
        for k, b in bodies.items():
            etag = '"%s"' % hashlib.md5(b).hexdigest()
            self.assertEqual(self.s3.head_object(Bucket="bkt", Key=k)["ContentLength"], len(b))
            self.assertEqual(self.s3.get_object(Bucket="bkt", Key=k)["Body"].read(), b, k)
            if len(b) >= 20:
                g = self.s3.get_object(Bucket="bkt", Key=k, Range="bytes=10-19")
                self.assertEqual(g["Body"].read(), b[10:20])
                self.assertEqual(g["ContentRange"], f"bytes 10-19/{len(b)}")
                g = self.s3.get_object(Bucket="bkt", Key=k, Range="bytes=-5")
                self.assertEqual(g["Body"].read(), b[-5:])
            with self.assertRaises(ClientError) as cm:
                self.s3.get_object(Bucket="bkt", Key=k, IfNoneMatch=etag)
            self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 304)
            with self.assertRaises(ClientError) as cm:
                self.s3.get_object(Bucket="bkt", Key=k, IfMatch='"0123"')
            self.assertEqual(cm.exception.response["Error"]["Code"], "PreconditionFailed")
            self.s3.copy_object(Bucket="bkt", Key="c-" + k, CopySource={"Bucket": "bkt", "Key": k})
            self.assertEqual(self.s3.get_object(Bucket="bkt", Key="c-" + k)["Body"].read(), b)
        # Overwrite across the threshold both ways, then delete everything: no content is left.
        small, large = os.urandom(100), os.urandom(100000)
        self.s3.put_object(Bucket="bkt", Key="s1", Body=large)
        self.s3.put_object(Bucket="bkt", Key="s300000", Body=small)
        self.assertEqual(self.s3.get_object(Bucket="bkt", Key="s1")["Body"].read(), large)
        self.assertEqual(self.s3.get_object(Bucket="bkt", Key="s300000")["Body"].read(), small)
        keys = [o["Key"] for o in self.s3.list_objects_v2(Bucket="bkt")["Contents"]]
        self.assertEqual(len(keys), 2 * len(sizes))
        self.s3.delete_objects(Bucket="bkt", Delete={"Objects": [{"Key": k} for k in keys]})
        self.assertEqual(self.s3.list_objects_v2(Bucket="bkt")["KeyCount"], 0)
        self.assertEqual(self.object_files(), [])

    def test_acknowledged_puts_survive_sigkill(self):
        s3 = self.client(retries={"max_attempts": 1}, max_pool_connections=16)
        acked = {}
        lock = threading.Lock()
        stop = threading.Event()

        def writer(w):
            i = 0
            while not stop.is_set():
                key = f"w{w}/{i}"
                # mostly 1 KiB (inline), some across the threshold (files)
                n = [1024, 1024, 1024, 64 << 10, (64 << 10) + 1, 200000][i % 6]
                body = hashlib.sha256(key.encode()).digest() * (n // 32 + 1)
                body = body[:n]
                try:
                    s3.put_object(Bucket="bkt", Key=key, Body=body)
                except Exception:
                    return  # the store was killed
                with lock:
                    acked[key] = hashlib.md5(body).hexdigest()
                i += 1

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            futs = [pool.submit(writer, w) for w in range(16)]
            wait_until = time.monotonic() + 30
            while len(acked) < 400 and time.monotonic() < wait_until:
                time.sleep(0.01)
            self.store.kill()  # SIGKILL with requests in flight
            stop.set()
            for f in futs:
                f.result()
        self.assertGreaterEqual(len(acked), 400)
        self.store = self.start_store(self.store_args, data_dir=self.store.data_dir)
        s3 = self.client()
        listed = set()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="bkt"):
            listed.update(o["Key"] for o in page.get("Contents", []))
        self.assertTrue(set(acked) <= listed, sorted(set(acked) - listed)[:5])
        for key in listed:  # acknowledged or not, whatever is listed reads back whole
            body = s3.get_object(Bucket="bkt", Key=key)["Body"].read()
            n = [1024, 1024, 1024, 64 << 10, (64 << 10) + 1, 200000][int(key.split("/")[1]) % 6]
            self.assertEqual(len(body), n, key)
            if key in acked:
                self.assertEqual(hashlib.md5(body).hexdigest(), acked[key], key)
        self.assertEqual([f for f in self.data_files() if f.startswith("tmp/")], [])

    def test_virtual_hosted_addressing(self):
        # bkt.localhost does not resolve on every machine: map *.localhost to loopback in-process.
        import socket
        real = socket.getaddrinfo

        def fake(host, *a, **kw):
            if isinstance(host, str) and host.endswith(".localhost"):
                host = "127.0.0.1"
            return real(host, *a, **kw)
        socket.getaddrinfo = fake
        try:
            import boto3
            from botocore.config import Config
            from store_harness import ACCESS_KEY, SECRET_KEY
            vs3 = boto3.client("s3", endpoint_url=f"http://localhost:{self.store.port}",
                               region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
                               aws_secret_access_key=SECRET_KEY,
                               config=Config(s3={"addressing_style": "virtual"}))
            vs3.put_object(Bucket="bkt", Key="v/h", Body=b"virtual")
            self.assertEqual(self.s3.get_object(Bucket="bkt", Key="v/h")["Body"].read(),
                             b"virtual")
            self.assertEqual([c["Key"] for c in vs3.list_objects_v2(Bucket="bkt")["Contents"]],
                             ["v/h"])
        finally:
            socket.getaddrinfo = real

if __name__ == "__main__":
    unittest.main()
