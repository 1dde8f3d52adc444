"""`ingestor consumer` against `ingestor store` (real S3 API, boto3 uploads): verified downloads
byte for byte, exactly once, dead letters, a SIGKILL mid-download, --exec, metrics. Bad and
hostile input: test_consumer_hostile.py."""
import os
import unittest
import urllib.parse

from harness import wait_for
from relay_harness import (CorruptingProxy, StoreConsumerTestCase, ThrottleProxy, http_json,
                           notice)

SECRET = "consumer-secret"


class ConsumerTest(StoreConsumerTestCase):
    SECRET = SECRET

    def wait_dead_letter(self, consumer, bucket, key):
        def failed():
            s = self.object_state(consumer, bucket, key)
            return s if s["state"] == "failed" else None
        return wait_for(failed, 30, what=f"dead letter {bucket}/{key}")

    def test_objects_arrive_byte_for_byte_once(self):
        c = self.start_consumer(self.store.endpoint, ["--secret", SECRET, "--workers", "3"])
        objects = {
            "plain.txt": b"hello world\n",
            "dir/sub/a b+c%2B.bin": os.urandom(100_000),
            "unicod\u00e9/\u20ac.json": b'{"x":1}',
            "empty": b"",
        }
        for key, data in objects.items():
            st, body = self.post(c, notice("data", key, data, self.put(key, data)))
            self.assertEqual(st, 202, body)
            self.assertEqual(body["state"], "pending")
        # A multipart object (boto3's upload_file, 5 MiB parts): ETag "<md5>-N".
        big = os.urandom(12 * 1024 * 1024 + 17)
        src = os.path.join(self.tmp, "big.bin")
        with open(src, "wb") as f:
            f.write(big)
        from boto3.s3.transfer import TransferConfig
        self.client.upload_file(src, "data", "big.bin", Config=TransferConfig(
            multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024))
        head = self.client.head_object(Bucket="data", Key="big.bin")
        self.assertIn("-", head["ETag"])
        st, _ = self.post(c, notice("data", "big.bin", big, head["ETag"]))
        self.assertEqual(st, 202)
        objects["big.bin"] = big
        for key, data in objects.items():
            s = self.wait_done(c, "data", key)
            self.assertEqual(s["path"], os.path.join(self.download_dir, "data", key))
            self.assertEqual(self.downloaded("data", key), data, key)
        # The counters move just after the ledger row is marked done.
        m = wait_for(lambda: (lambda m: sum(m["verified"].values()) == len(objects) and m)(
            self.metrics(c)), 10, what="download counters")
        self.assertEqual(m["downloads"], len(objects))
        self.assertEqual(m["states"]["done"], len(objects))
        self.assertEqual(m["bytesDownloaded"], sum(len(d) for d in objects.values()))
        # boto3 gave each single PUT a CRC32, against which the consumer checked the bytes as they
        # came; the multipart object's checksum is of its parts, so its ETag was recomputed.
        self.assertEqual(m["verified"], {"checksum": len(objects) - 1, "md5": 0,
                                         "multipart-md5": 1})
        self.assertEqual(os.listdir(os.path.join(self.download_dir, ".ingestor-tmp")), [])

    def test_a_repeated_notification_downloads_once(self):
        c = self.start_consumer(self.store.endpoint, ["--secret", SECRET])
        data = os.urandom(5000)
        n = notice("data", "twice", data, self.put("twice", data))
        st, _ = self.post(c, n)
        self.assertEqual(st, 202)
        self.wait_done(c, "data", "twice")
        for _ in range(3):  # late duplicates, also after the download
            st, body = self.post(c, n)
            self.assertEqual(st, 200, body)
            self.assertTrue(body["duplicate"])
            self.assertEqual(body["state"], "done")
        s = self.object_state(c, "data", "twice")
        self.assertEqual(s["deliveries"], 4)
        self.assertEqual(s["attempts"], 1)
        m = self.metrics(c)
        self.assertEqual((m["downloads"], m["duplicates"], m["queued"]), (1, 3, 1))

    # Bad input (malformed, unsigned, oversized, unsafe): tests/test_consumer_hostile.py.

    def test_unknown_bucket_becomes_a_dead_letter_with_the_s3_error(self):
        c = self.start_consumer(self.store.endpoint, ["--max-attempts", "3"])
        st, _ = self.post(c, notice("no-such-bucket", "k", 3, "e" * 32), secret=None)
        self.assertEqual(st, 202)

        s = self.wait_dead_letter(c, "no-such-bucket", "k")
        self.assertEqual(s["attempts"], 3)
        self.assertIn("NoSuchBucket", s["lastError"])
        st, body = http_json(c.port, "GET", "/objects?state=failed")
        self.assertEqual(st, 200)
        self.assertEqual([o["key"] for o in body["objects"]], ["k"])
        self.assertEqual(self.metrics(c)["deadLetters"], 1)
        # A fresh notification revives it (e.g. after the bucket was created).
        self.client.create_bucket(Bucket="no-such-bucket")
        etag = self.client.put_object(Bucket="no-such-bucket", Key="k", Body=b"abc")["ETag"]
        st, body = self.post(c, notice("no-such-bucket", "k", b"abc", etag), secret=None)
        self.assertEqual(st, 202)
        self.wait_done(c, "no-such-bucket", "k")
        self.assertEqual(self.downloaded("no-such-bucket", "k"), b"abc")

    def test_bytes_damaged_on_the_way_are_never_delivered(self):
        # The store's headers (size, ETag, checksum) are intact; the body is not. What the
        # consumer computes over the bytes it received must catch it: the object's CRC32 when it
        # has one, else the MD5 its ETag is. Retried, then a dead letter, and no file.
        data = os.urandom(300_000)
        with_crc = self.put("damaged-crc.bin", data)
        without = self.s3(self.store, checksums=False).put_object(
            Bucket="data", Key="damaged-md5.bin", Body=data)["ETag"]
        crc = self.client.head_object(Bucket="data", Key="damaged-crc.bin",
                                      ChecksumMode="ENABLED")["ChecksumCRC32"]
        proxy = CorruptingProxy(self.store.port)
        self.addCleanup(proxy.close)
        c = self.start_consumer(f"http://127.0.0.1:{proxy.port}", ["--max-attempts", "2"])
        for key, etag in (("damaged-crc.bin", with_crc), ("damaged-md5.bin", without)):
            st, _ = self.post(c, notice("data", key, data, etag), secret=None)
            self.assertEqual(st, 202)

        s = self.wait_dead_letter(c, "data", "damaged-crc.bin")
        self.assertEqual(s["attempts"], 2)
        self.assertIn("CRC32 of the download is", s["lastError"])
        self.assertIn(f"the object's checksum is {crc}", s["lastError"])
        s = self.wait_dead_letter(c, "data", "damaged-md5.bin")
        self.assertEqual(s["attempts"], 2)
        self.assertIn("MD5 of the download is", s["lastError"])
        self.assertIn(without.strip('"'), s["lastError"])
        for key in ("damaged-crc.bin", "damaged-md5.bin"):
            self.assertFalse(os.path.exists(os.path.join(self.download_dir, "data", key)))
        leftovers = [f for _, _, fs in os.walk(self.download_dir) for f in fs
                     if f.endswith(".part")]
        self.assertEqual(leftovers, [])
        self.assertEqual(self.metrics(c)["downloads"], 0)

    def test_replaced_object_is_superseded_not_overwritten_with_old_bytes(self):
        c = self.start_consumer(self.store.endpoint)
        old = self.put("v", b"old")
        self.put("v", b"new!")
        st, _ = self.post(c, notice("data", "v", b"old", old), secret=None)
        self.assertEqual(st, 202)
        wait_for(lambda: self.object_state(c, "data", "v")["state"] == "superseded", 20,
                 what="superseded")
        self.assertFalse(os.path.exists(os.path.join(self.download_dir, "data", "v")))

    def test_sigkill_mid_download_completes_after_restart(self):
        data = os.urandom(8 * 1024 * 1024)
        etag = self.put("slow.bin", data)
        proxy = ThrottleProxy(self.store.port, rate=2 * 1024 * 1024)  # ~4 s for 8 MiB
        try:
            c = self.start_consumer(f"http://127.0.0.1:{proxy.port}")
            st, _ = self.post(c, notice("data", "slow.bin", data, etag), secret=None)
            self.assertEqual(st, 202)
            tmpdir = os.path.join(self.download_dir, ".ingestor-tmp")

            def partial():
                s = self.object_state(c, "data", "slow.bin")
                parts = os.listdir(tmpdir)
                return s["state"] == "downloading" and parts and \
                    os.path.getsize(os.path.join(tmpdir, parts[0])) > 0
            wait_for(partial, 20, what="a download in progress")
            c.kill()
            self.assertFalse(os.path.exists(os.path.join(self.download_dir, "data", "slow.bin")))
        finally:
            proxy.close()
        c2 = self.start_consumer(self.store.endpoint, name="consumer2")
        s = self.wait_done(c2, "data", "slow.bin")
        self.assertEqual(s["attempts"], 2)
        self.assertEqual(self.downloaded("data", "slow.bin"), data)
        self.assertEqual(os.listdir(os.path.join(self.download_dir, ".ingestor-tmp")), [])

    def test_exec_runs_per_file_and_endpoints(self):
        log = os.path.join(self.tmp, "exec.log")
        script = os.path.join(self.tmp, "hook.sh")
        with open(script, "w") as f:
            f.write(f'#!/bin/sh\nprintf "%s\\n" "$1" >> {log}\n')
        os.chmod(script, 0o755)
        c = self.start_consumer(self.store.endpoint, ["--exec", script])
        key = "with space; rm -rf x"
        st, _ = self.post(c, notice("data", key, b"z", self.put(key, b"z")), secret=None)
        self.assertEqual(st, 202)
        self.wait_done(c, "data", key)
        # The shell creates the file before printf writes to it: wait for the whole line.
        def hook_line_written():
            if not os.path.exists(log):
                return False
            with open(log) as f:
                return f.read().endswith("\n")
        wait_for(hook_line_written, 10, what="--exec output")
        with open(log) as f:
            self.assertEqual(f.read().splitlines(),
                             [os.path.join(self.download_dir, "data", key)])
        self.assertEqual(http_json(c.port, "GET", "/healthz")[0], 200)
        m = self.metrics(c)
        self.assertEqual((m["execRuns"], m["execFailures"]), (1, 0))
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=10)
        conn.request("GET", "/prometheus")
        text = conn.getresponse().read().decode()
        conn.close()
        self.assertIn("ingestor_consumer_downloads_total 1", text)
        self.assertIn('ingestor_consumer_verified_total{by="checksum"} 1', text)
        self.assertIn('ingestor_consumer_verified_total{by="md5"} 0', text)
        self.assertIn('ingestor_consumer_objects{state="done"} 1', text)
        st, body = http_json(c.port, "GET", "/objects/data/" + urllib.parse.quote("nope"))
        self.assertEqual(st, 404)

    def test_restart_resumes_the_queue(self):
        # The consumer accepts while S3 is unreachable, is stopped, and finishes after a restart.
        from relay_harness import free_port
        dead = f"http://127.0.0.1:{free_port()}"
        c = self.start_consumer(dead, ["--max-attempts", "50"])
        items = {f"q/{i}": os.urandom(1000 + i) for i in range(5)}
        for k, d in items.items():
            st, _ = self.post(c, notice("data", k, d, self.put(k, d)), secret=None)
            self.assertEqual(st, 202)
        wait_for(lambda: self.metrics(c)["attemptFailures"] >= 1, 10, what="a failed attempt")
        c.stop()
        c2 = self.start_consumer(self.store.endpoint, name="consumer2")
        for k, d in items.items():
            self.wait_done(c2, "data", k)
            self.assertEqual(self.downloaded("data", k), d)


if __name__ == "__main__":
    unittest.main()
