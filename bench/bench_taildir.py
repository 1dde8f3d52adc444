#!/usr/bin/env python3
"""The taildir source (issue 19): how fast the agent reads a file that is already written, beside
rsyslog's imfile reading the same file into a file, and the disk's fsynced write bandwidth, all in
the same run.

For each line size (--sizes, bytes per line with its '\\n'), one input file of --lines lines
(100-byte lines; 1000-byte lines get a tenth as many, the same bytes) is written once in a temp
dir. Each run starts a fresh process on it with an empty position file / state, from offset 0:
- taildir -> memory -> null, -> memory -> file_roll, -> file channel -> null (`ingestor agent`,
  metrics on port 0, the status file for the port): time from the process start until the sink's
  EventDrainSuccessCount holds every line;
- rsyslogd (Debian's package) in the foreground as a private instance (`rsyslogd -n -f conf -i
  pidfile`, its own work directory, only imfile in: no imuxsock, no imklog), `imfile` reading the
  file from the beginning (freshStartTail off, readMode 0) into `omfile` with a "%msg%\\n"
  template: time from the process start until its output file holds every byte;
- the disk's fsynced sequential write bandwidth (run_bench.disk_bandwidth: 1 MiB writes, an
  fdatasync every 8 MiB), the limit of the file channel, whose put commits are fsynced.
The page cache holds the input for every reader (written once, read by each run); dirty pages of
the previous run are synced before each run. Variants are interleaved within each repeat so the
host's noise falls on all of them. Each figure is the median of --repeat runs. Also: peak RSS
(VmHWM) and the process's CPU seconds (user + system, /proc/<pid>/stat) for each run, and the RSS
of one agent tailing --files files (1,000) in one group beside the single-file runs.

Batch sizes: taildir batchSize = --batch (1000), memory channel transactionCapacity = --batch
(capacity 100,000), file channel transactionCapacity = --batch, null and file_roll batchSize =
--batch.

Prints Markdown tables and writes bench/results/taildir.json.
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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run_bench import cpu_seconds, disk_bandwidth, metrics, rss_kb  # noqa: E402

VARIANTS = ("memory -> null", "memory -> file_roll", "file -> null")


def finish(p, t0, log, progress, what, interval=0.01):
    """Polls progress() (-> (done, description)) every `interval` s until done; returns the
    seconds since t0, the process's CPU seconds and its peak RSS (MiB) at that moment. Fails when
    the process exits first or after 600 s."""
    while True:
        done, desc = progress()
        if done:
            break
        if p.poll() is not None or time.monotonic() - t0 > 600:
            raise RuntimeError(f"{what}: {desc}\n" + open(log.name).read()[-2000:])
        time.sleep(interval)  # each poll of the agent is an HTTP request it serves: not too often
    return time.monotonic() - t0, cpu_seconds(p.pid), rss_kb(p.pid, "VmHWM") / 1024


def stop(p, log):
    p.send_signal(signal.SIGTERM)
    p.wait(60)
    log.close()


def write_lines(path, lines, size):
    """`lines` lines of `size` bytes each ('\\n' included): a number, then letters. Written in
    blocks of 1000 distinct lines (the number counts within the block)."""
    filler = ("abcdefghijklmnopqrstuvwxyz" * (size // 26 + 2))
    block = "".join(f"{i:08d} {filler[:size - 10]}\n" for i in range(1000)).encode()
    assert len(block) == 1000 * size
    with open(path, "wb") as f:
        full, rest = divmod(lines, 1000)
        for _ in range(full):
            f.write(block)
        f.write(block[:rest * size])


def agent_config(files_glob_dir, regex, pos, out, variant, batch):
    channel, sink = variant.split(" -> ")
    if channel == "memory":
        ch = ("a1.channels.c1.type = memory\na1.channels.c1.capacity = 100000\n"
              f"a1.channels.c1.transactionCapacity = {batch}\na1.channels.c1.byteCapacity = 0\n")
    else:
        ch = ("a1.channels.c1.type = file\na1.channels.c1.capacity = 10000000\n"
              f"a1.channels.c1.transactionCapacity = {batch}\n"
              f"a1.channels.c1.checkpointDir = {out}/cp\na1.channels.c1.dataDirs = {out}/data\n"
              "a1.channels.c1.minimumRequiredSpace = 1048576\n")
    if sink == "null":
        sk = f"a1.sinks.k1.type = null\na1.sinks.k1.batchSize = {batch}\n"
    else:
        sk = (f"a1.sinks.k1.type = file_roll\na1.sinks.k1.sink.directory = {out}/roll\n"
              f"a1.sinks.k1.sink.rollInterval = 0\na1.sinks.k1.sink.batchSize = {batch}\n")
    return f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = TAILDIR
a1.sources.r1.channels = c1
a1.sources.r1.filegroups = g1
a1.sources.r1.filegroups.g1 = {files_glob_dir}/{regex}
a1.sources.r1.positionFile = {pos}
a1.sources.r1.batchSize = {batch}
{ch}a1.sinks.k1.channel = c1
{sk}"""


