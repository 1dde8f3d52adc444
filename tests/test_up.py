"""`ingestor up`: the four roles in one process, from a pipeline.properties, end to end."""
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import unittest

from harness import BIN, HERE, http, wait_for

REPO = os.path.dirname(HERE)


def pipeline_for_test(tmp, extra="", drop=()):
    """conf/pipeline.properties with every port on 0 and a 1-second roll, without the keys in
    `drop`, then the `extra` lines (a key given again there overrides the file's: the last one
    wins)."""
    with open(os.path.join(REPO, "conf", "pipeline.properties")) as f:
        text = "".join(ln for ln in f if not ln.startswith(tuple(k + " " for k in drop)))
    text = re.sub(r"(\.listen = 127\.0\.0\.1:)\d+", r"\g<1>0", text)
    text = re.sub(r"(Src\.port = )\d+", r"\g<1>0", text)
    text = text.replace("bind = 0.0.0.0", "bind = 127.0.0.1")
    text = text.replace("monitoring.port = 41414", "monitoring.port = 0")
    text = text.replace("hdfs.rollInterval = 5", "hdfs.rollInterval = 1")
    path = os.path.join(tmp, "pipeline.properties")
    with open(path, "w") as f:
        f.write(text + "\n" + extra)
    return path


class UpCase(unittest.TestCase):
    """A temp dir per test; start_up() runs `ingestor up` on it, run_up_once() runs it expecting
    an exit; tearDown kills what is still running."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ingestor-up-")
        self.data = os.path.join(self.tmp, "data")
        self.status = os.path.join(self.tmp, "status.json")
        self.out = open(os.path.join(self.tmp, "up.log"), "ab")
        self.proc = None

    def command(self, extra, drop=()):
        return [BIN, "up", "-f", pipeline_for_test(self.tmp, extra, drop), "--data-dir",
                self.data, "--status-file", self.status]

    @staticmethod
    def env():
        return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}

    def start_up(self, extra="", drop=(), command=None, cwd=None):
        """Starts `ingestor up` (again, after a stop: same data dir) and returns its status."""
        if os.path.exists(self.status):
            os.unlink(self.status)
        self.proc = subprocess.Popen(command or self.command(extra, drop), stdout=self.out,
                                     stderr=subprocess.STDOUT, env=self.env(), cwd=cwd)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("ingestor up exited: " + self.log())
            if os.path.exists(self.status):
                with open(self.status) as f:
                    return json.load(f)
            return None
        self.st = wait_for(ready, 30, what="ingestor up")
        return self.st

    def run_up_once(self, extra, timeout=20):
        """Runs `ingestor up` expecting it to exit (a configuration error): (code, output)."""
        p = subprocess.run(self.command(extra), capture_output=True, env=self.env(),
                           timeout=timeout)
        return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")

    def stop_up(self):
        """Ctrl-C (SIGINT): stops cleanly, with exit code 0."""
        self.proc.send_signal(signal.SIGINT)
        self.assertEqual(self.proc.wait(60), 0)

    def log(self):
        self.out.flush()
        with open(os.path.join(self.tmp, "up.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def tearDown(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.out.close()
        import shutil
        shutil.rmtree(self.tmp, ignore_errors=True)

    def s3(self, access_key=None, secret_key=None):
        """boto3 on the embedded store, with the keys `up` generated; no retries."""
        from store_harness import require_boto3
        require_boto3()
        import boto3
        from botocore.config import Config
        creds = self.credentials()
        return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{self.st['store_port']}",
                            region_name="us-east-1",
                            aws_access_key_id=access_key or creds["store.accessKey"],
                            aws_secret_access_key=secret_key or creds["store.secretKey"],
                            config=Config(retries={"total_max_attempts": 1}))

    def credentials(self, data=None):
        with open(os.path.join(data or self.data, "credentials.json")) as f:
            return json.load(f)

    def downloaded(self, data=None):
        root = os.path.join(data or self.data, "downloads", "ingestor")
        data = b""
        for dirpath, _, files in sorted(os.walk(root)):
            for f in sorted(files):
                with open(os.path.join(dirpath, f), "rb") as fh:
                    data += fh.read()
        return data

    def send_lines(self, lines):
        """Sends newline-terminated lines to the netcat source; returns once each was acked."""
        s = socket.create_connection(("127.0.0.1", self.st["netcat_port"]), timeout=10)
        s.sendall(lines)
        n = lines.count(b"\n")
        got = b""
        while got.count(b"\n") < n:
            chunk = s.recv(4096)
            self.assertTrue(chunk, f"connection closed after {got!r}")
            got += chunk
        s.close()
        self.assertEqual(got, b"OK\n" * n)


class UpTest(UpCase):
    def setUp(self):
        super().setUp()
        self.start_up()

    def test_lines_and_json_arrive_in_downloads_byte_for_byte(self):
        lines = b"".join(b"up-line-%03d\n" % i for i in range(100))
        self.send_lines(lines)
        st, _, _ = http(self.st["http_port"], "POST", "/",
                        json.dumps([{"headers": {}, "body": "up-json-1"}]).encode())
        self.assertEqual(st, 200)
        data = wait_for(lambda: (lambda d: d.count(b"\n") >= 101 and d)(self.downloaded()),
                        timeout=60, what="101 lines under the download directory")
        self.assertEqual(sorted(data.split(b"\n")[:-1]),
                         sorted(lines.split(b"\n")[:-1] + [b"up-json-1"]))
        # The agent uploads with a CRC32C, against which the consumer checked every download
        # (the counters move just after a file lands: wait for them to settle).
        def consumer_metrics():
            st, _, body = http(self.st["consumer_port"], "GET", "/metrics")
            self.assertEqual(st, 200)
            return json.loads(body)["consumer"]
        m = wait_for(lambda: (lambda m: m["downloads"] >= 1 and
                              sum(m["verified"].values()) == m["downloads"] and m)(
                                  consumer_metrics()), 20, what="consumer counters")
        self.assertEqual(m["verified"]["checksum"], m["downloads"], m["verified"])
        out = self.log()
        self.assertIn("nc -q1 localhost", out)
        self.assertIn("curl -d", out)
        # Ctrl-C (SIGINT) stops it cleanly.
        self.stop_up()

    def test_the_relay_takes_only_the_stores_notifications(self):
        """The embedded store's notifications carry a token made for this run (the line above
        went through); anybody else's POST to the relay is refused with 401."""
        event = json.dumps({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3",
                                         "eventName": "ObjectCreated:Put",
                                         "s3": {"bucket": {"name": "ingestor"},
                                                "object": {"key": "forged", "size": 1,
                                                           "eTag": "0" * 32}}}]}).encode()
        for headers in ({}, {"Authorization": "Bearer " + "0" * 64}):
            st, _, body = http(self.st["relay_port"], "POST", "/", event, headers)
            self.assertEqual(st, 401, body)
        st, _, body = http(self.st["relay_port"], "GET", "/metrics")
        relay = json.loads(body)["relay"]
        self.assertEqual((relay["unauthorized"], relay["notifications"]), (2, 0))


