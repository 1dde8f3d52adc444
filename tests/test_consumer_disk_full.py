"""`ingestor consumer` whose --download-dir is on a small tmpfs that fills up, with real processes:
`ingestor store` (on the ordinary temp dir) holds objects of a few MiB, more in total than the
volume holds; each is POSTed to the consumer as the relay would.

What a user relies on, checked here:
  - every POST is answered 202 (queued) while the queue can be written, and a clear 503 that
    queues nothing when it cannot (ledger on the full disk);
  - a download that finds the disk full fails, says so in the object's state (`lastError` with
    "No space left on device", `attempts` growing) and is retried; none becomes a dead letter
    while the retry budget lasts; the consumer keeps running;
  - no file under an object's final name is ever anything but that object's complete bytes
    (checked every 50 ms while the test runs), and temp files never outnumber the workers;
  - once an operator's post-processing moves finished files off the volume, every accepted
    object ends up downloaded exactly once (one --exec run per object, no file reappears after it
    was moved away), byte for byte, also across a SIGKILL while the disk was full;
  - the outcome of an attempt that ends while the ledger's own disk is full is recorded once
    space returns. (It used to be dropped with an error line: the row stayed `downloading` until
    a restart, never retried, or reported as in progress although its file was in place and then
    downloaded again after a restart. With the default --data-dir the consumer's own partial
    downloads trigger this; the last two tests reproduce both cases deterministically.)

Ledger location: `--data-dir` (consumer.db) defaults to <download-dir>/.ingestor-consumer, i.e.
the same full disk; the first test puts it on the ordinary temp dir, the others keep the default.

Retry budget: --retry-base-ms 100 --retry-max-ms 1000 (relay_harness) jitter each delay in
[d/2, d] with d = 100, 200, 400, 800, 1000, 1000, ... ms, so MAX_ATTEMPTS = 200 attempts take at
least 0.05 + 0.1 + 0.2 + 0.4 + 196 * 0.5 s = 98.75 s: longer than any disk-full phase here (the
whole test takes well under 60 s), so a dead letter is a bug, not bad luck.

The tmpfs needs CAP_SYS_ADMIN or unprivileged user namespaces (disk_full_harness.Volume);
without either the test is skipped with the reason.
"""
import hashlib
import os
import threading
import time
import unittest
import urllib.parse

from disk_full_harness import Volume
from harness import wait_for
from relay_harness import PipelineTestCase, TcpProxy, http_json

MiB = 1024 * 1024
VOLUME = "20m"
OBJECT = 3 * MiB  # + i bytes for object i
WORKERS = 2
MAX_ATTEMPTS = 200
BUCKET = "data"
ENOSPC = "No space left on device"


