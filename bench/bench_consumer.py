#!/usr/bin/env python3
"""Consumer benchmark (issue 5): download throughput of `ingestor consumer` for 8 MiB objects as a
ratio to the store's GET throughput measured in the same run (target >= 0.70).

  python3 bench/bench_consumer.py [--build DIR] [--objects 64] [--size-mib 8] [--workers 4]
                                  [--repeat 3] [--lag-objects 100] [--memory-dir /dev/shm]
                                  [--md5-peer]

Runs `ingestor store` and `ingestor consumer` on loopback with temp dirs (DIR/ingestor, else
$INGESTOR_BIN, else build/ingestor). Per repeat, in alternating order:
- GET peer: `workers` curl processes, each fetching its share of the objects one after the
  other on one keep-alive connection (presigned URLs, body to /dev/null). Same object size and
  concurrency as the consumer's workers; curl is a C client with a 100 KiB read buffer.
- consumer: a fresh consumer (empty ledger and download dir) is sent one POST /objects per
  object from `workers` threads; its download time is its first receivedMs to its last doneMs
  (each file: GET with If-Match, written to a temp file while checked against the object's CRC32
  (boto3 uploads them with one, as the AWS CLI does), fsynced, renamed, dir fsynced, ledger row
  marked done).
- with --md5-peer: the same objects also uploaded without a checksum, and a fresh consumer timed
  on those, which it verifies by the MD5 its ETag is (hashed as the body streams): what the
  object's checksum saves.
- context only (not the issue's peer): the same curl GETs written to files and fsynced one by
  one, i.e. the disk-bound limit of any durable downloader on this machine; and the disk's
  sequential fsynced bandwidth (1 MiB writes, fdatasync every 8 MiB).
- with --memory-dir DIR (a tmpfs such as /dev/shm): a second fresh consumer whose downloads land
  in DIR (its ledger stays in the temp dir), where fsync costs nothing: the consumer's own
  ceiling without the disk, as a ratio to the same GET.
Every consumer figure comes with the consumer process's CPU time (user + system, its start
included) per GB downloaded.

Then, once: the store -> relay -> consumer notification lag (PutObject sent -> file downloaded)
for small objects. The issue's end-to-end lag (event sent -> file downloaded, with a 1 s roll)
is bench/bench_lag.py.
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import run_bench  # noqa: E402  (bench/ is on sys.path: this script's own directory)


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))]


def shares(items, n):
    """items dealt round-robin into n lists (one per worker)."""
    return [items[i::n] for i in range(n)]


def curl_get(urls, size, out_dir=None):
    """One curl process fetching `urls` in order on one connection; bodies to /dev/null or, with
    out_dir, to files there which are then fsynced. Returns the bytes received."""
    cmd = ["curl", "-sS", "--fail", "-w", "%{size_download}\n"]
    paths = []
    for i, u in enumerate(urls):
        path = os.path.join(out_dir, f"{os.getpid()}-{id(urls)}-{i}") if out_dir else os.devnull
        paths.append(path)
        cmd += ["-o", path, u]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split()
    got = [int(x) for x in out]
    assert got == [size] * len(urls), got
    if out_dir:
        for path in paths:
            fd = os.open(path, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
    return sum(got)


def get_peer(urls, size, workers, out_dir=None):
    """MB/s of `workers` concurrent curl processes over all urls."""
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        total = sum(ex.map(lambda part: curl_get(part, size, out_dir), shares(urls, workers)))
    return total / (time.monotonic() - t0) / 1e6


def disk_mb_s(dirpath, mib=256):
    """The disk's fsynced sequential bandwidth (run_bench.disk_bandwidth), in MB/s: the ceiling of
    any downloader that fsyncs each file."""
    return run_bench.disk_bandwidth(dirpath, mib) * (1 << 20) / 1e6


def cpu_seconds(pid):
    """User + system CPU time of a live process so far, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def consumer_run(b, store, keys, etags, size, workers, run, download_root=None,
                 verified_by=None):
    """(MB/s, CPU seconds per GB) of a fresh consumer downloading every key (fed POSTs
    directly); the CPU is the consumer process's own, including its start. With download_root
    (e.g. a tmpfs), the files land there while the ledger stays in the bench's temp dir. Fails
    unless every download was verified by `verified_by` ("checksum" or "md5")."""
    from relay_harness import http_json
    # start_consumer() uses b.download_dir: point it at a fresh dir for this run only.
    saved = b.download_dir
    dl_dir = os.path.join(download_root or b.tmp, f"dl-{os.getpid()}-{run}")
    b.download_dir = dl_dir
    try:
        c = b.start_consumer(store.endpoint, ["--workers", str(workers), "--data-dir",
                                              os.path.join(b.tmp, f"ledger-{run}")],
                             name=f"consumer-{run}")
    finally:
        b.download_dir = saved

    def post(k):
        st, body = http_json(c.port, "POST", "/objects",
                             {"bucket": "bench", "key": k, "size": size, "etag": etags[k]})
        assert st == 202, (st, body)
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        list(ex.map(post, keys))
    # One metrics poll every 50 ms, then the rows once: polling every object's row every 20 ms
    # took 14% of the machine's samples from the consumer it measures.
    from harness import wait_for

    def all_done():
        states = b.metrics(c)["states"]
        assert not states.get("failed"), states
        return states.get("done", 0) == len(keys)
    wait_for(all_done, 300, interval=0.05, what="every download")
    rows = [b.object_state(c, "bench", k) for k in keys]
    first = min(r["receivedMs"] for r in rows)
    last = max(r["doneMs"] for r in rows)
    cpu = cpu_seconds(c.proc.pid)
    if verified_by:
        by = b.metrics(c)["verified"]
        assert by.get(verified_by) == len(keys), (verified_by, by)
    c.stop()
    b.procs.remove(c)
    shutil.rmtree(dl_dir, ignore_errors=True)
    gb = size * len(keys) / 1e9
    return gb * 1e3 / (max(last - first, 1) / 1000.0), cpu / gb


