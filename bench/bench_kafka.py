#!/usr/bin/env python3
"""The Kafka sink and source (issue 20) beside kcat, in the same run, against the same librdkafka
mock cluster (build/ingestor_kafka_mock: no real Kafka server can run on these machines).

- sink: --records lines of --size bytes ('\\n' included) in one file. The agent (netcat with
  ack-every-event=false -> memory -> kafka sink, flumeBatchSize --batch, Flume's defaults
  otherwise: the idempotent producer, acks=all) is first sent 64 lines and waited for (the
  producer's first acknowledgement waits ~1 s for its connections and producer id on the mock),
  then the file over one TCP connection; the time runs until the sink's EventDrainSuccessCount
  holds every record (each batch's delivery reports all received before its take commits).
  kcat's time includes its own start. Peer: `kcat -P -l FILE` of the same file (one record per line), from its start
  until it exits (all delivered).
- source: the same lines produced once (kcat, evenly over the topic's partitions). The agent
  (kafka source, batchSize --batch -> memory -> null sink) joins a fresh consumer group; the time
  runs from its assignment (the mock makes a new group's first join wait 3 s, reported apart)
  until EventAcceptedCount holds every record. Peer: `kcat -C -o beginning -e` of the topic
  (no group: it assigns the partitions itself), from its start until it exits at the end.
Each figure is the median of --repeat runs, variants interleaved. Peak RSS: VmHWM of the agent,
GNU time's %M for kcat. Prints a Markdown table and writes bench/results/kafka.json.
"""
import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
KCAT_X = ["-X", "message.timeout.ms=60000"]


def wait(cond, timeout, what, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(interval)


class Mock:
    def __init__(self, build, topics):
        self.p = subprocess.Popen([os.path.join(build, "ingestor_kafka_mock"), "1"]
                                  + [f"{t}:{n}" for t, n in topics.items()],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)
        self.bootstrap = self.p.stdout.readline().decode().strip()

    def stop(self):
        self.p.stdin.close()
        self.p.wait(10)


def timed_kcat(args, stdout=subprocess.DEVNULL):
    """Runs kcat under GNU time; returns (seconds, peak RSS KiB)."""
    with tempfile.NamedTemporaryFile() as tf:
        t0 = time.monotonic()
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf.name, "kcat"] + args,
                       stdout=stdout, stderr=subprocess.DEVNULL, check=True, timeout=600)
        dt = time.monotonic() - t0
        rss = int(open(tf.name).read().split()[-1])
    return dt, rss