class UpConfigTest(UpCase):
    """The store.*, relay.*, consumer.* and monitoring.port keys, checked before anything
    starts."""

    def test_a_bad_number_stops_up_with_exit_code_2_naming_the_key_and_the_range(self):
        for line, message in (
                ("consumer.workers = abc",
                 'consumer.workers = "abc": expected a whole number from 1 to 256'),
                ("monitoring.port = 99999",  # was wrapped to port 34463
                 'monitoring.port = "99999": expected a whole number from 0 to 65535'),
                ("store.minFreeSpace = -1",
                 'store.minFreeSpace = "-1": expected a whole number of bytes, 0 or more')):
            with self.subTest(line):
                code, out = self.run_up_once(line + "\n")
                self.assertEqual(code, 2, out)
                self.assertIn("ingestor up: " + message, out)
                self.assertNotIn("the pipeline is running", out)
                self.assertFalse(os.path.exists(self.status))
                self.assertFalse(os.path.exists(self.data), "created before the config was checked")

    def test_relay_webhook_token_from_the_configuration(self):
        code, out = self.run_up_once("relay.webhookToken = short\n")
        self.assertEqual(code, 2, out)
        self.assertIn("ingestor up: relay.webhookToken: the token is 5 characters", out)
        token = "configured-token-0123456789abcdef"
        self.start_up(f"relay.webhookToken = {token}\n")
        test_event = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent",
                                 "Bucket": "ingestor"}).encode()
        st, _, body = http(self.st["relay_port"], "POST", "/", test_event)
        self.assertEqual(st, 401, body)
        st, _, body = http(self.st["relay_port"], "POST", "/", test_event,
                           {"Authorization": "Bearer " + token})
        self.assertEqual(st, 200, body)
        self.send_lines(b"with-a-configured-token\n")
        wait_for(lambda: self.downloaded() == b"with-a-configured-token\n", 60,
                 what="the line under the download directory")
        self.assertNotIn(token, self.log())

    def test_an_unknown_key_is_a_warning_and_the_pipeline_still_runs(self):
        self.start_up("consumer.worker = 8\n")
        warnings = [ln for ln in self.log().splitlines() if "unknown key consumer.worker " in ln]
        self.assertEqual(len(warnings), 1, self.log())
        self.assertIn("the consumer.* keys are: consumer.listen, consumer.workers", warnings[0])
        self.assertNotIn("store.endpoint", self.log())  # set by up itself: known, no warning
        self.send_lines(b"typo-tolerated\n")
        wait_for(lambda: self.downloaded() == b"typo-tolerated\n", 60,
                 what="the line under the download directory")

    def sink_metrics(self):
        st, _, body = http(self.st["metrics_port"], "GET", "/metrics")
        self.assertEqual(st, 200)
        return {k: int(v) for k, v in json.loads(body)["SINK.s3Sink"].items() if v.isdigit()}

    def test_store_min_free_space_refuses_new_data_with_507_and_serves_what_is_stored(self):
        from botocore.exceptions import ClientError
        # A first run without a floor stores (and delivers) one object.
        self.start_up()
        self.send_lines(b"before-the-floor\n")
        wait_for(lambda: self.downloaded() == b"before-the-floor\n", 60,
                 what="the first object under the download directory")
        keys = [o["Key"] for o in self.s3().list_objects_v2(Bucket="ingestor")["Contents"]]
        self.assertEqual(len(keys), 1, keys)
        self.stop_up()
        # Again on the same data, with a floor no disk can keep (1 EiB).
        self.start_up("store.minFreeSpace = %d\n" % (1 << 60))
        s3 = self.s3()
        with self.assertRaises(ClientError) as cm:
            s3.put_object(Bucket="ingestor", Key="new", Body=b"x" * 1024)
        err = cm.exception.response
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 507)
        self.assertEqual(err["Error"]["Code"], "InsufficientStorage")
        self.assertIn("store.minFreeSpace", err["Error"]["Message"])  # the key to change
        self.assertEqual(s3.get_object(Bucket="ingestor", Key=keys[0])["Body"].read(),
                         b"before-the-floor\n")
        # The agent's next object is refused too: it stays staged for a retry, and the bucket
        # still holds the first object only.
        self.send_lines(b"after-the-floor\n")
        m = wait_for(lambda: (lambda m: m["UploadFailures"] >= 1 and m)(self.sink_metrics()), 30,
                     what="a refused upload in the sink's metrics")
        self.assertGreaterEqual(m["UploadsPending"], 1)
        self.assertEqual(m["ObjectsUploaded"], 0)
        # The sink shows as failing (status page, IngestorSinkFailing) though process() succeeds.
        self.assertGreaterEqual(m["UploadErrorsInARow"], 1)
        self.assertEqual(m["ConsecutiveErrors"], 0)
        self.assertEqual(m["DeadLetterCount"], 0)
        self.assertEqual([o["Key"] for o in s3.list_objects_v2(Bucket="ingestor")["Contents"]],
                         keys)
        self.assertEqual(self.downloaded(), b"before-the-floor\n")