def run_agent(build, tmp, indir, regex, lines, variant, batch):
    """One agent run over the files of `indir` matching `regex`; returns its figures."""
    run = tempfile.mkdtemp(prefix="agent-", dir=tmp)
    try:
        out = os.path.join(run, "out")
        os.makedirs(os.path.join(out, "roll"))
        conf = os.path.join(run, "agent.conf")
        with open(conf, "w") as f:
            f.write(agent_config(indir, regex, os.path.join(run, "pos.json"), out, variant, batch))
        status = os.path.join(run, "status.json")
        log = open(os.path.join(run, "agent.log"), "wb")
        os.sync()
        t0 = time.monotonic()
        p = subprocess.Popen([os.path.join(build, "ingestor"), "agent", "-n", "a1", "-f", conf,
                              "--metrics-port", "0", "--metrics-bind", "127.0.0.1",
                              "--status-file", status], stdout=log, stderr=subprocess.STDOUT)
        try:
            while not os.path.exists(status):
                if p.poll() is not None or time.monotonic() - t0 > 30:
                    raise RuntimeError("agent did not start: " + open(log.name).read()[-2000:])
                time.sleep(0.002)
            started = time.monotonic() - t0
            mport = json.load(open(status))["metrics_port"]
            drained = 0

            def progress():
                nonlocal drained
                drained = int(metrics(mport)["SINK.k1"]["EventDrainSuccessCount"])
                return drained >= lines, f"the sink drained {drained} of {lines}"
            secs, cpu, peak = finish(p, t0, log, progress, "agent " + variant)
        finally:
            stop(p, log)
        if drained != lines:
            raise RuntimeError(f"{variant}: {drained} events drained, {lines} expected")
        if variant.endswith("file_roll"):
            roll = os.path.join(out, "roll")
            written = sum(os.path.getsize(os.path.join(roll, n)) for n in os.listdir(roll))
            if written != sum(os.path.getsize(os.path.join(indir, n)) for n in os.listdir(indir)):
                raise RuntimeError(f"file_roll wrote {written} bytes, not the input's")
        return {"seconds": secs, "startup_seconds": started, "lines_per_s": lines / secs,
                "cpu_seconds": cpu, "peak_rss_mib": peak}
    finally:
        shutil.rmtree(run, ignore_errors=True)


RSYSLOG_CONF = """global(workDirectory="{work}")
module(load="imfile" mode="inotify")
template(name="bench_raw" type="string" string="%msg%\\n")
ruleset(name="bench") {{
  action(type="omfile" file="{out}" template="bench_raw")
}}
input(type="imfile" file="{path}" tag="bench" ruleset="bench" freshStartTail="off" readMode="0")
"""


def find_rsyslogd():
    for cand in ("/usr/sbin/rsyslogd", shutil.which("rsyslogd")):
        if cand and os.access(cand, os.X_OK):
            return cand
    raise RuntimeError("rsyslogd not found: apt-get install rsyslog (make deps), or --no-rsyslog")


