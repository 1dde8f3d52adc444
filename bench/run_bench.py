#!/usr/bin/env python3
"""`make bench`: end-to-end agent benchmarks beside the loopback TCP limit, measured in one run.

For each scenario it starts the real `ingestor agent`, sends N lines of S bytes over C
connections with ingestor-loadgen (no per-event ack), and times until the sink has drained all N
events (polled from /metrics). The loopback limit is the same generator into a discard listener.
Each figure is the median of --repeat runs; the machine is noisy.

Prints a Markdown table and writes bench/results/agent.json.
"""
import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def rss_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return json.load(r)


def agent_config(sink, outdir, capacity, channel="memory", acks=False, extra=""):
    sinks = {
        "null": "a1.sinks.k1.type = null\na1.sinks.k1.batchSize = 1000\n",
        "file_roll": f"a1.sinks.k1.type = file_roll\na1.sinks.k1.sink.directory = {outdir}\n"
                     "a1.sinks.k1.sink.rollInterval = 0\na1.sinks.k1.sink.batchSize = 1000\n",
        "s3": "a1.sinks.k1.type = hdfs\na1.sinks.k1.hdfs.path = s3a://bench/events\n"
              "a1.sinks.k1.hdfs.fileType = DataStream\na1.sinks.k1.hdfs.rollInterval = 0\n"
              "a1.sinks.k1.hdfs.rollCount = 0\na1.sinks.k1.hdfs.rollSize = 67108864\n"
              "a1.sinks.k1.hdfs.batchSize = 1000\na1.sinks.k1.s3.pathStyleAccess = true\n"
              f"a1.sinks.k1.s3.stagingDir = {outdir}/staging\n"
              "a1.sinks.k1.s3.partSize = 16777216\n",
    }[sink]
    if channel == "memory":
        ch = (f"a1.channels.c1.type = memory\na1.channels.c1.capacity = {capacity}\n"
              "a1.channels.c1.transactionCapacity = 1000\na1.channels.c1.byteCapacity = 0\n")
    else:
        ch = (f"a1.channels.c1.type = file\na1.channels.c1.capacity = {capacity}\n"
              "a1.channels.c1.transactionCapacity = 10000\n"
              f"a1.channels.c1.checkpointDir = {outdir}/cp\na1.channels.c1.dataDirs = {outdir}/data\n"
              "a1.channels.c1.minimumRequiredSpace = 1048576\n")
    return f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.ack-every-event = {"true" if acks else "false"}
a1.sources.r1.max-line-length = 2048
a1.sources.r1.channels = c1
{ch}a1.sinks.k1.channel = c1
{sinks}{extra}"""


def run_agent_scenario(build, sink, lines, size, conns, capacity, channel="memory", acks=False,
                       extra="", env=None):
    tmp = tempfile.mkdtemp(prefix="ingestor-bench-")
    try:
        conf = os.path.join(tmp, "agent.conf")
        with open(conf, "w") as f:
            f.write(agent_config(sink, os.path.join(tmp, "out"), capacity, channel, acks, extra))
        status = os.path.join(tmp, "status.json")
        log = open(os.path.join(tmp, "agent.log"), "wb")
        p = subprocess.Popen([os.path.join(build, "ingestor"), "agent", "-n", "a1", "-f", conf,
                              "--metrics-port", "0", "--status-file", status],
                             stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 20
        while not os.path.exists(status):
            if p.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("agent did not start: " + open(log.name).read())
            time.sleep(0.01)
        st = json.load(open(status))
        port, mport = st["sources"]["r1"]["port"], st["metrics_port"]
        time.sleep(0.3)  # settle before reading idle RSS
        idle = rss_kb(p.pid, "VmRSS")
        t0 = time.monotonic()
        subprocess.run([os.path.join(build, "ingestor-loadgen"), "--port", str(port),
                        "--lines", str(lines), "--size", str(size), "--connections", str(conns)]
                       + (["--acks", "--window", "2000"] if acks else []),
                       check=True, capture_output=True)
        deadline = time.monotonic() + 300
        while True:
            m = metrics(mport)
            if int(m["SINK.k1"]["EventDrainSuccessCount"]) >= lines:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("sink did not drain: " + json.dumps(m))
            time.sleep(0.005)
        peak = rss_kb(p.pid, "VmHWM")
        if sink == "s3":
            # End to end means uploaded: stopping seals the open object and uploads what is left.
            p.send_signal(signal.SIGTERM)
            p.wait(120)
            secs = time.monotonic() - t0
        else:
            secs = time.monotonic() - t0
            p.send_signal(signal.SIGTERM)
            p.wait(30)
        log.close()
        return {"events_per_s": lines / secs, "mib_per_s": lines * size / secs / 2**20,
                "seconds": secs, "idle_rss_mib": idle / 1024, "peak_rss_mib": peak / 1024}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def loopback(build, lines, size, conns):
    out = subprocess.run([os.path.join(build, "ingestor-loadgen"), "--loopback", "--lines",
                          str(lines), "--size", str(size), "--connections", str(conns)],
                         check=True, capture_output=True, text=True).stdout
    r = json.loads(out)
    return {"events_per_s": r["lines_per_s"], "mib_per_s": r["mib_per_s"]}


def median_of(fn, repeat):
    runs = [fn() for _ in range(repeat)]
    keys = runs[0].keys()
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def disk_bandwidth(dirpath, mib=512):
    """Sequential writes of 1 MiB with an fdatasync every 8 MiB: the disk's fsynced bandwidth."""
    path = os.path.join(dirpath, "ddtest")
    buf = os.urandom(1 << 20)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    t0 = time.monotonic()
    for i in range(mib):
        os.write(fd, buf)
        if i % 8 == 7:
            os.fdatasync(fd)
    os.fdatasync(fd)
    secs = time.monotonic() - t0
    os.close(fd)
    os.unlink(path)
    return mib / secs


