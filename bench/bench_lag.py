#!/usr/bin/env python3
"""End-to-end lag benchmark (issue 5): event sent -> file downloaded, through the whole pipeline
with a 1-second roll interval. Target: p99 <= roll interval + 1 s.

  python3 bench/bench_lag.py [--build DIR] [--seconds 20] [--rate 200] [--repeat 3]
                             [--channel memory|file] [--roll 1]

Each run starts `ingestor up` (netcat source -> memory or file channel -> S3 sink with
hdfs.rollInterval = --roll -> embedded store -> webhook notification -> relay -> consumer, all
ports 0, a fresh data dir) from conf/pipeline.properties. One netcat connection sends
"lag <seq> <epoch seconds>" lines at a steady --rate for --seconds (acks read on a thread). A
watcher polls the download directory every 2 ms (files appear there by an atomic rename); a
line's lag is the time its file was first seen minus the time the line was sent. p50/p99 are
over lines; runs are repeated with a fresh pipeline and medians reported.

Each object's consumer record also gives a breakdown of where the time goes, per file, from its
first (oldest) line: sent -> object created in the store (roll wait + seal + upload), created ->
consumer received (outbox + relay), received -> done (download, fsync, verify), done -> seen
(this script's poll).
"""
import argparse
import calendar
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))

BUCKET = "ingestor"  # store.bucket in conf/pipeline.properties


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))]


def pipeline_config(tmp, roll, channel):
    """conf/pipeline.properties on loopback, every port 0, the given roll and channel."""
    with open(os.path.join(REPO, "conf", "pipeline.properties")) as f:
        text = f.read()
    text = re.sub(r"(\.listen = 127\.0\.0\.1:)\d+", r"\g<1>0", text)
    text = re.sub(r"(Src\.port = )\d+", r"\g<1>0", text)
    text = text.replace("bind = 0.0.0.0", "bind = 127.0.0.1")
    text = re.sub(r"monitoring\.port = \d+", "monitoring.port = 0", text)
    text = re.sub(r"hdfs\.rollInterval = \d+", f"hdfs.rollInterval = {roll}", text)
    if channel == "file":
        text = text.replace("agent.channels.memCh.type = memory",
                            "agent.channels.memCh.type = file\n"
                            "agent.channels.memCh.checkpointDir = ${pipeline.dataDir}/channel/cp\n"
                            "agent.channels.memCh.dataDirs = ${pipeline.dataDir}/channel/data")
    path = os.path.join(tmp, "pipeline.properties")
    with open(path, "w") as f:
        f.write(text)
    return path


class Watcher(threading.Thread):
    """Polls `root` every `interval` s; records when each regular file is first seen."""

    def __init__(self, root, interval=0.002):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.seen = {}  # path -> epoch seconds
        self.stop_flag = threading.Event()

    def run(self):
        while not self.stop_flag.is_set():
            for dirpath, _, files in os.walk(self.root):
                for f in files:
                    path = os.path.join(dirpath, f)
                    if path not in self.seen:
                        self.seen[path] = time.time()  # after the listing: never early
            self.stop_flag.wait(self.interval)


class AckReader(threading.Thread):
    """Counts the netcat source's "OK" acknowledgements."""

    def __init__(self, sock):
        super().__init__(daemon=True)
        self.sock, self.acks = sock, 0

    def run(self):
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return
                self.acks += data.count(b"\n")
        except OSError:
            return


def event_time(s):
    """"2026-11-26T09:04:52.123Z" -> epoch seconds."""
    base, _, frac = s.rstrip("Z").partition(".")
    t = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return t + (float("0." + frac) if frac else 0.0)


def object_record(port, key):
    from relay_harness import http_json
    st, body = http_json(port, "GET", "/objects/" + urllib.parse.quote(f"{BUCKET}/{key}", safe="/"))
    return body if st == 200 else None