def run_rsyslog(tmp, path, lines):
    """One private rsyslogd: imfile reads `path` from the start into omfile; time until the output
    holds as many bytes as the input (each line written back with its '\\n')."""
    run = tempfile.mkdtemp(prefix="rsyslog-", dir=tmp)
    try:
        work = os.path.join(run, "work")
        os.makedirs(work)
        out = os.path.join(run, "out.log")
        conf = os.path.join(run, "rsyslog.conf")
        with open(conf, "w") as f:
            f.write(RSYSLOG_CONF.format(work=work, out=out, path=path))
        want = os.path.getsize(path)
        log = open(os.path.join(run, "rsyslog.log"), "wb")
        os.sync()
        t0 = time.monotonic()
        p = subprocess.Popen([find_rsyslogd(), "-n", "-f", conf, "-i",
                              os.path.join(run, "rsyslog.pid")],
                             stdout=log, stderr=subprocess.STDOUT)
        try:
            have = 0

            def progress():
                nonlocal have
                have = os.path.getsize(out) if os.path.exists(out) else 0
                return have >= want, f"wrote {have} of {want} bytes"
            secs, cpu, peak = finish(p, t0, log, progress, "rsyslogd")
        finally:
            stop(p, log)
        if have != want:
            raise RuntimeError(f"rsyslogd wrote {have} bytes, the input has {want}")
        return {"seconds": secs, "lines_per_s": lines / secs, "cpu_seconds": cpu,
                "peak_rss_mib": peak}
    finally:
        shutil.rmtree(run, ignore_errors=True)


def med(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--lines", type=int, default=3_000_000,
                    help="lines of 100 bytes; other sizes get the same bytes (1000 B: a tenth)")
    ap.add_argument("--sizes", default="100,1000", help="bytes per line, '\\n' included")
    ap.add_argument("--batch", type=int, default=1000,
                    help="taildir batchSize, channel transactionCapacity, sink batchSize")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--files", type=int, default=1000,
                    help="files tailed at once for the RSS figure (0: skip)")
    ap.add_argument("--file-lines", type=int, default=1000, help="100-byte lines per such file")
    ap.add_argument("--no-rsyslog", action="store_true")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    tmp = tempfile.mkdtemp(prefix="ingestor-taildir-", dir=os.environ.get("BENCH_DIR"))
    load0 = os.getloadavg()
    results = {"meta": {"machine": platform.node(), "cpus": os.cpu_count(),
                        "kernel": platform.release(), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                        "repeat": args.repeat, "batch": args.batch, "load_start": load0},
               "sizes": [], "disk": None, "many_files": None}

    def say(obj):
        print(json.dumps(obj), flush=True)

    try:
        disk_runs = []
        for size in [int(s) for s in args.sizes.split(",")]:
            lines = args.lines * 100 // size
            indir = os.path.join(tmp, f"in-{size}")
            os.makedirs(indir)
            path = os.path.join(indir, "data.log")
            write_lines(path, lines, size)
            runs = {v: [] for v in variants}
            if not args.no_rsyslog:
                runs["rsyslog"] = []
            for _ in range(args.repeat):
                for v in runs:
                    if v == "rsyslog":
                        r = run_rsyslog(tmp, path, lines)
                    else:
                        r = run_agent(build, tmp, indir, r"data\.log", lines, v, args.batch)
                    say(dict(r, size=size, variant=v))
                    runs[v].append(r)
                if any(v.startswith("file") for v in variants):
                    disk_runs.append(disk_bandwidth(tmp))
                    say({"disk_fsynced_mib_per_s": disk_runs[-1]})
            os.unlink(path)
            row = {"size": size, "lines": lines, "mb": lines * size / 1e6, "variants": {}}
            for v, rs in runs.items():
                row["variants"][v] = {k: med(rs, k) for k in rs[0]}
                row["variants"][v]["mib_per_s"] = lines * size / med(rs, "seconds") / 2**20
                row["variants"][v]["runs_lines_per_s"] = [round(r["lines_per_s"]) for r in rs]
            results["sizes"].append(row)
        if disk_runs:
            results["disk"] = {"fsynced_mib_per_s": statistics.median(disk_runs),
                               "runs": [round(d) for d in disk_runs]}
        if args.files:
            indir = os.path.join(tmp, "many")
            os.makedirs(indir)
            for i in range(args.files):
                write_lines(os.path.join(indir, f"f-{i:04d}.log"), args.file_lines, 100)
            lines = args.files * args.file_lines
            rs = []
            for _ in range(args.repeat):
                r = run_agent(build, tmp, indir, r"f-.*\.log", lines, "memory -> null",
                              args.batch)
                say(dict(r, files=args.files))
                rs.append(r)
            results["many_files"] = {"files": args.files, "lines": lines,
                                     **{k: med(rs, k) for k in rs[0]},
                                     "peak_rss_mib_max": max(r["peak_rss_mib"] for r in rs)}
            shutil.rmtree(indir, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results["meta"]["load_end"] = os.getloadavg()
    report(results)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "taildir.json"), "w") as f:
        json.dump(results, f, indent=1)


