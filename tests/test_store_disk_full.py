"""`ingestor store` on a full disk, with real processes: every request the full disk refuses gets
a 5xx S3 error that says so, the store keeps running, nothing it acknowledged is lost or changed,
nothing partial is ever visible or notified, no temp or part file is left behind, and it recovers
once space returns: in the same process, and after a SIGKILL on the full disk.

The store's --data-dir is on a 32 MiB tmpfs that it shares with another tenant (a 3 MiB file the
test writes; removing it is the operator giving space back). boto3 runs with retries off, so the
test sees the store's own answers. The model of what the store acknowledged (objects and their
bytes, buckets, the upload in progress, how many content files each holds) is checked against
the store after every phase.

A. Seed objects: inline ones (<= 64 KiB, in SQLite), files (3 and 5 MiB), a multipart object
   (two part files) and an upload in progress (one part). The webhook goes down, then the volume
   is filled: PUTs of falling sizes (4 MiB down to 1 byte, files then inline bodies) until each
   size is refused, then CreateBucket (a one-page commit) until it is refused too, so that not
   even a page is left for SQLite's WAL. On that full disk an UploadPart, a CopyObject (of a file
   and of an inline object) and a CompleteMultipartUpload are refused as well. The webhook comes
   back while the disk is still full: the notifications held in the outbox arrive (each a bounded
   number of times: the outbox rows cannot be deleted yet), none for a refused request.
   Then the tenant's file goes (a DeleteObject on a disk full to its last page is refused
   today: a known gap); the refused requests succeed when retried; every notification arrives.
B. The tenant's file comes back, a PUT is left half sent (its temp file on the volume), the
   volume is filled again and the store SIGKILLed on the full disk. It must start again on it,
   sweep the half-sent PUT's temp file, and hold exactly what it acknowledged; once the tenant's
   file goes, a PUT succeeds and its notification arrives.

The tmpfs needs CAP_SYS_ADMIN or unprivileged user namespaces (disk_full_harness.Volume);
without either the test is skipped with the reason.
"""
import collections
import hashlib
import os
import re
import shutil
import socket
import time
import unittest
import urllib.parse

from disk_full_harness import Volume
from harness import wait_for
from store_harness import (ACCESS_KEY, REGION, SECRET_KEY, StoreTestCase, Webhook,
                           require_boto3)

VOLUME = "32m"
MIB = 1 << 20
TENANT = 3 * MIB
INLINE_MAX = 64 << 10  # the store keeps bodies up to this size in SQLite, larger ones in files
FILL_SIZES = (4 * MIB, MIB, 256 << 10, 96 << 10, 60 << 10, 1)
# At-least-once delivery repeats a notification whose outbox row cannot be deleted (a full
# disk), after a backoff (250 ms doubling up to --notify-retry-max-ms, 4 s here): in the seconds
# the disk is full here, a few copies. More than this many copies of one event means the notifier
# repeats it without a pause.
MAX_DELIVERIES = 12
RETRY_MAX_MS = 4000
REFUSALS = {500: ("InternalError",), 503: ("SlowDown", "ServiceUnavailable")}
BUCKET = "bkt"


def sha(data):
    return hashlib.sha256(data).hexdigest()[:16]


