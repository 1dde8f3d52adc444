#!/usr/bin/env python3
"""syslog over TCP (issue 21): the agent's syslogtcp -> memory -> file_roll beside rsyslog's
imptcp -> omfile, on the same messages, in the same run.

For each message size (--sizes, bytes per line with its '\\n'), ingestor-loadgen sends --lines
RFC 3164 messages (`<13>Dec  7 14:00:00 host app: xxx...`; 1000-byte messages get a tenth as many,
the same bytes) over --connections TCP connections, newline-framed, as fast as the receiver reads:
- `ingestor agent`: syslogtcp (batchSize --batch) -> memory channel (capacity 100,000,
  transactionCapacity --batch) -> file_roll (batchSize --batch, text serializer: the body, which is
  Flume's `app: xxx...`, and '\\n'). Done when the sink's EventDrainSuccessCount (--metrics-port 0)
  holds every message;
- rsyslogd (Debian's package) in the foreground as a private instance (`rsyslogd -n -f conf -i
  pidfile`, its own work directory, only imptcp in: no imuxsock, no imklog), `imptcp` on a loopback
  port into `omfile` with a "%syslogtag%%msg%\\n" template (the same bytes per message as the
  agent's file, checked), rsyslog's default queues. Done when its output file holds every line.
Each receiver is started and listening before the clock starts; the clock runs from the start of
the load generator until every message is in the output. Variants are interleaved within each
repeat; each figure is the median of --repeat runs. Also the receiver's CPU seconds (user + system)
spent from the clock's start to the end, per million messages.

Prints a Markdown table and writes bench/results/syslog.json.
"""
import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_taildir import cpu_seconds, find_rsyslogd, finish, med, stop  # noqa: E402
from run_bench import metrics  # noqa: E402

PREFIX = "<13>Dec  7 14:00:00 host app: "
VARIANTS = ("syslogtcp -> memory -> file_roll", "rsyslog")


def agent_config(out, batch):
    return f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = syslogtcp
a1.sources.r1.host = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.batchSize = {batch}
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = {batch}
a1.channels.c1.byteCapacity = 0
a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = {out}
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.batchSize = {batch}
"""


RSYSLOG_CONF = """global(workDirectory="{work}" maxMessageSize="64k")
module(load="imptcp")
template(name="bench_raw" type="string" string="%syslogtag%%msg%\\n")
ruleset(name="bench") {{
  action(type="omfile" file="{out}" template="bench_raw")
}}
input(type="imptcp" address="127.0.0.1" port="{port}" ruleset="bench")
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def loadgen(build, port, lines, size, conns):
    subprocess.run([os.path.join(build, "ingestor-loadgen"), "--port", str(port), "--lines",
                    str(lines), "--size", str(size), "--connections", str(conns),
                    "--prefix", PREFIX], check=True, capture_output=True)


def first_line(path):
    with open(path, "rb") as f:
        return f.readline()