def notice(key, data, etag):
    return {"bucket": BUCKET, "key": key, "size": len(data), "etag": etag.strip('"'),
            "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}


class GateProxy(TcpProxy):
    """A TCP proxy to the store that holds every response until `gate` is set."""

    def __init__(self, target_port):
        self.gate = threading.Event()
        self.requests = 0
        super().__init__(target_port)

    def relay(self, data, to_client):
        if to_client:
            self.gate.wait(60)
        else:
            self.requests += 1

    def close(self):
        self.gate.set()
        super().close()


class Watcher(threading.Thread):
    """Looks at the volume every 50 ms: every file under a final name must hold the complete
    bytes of its object (md5s: key -> MD5 hex, kept up to date by the test), and `.ingestor-tmp`
    at most WORKERS partial downloads."""

    def __init__(self, vol, md5s):
        super().__init__(daemon=True)
        self.vol, self.md5s = vol, md5s
        self.problems, self.samples, self.max_tmp = [], 0, 0
        self.done = threading.Event()
        self.start()

    def run(self):
        while not self.done.wait(0.05):
            try:
                for name, md5 in self.vol.file_digests(BUCKET).items():
                    if self.md5s.get(name) != md5:
                        self.problems.append(f"{BUCKET}/{name} is not the object's bytes "
                                             f"(md5 {md5}) after {self.samples} samples")
                tmp = self.vol.listdir(".ingestor-tmp")
                self.max_tmp = max(self.max_tmp, len(tmp))
                if len(tmp) > WORKERS:
                    self.problems.append(f"{len(tmp)} temp files: {tmp}")
                self.samples += 1
            except Exception as e:  # reported by stop()
                self.problems.append(f"watcher: {e!r}")
            del self.problems[20:]

    def looks(self, n=3):
        """Until it has looked at the volume n more times (it does while the test waits)."""
        start = self.samples
        wait_for(lambda: self.samples >= start + n, 10, what=f"{n} looks at the volume")

    def stop(self):
        self.done.set()
        self.join(10)
        return self.problems


class ConsumerDiskFullTest(PipelineTestCase):
    def setUp(self):
        super().setUp()
        self.vol = Volume(os.path.join(self.tmp, "vol"), VOLUME)
        self.mode = self.vol.mount()
        self.download_dir = self.vol.path
        self.store = self.start_store()
        self.client = self.s3(self.store)
        self.client.create_bucket(Bucket=BUCKET)
        self.objects, self.etags, self.md5s = {}, {}, {}
        self.processed = {}  # keys whose file the "operator" checked and moved off the volume
        self.exec_log = os.path.join(self.tmp, "exec.log")
        self.hook = os.path.join(self.tmp, "hook.sh")
        with open(self.hook, "w") as f:
            f.write(f'#!/bin/sh\nprintf "%s\\n" "$1" >> {self.exec_log}\n')
        os.chmod(self.hook, 0o755)
        self.watcher = None
        self.t0 = time.monotonic()
        self.marks = []

    def tearDown(self):
        if self.watcher:
            self.watcher.stop()
        for p in self.procs:  # off the volume before it goes away (logs are printed below)
            if p.proc and p.proc.poll() is None:
                try:
                    p.stop()
                except AssertionError:
                    p.kill()
        self.vol.unmount()
        super().tearDown()

    def mark(self, what):
        self.marks.append(f"{what} {time.monotonic() - self.t0:.1f}s")

    # --- the pieces -----------------------------------------------------------------------

    def consumer(self, endpoint=None, args=(), name="consumer", workers=WORKERS):
        return self.start_consumer(endpoint or self.store.endpoint,
                                   ["--workers", str(workers), "--max-attempts", str(MAX_ATTEMPTS),
                                    "--exec", self.hook] + list(args),
                                   name=name, prefix=self.vol.prefix)

    def put(self, key, size):
        data = os.urandom(size)
        self.objects[key] = data
        self.md5s[key] = hashlib.md5(data).hexdigest()
        self.etags[key] = self.client.put_object(Bucket=BUCKET, Key=key, Body=data)["ETag"]
        return data

    def post(self, c, key):
        return http_json(c.port, "POST", "/objects",
                         notice(key, self.objects[key], self.etags[key]),
                         {"Content-Type": "application/json"})

    def state(self, c, key):
        st, body = http_json(c.port, "GET",
                             "/objects/" + urllib.parse.quote(f"{BUCKET}/{key}", safe="/"))
        if st == 404:
            return None
        self.assertEqual(st, 200, body)
        return body

    def states(self, c, keys=None):
        return {k: self.state(c, k) for k in (keys or self.objects)}

    def assert_object(self, key, data):
        if data != self.objects[key]:  # (not assertEqual: no diff of MiBs)
            self.fail(f"{key}: {len(data)} bytes, md5 {hashlib.md5(data).hexdigest()}, are not "
                      f"the object's {len(self.objects[key])} bytes, md5 {self.md5s[key]}")

    def alive(self, c):
        self.assertIsNone(c.proc.poll(), f"the consumer exited:\n{c.output()[-3000:]}")

    def wait_full(self, c, keys, after=None):
        """Until the volume has no room for another object and every queued object that is not
        done has failed an attempt on the full disk (and, with `after`, attempted again since
        those attempt counts): the state says why. Returns the states."""
        last = {}

        def full():
            ss = last["states"] = self.states(c, keys)
            waiting = {k: s for k, s in ss.items() if s and s["state"] != "done"}
            if not waiting or self.vol.free_bytes() >= OBJECT:
                return None
            for k, s in waiting.items():
                if s["state"] not in ("pending", "downloading"):
                    self.fail(f"{k} is {s['state']} on a full disk: {s}")
                if ENOSPC not in s.get("lastError", "") or s["attempts"] < 2:
                    return None
                if after and s["attempts"] <= after[k]:
                    return None
            return ss
        try:
            return wait_for(full, 30, interval=0.1, what="downloads failing on the full volume")
        except AssertionError as e:
            raise AssertionError(f"{e}; {self.vol.free_bytes()} bytes free; "
                                 f"states: {self.summary(last.get('states', {}))}")

    @staticmethod
    def summary(states):
        """(state, attempts, end of lastError) per key, for failure messages."""
        return {k: (s["state"], s["attempts"], s.get("lastError", "")[-60:]) if s else None
                for k, s in states.items()}

    def operator_pass(self, c):
        """Post-processing: every finished file is checked and moved off the volume."""
        moved = 0
        for k, s in self.states(c).items():
            if k in self.processed or not s or s["state"] != "done":
                continue
            self.assert_object(k, self.vol.read(f"{BUCKET}/{k}"))
            self.processed[k] = True
            self.vol.remove(f"{BUCKET}/{k}")
            moved += 1
        return moved

    def drain(self, c, keys, repost=()):
        """Operator passes until every key is done; `repost` (refused with 503 before) are POSTed
        again on each pass until accepted, as the relay retries a 5xx."""
        repost = set(repost)
        last = {}

        def all_done():
            for k in sorted(repost):
                st, body = self.post(c, k)
                if st == 202:
                    repost.discard(k)
                else:
                    self.assertEqual(st, 503, body)
            self.operator_pass(c)
            self.alive(c)
            ss = last["states"] = self.states(c, keys)
            for k, s in ss.items():
                if s and s["state"] == "failed":
                    self.fail(f"{k} became a dead letter: {s}")
            return not repost and all(s and s["state"] == "done" for s in ss.values()) and ss
        try:
            return wait_for(all_done, 40, interval=0.2, what="every object downloaded")
        except AssertionError as e:
            raise AssertionError(f"{e}; states: {self.summary(last.get('states', {}))}; "
                                 f"not accepted yet: {sorted(repost)}")

    def check_exactly_once(self, c, keys):
        """Every key done, once: its bytes (on the volume or already moved off it), one --exec run
        per object, nothing left in the temp dir, no dead letter."""
        on_volume = set(self.vol.file_digests(BUCKET))
        for k in keys:
            s = self.state(c, k)
            self.assertEqual(s["state"], "done", s)
            self.assertEqual(s["path"], os.path.join(self.download_dir, BUCKET, k))
            if k in self.processed:
                self.assertNotIn(k, on_volume, f"{k} was downloaded again after it was moved away")
            else:
                self.assert_object(k, self.vol.read(f"{BUCKET}/{k}"))
        self.assertEqual(on_volume - set(keys), set())
        with open(self.exec_log) as f:
            runs = f.read().splitlines()
        want = sorted(os.path.join(self.download_dir, BUCKET, k) for k in keys)
        self.assertEqual(sorted(runs), want, "one --exec run per object")
        self.assertEqual(self.vol.listdir(".ingestor-tmp"), [])
        st, body = http_json(c.port, "GET", "/objects?state=failed")
        self.assertEqual((st, body["objects"]), (200, []))
        m = self.metrics(c)
        self.assertEqual(m["deadLetters"], 0)
        self.assertEqual(m["states"].get("downloading", 0), 0)

    # --- the scenarios --------------------------------------------------------------------

    def test_full_download_dir_every_object_once_also_across_sigkill(self):
        """Ledger on the ordinary temp dir; 12 objects of ~3 MiB for a 20 MiB volume."""
        args = ["--data-dir", os.path.join(self.tmp, "ledger")]
        c = self.consumer(args=args)
        keys = [f"obj-{i:02d}" for i in range(12)]
        for i, k in enumerate(keys):
            self.put(k, OBJECT + i)
        self.watcher = Watcher(self.vol, self.md5s)
        for k in keys:
            st, body = self.post(c, k)
            self.assertEqual(st, 202, body)
            self.assertEqual(body["state"], "pending")

        ss = self.wait_full(c, keys)
        self.mark("full")
        done = sorted(k for k, s in ss.items() if s["state"] == "done")
        self.assertGreater(len(done), 0)
        self.assertLess(len(done), len(keys))
        m = self.metrics(c)
        self.assertGreater(m["attemptFailures"], 0)
        self.assertEqual((m["deadLetters"], m["states"]["failed"]), (0, 0))
        self.alive(c)
        self.watcher.looks()  # while the disk is full
        # A repeated notification is a no-op, full disk or not.
        for k in keys:
            st, body = self.post(c, k)
            self.assertEqual(st, 200, body)
            self.assertTrue(body["duplicate"])

        # SIGKILL while the disk is full (no download can finish now), restart on the same dirs.
        c.kill()
        self.mark("killed")
        c = self.consumer(args=args, name="consumer2")
        after = self.states(c, keys)
        for k in keys:
            self.assertEqual(after[k]["state"] == "done", k in done, after[k])
        self.wait_full(c, keys, after={k: s["attempts"] for k, s in after.items()})
        self.mark("full again after the restart")
        self.watcher.looks()
        self.assertEqual(sorted(k for k, s in self.states(c, keys).items()
                                if s["state"] == "done"), done)

        # The operator moves finished files away; space returns, the queue drains.
        ss = self.drain(c, keys)
        self.mark("drained")
        for k, s in ss.items():
            self.assertEqual(s["deliveries"], 2, s)
            if k not in done:
                self.assertGreater(s["attempts"], 2, s)  # failed before, retried
        self.check_exactly_once(c, keys)
        problems = self.watcher.stop()
        self.assertEqual(problems, [])
        self.alive(c)
        c.stop()
        self.assertEqual(c.proc.returncode, 0)
        print(f"\n[{self.mode}] {len(keys)} objects, {self.watcher.samples} looks at the volume "
              f"(at most {self.watcher.max_tmp} temp files); {', '.join(self.marks)}")

    def test_full_disk_holding_the_ledger_refuses_posts_then_recovers(self):
        """Default --data-dir: the ledger shares the full volume. Downloads fill it, then another
        writer takes the last bytes: ledger writes fail, so POSTs are refused with a 503 that
        queues nothing; once space returns every accepted object is downloaded once, and every
        refused one once the relay re-POSTs it."""
        c = self.consumer()
        self.assertIn("consumer.db", self.vol.listdir(".ingestor-consumer"))
        keys = [f"obj-{i:02d}" for i in range(9)]
        for i, k in enumerate(keys):
            self.put(k, OBJECT + i)
        self.watcher = Watcher(self.vol, self.md5s)
        refused = []
        for k in keys:
            st, body = self.post(c, k)
            if st != 202:  # a partial download may hold the last bytes at this moment
                self.assertEqual(st, 503, body)
                self.assertIn("full", body["error"])
                refused.append(k)
        self.wait_full(c, [k for k in keys if k not in refused])
        self.mark("full")
        self.watcher.looks()

        # Another writer takes what is left: now the ledger cannot grow either.
        probes, fillers = [], []

        def refused_probe():
            fillers.append(f"filler-{len(fillers)}")
            try:
                self.vol.fill(fillers[-1])
            except AssertionError:  # a partial download took the bytes first
                pass
            k = f"probe-{len(probes)}"
            self.put(k, 1000)
            probes.append(k)
            st, body = self.post(c, k)
            if st == 202:
                return None
            self.assertEqual(st, 503, body)
            return body
        body = wait_for(refused_probe, 20, interval=0.1, what="a POST refused on a full ledger")
        self.mark("ledger full")
        self.assertIn("database or disk is full", body["error"])
        self.assertIsNone(self.state(c, probes[-1]), "a refused POST must queue nothing")
        refused.append(probes[-1])
        self.alive(c)
        self.watcher.looks()
        self.assertEqual(http_json(c.port, "GET", "/healthz")[0], 200)
        self.assertEqual(self.metrics(c)["deadLetters"], 0)

        for f in fillers:
            if f in self.vol.listdir():
                self.vol.remove(f)
        all_keys = keys + probes
        self.drain(c, all_keys, repost=refused)
        self.mark("drained")
        self.check_exactly_once(c, all_keys)
        self.assertEqual(self.watcher.stop(), [])
        c.stop()
        self.assertEqual(c.proc.returncode, 0)
        print(f"\n[{self.mode}] {len(all_keys)} objects, {len(refused)} refused with 503 first, "
              f"{self.watcher.samples} looks at the volume; {', '.join(self.marks)}")

    def attempt_ends_on_a_full_ledger(self, leave, write):
        """One object; its GetObject is held by a gate while the test fills the volume but `leave`
        bytes, then released: the attempt ends (fails, or succeeds when `leave` fits the object)
        but the ledger (default --data-dir, on the volume) cannot record it. Space returns: the
        object must end done, downloaded once, and stay so across a restart."""
        proxy = GateProxy(self.store.port)
        self.addCleanup(proxy.close)
        c = self.consumer(f"http://127.0.0.1:{proxy.port}", workers=1)
        self.put("x", MiB + 5)
        st, body = self.post(c, "x")
        self.assertEqual(st, 202, body)
        wait_for(lambda: proxy.requests > 0 and self.state(c, "x")["state"] == "downloading", 10,
                 what="the GetObject at the gate")
        self.vol.fill("filler", leave=leave)
        proxy.gate.set()
        wait_for(lambda: f"{write}: database or disk is full" in c.output(), 10,
                 what=f"the ledger's {write} failing on the full volume")
        self.alive(c)
        self.vol.remove("filler")
        s = self.wait_done(c, BUCKET, "x", timeout=15)
        self.assert_object("x", self.vol.read(f"{BUCKET}/x"))
        self.assertEqual(self.metrics(c)["deadLetters"], 0)
        c.stop()
        self.assertEqual(c.proc.returncode, 0)
        c = self.consumer(name="consumer2")  # a restart must not download it again
        self.assertEqual(self.state(c, "x")["attempts"], s["attempts"])
        self.check_exactly_once(c, ["x"])

    def test_failed_attempt_is_retried_once_the_ledger_has_room(self):
        self.attempt_ends_on_a_full_ledger(leave=0, write="mark retry")

    def test_finished_download_is_marked_done_once_the_ledger_has_room(self):
        self.attempt_ends_on_a_full_ledger(leave=((MiB + 5 + 4095) // 4096) * 4096,
                                           write="mark done")


if __name__ == "__main__":
    unittest.main()