def report(res):
    m = res["meta"]
    print(f"\n{m['date']}, {m['machine']}, {m['cpus']} CPUs, load average at start "
          f"{'/'.join(f'{x:.1f}' for x in m['load_start'])}, at end "
          f"{'/'.join(f'{x:.1f}' for x in m['load_end'])}; medians of {m['repeat']}, "
          f"batch {m['batch']}")
    disk = res["disk"]["fsynced_mib_per_s"] if res["disk"] else None
    print("\n| lines | variant | lines/s | MiB/s | / rsyslog | CPU s | lines per CPU s | "
          "peak RSS | target |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in res["sizes"]:
        rs = row["variants"].get("rsyslog")
        for v, r in row["variants"].items():
            ratio = r["lines_per_s"] / rs["lines_per_s"] if rs else None
            target = ""
            if v.startswith("memory") and ratio is not None:
                target = f">= 2x rsyslog: {'met' if ratio >= 2 else 'MISSED'}"
            if v.startswith("file") and disk:
                frac = r["mib_per_s"] / disk
                target = f"{frac:.2f} of disk fsynced ({disk:.0f} MiB/s)"
                if row["size"] >= 1000:
                    target += f"; >= 0.5: {'met' if frac >= 0.5 else 'MISSED'}"
                if ratio is not None:
                    target += f"; >= 2x rsyslog: {'met' if ratio >= 2 else 'MISSED'}"
            name = "rsyslog imfile -> omfile" if v == "rsyslog" else f"taildir -> {v}"
            print(f"| {row['size']} B | {name} | {r['lines_per_s']:,.0f} | {r['mib_per_s']:.0f} | "
                  f"{f'{ratio:.2f}' if ratio is not None else '-'} | {r['cpu_seconds']:.2f} | "
                  f"{row['lines'] / r['cpu_seconds']:,.0f} | {r['peak_rss_mib']:.1f} MiB | "
                  f"{target} |")
    if disk:
        print(f"\nDisk, fsynced (1 MiB writes, fdatasync every 8 MiB): {disk:.0f} MiB/s "
              f"(runs: {res['disk']['runs']})")
    mf = res["many_files"]
    if mf:
        single = [row["variants"]["memory -> null"]["peak_rss_mib"] for row in res["sizes"]
                  if row["size"] == 100 and "memory -> null" in row["variants"]]
        print(f"\n{mf['files']:,} files x {mf['lines'] // mf['files']:,} lines of 100 B, "
              f"taildir -> memory -> null: {mf['lines_per_s']:,.0f} lines/s, peak RSS "
              f"{mf['peak_rss_mib']:.1f} MiB (max {mf['peak_rss_mib_max']:.1f})"
              + (f"; one file: {single[0]:.1f} MiB" if single else ""))


if __name__ == "__main__":
    sys.exit(main())
