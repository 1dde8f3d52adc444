"""`ingestor store` driven by boto3: list pagination (v2 and v1, delimiter, url encoding),
conditional put, delete_objects, presigned GET (SigV2 default and SigV4), multipart via s3api
calls, virtual-hosted addressing, CopyObject, conditional GET."""
import unittest
import urllib.request

from store_harness import StoreTestCase, require_boto3


class Boto3Test(StoreTestCase):
    def setUp(self):
        require_boto3()
        super().setUp()
        self.s3 = self.client()
        self.s3.create_bucket(Bucket="bkt")

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