def notification_lag(b, workers, count, rate):
    """PutObject sent -> file downloaded through store webhook -> relay -> consumer (ms), on a
    store of its own so that no bench object is in its notification outbox."""
    from relay_harness import free_port
    from store_harness import Store
    relay_port = free_port()
    store = Store(b.tmp, ["--notify-webhook", f"http://127.0.0.1:{relay_port}/",
                          "--notify-token-file", b.webhook_token_file],
                  data_dir=os.path.join(b.tmp, "lag-store"))
    b.stores.append(store.start())
    s3 = b.s3(store)
    s3.create_bucket(Bucket="lag")
    consumer = b.start_consumer(store.endpoint, ["--workers", str(workers)], name="lag-consumer")
    b.start_relay(f"http://127.0.0.1:{consumer.port}/objects", port=relay_port)
    sent = {}
    interval = 1.0 / rate
    for i in range(count):
        k = f"lag-{i:05d}"
        sent[k] = time.time() * 1000
        s3.put_object(Bucket="lag", Key=k, Body=os.urandom(1024))
        time.sleep(max(0.0, sent[k] / 1000 + interval - time.time()))  # pacing, not a wait
    return [b.wait_done(consumer, "lag", k, timeout=120)["doneMs"] - t
            for k, t in sent.items()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", help="build directory holding `ingestor`")
    ap.add_argument("--objects", type=int, default=64)
    ap.add_argument("--size-mib", type=int, default=8)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--lag-objects", type=int, default=100)
    ap.add_argument("--lag-rate", type=float, default=20.0, help="objects per second")
    ap.add_argument("--json", help="also write the result here")
    ap.add_argument("--memory-dir", help="also time the consumer writing its files here (a "
                    "tmpfs such as /dev/shm, where fsync costs nothing): its own ceiling, "
                    "without the disk")
    ap.add_argument("--md5-peer", action="store_true", help="also time the consumer on the same "
                    "objects uploaded without a checksum (verified by their ETag's MD5)")
    a = ap.parse_args()
    if a.build:
        os.environ["INGESTOR_BIN"] = os.path.join(os.path.abspath(a.build), "ingestor")
    from relay_harness import PipelineTestCase

    class Bench(PipelineTestCase):
        def runTest(self):
            pass

    b = Bench()
    b.setUp()
    try:
        store = b.start_store()
        s3 = b.s3(store)
        s3.create_bucket(Bucket="bench")
        size = a.size_mib * 1024 * 1024
        data = os.urandom(size)
        keys = [f"obj-{i:04d}" for i in range(a.objects)]
        etags = {k: s3.put_object(Bucket="bench", Key=k, Body=data)["ETag"].strip('"')
                 for k in keys}
        md5_keys = []
        if a.md5_peer:
            plain = b.s3(store, checksums=False)
            md5_keys = [f"md5-{i:04d}" for i in range(a.objects)]
            etags.update({k: plain.put_object(Bucket="bench", Key=k, Body=data)["ETag"].strip('"')
                          for k in md5_keys})
        urls = [s3.generate_presigned_url("get_object", Params={"Bucket": "bench", "Key": k},
                                          ExpiresIn=3600) for k in keys]
        curl_dir = os.path.join(b.tmp, "curl-out")
        runs = []
        for r in range(a.repeat):
            def peer():
                return get_peer(urls, size, a.workers)

            def consumer():
                return consumer_run(b, store, keys, etags, size, a.workers, r, None, "checksum")
            # Alternate the order so that drift (other jobs on the machine) hits both alike.
            first, second = (peer, consumer) if r % 2 == 0 else (consumer, peer)
            x, y = first(), second()
            get_mbs, (dl_mbs, dl_cpu) = (x, y) if r % 2 == 0 else (y, x)
            mem_mbs, mem_cpu = (consumer_run(b, store, keys, etags, size, a.workers, f"m{r}",
                                             a.memory_dir, "checksum")
                                if a.memory_dir else (None, None))
            md5_runs = {}
            if a.md5_peer:
                md5_runs["md5_consumer"] = consumer_run(b, store, md5_keys, etags, size,
                                                        a.workers, f"5{r}", verified_by="md5")
                if a.memory_dir:
                    md5_runs["md5_memory_dir"] = consumer_run(b, store, md5_keys, etags, size,
                                                              a.workers, f"5m{r}", a.memory_dir,
                                                              "md5")
            os.makedirs(curl_dir, exist_ok=True)
            durable_mbs = get_peer(urls, size, a.workers, out_dir=curl_dir)
            shutil.rmtree(curl_dir)
            disk = disk_mb_s(b.tmp)
            run = {"disk_fsynced_mb_s": round(disk, 1), "get_mb_s": round(get_mbs, 1), "consumer_mb_s": round(dl_mbs, 1),
                   "consumer_cpu_s_per_gb": round(dl_cpu, 2),
                   "ratio": round(dl_mbs / get_mbs, 3),
                   "curl_to_fsynced_files_mb_s": round(durable_mbs, 1)}
            if mem_mbs is not None:
                run.update({"consumer_to_memory_dir_mb_s": round(mem_mbs, 1),
                            "memory_dir_cpu_s_per_gb": round(mem_cpu, 2),
                            "memory_dir_ratio": round(mem_mbs / get_mbs, 3)})
            for name, (mbs, cpu) in md5_runs.items():
                run.update({f"{name}_mb_s": round(mbs, 1), f"{name}_cpu_s_per_gb": round(cpu, 2)})
            print(json.dumps(run), file=sys.stderr)
            runs.append(run)

        store.stop()
        lags = notification_lag(b, a.workers, a.lag_objects, a.lag_rate) if a.lag_objects else []

        med = {k: statistics.median(x[k] for x in runs) for k in runs[0]}
        result = {
            "date": time.strftime("%Y-%m-%d %H:%M"), "nproc": os.cpu_count(),
            "objects": a.objects, "object_mib": a.size_mib, "workers": a.workers,
            "repeat": a.repeat, "runs": runs,
            "median_store_get_mb_s": med["get_mb_s"],
            "median_consumer_download_mb_s": med["consumer_mb_s"],
            "median_consumer_cpu_s_per_gb": med["consumer_cpu_s_per_gb"],
            "median_download_to_get_ratio": med["ratio"],
            "median_curl_to_fsynced_files_mb_s": med["curl_to_fsynced_files_mb_s"],
            "median_disk_fsynced_mb_s": med["disk_fsynced_mb_s"],
            "median_consumer_to_durable_peer_ratio": round(
                med["consumer_mb_s"] / med["curl_to_fsynced_files_mb_s"], 3),
            "target_ratio_0_70_met": med["ratio"] >= 0.70,
        }
        if a.memory_dir:
            result.update({"memory_dir": a.memory_dir,
                           "median_consumer_to_memory_dir_mb_s": med["consumer_to_memory_dir_mb_s"],
                           "median_memory_dir_ratio": med["memory_dir_ratio"],
                           "median_memory_dir_cpu_s_per_gb": med["memory_dir_cpu_s_per_gb"]})
        if a.md5_peer:
            for name in ("md5_consumer", "md5_memory_dir"):
                if f"{name}_mb_s" in med:
                    result.update({f"median_{name}_mb_s": med[f"{name}_mb_s"],
                                   f"median_{name}_cpu_s_per_gb": med[f"{name}_cpu_s_per_gb"]})
        if lags:
            result.update({"notify_lag_objects": len(lags), "notify_lag_ms_p50": pct(lags, 0.50),
                           "notify_lag_ms_p99": pct(lags, 0.99), "notify_lag_ms_max": max(lags)})
        print(json.dumps(result, indent=2))
        if a.json:
            with open(a.json, "w") as f:
                json.dump(result, f, indent=2)
    finally:
        b.tearDown()


if __name__ == "__main__":
    main()
