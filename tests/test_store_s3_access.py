"""`ingestor store` against what the ceph/s3-tests conformance suite found missing (issue 16),
driven by boto3 with two users (the main account and `--user alt:...`) and anonymous requests:
ACLs and who may do what, ListObjectVersions of the unversioned store, CORS (configuration,
preflight, response headers), GetObjectAttributes, composite multipart checksums, a repeated
CompleteMultipartUpload, and the status codes the suite checks (partNumber past the last part,
x-amz-copy-source-range past the source, presigned X-Amz-Expires out of range). The whole suite
runs with `make s3-conformance` (docs/s3-conformance.md)."""
import base64
import hashlib
import subprocess
import unittest
import urllib.error
import urllib.request

from harness import BIN
from store_harness import REGION, BucketTestCase

ALT_KEY, ALT_SECRET = "ALTACCESSKEY0000", "alt/secret+key/for/tests"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def http(method, url, headers=None, data=None, body=None):
    """(status, headers) of a plain HTTP request (no SDK: anonymous, presigned, preflight); the
    response body is appended to the list `body` when one is given."""
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            b = r.read()
            status, hdrs = r.status, r.headers
    except urllib.error.HTTPError as e:
        b = e.read()
        status, hdrs = e.code, e.headers
    if body is not None:
        body.append(b)
    return status, hdrs