def run_agent(build, tmp, lines, size, conns, batch):
    run = tempfile.mkdtemp(prefix="agent-", dir=tmp)
    try:
        out = os.path.join(run, "out")
        os.makedirs(out)
        conf = os.path.join(run, "agent.conf")
        with open(conf, "w") as f:
            f.write(agent_config(out, batch))
        status = os.path.join(run, "status.json")
        log = open(os.path.join(run, "agent.log"), "wb")
        p = subprocess.Popen([os.path.join(build, "ingestor"), "agent", "-n", "a1", "-f", conf,
                              "--metrics-port", "0", "--metrics-bind", "127.0.0.1",
                              "--status-file", status], stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while not os.path.exists(status):
                if p.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("agent did not start: " + open(log.name).read()[-2000:])
                time.sleep(0.005)
            st = json.load(open(status))
            port, mport = st["sources"]["r1"]["port"], st["metrics_port"]
            cpu0 = cpu_seconds(p.pid)
            t0 = time.monotonic()
            loadgen(build, port, lines, size, conns)
            drained = 0

            def progress():
                nonlocal drained
                drained = int(metrics(mport)["SINK.k1"]["EventDrainSuccessCount"])
                return drained >= lines, f"the sink drained {drained} of {lines}"
            secs, cpu, peak = finish(p, t0, log, progress, "agent", interval=0.005)
            cpu -= cpu0
        finally:
            stop(p, log)
        if drained != lines:
            raise RuntimeError(f"agent: {drained} events drained, {lines} expected")
        files = [os.path.join(out, n) for n in os.listdir(out)]
        written = sum(os.path.getsize(f) for f in files)
        line = first_line(files[0])
        if written != lines * len(line):
            raise RuntimeError(f"agent wrote {written} bytes, not {lines} x {len(line)}")
        return {"seconds": secs, "msgs_per_s": lines / secs, "cpu_seconds": cpu,
                "peak_rss_mib": peak, "line": line.decode(errors="replace")[:60]}
    finally:
        shutil.rmtree(run, ignore_errors=True)


def run_rsyslog(tmp, build, lines, size, conns):
    run = tempfile.mkdtemp(prefix="rsyslog-", dir=tmp)
    try:
        work = os.path.join(run, "work")
        os.makedirs(work)
        out = os.path.join(run, "out.log")
        port = free_port()
        conf = os.path.join(run, "rsyslog.conf")
        with open(conf, "w") as f:
            f.write(RSYSLOG_CONF.format(work=work, out=out, port=port))
        log = open(os.path.join(run, "rsyslog.log"), "wb")
        p = subprocess.Popen([find_rsyslogd(), "-n", "-f", conf, "-i",
                              os.path.join(run, "rsyslog.pid")],
                             stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:  # listening?
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if p.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("rsyslogd did not start: " +
                                           open(log.name).read()[-2000:])
                    time.sleep(0.005)
            cpu0 = cpu_seconds(p.pid)
            t0 = time.monotonic()
            loadgen(build, port, lines, size, conns)
            want = None
            have = 0

            def progress():
                nonlocal want, have
                have = os.path.getsize(out) if os.path.exists(out) else 0
                if want is None and have > 0:
                    want = lines * len(first_line(out))
                return want is not None and have >= want, f"wrote {have} of {want} bytes"
            secs, cpu, peak = finish(p, t0, log, progress, "rsyslogd", interval=0.005)
            cpu -= cpu0
            line = first_line(out)
        finally:
            stop(p, log)
        if have != want:
            raise RuntimeError(f"rsyslogd wrote {have} bytes, expected {want}")
        return {"seconds": secs, "msgs_per_s": lines / secs, "cpu_seconds": cpu,
                "peak_rss_mib": peak, "line": line.decode(errors="replace")[:60]}
    finally:
        shutil.rmtree(run, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--lines", type=int, default=3_000_000,
                    help="messages of 100 bytes; other sizes get the same bytes")
    ap.add_argument("--sizes", default="100,1000", help="bytes per message, '\\n' included")
    ap.add_argument("--connections", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1000,
                    help="syslogtcp batchSize, channel transactionCapacity, sink batchSize")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    tmp = tempfile.mkdtemp(prefix="ingestor-syslog-", dir=os.environ.get("BENCH_DIR"))
    res = {"meta": {"machine": platform.node(), "cpus": os.cpu_count(),
                    "kernel": platform.release(), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                    "repeat": args.repeat, "batch": args.batch, "connections": args.connections,
                    "load_start": os.getloadavg()}, "sizes": []}
    try:
        for size in [int(s) for s in args.sizes.split(",")]:
            lines = args.lines * 100 // size
            runs = {v: [] for v in VARIANTS}
            for _ in range(args.repeat):
                for v in VARIANTS:
                    if v == "rsyslog":
                        r = run_rsyslog(tmp, build, lines, size, args.connections)
                    else:
                        r = run_agent(build, tmp, lines, size, args.connections, args.batch)
                    print(json.dumps(dict(r, size=size, variant=v)), flush=True)
                    runs[v].append(r)
            lines_seen = {v: {r["line"] for r in rs} for v, rs in runs.items()}
            if lines_seen[VARIANTS[0]] != lines_seen["rsyslog"]:
                raise RuntimeError(f"the outputs differ: {lines_seen}")
            row = {"size": size, "lines": lines, "variants": {}}
            for v, rs in runs.items():
                row["variants"][v] = {k: med(rs, k) for k in rs[0] if k != "line"}
                row["variants"][v]["runs_msgs_per_s"] = [round(r["msgs_per_s"]) for r in rs]
            res["sizes"].append(row)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res["meta"]["load_end"] = os.getloadavg()
    report(res)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "syslog.json"), "w") as f:
        json.dump(res, f, indent=1)


def report(res):
    m = res["meta"]
    print(f"\n{m['date']}, {m['machine']}, {m['cpus']} CPUs, load average at start "
          f"{'/'.join(f'{x:.1f}' for x in m['load_start'])}, at end "
          f"{'/'.join(f'{x:.1f}' for x in m['load_end'])}; medians of {m['repeat']}, "
          f"batch {m['batch']}, {m['connections']} connection(s)")
    print("\n| message | variant | msgs/s | / rsyslog | CPU s per M msgs | peak RSS | target |")
    print("|---|---|---|---|---|---|---|")
    for row in res["sizes"]:
        rs = row["variants"]["rsyslog"]
        for v, r in row["variants"].items():
            ratio = r["msgs_per_s"] / rs["msgs_per_s"]
            target = "" if v == "rsyslog" else f">= 2x: {'met' if ratio >= 2 else 'MISSED'}"
            name = "rsyslog imptcp -> omfile" if v == "rsyslog" else v
            print(f"| {row['size']} B | {name} | {r['msgs_per_s']:,.0f} | {ratio:.2f} | "
                  f"{r['cpu_seconds'] / row['lines'] * 1e6:.2f} | {r['peak_rss_mib']:.1f} MiB | "
                  f"{target} |")


if __name__ == "__main__":
    sys.exit(main())
