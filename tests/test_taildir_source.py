"""taildir source against the real agent: logrotate rotations, partial lines, deletions, 1,000
files, new files, restarts, Flume's position file, and SIGKILL at random moments.

Pipelines are taildir -> memory (or file) channel -> file_roll. The kill tests put a `uuid`
interceptor on the source and write the output with header_and_text: a line the sink wrote twice
(file_roll is at-least-once) carries the same id twice, a line the source read twice carries two
ids. So the source's duplicates are counted apart from the sink's.
"""
import collections
import glob
import json
import os
import random
import shutil
import subprocess
import threading
import time
import unittest

from harness import BIN, Agent, AgentTestCase, run_agent_once, wait_for

LOGROTATE = shutil.which("logrotate") or "/usr/sbin/logrotate"


def config(logs, out, pos, pattern=r"app\.log", channel="memory", extra="", chan_dir=None):
    chan = ("a1.channels.c1.type = memory\n"
            "a1.channels.c1.capacity = 100000\n"
            "a1.channels.c1.transactionCapacity = 1000\n")
    if channel == "file":
        chan = (f"a1.channels.c1.type = file\n"
                f"a1.channels.c1.checkpointDir = {chan_dir}/checkpoint\n"
                f"a1.channels.c1.dataDirs = {chan_dir}/data\n"
                f"a1.channels.c1.capacity = 100000\n"
                f"a1.channels.c1.transactionCapacity = 1000\n"
                f"a1.channels.c1.minimumRequiredSpace = 1048576\n")
    return f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = TAILDIR
