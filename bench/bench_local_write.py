#!/usr/bin/env python3
"""The local write path (issue 18): CPU per GB written and events/s of file_roll and of the hdfs
sink on a local path, for 100-byte and 1000-byte lines, beside `dd` writing the same number of
bytes in the same run.

netcat (no acks) -> memory -> sink, fed by ingestor-loadgen over loopback. For each run it reads
the agent's user and system CPU (/proc/<pid>/stat) from just before the load until the sink has
drained every event (EventDrainSuccessCount), and the sink's output bytes. `dd if=/dev/zero
bs=64K` and `bs=1M` of the same byte count (then fsync, as the sinks fsync on close) give the
floor: the kernel's cost of putting those bytes in the page cache. With --strace the sink runs
once more under `strace -f -c -e trace=write,writev,pwrite64,fsync,fdatasync,rename` and the
write(2) count and mean size are printed.

Prints a Markdown table (median of --repeat runs) and writes bench/results/local_write.json.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TICK = os.sysconf("SC_CLK_TCK")


def cpu(pid):
    """utime, stime (s) and minor page faults of a process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK, int(fields[7])


def metrics(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return json.load(r)


def sink_config(sink, out):
    if sink == "file_roll":
        return (f"a1.sinks.k1.type = file_roll\na1.sinks.k1.sink.directory = {out}\n"
                "a1.sinks.k1.sink.rollInterval = 0\na1.sinks.k1.sink.batchSize = 1000\n")
    return (f"a1.sinks.k1.type = hdfs\na1.sinks.k1.hdfs.path = file://{out}\n"
            "a1.sinks.k1.hdfs.fileType = DataStream\na1.sinks.k1.hdfs.rollInterval = 0\n"
            "a1.sinks.k1.hdfs.rollSize = 0\na1.sinks.k1.hdfs.rollCount = 0\n"
            "a1.sinks.k1.hdfs.batchSize = 1000\n")


def config(sink, out):
    return f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.ack-every-event = false
a1.sources.r1.max-line-length = 2048
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 200000
a1.channels.c1.transactionCapacity = 1000
a1.channels.c1.byteCapacity = 0
a1.sinks.k1.channel = c1
{sink_config(sink, out)}"""


LOADGEN = None  # --loadgen; default <build>/ingestor-loadgen


def run_sink(build, sink, lines, size, strace=False):
    tmp = tempfile.mkdtemp(prefix="ingestor-localwrite-")
    try:
        out = os.path.join(tmp, "out")
        os.makedirs(out)
        conf = os.path.join(tmp, "agent.conf")
        with open(conf, "w") as f:
            f.write(config(sink, out))
        status = os.path.join(tmp, "status.json")
        cmd = [os.path.join(build, "ingestor"), "agent", "-n", "a1", "-f", conf,
               "--metrics-port", "0", "--metrics-bind", "127.0.0.1", "--status-file", status]
        trace = os.path.join(tmp, "strace.txt")
        if strace:
            cmd = ["strace", "-f", "-c", "-o", trace, "-e",
                   "trace=write,writev,pwrite64,fsync,fdatasync,rename"] + cmd
        log = open(os.path.join(tmp, "agent.log"), "wb")
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not os.path.exists(status):
            if p.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("agent did not start: " + open(log.name).read())
            time.sleep(0.01)
        st = json.load(open(status))
        port, mport = st["sources"]["r1"]["port"], st["metrics_port"]
        pid = int(st.get("pid", 0)) or p.pid
        u0, s0, f0 = cpu(pid) if not strace else (0, 0, 0)
        t0 = time.monotonic()
        subprocess.run([LOADGEN or os.path.join(build, "ingestor-loadgen"), "--port", str(port),
                        "--lines", str(lines), "--size", str(size), "--connections", "1"],
                       check=True, capture_output=True)
        while int(metrics(mport)["SINK.k1"]["EventDrainSuccessCount"]) < lines:
            if time.monotonic() - t0 > 600:
                raise RuntimeError("sink did not drain")
            time.sleep(0.005)
        secs = time.monotonic() - t0
        u1, s1, f1 = cpu(pid) if not strace else (0, 0, 0)
        p.terminate()
        p.wait(60)
        written = sum(os.path.getsize(os.path.join(out, n)) for n in os.listdir(out))
        r = {"sink": sink, "size": size, "lines": lines, "seconds": secs,
             "events_per_s": lines / secs, "bytes": written,
             "user_s": u1 - u0, "sys_s": s1 - s0, "minflt": f1 - f0}
        if strace:
            r["strace"] = open(trace).read()
        return r
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_dd(nbytes, bs):
    tmp = tempfile.mkdtemp(prefix="ingestor-dd-")
    try:
        count = max(1, nbytes // bs)
        t0 = time.monotonic()
        p = subprocess.Popen(["dd", "if=/dev/zero", f"of={tmp}/out", f"bs={bs}", f"count={count}",
                              "conv=fsync", "status=none"])
        _, _, ru = os.wait4(p.pid, 0)
        return {"sink": f"dd bs={bs // 1024}K", "bytes": count * bs,
                "seconds": time.monotonic() - t0, "user_s": ru.ru_utime, "sys_s": ru.ru_stime}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def per_gb(r):
    gb = r["bytes"] / 1e9
    return (r["user_s"] / gb, r["sys_s"] / gb)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--mb", type=int, default=500, help="MB of lines per run")
    ap.add_argument("--sizes", default="100,1000")
    ap.add_argument("--sinks", default="file_roll,hdfs")
    ap.add_argument("--loadgen", help="ingestor-loadgen binary (default: in --build)")
    ap.add_argument("--strace", action="store_true")
    args = ap.parse_args()
    global LOADGEN
    LOADGEN = args.loadgen
    results = []
    print("| lines | what | events/s | user s/GB | sys s/GB | CPU s/GB | faults/GB |")
    print("|---|---|---|---|---|---|---|")
    sinks = args.sinks.split(",")
    for size in [int(s) for s in args.sizes.split(",")]:
        lines = args.mb * 1_000_000 // size
        runs = {s: [] for s in sinks}
        runs.update({"dd64": [], "dd1m": []})
        for _ in range(args.repeat):
            for sink in sinks:
                runs[sink].append(run_sink(args.build, sink, lines, size))
            nbytes = runs[sinks[0]][-1]["bytes"]
            runs["dd64"].append(run_dd(nbytes, 64 * 1024))
            runs["dd1m"].append(run_dd(nbytes, 1 << 20))
        for k, rs in runs.items():
            u = statistics.median(per_gb(r)[0] for r in rs)
            s = statistics.median(per_gb(r)[1] for r in rs)
            eps = statistics.median(r["events_per_s"] for r in rs) if "events_per_s" in rs[0] \
                else None
            flt = statistics.median(r.get("minflt", 0) / (r["bytes"] / 1e9) for r in rs)
            results.append({"size": size, "what": rs[0]["sink"], "events_per_s": eps,
                            "user_s_per_gb": u, "sys_s_per_gb": s, "faults_per_gb": flt,
                            "runs": rs})
            print(f"| {size} B | {rs[0]['sink']} | {f'{eps:,.0f}' if eps else '-'} | {u:.2f} | "
                  f"{s:.2f} | {u + s:.2f} | {flt:,.0f} |")
        if "file_roll" in runs and "hdfs" in runs:
            fr = statistics.median(r["events_per_s"] for r in runs["file_roll"])
            hd = statistics.median(r["events_per_s"] for r in runs["hdfs"])
            print(f"| {size} B | hdfs / file_roll events/s | {hd / fr:.2f} | | | | |")
        if args.strace:
            for sink in sinks:
                r = run_sink(args.build, sink, lines, size, strace=True)
                print(f"\n{sink}, {size}-byte lines, strace -c:\n```\n{r['strace']}```")
        sys.stdout.flush()
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "local_write.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