def run_once(a, n):
    from harness import BIN, wait_for
    tmp = tempfile.mkdtemp(prefix="ingestor-bench-lag-")
    data = os.path.join(tmp, "data")
    status = os.path.join(tmp, "status.json")
    log = open(os.path.join(tmp, "up.log"), "wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen([BIN, "up", "-f", pipeline_config(tmp, a.roll, a.channel),
                             "--data-dir", data, "--status-file", status],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        def ready():
            if proc.poll() is not None:
                raise AssertionError("ingestor up exited; see " + log.name)
            return os.path.exists(status) and json.load(open(status))
        st = wait_for(ready, 30, what="ingestor up")
        root = os.path.join(data, "downloads", BUCKET)
        watcher = Watcher(root)
        watcher.start()
        sock = socket.create_connection(("127.0.0.1", st["netcat_port"]), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        acks = AckReader(sock)
        acks.start()

        total = int(a.seconds * a.rate)
        sent = []
        t0 = time.time()
        for i in range(total):
            due = t0 + i / a.rate
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)  # pacing of the load, not a wait for a condition
            now = time.time()
            sock.sendall(b"lag %d %.6f\n" % (i, now))
            sent.append(now)
        send_end = time.time()

        def all_arrived():
            got = 0
            for path in list(watcher.seen):
                with open(path, "rb") as f:
                    got += f.read().count(b"\n")
            return got >= total
        wait_for(all_arrived, 60, interval=0.1, what=f"{total} lines under {root}")
        watcher.stop_flag.set()
        watcher.join()

        lags, stages, files = [], [], 0
        for path, seen in watcher.seen.items():
            with open(path, "rb") as f:
                lines = f.read().splitlines()
            files += 1
            first_sent = None
            for line in lines:
                _, seq, _ = line.split(b" ")
                t = sent[int(seq)]
                lags.append(seen - t)
                first_sent = t if first_sent is None else min(first_sent, t)
            rec = object_record(st["consumer_port"], os.path.relpath(path, root))
            if rec and first_sent is not None:
                created = event_time(rec["eventTime"])
                stages.append({"sent_to_created": created - first_sent,
                               "created_to_received": rec["receivedMs"] / 1000 - created,
                               "received_to_done": (rec["doneMs"] - rec["receivedMs"]) / 1000,
                               "done_to_seen": seen - rec["doneMs"] / 1000})
        assert len(lags) == total, (len(lags), total)
        ms = [x * 1000 for x in lags]
        result = {"run": n, "lines": total, "files": files, "acks": acks.acks,
                  "send_rate_achieved": round(total / (send_end - t0), 1),
                  "lag_ms_p50": round(pct(ms, 0.50)), "lag_ms_p99": round(pct(ms, 0.99)),
                  "lag_ms_max": round(max(ms))}
        for k in ("sent_to_created", "created_to_received", "received_to_done", "done_to_seen"):
            v = [s[k] * 1000 for s in stages]
            if v:
                result[f"{k}_ms_p50"] = round(pct(v, 0.50))
                result[f"{k}_ms_max"] = round(max(v))
        sock.close()
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
        return result
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        if a.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", help="build directory holding `ingestor`")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rate", type=float, default=200.0, help="lines per second")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--roll", type=int, default=1, help="hdfs.rollInterval, seconds")
    ap.add_argument("--channel", choices=("memory", "file"), default="memory")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs (logs)")
    ap.add_argument("--json", help="also write the result here")
    a = ap.parse_args()
    if a.build:
        os.environ["INGESTOR_BIN"] = os.path.join(os.path.abspath(a.build), "ingestor")

    runs = []
    for n in range(a.repeat):
        r = run_once(a, n)
        print(json.dumps(r), file=sys.stderr)
        runs.append(r)
    target_ms = (a.roll + 1) * 1000
    p99 = statistics.median(r["lag_ms_p99"] for r in runs)
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "nproc": os.cpu_count(),
              "channel": a.channel, "roll_s": a.roll, "rate": a.rate, "seconds": a.seconds,
              "repeat": a.repeat, "runs": runs,
              "median_lag_ms_p50": statistics.median(r["lag_ms_p50"] for r in runs),
              "median_lag_ms_p99": p99, "target_ms": target_ms, "target_met": p99 <= target_ms}
    print(json.dumps(result, indent=2))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