class Agent:
    def __init__(self, build, tmp, config):
        self.tmp = tmp
        conf = os.path.join(tmp, "agent.conf")
        with open(conf, "w") as f:
            f.write(config)
        self.status = os.path.join(tmp, "status.json")
        self.log = open(os.path.join(tmp, "agent.log"), "wb")
        self.p = subprocess.Popen([os.path.join(build, "ingestor"), "agent", "-n", "a1", "-f", conf,
                                   "--status-file", self.status, "--metrics-port", "0",
                                   "--metrics-bind", "127.0.0.1"],
                                  stdout=self.log, stderr=subprocess.STDOUT)
        st = wait(lambda: os.path.exists(self.status) and open(self.status).read(), 30, "start")
        self.port = json.loads(st)["metrics_port"]

    def metrics(self, group):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as r:
            return json.loads(r.read())[group]

    def rss_kib(self):
        for line in open(f"/proc/{self.p.pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return 0

    def stop(self):
        self.p.terminate()
        self.p.wait(30)
        self.log.close()


def write_lines(path, n, size):
    with open(path, "wb") as f:
        for i in range(n):
            head = b"%010d " % i
            f.write(head + b"x" * (size - len(head) - 1) + b"\n")


def run_sink(build, bootstrap, lines_file, n, batch, topic):
    tmp = tempfile.mkdtemp(prefix="bench-kafka-")
    a = Agent(build, tmp, f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.ack-every-event = false
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = {n + 1000}
a1.channels.c1.transactionCapacity = {batch}
a1.sinks.k1.type = kafka
a1.sinks.k1.channel = c1
a1.sinks.k1.kafka.bootstrap.servers = {bootstrap}
a1.sinks.k1.kafka.topic = {topic}
a1.sinks.k1.flumeBatchSize = {batch}
""")
    try:
        port = json.load(open(a.status))["sources"]["r1"]["port"]
        with open(lines_file, "rb") as f:
            data = f.read()
        # Warm-up: the producer's first acknowledgement waits for its connections and, with the
        # idempotent producer, its producer id (about a second on the mock): not throughput.
        warm = data[:data.index(b"\n", 100 * 64) + 1]
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(warm)
        n_warm = warm.count(b"\n")
        wait(lambda: int(a.metrics("SINK.k1")["EventDrainSuccessCount"]) >= n_warm, 60, "warm-up")
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(data)
        wait(lambda: int(a.metrics("SINK.k1")["EventDrainSuccessCount"]) >= n + n_warm, 600,
             "sink", interval=0.01)
        dt = time.monotonic() - t0
        return {"seconds": dt, "records_per_s": n / dt, "rss_kib": a.rss_kib(),
                "send_ms": int(a.metrics("SINK.k1")["KafkaEventSendTimer"])}
    finally:
        a.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def run_source(build, bootstrap, n, batch, topic, group):
    tmp = tempfile.mkdtemp(prefix="bench-kafka-")
    t_start = time.monotonic()
    a = Agent(build, tmp, f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = kafka
a1.sources.r1.channels = c1
a1.sources.r1.kafka.bootstrap.servers = {bootstrap}
a1.sources.r1.kafka.topics = {topic}
a1.sources.r1.kafka.consumer.group.id = {group}
a1.sources.r1.kafka.consumer.auto.offset.reset = earliest
a1.sources.r1.batchSize = {batch}
a1.channels.c1.type = memory
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = {batch}
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
a1.sinks.k1.batchSize = {batch}
""")
    try:
        wait(lambda: any(k.startswith("KafkaConsumerLag.") for k in a.metrics("SOURCE.r1")),
             60, "assignment", interval=0.005)
        t0 = time.monotonic()
        wait(lambda: int(a.metrics("SOURCE.r1")["EventAcceptedCount"]) >= n, 600, "source",
             interval=0.01)
        dt = time.monotonic() - t0
        m = a.metrics("SOURCE.r1")
        return {"seconds": dt, "records_per_s": n / dt, "rss_kib": a.rss_kib(),
                "join_seconds": t0 - t_start, "commit_ms": int(m["KafkaCommitTimer"]),
                "get_ms": int(m["KafkaEventGetTimer"]), "batches": int(m["AppendBatchAcceptedCount"])}
    finally:
        a.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def med(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--partitions", type=int, default=8,
                    help="the mock keeps 5 MiB per partition: records x size / partitions must fit")
    args = ap.parse_args()
    n, parts = args.records, args.partitions
    tmp = tempfile.mkdtemp(prefix="bench-kafka-")
    lines_file = os.path.join(tmp, "lines.txt")
    write_lines(lines_file, n, args.size)
    mock = Mock(args.build, {f"sink{i}": parts for i in range(2 * args.repeat)} | {"src": parts})
    res = {"sink": [], "kcat_P": [], "source": [], "kcat_C": []}
    try:
        # The source's input, evenly over the partitions (the same lines as the sink's).
        per = n // parts
        with open(lines_file, "rb") as f:
            data = f.read().split(b"\n")[:-1]
        for p in range(parts):
            subprocess.run(["kcat", "-P", "-b", mock.bootstrap, "-t", "src", "-p", str(p)] + KCAT_X,
                           input=b"\n".join(data[p * per:(p + 1) * per]) + b"\n", check=True,
                           timeout=600)
        n_src = per * parts
        for r in range(args.repeat):
            dt, rss = timed_kcat(["-P", "-b", mock.bootstrap, "-t", f"sink{2 * r}", "-l",
                                  lines_file] + KCAT_X)
            res["kcat_P"].append({"seconds": dt, "records_per_s": n / dt, "rss_kib": rss})
            res["sink"].append(run_sink(args.build, mock.bootstrap, lines_file, n, args.batch,
                                        f"sink{2 * r + 1}"))
            dt, rss = timed_kcat(["-C", "-b", mock.bootstrap, "-t", "src", "-o", "beginning",
                                  "-e", "-q", "-f", "%s\n"])
            res["kcat_C"].append({"seconds": dt, "records_per_s": n_src / dt, "rss_kib": rss})
            res["source"].append(run_source(args.build, mock.bootstrap, n_src, args.batch, "src",
                                            f"bench{r}-{os.getpid()}"))
            print(f"repeat {r + 1}: " + ", ".join(f"{k} {v[-1]['records_per_s']:,.0f}/s"
                                                   for k, v in res.items()), file=sys.stderr)
    finally:
        mock.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    machine = f"{platform.node()}, {os.cpu_count()} CPUs, {platform.platform()}"
    print(f"\nKafka, {n:,} records of {args.size} B, batch {args.batch}, {parts} partitions, "
          f"mock cluster (1 broker); median of {args.repeat}; {machine}\n")
    print("| what | records/s | peak RSS | ratio to kcat |")
    print("| --- | ---: | ---: | ---: |")
    for ours, peer in (("sink", "kcat_P"), ("source", "kcat_C")):
        for k in (ours, peer):
            ratio = med(res[ours], "records_per_s") / med(res[peer], "records_per_s")
            print(f"| {k} | {med(res[k], 'records_per_s'):,.0f} | "
                  f"{med(res[k], 'rss_kib') / 1024:.1f} MiB | "
                  f"{ratio:.2f} |" if k == ours else
                  f"| {k} | {med(res[k], 'records_per_s'):,.0f} | "
                  f"{med(res[k], 'rss_kib') / 1024:.1f} MiB | 1.00 |")
    print(f"\n(source: a new group's first join took {med(res['source'], 'join_seconds'):.1f} s, "
          "not counted)")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "kafka.json"), "w") as f:
        json.dump({"args": vars(args), "machine": machine, "runs": res}, f, indent=1)


if __name__ == "__main__":
    main()
