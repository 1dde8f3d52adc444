"""The store's own metrics (/_ingestor/metrics, /_ingestor/prometheus: outbox, disk against its
floor, requests; unauthenticated, counts only) and --create-bucket, which compose.yaml uses."""
import json
import unittest

from harness import http, wait_for
from store_harness import StoreTestCase


def prometheus_samples(text):
    """{name{labels}: float} of a Prometheus text exposition; fails on a malformed line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, value = line.rsplit(" ", 1)
        out[name] = float(value)
    return out


class StoreMetricsTest(StoreTestCase):
    # The notifications go to a port nobody listens on: they wait in the outbox.
    store_args = ("--create-bucket", "made-at-start", "--create-bucket", "second",
                  "--notify-webhook", "http://127.0.0.1:9/", "--min-free-space", "1048576")

    def test_metrics_show_the_outbox_and_the_disk_floor_and_buckets_were_created(self):
        s3 = self.client()
        names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
        self.assertEqual(sorted(names), ["made-at-start", "second"])
        s3.put_object(Bucket="made-at-start", Key="k1", Body=b"x")
        st, hdrs, body = http(self.store.port, "GET", "/_ingestor/metrics")  # no signature
        self.assertEqual(st, 200)
        m = json.loads(body)["store"]
        self.assertEqual(m["outboxRows"], 1)  # the webhook is down: the notification waits
        self.assertEqual(m["diskFreeFloorBytes"], 1048576)
        self.assertGreater(m["diskFreeBytes"], 0)
        self.assertGreaterEqual(m["requests"], 2)
        st, hdrs, body = http(self.store.port, "GET", "/_ingestor/prometheus")
        self.assertEqual(st, 200)
        self.assertTrue(hdrs["content-type"].startswith("text/plain"))
        p = prometheus_samples(body.decode())
        self.assertEqual(p["ingestor_store_outbox_rows"], 1)
        self.assertEqual(p["ingestor_store_disk_free_floor_bytes"], 1048576)
        wait_for(lambda: prometheus_samples(http(self.store.port, "GET", "/_ingestor/prometheus")[2]
                                            .decode())["ingestor_store_notification_failures_total"] >= 1,
                 20, what="a failed notification attempt counted")
        # Other paths under /_ingestor are S3 requests like any other: an unsigned one is anonymous,
        # and anonymous callers learn only that no such bucket exists (S3's 404 NoSuchBucket).
        st, _, body = http(self.store.port, "GET", "/_ingestor/other")
        self.assertIn(st, (400, 403, 404))
        self.assertNotIn(b"outboxRows", body)

    def test_restart_with_the_same_bucket_is_fine(self):
        self.store.stop()
        again = self.start_store(self.store_args, data_dir=self.store.data_dir)
        self.assertEqual(http(again.port, "GET", "/_ingestor/metrics")[0], 200)


if __name__ == "__main__":
    unittest.main()
