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


def agent_config(sink, outdir, capacity):
    sinks = {
        "null": "a1.sinks.k1.type = null\na1.sinks.k1.batchSize = 1000\n",
        "file_roll": f"a1.sinks.k1.type = file_roll\na1.sinks.k1.sink.directory = {outdir}\n"
                     "a1.sinks.k1.sink.rollInterval = 0\na1.sinks.k1.sink.batchSize = 1000\n",
    }[sink]
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
a1.channels.c1.capacity = {capacity}
a1.channels.c1.transactionCapacity = 1000
a1.channels.c1.byteCapacity = 0
a1.sinks.k1.channel = c1
{sinks}"""


def run_agent_scenario(build, sink, lines, size, conns, capacity):
    tmp = tempfile.mkdtemp(prefix="ingestor-bench-")
    try:
        conf = os.path.join(tmp, "agent.conf")
        with open(conf, "w") as f:
            f.write(agent_config(sink, os.path.join(tmp, "out"), capacity))
        status = os.path.join(tmp, "status.json")
        log = open(os.path.join(tmp, "agent.log"), "wb")
        p = subprocess.Popen([os.path.join(build, "ingestor"), "agent", "-n", "a1", "-f", conf,
                              "--metrics-port", "0", "--status-file", status],
                             stdout=log, stderr=subprocess.STDOUT)
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
                        "--lines", str(lines), "--size", str(size), "--connections", str(conns)],
                       check=True, capture_output=True)
        deadline = time.monotonic() + 300
        while True:
            m = metrics(mport)
            if int(m["SINK.k1"]["EventDrainSuccessCount"]) >= lines:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("sink did not drain: " + json.dumps(m))
            time.sleep(0.005)
        secs = time.monotonic() - t0
        peak = rss_kb(p.pid, "VmHWM")
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--lines", type=int, default=5_000_000)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    results = []
    for size in (100, 1000):
        n = args.lines if size == 100 else args.lines // 5
        for conns in (1, 8):
            lo = median_of(lambda: loopback(build, n, size, conns), args.repeat)
            for sink in ("null", "file_roll"):
                r = median_of(lambda: run_agent_scenario(build, sink, n, size, conns, 100_000),
                              args.repeat)
                r.update({"scenario": f"netcat -> memory -> {sink}", "size": size,
                          "connections": conns, "lines": n,
                          "loopback_mib_per_s": lo["mib_per_s"],
                          "ratio_to_loopback": r["mib_per_s"] / lo["mib_per_s"]})
                results.append(r)
                print(json.dumps(r), flush=True)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    meta = {"machine": platform.node(), "cpus": os.cpu_count(), "kernel": platform.release(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S"), "repeat": args.repeat}
    with open(os.path.join(HERE, "results", "agent.json"), "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    print("\n| scenario | line | conns | events/s | MiB/s | loopback MiB/s | ratio | idle RSS | peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['scenario']} | {r['size']} B | {r['connections']} | {r['events_per_s']:,.0f} | "
              f"{r['mib_per_s']:.0f} | {r['loopback_mib_per_s']:.0f} | {r['ratio_to_loopback']:.2f} | "
              f"{r['idle_rss_mib']:.1f} MiB | {r['peak_rss_mib']:.1f} MiB |")


if __name__ == "__main__":
    sys.exit(main())