class StoreDiskFullTest(StoreTestCase):
    def first_store(self):
        require_boto3()
        self.hook = Webhook().start()
        self.inflight = None
        self.vol = Volume(os.path.join(self.tmp, "vol"), VOLUME)
        # Runs after tearDown, or after a setUp that failed (tearDown is then not called).
        self.addCleanup(self.release)
        self.mode = self.vol.mount()
        self.data_dir = os.path.join(self.vol.path, "data")
        # No free-space floor: this disk is to be filled to its last page (as another tenant of
        # it could); test_free_space_floor... shows the floor.
        self.args = ["--notify-webhook", self.hook.url, "--notify-retry-max-ms", str(RETRY_MAX_MS),
                     "--min-free-space", "0"]
        return self.start_store(self.args, data_dir=self.data_dir, prefix=self.vol.prefix)

    def setUp(self):
        super().setUp()
        from botocore.exceptions import ClientError
        self.ClientError = ClientError
        self.connect()
        self.s3.create_bucket(Bucket=BUCKET)
        # The model of what the store acknowledged.
        self.objects = {}   # key -> bytes
        self.files = {}     # key -> content files it holds (0: inline in SQLite)
        self.acked = {}     # key -> (size, ETag): every object acknowledged, deleted ones too
        self.buckets = {BUCKET}
        self.upload_parts = {}  # part number -> (etag, bytes) of the upload in progress
        self.refused = []   # (what, key or bucket, ClientError)
        self.marks = []
        self.t0 = time.monotonic()

    def release(self):
        if self.inflight:
            self.inflight.close()
        for s in self.stores:  # off the volume before it goes away
            s.kill()
        self.vol.unmount()
        self.hook.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def connect(self):
        self.s3 = self.client(retries={"total_max_attempts": 1}, connect_timeout=5,
                              read_timeout=30)

    def mark(self, what):
        self.marks.append(f"{what} {time.monotonic() - self.t0:.1f}s")

    # ---- requests, recorded in the model ---------------------------------------------------

    def attempt(self, what, key, call):
        """Runs a request; None if the store acknowledged it, else its refusal (recorded). Errors
        other than an S3 error answer (a reset, a timeout: a hang) fail the test."""
        try:
            call()
            return None
        except self.ClientError as e:
            self.refused.append((what, key, e))
            return e

    def put(self, key, body):
        def call():
            r = self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
            self.objects[key] = body
            self.files[key] = 0 if len(body) <= INLINE_MAX else 1
            self.acked[key] = (len(body), r["ETag"].strip('"'))
        return self.attempt(f"PutObject of {len(body)} bytes", key, call)

    def copy(self, src, key):
        def call():
            r = self.s3.copy_object(Bucket=BUCKET, Key=key, CopySource=f"{BUCKET}/{src}")
            self.objects[key] = self.objects[src]
            self.files[key] = 0 if len(self.objects[src]) <= INLINE_MAX else 1
            self.acked[key] = (len(self.objects[src]), r["CopyObjectResult"]["ETag"].strip('"'))
        return self.attempt(f"CopyObject of {len(self.objects[src])} bytes", key, call)

    def upload_part(self, key, upload_id, number, body):
        def call():
            r = self.s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload_id,
                                    PartNumber=number, Body=body)
            self.upload_parts[number] = (r["ETag"], body)
        return self.attempt(f"UploadPart of {len(body)} bytes", key, call)

    def complete(self, key, upload_id):
        def call():
            parts = sorted(self.upload_parts.items())
            r = self.s3.complete_multipart_upload(
                Bucket=BUCKET, Key=key, UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, (e, _) in parts]})
            self.objects[key] = b"".join(b for _, (_, b) in parts)
            self.files[key] = len(parts)
            self.acked[key] = (len(self.objects[key]), r["ETag"].strip('"'))
            self.upload_parts = {}
        return self.attempt("CompleteMultipartUpload", key, call)

    def create_bucket(self, name):
        def call():
            self.s3.create_bucket(Bucket=name)
            self.buckets.add(name)
        return self.attempt("CreateBucket", name, call)

    def multipart(self, key, parts):
        uid = self.s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        for i, body in enumerate(parts, 1):
            self.assertIsNone(self.upload_part(key, uid, i, body))
        self.assertIsNone(self.complete(key, uid))

    def fill(self, tag):
        """Fills the volume: PUTs of each size in FILL_SIZES until one is refused, then one-page
        commits (CreateBucket) until one is refused: not a page is left for the WAL either.
        Returns the refusals."""
        refusals, n = [], 0
        for size in FILL_SIZES:
            for _ in range(64):
                key = f"{tag}-fill-{n:03d}"
                n += 1
                e = self.put(key, os.urandom(size))
                if e is not None:
                    refusals.append(self.refused[-1])
                    break
            else:
                self.fail(f"64 PUTs of {size} bytes were all acknowledged on a {VOLUME} volume")
        for _ in range(64):
            name = f"{tag}-slack-{n:03d}"
            n += 1
            if self.create_bucket(name) is not None:
                refusals.append(self.refused[-1])
                break
        else:
            self.fail(f"64 buckets were created on a full {VOLUME} volume")
        return refusals

    # ---- checks ------------------------------------------------------------------------------

    def check_refusal(self, what, name, e):
        """A refusal is an S3 error document with a 5xx status that a client retries, saying
        that the disk is full; the store is still running."""
        status = e.response["ResponseMetadata"]["HTTPStatusCode"]
        code = e.response["Error"].get("Code")
        msg = e.response["Error"].get("Message", "")
        where = f"{what} {name!r} on a full disk: {status} {code} {msg!r}"
        self.assertIn(status, REFUSALS, where + ": expected 500 or 503, which clients retry")
        self.assertIn(code, REFUSALS[status], where + ": not the S3 error code of that status")
        self.assertRegex(msg, re.compile(r"space|full", re.I),
                         where + ": the message does not say that the disk is full")
        self.assertIsNone(self.store.proc.poll(), f"the store exited after {where}")

    def settle(self, cond, what, now, timeout=10):
        """wait_for(cond); on a timeout the message says what `now()` shows then."""
        try:
            wait_for(cond, timeout=timeout, what=what)
        except AssertionError as e:
            raise AssertionError(f"{e}; now: {now()}") from None

    def expected_files(self):
        return sum(self.files.values()) + len(self.upload_parts)

    def check_store(self, when):
        """The store holds exactly what it acknowledged, whole; no temp file is left and no
        content file beyond those the model expects."""
        self.assertIsNone(self.store.proc.poll(), f"the store exited ({when})")
        self.settle(lambda: self.vol.listdir("data/tmp") == [], f"an empty tmp/ ({when})",
                    lambda: self.vol.listdir("data/tmp"))
        want = self.expected_files()
        self.settle(lambda: len(self.vol.files("data/objects")) == want,
                    f"{want} content files under objects/ ({when})",
                    lambda: f"{len(self.vol.files('data/objects'))} files")
        keys = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            keys += [o["Key"] for o in page.get("Contents", [])]
        self.assertEqual(sorted(keys), sorted(self.objects),
                         f"ListObjectsV2 ({when}) differs from what was acknowledged")
        for key, body in self.objects.items():
            got = self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            self.assertEqual((len(got), sha(got)), (len(body), sha(body)),
                             f"{key} ({when}) is not the acknowledged bytes")
        names = {b["Name"] for b in self.s3.list_buckets()["Buckets"]}
        self.assertEqual(names, self.buckets, f"ListBuckets ({when})")
        for what, name, _ in self.refused:
            if what == "CreateBucket":
                if name not in self.buckets:
                    self.assertNotIn(name, names)
            elif name not in self.objects:
                with self.assertRaises(self.ClientError, msg=f"HEAD {name} ({when})") as cm:
                    self.s3.head_object(Bucket=BUCKET, Key=name)
                self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"],
                                 404, f"HEAD of the refused {name} ({when})")

    def records(self):
        return [(urllib.parse.unquote_plus(r["s3"]["object"]["key"]), r)
                for r in self.hook.records()]

    def wait_notified(self, when):
        """Until every acknowledged object was notified; then every notification is of an
        acknowledged object, with its size and ETag (nothing partial, nothing refused), and no
        event arrived more often than at-least-once delivery with backoff explains."""
        def missing():
            got = {k for k, _ in self.records()}
            return sorted(k for k in self.objects if k not in got)
        self.settle(lambda: not missing(), f"a notification of every acknowledged object ({when})",
                    lambda: f"none for {missing()[:5]}", timeout=30)
        counts = collections.Counter()
        for key, r in self.records():
            counts[key] += 1
            self.assertIn(key, self.acked, f"a notification for {key}, never acknowledged")
            self.assertEqual((r["s3"]["object"]["size"], r["s3"]["object"]["eTag"]),
                             self.acked[key],
                             f"the notification of {key} is not of the acknowledged object")
        with self.subTest(f"each event notified a bounded number of times ({when})"):
            spun = {k: c for k, c in counts.items() if c > MAX_DELIVERIES}
            self.assertEqual(spun, {}, f"notifications delivered more than {MAX_DELIVERIES} "
                                       f"times: the notifier repeats them without a pause")

    def delete(self, key):
        """DeleteObject: acknowledged; the object's files are gone and their space is back."""
        files_before = set(self.vol.files("data/objects"))
        free_before = self.vol.free_bytes()
        size, n = len(self.objects[key]), self.files[key]
        try:
            self.s3.delete_object(Bucket=BUCKET, Key=key)
        except self.ClientError as e:
            self.fail(f"DeleteObject {key} with {self.vol.free_bytes()} bytes free was refused: "
                      f"{e.response['ResponseMetadata']['HTTPStatusCode']} "
                      f"{e.response['Error']}; an operator cannot free space through the store")
        del self.objects[key], self.files[key]
        self.settle(lambda: len(files_before - set(self.vol.files("data/objects"))) == n,
                    f"the {n} content files of {key} to go",
                    lambda: f"{len(files_before - set(self.vol.files('data/objects')))} went")
        self.assertEqual(set(self.vol.files("data/objects")) - files_before, set())
        # (less what the commit itself may take: its WAL frames)
        self.settle(lambda: self.vol.free_bytes() >= free_before + size - (64 << 10),
                    f"the {size} bytes of {key} to be free again",
                    lambda: f"{self.vol.free_bytes() - free_before} more bytes free")
        with self.assertRaises(self.ClientError):
            self.s3.head_object(Bucket=BUCKET, Key=key)

    def start_inflight_put(self, key, declared, sent):
        """A signed PUT of `declared` bytes of which only `sent` are sent; the connection stays
        open (the store holds the bytes in a temp file)."""
        from botocore import auth as bauth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        body = os.urandom(declared)
        path = f"/{BUCKET}/{key}"
        host = f"127.0.0.1:{self.store.port}"
        req = AWSRequest(method="PUT", url=f"http://{host}{path}", data=body,
                         headers={"Content-Length": str(declared), "Host": host})
        bauth.S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", REGION).add_auth(req)
        head = f"PUT {path} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in req.headers.items()) + "\r\n"
        self.inflight = socket.create_connection(("127.0.0.1", self.store.port), timeout=10)
        self.inflight.sendall(head.encode() + body[:sent])
        wait_for(lambda: self.vol.listdir("data/tmp"), timeout=10,
                 what="the half-sent PUT's temp file")

    # ---- the scenario ------------------------------------------------------------------------

    def test_full_disk_refuses_cleanly_loses_nothing_and_recovers(self):
        self.vol.write_file("tenant", TENANT)
        # A: seed objects of every kind, with the webhook up.
        for key, size in (("small-1k", 1024), ("small-60k", 60 << 10), ("big-3m", 3 * MIB),
                          ("big-5m", 5 * MIB)):
            self.assertIsNone(self.put(key, os.urandom(size)))
        self.multipart("mp-done", [os.urandom(5 * MIB), os.urandom(MIB)])
        uid = self.s3.create_multipart_upload(Bucket=BUCKET, Key="mp-open")["UploadId"]
        self.assertIsNone(self.upload_part("mp-open", uid, 1, os.urandom(5 * MIB)))
        self.wait_notified("seeded")
        self.check_store("seeded")
        self.mark("seeded")

        # The webhook goes down (the outbox holds what follows), and the volume fills up.
        self.hook.stop()
        refusals = self.fill("a")
        self.assertLess(self.vol.free_bytes(), 128 << 10)
        self.assertIsNone(self.store.proc.poll())
        for what, key, call in (
                ("UploadPart", "mp-open", lambda: self.upload_part("mp-open", uid, 2,
                                                                   os.urandom(MIB))),
                ("CopyObject", "a-copy-big", lambda: self.copy("big-3m", "a-copy-big")),
                ("CopyObject", "a-copy-small", lambda: self.copy("small-1k", "a-copy-small")),
                ("CompleteMultipartUpload", "mp-open", lambda: self.complete("mp-open", uid))):
            e = call()
            self.assertIsNotNone(e, f"{what} {key} was acknowledged on a full disk")
            refusals.append(self.refused[-1])
        for what, name, e in refusals:
            self.check_refusal(what, name, e)
        self.mark(f"A: full ({len(refusals)} refusals)")

        # Still full: the webhook comes back and gets what the outbox held; the store is intact.
        self.hook.start()
        self.wait_notified("A: full disk")
        self.check_store("A: full disk")
        parts = self.s3.list_parts(Bucket=BUCKET, Key="mp-open", UploadId=uid).get("Parts", [])
        self.assertEqual([p["PartNumber"] for p in parts], [1],
                         "the refused UploadPart left a part")

        # Space comes back from outside: the other tenant's file goes. (A DeleteObject on a disk
        # full to its last page is refused today: SQLite cannot append the delete's commit to its
        # WAL. Known gap, src/store/README.md; not asserted here.)
        self.vol.remove("tenant")
        self.delete("big-5m")
        self.delete("mp-done")
        self.mark("A: space back")

        # Every refused kind of request succeeds now, and is notified.
        self.assertIsNone(self.put("a-after-big", os.urandom(3 * MIB)))
        self.assertIsNone(self.put("a-after-small", os.urandom(1024)))
        self.assertIsNone(self.upload_part("mp-open", uid, 2, os.urandom(MIB)))
        self.assertIsNone(self.complete("mp-open", uid))
        self.assertIsNone(self.copy("big-3m", "a-copy-big"))
        self.assertIsNone(self.copy("small-1k", "a-copy-small"))
        self.assertIsNone(self.create_bucket("a-after-bucket"))
        self.wait_notified("A: recovered")
        self.check_store("A: recovered")
        self.mark("A: recovered")

        # B: fill again with a PUT half sent, and SIGKILL the store on the full disk.
        self.vol.write_file("tenant", TENANT)
        self.start_inflight_put("b-inflight", 8 * MIB, 2 * MIB)
        refusals = self.fill("b")
        for what, name, e in refusals:
            self.check_refusal(what, name, e)
        self.assertLess(self.vol.free_bytes(), 128 << 10)
        self.mark("B: full")
        self.store.kill()
        self.inflight.close()
        self.inflight = None
        self.store = self.start_store(self.args, data_dir=self.data_dir, prefix=self.vol.prefix)
        self.connect()
        self.mark("B: restarted on the full disk")
        self.check_store("B: restarted")
        with self.assertRaises(self.ClientError, msg="the half-sent PUT is visible"):
            self.s3.head_object(Bucket=BUCKET, Key="b-inflight")
        self.assertEqual(self.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []), [])
        self.vol.remove("tenant")
        self.assertIsNone(self.put("b-after", os.urandom(3 * MIB)))
        self.wait_notified("B: recovered")
        self.check_store("B: recovered")
        self.mark("B: recovered")
        most = max(collections.Counter(k for k, _ in self.records()).values())
        print(f"\n[{self.mode}] {len(self.objects)} objects acknowledged, "
              f"{len(self.refused)} requests refused, at most {most} deliveries of one event; "
              f"{', '.join(self.marks)}")

    def test_free_space_floor_refuses_new_data_with_507_and_deletes_still_work(self):
        floor = 8 * MIB
        self.store.kill()
        self.store = self.start_store(self.args[:-1] + [str(floor)], data_dir=self.data_dir,
                                      prefix=self.vol.prefix)
        self.connect()
        refused = None
        for i in range(16):
            if e := self.put(f"f-{i}", os.urandom(3 * MIB)):
                refused = (f"f-{i}", e)
                break
        self.assertIsNotNone(refused, f"16 PUTs of 3 MiB were acknowledged on a {VOLUME} volume")
        key, e = refused
        status = e.response["ResponseMetadata"]["HTTPStatusCode"]
        self.assertEqual((status, e.response["Error"].get("Code")), (507, "InsufficientStorage"))
        self.assertIn("--min-free-space", e.response["Error"].get("Message", ""))
        self.assertIsNone(self.store.proc.poll())
        self.assertGreater(self.vol.free_bytes(), floor // 2, "the floor was not kept")
        with self.assertRaises(self.ClientError):
            self.s3.head_object(Bucket=BUCKET, Key=key)
        # What the floor is for: a delete goes through and gives its space back, and the refused
        # PUT then succeeds.
        self.delete("f-0")
        self.assertIsNone(self.put(key, os.urandom(3 * MIB)))
        self.check_store("floor")


if __name__ == "__main__":
    unittest.main()
