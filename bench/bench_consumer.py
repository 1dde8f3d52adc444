#!/usr/bin/env python3
"""Consumer benchmark (issue 5): download throughput of `ingestor consumer` for 8 MiB objects as a
ratio to the store's plain GET throughput measured in the same run, and the store -> relay ->
consumer lag (PutObject sent -> file downloaded) p50/p99.

  python3 bench/bench_consumer.py [--objects 32] [--workers 4] [--lag-objects 100]

Runs `ingestor store`, `ingestor relay` and `ingestor consumer` on loopback with temp dirs
(build/ingestor or $INGESTOR_BIN). The GET baseline is a raw HTTP GET loop (http.client, presigned
URLs, `workers` threads, body read and discarded), so it measures the store, not boto3.
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from harness import wait_for  # noqa: E402
from relay_harness import PipelineTestCase, free_port, http_json  # noqa: E402


class Bench(PipelineTestCase):
    def runTest(self):
        pass


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=32)
    ap.add_argument("--size-mib", type=int, default=8)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--lag-objects", type=int, default=100)
    ap.add_argument("--lag-rate", type=float, default=20.0, help="objects per second")
    a = ap.parse_args()

    b = Bench()
    b.setUp()
    try:
        relay_port = free_port()
        store = b.start_store(["--notify-webhook", f"http://127.0.0.1:{relay_port}/",
                               "--notify-retry-max-ms", "500"])
        s3 = b.s3(store)
        s3.create_bucket(Bucket="bench")
        s3.create_bucket(Bucket="lag")
        consumer = b.start_consumer(store.endpoint, ["--workers", str(a.workers)])
        b.start_relay(f"http://127.0.0.1:{consumer.port}/objects", port=relay_port)

        # Throughput: objects are put first; a second consumer, not wired to the relay, is then
        # fed the notices directly, so only its downloads are timed.
        size = a.size_mib * 1024 * 1024
        data = os.urandom(size)
        keys = [f"obj-{i:04d}" for i in range(a.objects)]
        etags = {k: s3.put_object(Bucket="bench", Key=k, Body=data)["ETag"].strip('"')
                 for k in keys}
        # The pipeline's consumer downloads them too (store notifications): let it finish so
        # nothing else runs while the timed phases do.
        for k in keys:
            b.wait_done(consumer, "bench", k, timeout=300)

        # Baseline: plain GETs from the store, same concurrency.
        urls = [s3.generate_presigned_url("get_object", Params={"Bucket": "bench", "Key": k},
                                          ExpiresIn=3600) for k in keys]

        def get(url):
            u = urllib.parse.urlsplit(url)
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
            c.request("GET", u.path + "?" + u.query)
            r = c.getresponse()
            n = 0
            while True:
                chunk = r.read(1 << 20)
                if not chunk:
                    break
                n += len(chunk)
            c.close()
            assert r.status == 200 and n == size, (r.status, n)
            return n
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(a.workers) as ex:
            total = sum(ex.map(get, urls))
        get_s = time.monotonic() - t0
        get_mbs = total / get_s / 1e6

        main_dir = b.download_dir
        b.download_dir = os.path.join(b.tmp, "bench-downloads")
        direct = b.start_consumer(store.endpoint, ["--workers", str(a.workers)],
                                  name="consumer-direct")
        b.download_dir = main_dir
        for k in keys:
            st, body = http_json(direct.port, "POST", "/objects",
                                 {"bucket": "bench", "key": k, "size": size, "etag": etags[k]})
            assert st == 202, (st, body)
        rows = [b.wait_done(direct, "bench", k, timeout=300) for k in keys]
        first = min(r["receivedMs"] for r in rows)
        last = max(r["doneMs"] for r in rows)
        dl_s = max(last - first, 1) / 1000.0
        dl_mbs = size * len(keys) / dl_s / 1e6

        # Lag: PutObject sent -> file downloaded, through store notification and relay.
        sent = {}
        interval = 1.0 / a.lag_rate
        for i in range(a.lag_objects):
            k = f"lag-{i:05d}"
            sent[k] = time.time() * 1000
            s3.put_object(Bucket="lag", Key=k, Body=os.urandom(1024))
            time.sleep(max(0.0, sent[k] / 1000 + interval - time.time()))
        lags = []
        for k, t in sent.items():
            s = b.wait_done(consumer, "lag", k, timeout=120)
            lags.append(s["doneMs"] - t)

        st, m = http_json(consumer.port, "GET", "/metrics")
        result = {
            "objects": a.objects, "object_mib": a.size_mib, "workers": a.workers,
            "store_get_mb_s": round(get_mbs, 1),
            "consumer_download_mb_s": round(dl_mbs, 1),
            "download_to_get_ratio": round(dl_mbs / get_mbs, 3),
            "lag_objects": a.lag_objects, "lag_ms_p50": pct(lags, 0.50),
            "lag_ms_p99": pct(lags, 0.99), "lag_ms_max": max(lags),
            "consumer_metrics": m["consumer"],
        }
        print(json.dumps(result, indent=2))
    finally:
        b.tearDown()


if __name__ == "__main__":
    main()