def fsync_rate(dirpath, seconds=2.0):
    path = os.path.join(dirpath, "fsynctest")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    n, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < seconds:
        os.write(fd, b"x" * 4096)
        os.fdatasync(fd)
        n += 1
    os.close(fd)
    os.unlink(path)
    return n / (time.monotonic() - t0)


def store_put_throughput(build, tmp, mib=64, count=4):
    """The store's own PUT throughput for 64 MiB objects (boto3, sequential), in MiB/s."""
    import boto3
    from botocore.config import Config
    st = subprocess.Popen([os.path.join(build, "ingestor"), "store", "--listen", "127.0.0.1:0",
                           "--data-dir", os.path.join(tmp, "store-put"), "--access-key", "AK",
                           "--secret-key", "SK", "--status-file", os.path.join(tmp, "sp.json")],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(os.path.join(tmp, "sp.json")):
            if time.monotonic() > deadline:
                raise RuntimeError("store did not start")
            time.sleep(0.01)
        port = json.load(open(os.path.join(tmp, "sp.json")))["port"]
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id="AK",
                          aws_secret_access_key="SK", region_name="us-east-1",
                          config=Config(s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket="bench-put")
        body = os.urandom(mib << 20)
        t0 = time.monotonic()
        for i in range(count):
            s3.put_object(Bucket="bench-put", Key=f"k{i}", Body=body)
        return mib * count / (time.monotonic() - t0)
    finally:
        st.terminate()
        st.wait(30)


def with_store(build, tmp, fn):
    """Runs fn(endpoint) with an `ingestor store` holding bucket `bench`."""
    import boto3
    status = os.path.join(tmp, "store.json")
    if os.path.exists(status):  # a previous run's file would give a stale port
        os.unlink(status)
    st = subprocess.Popen([os.path.join(build, "ingestor"), "store", "--listen", "127.0.0.1:0",
                           "--data-dir", os.path.join(tmp, "store"), "--access-key", "AK",
                           "--secret-key", "SK", "--status-file", status],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(status):
            if time.monotonic() > deadline:
                raise RuntimeError("store did not start")
            time.sleep(0.01)
        endpoint = f"http://127.0.0.1:{json.load(open(status))['port']}"
        boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="AK",
                     aws_secret_access_key="SK", region_name="us-east-1").create_bucket(Bucket="bench")
        return fn(endpoint)
    finally:
        st.terminate()
        st.wait(30)
        shutil.rmtree(os.path.join(tmp, "store"), ignore_errors=True)


def recovery(build, tmp, gib=1.0, size=1000):
    """Fills a file channel with `gib` GiB (no sink), SIGKILLs the agent, restarts it and times
    the restart until the status file appears; returns seconds and RSS after start."""
    out = os.path.join(tmp, "rec")
    os.makedirs(out, exist_ok=True)
    lines = int(gib * (1 << 30) / size)
    conf = os.path.join(tmp, "rec.conf")
    with open(conf, "w") as f:
        f.write(agent_config("null", out, lines + 1000, channel="file")
                .replace("a1.sinks = k1", "a1.sinks =").replace("a1.sinks.k1.type = null", ""))
    status = os.path.join(tmp, "rec.json")

    def start():
        if os.path.exists(status):
            os.unlink(status)
        p = subprocess.Popen([os.path.join(build, "ingestor"), "agent", "-n", "a1", "-f", conf,
                              "--metrics-port", "0", "--status-file", status],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.monotonic()
        while not os.path.exists(status):
            if p.poll() is not None or time.monotonic() - t0 > 120:
                raise RuntimeError("agent did not start")
            time.sleep(0.005)
        return p, time.monotonic() - t0
    p, _ = start()
    st = json.load(open(status))
    subprocess.run([os.path.join(build, "ingestor-loadgen"), "--port", str(st["sources"]["r1"]["port"]),
                    "--lines", str(lines), "--size", str(size), "--connections", "4", "--acks",
                    "--window", "2000"], check=True, capture_output=True)
    p.send_signal(signal.SIGKILL)
    p.wait()
    p, secs = start()
    m = metrics(json.load(open(status))["metrics_port"])
    rss = rss_kb(p.pid, "VmRSS") / 1024
    size_after = int(m["CHANNEL.c1"]["ChannelSize"])
    p.send_signal(signal.SIGKILL)
    p.wait()
    shutil.rmtree(out, ignore_errors=True)
    return {"backlog_gib": gib, "events": lines, "recovered_events": size_after,
            "restart_seconds": secs, "rss_mib_after_restart": rss}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--lines", type=int, default=5_000_000)
    ap.add_argument("--only", default="agent,file,s3,recovery",
                    help="comma list of: agent, file, s3, recovery")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    only = set(args.only.split(","))
    tmp = tempfile.mkdtemp(prefix="ingestor-bench-", dir=os.environ.get("BENCH_DIR"))
    results = []

    def emit(r):
        results.append(r)
        print(json.dumps(r), flush=True)

    if "agent" in only:
        for size in (100, 1000):
            n = args.lines if size == 100 else args.lines // 5
            for conns in (1, 8):
                lo = median_of(lambda: loopback(build, n, size, conns), args.repeat)
                for sink in ("null", "file_roll"):
                    r = median_of(lambda: run_agent_scenario(build, sink, n, size, conns, 100_000),
                                  args.repeat)
                    r.update({"scenario": f"netcat -> memory -> {sink}", "size": size,
                              "connections": conns, "lines": n,
                              "limit": "loopback", "limit_mib_per_s": lo["mib_per_s"],
                              "ratio": r["mib_per_s"] / lo["mib_per_s"]})
                    emit(r)
    if "file" in only:
        disk = statistics.median(disk_bandwidth(tmp) for _ in range(args.repeat))
        rate = fsync_rate(tmp)
        emit({"scenario": "disk", "fsynced_mib_per_s": disk, "fsyncs_per_s": rate})
        for size in (100, 1000):
            n = (args.lines // 5) if size == 100 else args.lines // 10
            for conns in (1, 8):
                r = median_of(lambda: run_agent_scenario(build, "null", n, size, conns, 2_000_000,
                                                         channel="file", acks=True), args.repeat)
                r.update({"scenario": "netcat (acks) -> file channel -> null", "size": size,
                          "connections": conns, "lines": n, "limit": "disk fsynced",
                          "limit_mib_per_s": disk, "ratio": r["mib_per_s"] / disk})
                emit(r)
    if "s3" in only:
        put = statistics.median(store_put_throughput(build, tmp) for _ in range(args.repeat))
        emit({"scenario": "store PUT 64 MiB (boto3)", "mib_per_s": put})
        env = dict(os.environ, AWS_ACCESS_KEY_ID="AK", AWS_SECRET_ACCESS_KEY="SK",
                   AWS_EC2_METADATA_DISABLED="true")
        for channel in ("memory", "file"):
            for size in (100, 1000):
                n = (args.lines // 2) if size == 100 else args.lines // 5
                def one():
                    return with_store(build, tmp, lambda ep: run_agent_scenario(
                        build, "s3", n, size, 1, 1_000_000, channel=channel, acks=channel == "file",
                        extra=f"a1.sinks.k1.s3.endpoint = {ep}\n", env=env))
                r = median_of(one, args.repeat)
                r.update({"scenario": f"netcat -> {channel} -> S3 sink -> store (64 MiB objects)",
                          "size": size, "connections": 1, "lines": n, "limit": "store PUT",
                          "limit_mib_per_s": put, "ratio": r["mib_per_s"] / put})
                emit(r)
    if "recovery" in only:
        emit(dict(recovery(build, tmp), scenario="file channel recovery of a 1 GiB backlog"))

    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    meta = {"machine": platform.node(), "cpus": os.cpu_count(), "kernel": platform.release(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S"), "repeat": args.repeat}
    with open(os.path.join(HERE, "results", "bench.json"), "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    print("\n| scenario | line | conns | events/s | MiB/s | limit | limit MiB/s | ratio | peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        if "events_per_s" not in r:
            continue
        print(f"| {r['scenario']} | {r['size']} B | {r['connections']} | {r['events_per_s']:,.0f} | "
              f"{r['mib_per_s']:.0f} | {r['limit']} | {r['limit_mib_per_s']:.0f} | {r['ratio']:.2f} | "
              f"{r['peak_rss_mib']:.1f} MiB |")


if __name__ == "__main__":
    sys.exit(main())