def listening_ips(port):
    """The IPv4 addresses with a TCP socket listening on `port` (/proc/net/tcp)."""
    ips = set()
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            addr, p = fields[1].split(":")
            if int(p, 16) == port and fields[3] == "0A":
                ips.add(socket.inet_ntoa(bytes.fromhex(addr)[::-1]))
    return ips


DEFAULT_PORTS = (44444, 8080, 41414, 9000, 9100, 9200)


class UpAnywhereTest(UpCase):
    """`ingestor up` outside the repository: the built-in configuration, generated credentials,
    sources on loopback."""

    def test_print_config_is_conf_pipeline_properties_byte_for_byte(self):
        p = subprocess.run([BIN, "up", "--print-config"], capture_output=True, timeout=20)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(REPO, "conf", "pipeline.properties"), "rb") as f:
            self.assertEqual(p.stdout, f.read())

    def test_the_shipped_configuration_has_no_credentials_and_binds_loopback(self):
        with open(os.path.join(REPO, "conf", "pipeline.properties")) as f:
            props = dict(ln.split("=", 1) for ln in f.read().splitlines()
                         if "=" in ln and not ln.startswith("#"))
        props = {k.strip(): v.strip() for k, v in props.items()}
        for key in ("store.accessKey", "store.secretKey", "relay.secret"):
            self.assertEqual(props[key], "", key)
        binds = {k: v for k, v in props.items() if k.endswith(".bind")}
        self.assertEqual(set(binds.values()), {"127.0.0.1"}, binds)

    def test_credentials_are_generated_0600_reused_and_only_their_path_is_printed(self):
        from botocore.exceptions import ClientError
        self.start_up()
        path = os.path.join(self.data, "credentials.json")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        creds = self.credentials()
        self.assertLessEqual({"store.accessKey", "store.secretKey", "relay.secret"}, set(creds))
        self.assertGreaterEqual(len(creds["store.secretKey"]), 40)
        self.assertGreaterEqual(len(creds["relay.secret"]), 64)
        out = self.log()
        self.assertIn("credentials: " + path, out)
        for v in creds.values():
            self.assertNotIn(v, out)
        self.assertEqual(self.s3().list_objects_v2(Bucket="ingestor")["KeyCount"], 0)
        with self.assertRaises(ClientError):  # the old demo keys open nothing
            self.s3("ingestor", "ingestor-secret-key").list_objects_v2(Bucket="ingestor")
        # The relay and the consumer share the generated secret: a line goes all the way.
        self.send_lines(b"with-generated-secrets\n")
        wait_for(lambda: self.downloaded() == b"with-generated-secrets\n", 60,
                 what="the line under the download directory")
        self.stop_up()
        self.start_up()
        self.assertEqual(self.credentials(), creds)
        self.assertEqual(self.s3().list_objects_v2(Bucket="ingestor")["KeyCount"], 1)
        # Keys set in the configuration win over the file.
        self.stop_up()
        self.start_up("store.accessKey = configured-key\nstore.secretKey = configured-secret\n")
        self.assertEqual(self.s3("configured-key", "configured-secret")
                         .list_objects_v2(Bucket="ingestor")["KeyCount"], 1)

    def test_a_source_without_bind_listens_on_loopback_only(self):
        st = self.start_up(drop=("agent.sources.httpSrc.bind", "agent.sources.netcatSrc.bind"))
        self.assertEqual(listening_ips(st["http_port"]), {"127.0.0.1"})
        self.assertEqual(listening_ips(st["netcat_port"]), {"127.0.0.1"})
        self.send_lines(b"loopback\n")

    def test_a_conf_pipeline_properties_in_the_working_directory_is_used(self):
        work = os.path.join(self.tmp, "work")
        os.makedirs(os.path.join(work, "conf"))
        os.replace(pipeline_for_test(self.tmp), os.path.join(work, "conf", "pipeline.properties"))
        st = self.start_up(command=[BIN, "up", "--status-file", self.status], cwd=work)
        self.assertNotIn(st["netcat_port"], DEFAULT_PORTS)  # the file's port 0, not the default
        self.assertIn("configuration: conf/pipeline.properties", self.log())
        self.assertTrue(os.path.exists(os.path.join(work, "ingestor-data", "credentials.json")))

    def test_up_in_an_empty_directory_runs_the_built_in_default(self):
        busy = [p for p in DEFAULT_PORTS if listening_ips(p)]
        if busy:
            self.skipTest(f"the default ports {busy} are in use on this machine")
        empty = os.path.join(self.tmp, "empty")
        os.makedirs(empty)
        st = self.start_up(command=[BIN, "up", "--status-file", self.status], cwd=empty)
        self.assertIn("configuration: the built-in default", self.log())
        self.assertEqual((st["netcat_port"], st["http_port"], st["store_port"]),
                         (44444, 8080, 9000))
        for port in (44444, 8080):
            self.assertEqual(listening_ips(port), {"127.0.0.1"}, port)
        data = os.path.join(empty, "ingestor-data")
        self.assertEqual(os.stat(os.path.join(data, "credentials.json")).st_mode & 0o777, 0o600)
        self.send_lines(b"from-anywhere\n")
        wait_for(lambda: self.downloaded(data) == b"from-anywhere\n", 60,
                 what="the line under ./ingestor-data/downloads")
        self.stop_up()

if __name__ == "__main__":
    unittest.main()