class StoreAccessTest(BucketTestCase):
    store_args = ["--user", f"alt:{ALT_KEY}:{ALT_SECRET}"]

    def alt(self):
        import boto3
        return boto3.client("s3", endpoint_url=self.store.endpoint, region_name=REGION,
                            aws_access_key_id=ALT_KEY, aws_secret_access_key=ALT_SECRET)

    def anon(self):
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config
        return boto3.client("s3", endpoint_url=self.store.endpoint, region_name=REGION,
                            config=Config(signature_version=UNSIGNED))

    def code(self, fn, **kw):
        with self.assertRaises(self.s3.exceptions.ClientError) as cm:
            fn(**kw)
        r = cm.exception.response
        return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]

    def test_acls_decide_who_reads_and_writes(self):
        s3, alt, anon = self.s3, self.alt(), self.anon()
        s3.put_object(Bucket="bkt", Key="private", Body=b"p")
        s3.put_object(Bucket="bkt", Key="public", Body=b"pub", ACL="public-read")
        # Each user lists their own buckets; names are shared.
        self.assertEqual([b["Name"] for b in alt.list_buckets()["Buckets"]], [])
        self.assertEqual(alt.list_buckets()["Owner"]["ID"], "alt")
        self.assertEqual(self.code(alt.create_bucket, Bucket="bkt"), (409, "BucketAlreadyExists"))
        # A private bucket: the other user and anonymous requests get 403, a missing one 404.
        self.assertEqual(self.code(alt.list_objects_v2, Bucket="bkt"), (403, "AccessDenied"))
        self.assertEqual(self.code(alt.get_object, Bucket="bkt", Key="private"),
                         (403, "AccessDenied"))
        self.assertEqual(self.code(alt.put_object, Bucket="bkt", Key="x", Body=b"x"),
                         (403, "AccessDenied"))
        self.assertEqual(self.code(anon.list_objects_v2, Bucket="nope"), (404, "NoSuchBucket"))
        # An error body names the request id its x-amz-request-id header gives.
        body = []
        status, h = http("GET", f"{self.store.endpoint}/nope/k", body=body)
        self.assertEqual(status, 404)
        self.assertIn(f"<RequestId>{h['x-amz-request-id']}</RequestId>".encode(), body[0])
        self.assertEqual(self.code(anon.list_buckets), (403, "AccessDenied"))
        # An object's public-read: readable by anyone, even in a private bucket.
        self.assertEqual(anon.get_object(Bucket="bkt", Key="public")["Body"].read(), b"pub")
        self.assertEqual(self.code(anon.get_object, Bucket="bkt", Key="private"),
                         (403, "AccessDenied"))
        # public-read-write on the bucket: anonymous writes; the object is the bucket owner's.
        s3.put_bucket_acl(Bucket="bkt", ACL="public-read-write")
        anon.put_object(Bucket="bkt", Key="dropped", Body=b"d")
        self.assertEqual(s3.get_object_acl(Bucket="bkt", Key="dropped")["Owner"]["ID"],
                         "ingestor")
        grants = s3.get_bucket_acl(Bucket="bkt")["Grants"]
        self.assertEqual([(g["Grantee"].get("URI", g["Grantee"].get("ID")), g["Permission"])
                          for g in grants],
                         [(ALL_USERS, "READ"), (ALL_USERS, "WRITE"), ("ingestor", "FULL_CONTROL")])
        # alt's object in main's bucket is alt's: main may delete it (bucket WRITE) but not read
        # it, until alt grants the bucket owner access.
        alt.put_object(Bucket="bkt", Key="alts", Body=b"a")
        self.assertEqual(self.code(s3.get_object, Bucket="bkt", Key="alts"), (403, "AccessDenied"))
        alt.put_object_acl(Bucket="bkt", Key="alts", ACL="bucket-owner-read")
        self.assertEqual(s3.get_object(Bucket="bkt", Key="alts")["Body"].read(), b"a")
        # An AccessControlPolicy document grant to a user; unknown ids and e-mails are refused.
        policy = s3.get_object_acl(Bucket="bkt", Key="private")
        policy.pop("ResponseMetadata")
        policy["Grants"].append({"Grantee": {"ID": "alt", "Type": "CanonicalUser"},
                                 "Permission": "READ"})
        s3.put_object_acl(Bucket="bkt", Key="private", AccessControlPolicy=policy)
        self.assertEqual(alt.get_object(Bucket="bkt", Key="private")["Body"].read(), b"p")
        policy["Grants"][-1]["Grantee"]["ID"] = "nobody"
        self.assertEqual(self.code(s3.put_object_acl, Bucket="bkt", Key="private",
                                   AccessControlPolicy=policy), (400, "InvalidArgument"))
        policy["Grants"][-1]["Grantee"] = {"EmailAddress": "a@b.invalid",
                                           "Type": "AmazonCustomerByEmail"}
        self.assertEqual(self.code(s3.put_bucket_acl, Bucket="bkt", AccessControlPolicy=policy),
                         (400, "UnresolvableGrantByEmailAddress"))
        # Only the owner deletes the bucket, whatever its ACL.
        self.assertEqual(self.code(alt.delete_bucket, Bucket="bkt"), (403, "AccessDenied"))
        self.assertEqual(self.code(s3.list_objects_v2, Bucket="bkt",
                                   ExpectedBucketOwner="alt"), (403, "AccessDenied"))

    def test_list_object_versions_of_the_unversioned_store(self):
        keys = ["a", "b/1", "b/2", "c"]
        for k in keys:
            self.s3.put_object(Bucket="bkt", Key=k, Body=k.encode())
        pages = self.s3.get_paginator("list_object_versions").paginate(
            Bucket="bkt", PaginationConfig={"PageSize": 3})
        versions = [v for p in pages for v in p.get("Versions", [])]
        self.assertEqual([v["Key"] for v in versions], keys)
        self.assertTrue(all(v["VersionId"] == "null" and v["IsLatest"] for v in versions))
        r = self.s3.list_object_versions(Bucket="bkt", Delimiter="/")
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["b/"])
        # What the suite's cleanup does with them: delete by version "null".
        self.s3.delete_objects(Bucket="bkt", Delete={"Objects": [
            {"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions]})
        self.assertEqual(self.s3.list_objects_v2(Bucket="bkt")["KeyCount"], 0)
        self.assertEqual(self.code(self.s3.get_object, Bucket="bkt", Key="a", VersionId="v2"),
                         (404, "NoSuchVersion"))

    def test_cors_configuration_preflight_and_headers(self):
        s3 = self.s3
        self.assertEqual(self.code(s3.get_bucket_cors, Bucket="bkt"),
                         (404, "NoSuchCORSConfiguration"))
        url = f"{self.store.endpoint}/bkt/k"
        preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}
        self.assertEqual(http("OPTIONS", url, preflight)[0], 403)  # no configuration
        s3.put_bucket_cors(Bucket="bkt", CORSConfiguration={"CORSRules": [
            {"AllowedMethods": ["GET"], "AllowedOrigins": ["https://*.example"],
             "AllowedHeaders": ["x-amz-*"], "MaxAgeSeconds": 60}]})
        self.assertEqual(s3.get_bucket_cors(Bucket="bkt")["CORSRules"][0]["AllowedOrigins"],
                         ["https://*.example"])
        self.assertEqual(http("OPTIONS", url)[0], 400)  # no Origin
        status, h = http("OPTIONS", url, dict(preflight, **{
            "Access-Control-Request-Headers": "x-amz-date"}))
        self.assertEqual(status, 200)
        self.assertEqual(h["Access-Control-Allow-Origin"], "https://app.example")
        self.assertEqual(h["Access-Control-Allow-Methods"], "GET")
        self.assertEqual(h["Access-Control-Max-Age"], "60")
        self.assertEqual(http("OPTIONS", url, {"Origin": "https://evil.test",
                                               "Access-Control-Request-Method": "GET"})[0], 403)
        self.assertEqual(http("OPTIONS", url, dict(preflight, **{
            "Access-Control-Request-Method": "PUT"}))[0], 403)
        # A signed request with an Origin gets the headers too (an error response as well).
        s3.put_object(Bucket="bkt", Key="k", Body=b"v", ACL="public-read")
        status, h = http("GET", url, {"Origin": "https://app.example"})
        self.assertEqual((status, h["Access-Control-Allow-Origin"]), (200, "https://app.example"))
        s3.delete_bucket_cors(Bucket="bkt")
        self.assertEqual(self.code(s3.get_bucket_cors, Bucket="bkt"),
                         (404, "NoSuchCORSConfiguration"))

    def test_multipart_checksums_attributes_and_repeated_complete(self):
        s3 = self.s3
        parts = [b"A" * (5 << 20), b"B" * 1000]
        uid = s3.create_multipart_upload(Bucket="bkt", Key="mp",
                                         ChecksumAlgorithm="SHA256")["UploadId"]
        done = []
        for i, body in enumerate(parts, 1):
            r = s3.upload_part(Bucket="bkt", Key="mp", UploadId=uid, PartNumber=i, Body=body,
                               ChecksumAlgorithm="SHA256")
            done.append({"PartNumber": i, "ETag": r["ETag"], "ChecksumSHA256": r["ChecksumSHA256"]})
        raw = b"".join(hashlib.sha256(p).digest() for p in parts)
        composite = base64.b64encode(hashlib.sha256(raw).digest()).decode() + "-2"
        # A checksum header on Complete is the object's: wrong or malformed -> BadDigest.
        for bad in ["bad", base64.b64encode(b"x" * 32).decode() + "-2"]:
            self.assertEqual(self.code(s3.complete_multipart_upload, Bucket="bkt", Key="mp",
                                       UploadId=uid, ChecksumSHA256=bad,
                                       MultipartUpload={"Parts": done}), (400, "BadDigest"))
        r = s3.complete_multipart_upload(Bucket="bkt", Key="mp", UploadId=uid,
                                         ChecksumSHA256=composite, MultipartUpload={"Parts": done})
        self.assertEqual(r["ChecksumSHA256"], composite)
        again = s3.complete_multipart_upload(Bucket="bkt", Key="mp", UploadId=uid,
                                             MultipartUpload={"Parts": done})
        self.assertEqual(again["ETag"], r["ETag"])
        h = s3.head_object(Bucket="bkt", Key="mp", ChecksumMode="ENABLED")
        self.assertEqual((h["ChecksumSHA256"], h.get("ChecksumType")), (composite, "COMPOSITE"))
        a = s3.get_object_attributes(Bucket="bkt", Key="mp", MaxParts=1, ObjectAttributes=[
            "ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"])
        self.assertEqual((a["ETag"], a["ObjectSize"], a["StorageClass"]),
                         (r["ETag"].strip('"'), sum(map(len, parts)), "STANDARD"))
        self.assertEqual(a["Checksum"]["ChecksumSHA256"], composite)
        op = a["ObjectParts"]
        self.assertEqual((op["TotalPartsCount"], op["IsTruncated"], op["NextPartNumberMarker"]),
                         (2, True, 1))
        self.assertEqual(op["Parts"][0]["ChecksumSHA256"], done[0]["ChecksumSHA256"])
        # Past the last part: 400 InvalidPart.
        self.assertEqual(self.code(s3.get_object, Bucket="bkt", Key="mp", PartNumber=3),
                         (400, "InvalidPart"))
        # A copy range past the source's end: InvalidRange.
        uid2 = s3.create_multipart_upload(Bucket="bkt", Key="c")["UploadId"]
        s3.put_object(Bucket="bkt", Key="small", Body=b"12345")
        status, code = self.code(s3.upload_part_copy, Bucket="bkt", Key="c", UploadId=uid2,
                                 PartNumber=1, CopySource={"Bucket": "bkt", "Key": "small"},
                                 CopySourceRange="bytes=0-21")
        self.assertEqual((status, code), (416, "InvalidRange"))

    def test_presigned_expiry_out_of_range_is_403(self):
        self.s3.put_object(Bucket="bkt", Key="k", Body=b"v")
        v4 = self.client(signature_version="s3v4")
        for expires in (-7, 609901):
            url = v4.generate_presigned_url(
                "get_object", Params={"Bucket": "bkt", "Key": "k"}, ExpiresIn=expires)
            self.assertEqual(http("GET", url)[0], 403, expires)

    def test_user_flag_is_checked(self):
        for bad, why in (("alt:KEY", "NAME:ACCESS_KEY:SECRET_KEY"),
                         (f"alt2:{ALT_KEY}:s", "given to two users"),
                         ("ingestor:K2:s", "used twice"),
                         ("a b:K3:s", "A-Z a-z 0-9")):
            p = subprocess.run([BIN, "store", "--data-dir", self.tmp + "/x", "--access-key", "K",
                                "--secret-key", "S", "--user", f"alt:{ALT_KEY}:{ALT_SECRET}",
                                "--user", bad], capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn(why, p.stderr, bad)


if __name__ == "__main__":
    unittest.main()