a1.sources.r1.channels = c1
a1.sources.r1.filegroups = g1
a1.sources.r1.filegroups.g1 = {logs}/{pattern}
a1.sources.r1.positionFile = {pos}
a1.sources.r1.maxBackoffSleep = 200
a1.sources.r1.backoffSleepIncrement = 50
{extra}
{chan}
a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = {out}
a1.sinks.k1.sink.rollInterval = 0
"""


def output_lines(out):
    lines = []
    for f in sorted(glob.glob(os.path.join(out, "*"))):
        with open(f, "rb") as fh:
            data = fh.read()
        lines += data.split(b"\n")[:-1]  # an unfinished last line is not a line yet
    return lines


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def positions(path):
    text = read_text(path)
    return json.loads(text) if text else []


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class TaildirBase(AgentTestCase):
    def setUp(self):
        super().setUp()
        self.logs = os.path.join(self.tmp, "logs")
        self.out = os.path.join(self.tmp, "out")
        self.pos = os.path.join(self.tmp, "state", "taildir_position.json")
        os.makedirs(self.logs)
        os.makedirs(self.out)

    def agent(self, **kw):
        extra = kw.pop("extra", "")
        home = os.path.join(self.tmp, f"agent{len(self.agents)}")
        os.makedirs(home)
        a = Agent(config(self.logs, self.out, self.pos, extra=extra, **kw), tmp=home)
        self.agents.append(a)
        return a

    def append(self, name, text):
        with open(os.path.join(self.logs, name), "ab") as f:
            f.write(text if isinstance(text, bytes) else text.encode())

    def wait_output(self, expected, timeout=30):
        """Waits until the output holds `expected` (a Counter of lines), then checks exactly."""
        want = collections.Counter(expected)
        try:
            wait_for(lambda: collections.Counter(output_lines(self.out)) >= want, timeout,
                     what=f"{len(expected)} lines in the output")
        except AssertionError:
            missing = want - collections.Counter(output_lines(self.out))
            raise AssertionError(f"{sum(missing.values())} lines missing, e.g. "
                                 f"{sorted(missing)[:5]}; logs: {sorted(os.listdir(self.logs))}")
        self.assertEqual(collections.Counter(output_lines(self.out)), want)

    def logrotate(self, directives):
        conf = os.path.join(self.tmp, "logrotate.conf")
        with open(conf, "w") as f:
            f.write(f"{self.logs}/app.log {{\n  rotate 10\n  missingok\n  nocompress\n"
                    f"{directives}\n}}\n")
        state = os.path.join(self.tmp, "logrotate.state")
        p = subprocess.run([LOGROTATE, "-f", "-s", state, conf], capture_output=True, timeout=20)
        self.assertEqual(p.returncode, 0, p.stderr.decode())


class TaildirTest(TaildirBase):
    def test_logrotate_create_rotation_while_writing(self):
        """Rename rotation (logrotate, the writer creating app.log again) while a writer appends:
        the renamed file is read to its end, the new one from 0, every line exactly once."""
        self.append("app.log", "")
        self.agent().start()
        lines = [f"line-{i:05d}" for i in range(3000)]
        written = []

        def writer():  # reopens the file for every line, as a logger that follows rotations
            for i, line in enumerate(lines):
                self.append("app.log", line + "\n")
                written.append(line.encode())
                if i % 20 == 0:
                    time.sleep(0.002)  # pacing, not a wait
        t = threading.Thread(target=writer, daemon=True)
        t.start()
        n = 0
        for _ in range(3):
            # The agent has read from the live file before it is rotated (a file created and
            # rotated away before the agent ever listed it cannot be found again by name).
            wait_for(lambda: len(written) > n, 10, what="a line written since the last rotation")
            last = written[-1]
            wait_for(lambda: last in output_lines(self.out), 10, what="the agent reading app.log")
            self.logrotate("  nocreate")  # the writer creates app.log again itself
            n = len(written)
        t.join(60)
        self.assertGreaterEqual(len(glob.glob(os.path.join(self.logs, "app.log.*"))), 3)
        self.wait_output([l.encode() for l in lines])

    def test_logrotate_copytruncate(self):
        first = [f"a-{i}" for i in range(500)]
        self.append("app.log", "".join(l + "\n" for l in first))
        self.agent().start()
        self.wait_output([l.encode() for l in first])
        self.logrotate("  copytruncate")
        self.assertEqual(os.path.getsize(os.path.join(self.logs, "app.log")), 0)
        second = [f"b-{i}" for i in range(200)]
        self.append("app.log", "".join(l + "\n" for l in second))
        self.wait_output([l.encode() for l in first + second])

    def test_partial_line_completed_later_and_sent_when_idle(self):
        a = self.agent(pattern=r".*\.log", extra="a1.sources.r1.idleTimeout = 1500")
        self.append("app.log", "abc")
        self.append("idle.log", "first\n")
        a.start()
        self.wait_output([b"first"])  # app.log was read too: its partial line was held
        self.append("app.log", "def\nnext\n")
        self.wait_output([b"first", b"abcdef", b"next"])
        self.append("idle.log", "no newline")
        self.wait_output([b"first", b"abcdef", b"next", b"no newline"], timeout=15)

    def test_deleted_file(self):
        a = self.agent(pattern=r".*\.log")
        self.append("gone.log", "g1\n")
        a.start()
        self.wait_output([b"g1"])
        self.append("gone.log", "g2\n")
        os.unlink(os.path.join(self.logs, "gone.log"))
        self.append("other.log", "o1\n")
        self.wait_output([b"g1", b"g2", b"o1"])  # g2 read through the descriptor still open
        wait_for(lambda: "gone.log" not in read_text(self.pos),
                 10, what="the deleted file's entry erased")

    def test_thousand_files_bounded_memory_and_descriptors(self):
        a = self.agent(pattern=r"f-.*", extra="a1.sources.r1.idleTimeout = 2000")
        a.start()
        base = rss_kb(a.proc.pid)
        expected = []
        for i in range(1000):
            body = "".join(f"f{i}-l{j} {'x' * 60}\n" for j in range(20))
            self.append(f"f-{i}", body)
            expected += [l.encode() for l in body.splitlines()]
        self.wait_output(expected, timeout=60)
        grown = rss_kb(a.proc.pid) - base
        self.assertLess(grown, 64 * 1024, f"RSS grew by {grown} KiB for 1,000 files")
        fds = lambda: len(os.listdir(f"/proc/{a.proc.pid}/fd"))
        wait_for(lambda: fds() < 100, 20, what="idle files' descriptors closed")

    def test_new_files_appear(self):
        self.agent(pattern=r".*").start()
        for i in range(5):
            self.append(f"new-{i}", f"n{i}\n")
        self.wait_output([f"n{i}".encode() for i in range(5)])

    def test_resume_after_clean_restart(self):
        first = [f"r1-{i}" for i in range(300)]
        self.append("app.log", "".join(l + "\n" for l in first))
        a = self.agent()
        a.start()
        self.wait_output([l.encode() for l in first])
        self.assertEqual(a.stop(), 0)
        second = [f"r2-{i}" for i in range(300)]
        self.append("app.log", "".join(l + "\n" for l in second))
        a.start()
        self.wait_output([l.encode() for l in first + second])

    def test_resumes_at_flume_1_11_positions(self):
        path = os.path.join(self.logs, "app.log")
        self.append("app.log", "".join(f"l{i}\n" for i in range(10)))  # 3 bytes a line
        ino = os.stat(path).st_ino
        os.makedirs(os.path.dirname(self.pos))
        with open(self.pos, "w") as f:  # as Flume 1.11 writes it: Gson, one line, no newline
            f.write(f'[{{"inode":{ino},"pos":12,"file":"{path}"}}]')
        self.agent().start()
        self.wait_output([f"l{i}".encode() for i in range(4, 10)])
        want = f'[{{"inode":{ino},"pos":30,"file":"{path}"}}]'
        wait_for(lambda: read_text(self.pos) == want, 10, what=f"position file {want}")

    def test_malformed_position_file_stops_the_start(self):
        os.makedirs(os.path.dirname(self.pos))
        with open(self.pos, "w") as f:
            f.write('[{"inode":1,"pos":')
        code, out = run_agent_once(config(self.logs, self.out, self.pos))
        self.assertNotEqual(code, 0)
        self.assertIn(self.pos, out)

    def test_describe(self):
        for t in ("TAILDIR", "taildir", "org.apache.flume.source.taildir.TaildirSource"):
            p = subprocess.run([BIN, "agent", "--describe", t], capture_output=True, timeout=20)
            self.assertEqual(p.returncode, 0, p.stderr)
            for key in (b"filegroups", b"positionFile", b"idleTimeout", b"fileHeaderKey"):
                self.assertIn(key, p.stdout)


KILL_EXTRA = """a1.sources.r1.batchSize = 50
a1.sources.r1.idleTimeout = 2000
a1.sources.r1.interceptors = u
a1.sources.r1.interceptors.u.type = uuid
a1.sinks.k1.sink.serializer = header_and_text
a1.sinks.k1.sink.batchSize = 20
"""


def ids_by_line(out):
    """{body: set of ids} from header_and_text lines '{id=...} body'."""
    seen = collections.defaultdict(set)
    for line in output_lines(out):
        head, _, body = line.partition(b"} ")
        seen[body].add(head)
    return seen


class TaildirKillTest(TaildirBase):
    def writer(self, stop, rotate_when=None, rng=None):
        """Appends numbered 9-byte lines until `stop`; rotates (rename, never delete) when
        rotate_when() says so. Returns the thread and the list of lines written."""
        written = []

        def run():
            n, rotations = 0, 0
            while not stop.is_set():
                with open(os.path.join(self.logs, "app.log"), "ab") as f:
                    for _ in range(rng.randint(1, 30)):
                        f.write(f"{n:08d}\n".encode())
                        written.append(f"{n:08d}".encode())
                        n += 1
                if rotate_when and rotate_when():
                    rotations += 1
                    os.rename(os.path.join(self.logs, "app.log"),
                              os.path.join(self.logs, f"app.log.{rotations}"))
                time.sleep(0.002)  # pacing of the writer, not a wait for a condition
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, written

    def test_sigkill_memory_channel_loses_no_line_it_had_not_committed(self):
        """kill -9 with the memory channel and the position file: lines after the last written
        position are read again (nothing skipped); the source re-sends at most one batch per kill.
        Lines the memory channel held at the kill die with it, as in Flume: they are allowed to
        be missing only when the position file had them before the kill."""
        rng = random.Random(19)
        self.append("app.log", "")
        a = self.agent(extra=KILL_EXTRA)
        stop = threading.Event()
        a.start()
        t, written = self.writer(stop, rng=rng)
        kills, committed_at_kill, out_at_kill = 5, [], []
        for _ in range(kills):
            time.sleep(rng.uniform(0.2, 0.8))  # a random moment while the writer appends
            a.kill()
            committed_at_kill.append(max((e["pos"] for e in positions(self.pos)), default=0))
            out_at_kill.append(set(ids_by_line(self.out)))
            a.start()
        stop.set()
        t.join(10)
        total = len(written)
        wait_for(lambda: max((e["pos"] for e in positions(self.pos)), default=0) == 9 * total, 30,
                 what="the source at the end of the file")
        after_last_kill = [l for l in written if int(l) * 9 >= committed_at_kill[-1]]
        wait_for(lambda: all(l in ids_by_line(self.out) for l in after_last_kill), 30,
                 what="the lines read after the last kill in the output")
        a.stop()
        seen = ids_by_line(self.out)
        missing = [l for l in written if l not in seen]
        for line in missing:  # must have been in the channel when some kill happened
            off = int(line) * 9
            self.assertTrue(any(off < c and line not in o
                                for c, o in zip(committed_at_kill, out_at_kill)),
                            f"line {line} lost though no kill found it committed")
        source_dups = sum(len(ids) - 1 for ids in seen.values())
        self.assertLessEqual(source_dups, kills * 50, "more than one batch re-sent per kill")
        self.assertGreater(total, 500)
        print(f"memory channel: {total} lines, {len(missing)} lost with the channel, "
              f"{source_dups} re-sent by the source over {kills} kills")

    def test_sigkill_file_channel_every_line_exactly_once(self):
        """kill -9 at >= 20 random moments while a writer appends and rotates: with the positions
        in the file channel's commit records, every line is in the channel exactly once (one id
        per line; the sink's own redeliveries repeat an id)."""
        rng = random.Random(1919)
        self.append("app.log", "")
        chan = os.path.join(self.tmp, "chan")
        a = self.agent(extra=KILL_EXTRA, channel="file", chan_dir=chan)
        up = threading.Event()
        last_rotation = [time.monotonic()]

        def rotate_when():  # one rotation at most per agent life, never two while it is down
            if up.is_set() and time.monotonic() - last_rotation[0] > rng.uniform(0.3, 1.0):
                last_rotation[0] = time.monotonic()
                up.clear()
                return True
            return False
        stop = threading.Event()
        a.start()
        up.set()
        t, written = self.writer(stop, rotate_when=rotate_when, rng=rng)
        kills = 20
        for _ in range(kills):
            time.sleep(rng.uniform(0.1, 0.6))
            a.kill()
            a.start()
            up.set()
        stop.set()
        t.join(10)
        wait_for(lambda: all(l in ids_by_line(self.out) for l in written[-50:]) and
                 len(ids_by_line(self.out)) >= len(written), 60,
                 what="every written line in the output")
        a.stop()
        seen = ids_by_line(self.out)
        self.assertEqual([l for l in written if l not in seen], [], "lines lost")
        twice = {l: ids for l, ids in seen.items() if len(ids) > 1}
        self.assertEqual(len(twice), 0,
                         f"{len(twice)} lines the source put twice, e.g. {sorted(twice)[:5]}")
        self.assertEqual(len(seen), len(written))


if __name__ == "__main__":
    unittest.main()
