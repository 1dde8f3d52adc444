"""Helpers for relay/consumer integration tests: a fake AWS Lambda Runtime API, a fake consumer,
and `ingestor relay` / `ingestor consumer` processes on 127.0.0.1 port 0 with temp dirs.
Every wait has a deadline (harness.wait_for)."""
import hashlib
import hmac
import http.server
import json
import os
import queue
import socket
import socketserver
import subprocess
import threading
import time
import urllib.parse

from harness import BIN, Process, test_failed, wait_for


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    allow_reuse_address = True
    daemon_threads = True


def free_port():
    """A loopback port that nothing listens on (for a target that is down)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sign(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class FakeRuntimeApi:
    """The four Runtime API endpoints (aws.md 4.1). Tests push events with invoke(); the relay's
    answers land in self.responses / self.errors / self.init_errors, keyed by request id."""

    def __init__(self):
        self.events = queue.Queue()
        self.responses = {}
        self.errors = {}
        self.init_errors = []
        self.next_status = 200
        self.lock = threading.Lock()
        self.count = 0

    def start(self):
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _reply(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path != "/2018-06-01/runtime/invocation/next":
                    return self._reply(404)
                if outer.next_status != 200:
                    return self._reply(outer.next_status, b'{"errorMessage":"boom"}')
                try:
                    req_id, body, deadline_ms = outer.events.get(timeout=120)
                except queue.Empty:
                    return self._reply(500)
                self._reply(200, body, [
                    ("Lambda-Runtime-Aws-Request-Id", req_id),
                    ("Lambda-Runtime-Deadline-Ms", str(deadline_ms)),
                    ("Lambda-Runtime-Invoked-Function-Arn",
                     "arn:aws:lambda:us-east-1:123456789012:function:relay"),
                    ("Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1"),
                    ("Content-Type", "application/json")])

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                parts = self.path.split("/")
                rec = {"body": json.loads(body) if body else None,
                       "error_type": self.headers.get("Lambda-Runtime-Function-Error-Type"),
                       "time": time.monotonic()}
                with outer.lock:
                    if self.path == "/2018-06-01/runtime/init/error":
                        outer.init_errors.append(rec)
                    elif len(parts) == 6 and parts[5] == "response":
                        outer.responses[parts[4]] = rec
                    elif len(parts) == 6 and parts[5] == "error":
                        outer.errors[parts[4]] = rec
                    else:
                        return self._reply(404)
                self._reply(202, b'{"status":"OK"}')

        self.server = _Server(("127.0.0.1", 0), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def address(self):
        return f"127.0.0.1:{self.server.server_address[1]}"

    def invoke(self, body, deadline_s=30.0):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        with self.lock:
            self.count += 1
            req_id = f"req-{self.count}"
        self.events.put((req_id, body, int((time.time() + deadline_s) * 1000)))
        return req_id

    def outcome(self, req_id, timeout=20.0):
        """Waits for the relay's /response or /error for req_id: ("response"|"error", record)."""
        def got():
            with self.lock:
                if req_id in self.responses:
                    return ("response", self.responses[req_id])
                if req_id in self.errors:
                    return ("error", self.errors[req_id])
            return None
        return wait_for(got, timeout, what=f"outcome of {req_id}")

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class FakeConsumer:
    """Records POST /objects bodies and headers; answers `status` (settable), or what
    `answer(notice)` returns: (status, body bytes)."""

    def __init__(self, status=202, port=0, answer=None):
        self.status = status
        self.answer = answer
        self.posts = []
        self.lock = threading.Lock()
        self.port = port
        self.server = None

    def start(self):
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with outer.lock:
                    outer.posts.append({"path": self.path, "body": body,
                                        "json": json.loads(body),
                                        "headers": {k.lower(): v for k, v in self.headers.items()}})
                    status = outer.status
                out = b'{"state":"pending"}'
                if outer.answer:
                    status, out = outer.answer(json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = _Server(("127.0.0.1", self.port), H)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/objects"

    def bodies(self):
        with self.lock:
            return [p["json"] for p in self.posts]

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class Proc(Process):
    """An ingestor role process (relay or consumer) with a status file and a log."""

    def __init__(self, tmp, name, args, env=None, argv0=None, status=True, prefix=()):
        self.tmp = tmp
        self.name = self.label = name
        self.status_file = os.path.join(tmp, f"{name}-status.json")
        self.log_path = os.path.join(tmp, f"{name}.log")
        self.args = list(args)
        self.env = env
        self.argv0 = argv0
        self.use_status = status
        self.prefix = list(prefix)  # e.g. nsenter into a test's mount namespace (Volume.prefix)
        self.port = None

    def start(self, wait=True, timeout=20.0):
        cmd = self.prefix + [self.argv0 or BIN] + self.args
        if self.use_status:
            cmd += ["--status-file", self.status_file]
        self.launch(cmd, self.env)
        if wait and self.use_status:
            self.port = self.wait_status(timeout)["port"]
        return self

    def wait_exit(self, timeout=20.0):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} did not exit:\n{self.output()}")

    def stop(self, timeout=20.0):
        super().stop(timeout)


def s3_event(records, wrap=None):
    """An AWS S3 event; records: [(bucket, key_as_stored, size, etag)] (keys get encoded here)."""
    recs = []
    for i, (bucket, key, size, etag) in enumerate(records):
        enc = urllib.parse.quote_plus(key, safe="/")
        recs.append({
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "AWS:TEST"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {"x-amz-request-id": "R", "x-amz-id-2": "H"},
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "relay",
                   "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                   "object": {"key": enc, "size": size, "eTag": etag,
                              "sequencer": "%018X" % (i + 1)}}})
    return {"Records": recs}


def http_json(port, method, path, body=b"", headers=None, timeout=10.0):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    try:
        parsed = json.loads(data) if data else None
    except ValueError:
        parsed = data
    return r.status, parsed


class TcpProxy:
    """A TCP proxy on loopback to `target_port`. Subclasses see every chunk before it is
    forwarded: `relay(data, to_client)`, where `to_client` is the server -> client direction;
    what it returns, unless None, is forwarded instead. `relay_conn(data, to_client, conn)` also
    gets a dict of its own per connection, shared by both directions (by default it calls
    relay)."""

    chunk = 64 * 1024

    def __init__(self, target_port):
        self.target_port = target_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def relay(self, data, to_client):
        pass

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                s = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                c.close()
                continue
            conn = {}
            threading.Thread(target=self._pump, args=(c, s, False, conn), daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c, True, conn), daemon=True).start()

    def relay_conn(self, data, to_client, conn):
        return self.relay(data, to_client)

    def _pump(self, src, dst, to_client, conn):
        try:
            while data := src.recv(self.chunk):
                changed = self.relay_conn(data, to_client, conn)
                dst.sendall(data if changed is None else changed)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.closed = True
        self.sock.close()


class ThrottleProxy(TcpProxy):
    """Slows the server -> client direction to about `rate` bytes/s (so a test can kill a
    consumer in the middle of a download)."""

    chunk = 16 * 1024

    def __init__(self, target_port, rate=4 * 1024 * 1024):
        self.rate = rate
        super().__init__(target_port)

    def relay(self, data, to_client):
        if to_client:
            time.sleep(len(data) / self.rate)  # pacing, not waiting for a condition


class CorruptingProxy(TcpProxy):
    """Flips the last byte of every large server -> client chunk that holds no response header:
    bytes damaged on the way, under headers that still look right."""

    def relay(self, data, to_client):
        if to_client and len(data) > 2000 and b"HTTP/1." not in data:
            return data[:-1] + bytes([data[-1] ^ 0xFF])
        return None


def notice(bucket, key, data_or_size, etag, seq="01"):
    """A POST /objects body: `data_or_size` is the object's bytes or a size (true or not)."""
    size = data_or_size if isinstance(data_or_size, int) else len(data_or_size)
    return {"bucket": bucket, "key": key, "size": size, "etag": etag.strip('"'),
            "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()), "sequencer": seq}


class PipelineTestCase(__import__("unittest").TestCase):
    """A temp dir, hermetic AWS settings, and helpers to start the store, the relay and the
    consumer as separate processes; prints their logs when a test fails."""

    def setUp(self):
        import tempfile
        from store_harness import ACCESS_KEY, REGION, SECRET_KEY
        self.tmp = tempfile.mkdtemp(prefix="ingestor-pipeline-it-")
        self.procs = []
        self.stores = []
        self.access_key, self.secret_key, self.region = ACCESS_KEY, SECRET_KEY, REGION
        cfg = os.path.join(self.tmp, "aws-config")
        creds = os.path.join(self.tmp, "aws-credentials")
        with open(cfg, "w") as f:
            f.write(f"[default]\nregion = {REGION}\n")
        with open(creds, "w") as f:
            f.write("[default]\n")
        self.aws_env = dict(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
                            AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE=cfg,
                            AWS_SHARED_CREDENTIALS_FILE=creds, AWS_EC2_METADATA_DISABLED="true")
        for k in list(os.environ):
            if k.startswith("AWS_"):
                del os.environ[k]
        os.environ.update(self.aws_env)
        self.download_dir = os.path.join(self.tmp, "downloads")
        # The store -> relay webhook token (--notify-token-file, --webhook-token-file).
        import secrets
        self.webhook_token = secrets.token_hex(32)
        self.webhook_token_file = os.path.join(self.tmp, "webhook-token")
        with open(self.webhook_token_file, "w") as f:
            f.write(self.webhook_token + "\n")

    def tearDown(self):
        import shutil
        failed = test_failed(self)
        for p in self.procs:
            try:
                p.stop()
            except AssertionError:
                p.kill()
            if failed:
                print(f"--- {p.name} log ---\n{p.output()[-5000:]}")
        for s in self.stores:
            try:
                s.stop()
            except AssertionError:
                s.kill()
            if failed:
                print(f"--- store log ---\n{s.output()[-3000:]}")
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start_store(self, args=()):
        from store_harness import Store
        s = Store(self.tmp, list(args))
        self.stores.append(s)
        return s.start()

    def s3(self, store, checksums=True):
        """A boto3 client of `store`. Like the AWS CLI it sends a CRC32 with every upload, which
        the object keeps; checksums=False sends none (only the ETag vouches for the bytes)."""
        import boto3
        from botocore.config import Config
        when = "when_supported" if checksums else "when_required"
        return boto3.client("s3", endpoint_url=store.endpoint, region_name=self.region,
                            aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key,
                            config=Config(retries={"max_attempts": 2},
                                          request_checksum_calculation=when))

    def start_consumer(self, endpoint, args=(), port=0, name="consumer", prefix=()):
        p = Proc(self.tmp, name, ["consumer", "--listen", f"127.0.0.1:{port}",
                                  "--download-dir", self.download_dir, "--s3-endpoint", endpoint,
                                  "--region", self.region, "--retry-base-ms", "100",
                                  "--retry-max-ms", "1000"] + list(args), prefix=prefix)
        args = list(args)
        # The secret, when given, also guards GET /objects... (Authorization: Bearer).
        p.secret = args[args.index("--secret") + 1] if "--secret" in args else None
        self.procs.append(p)
        return p.start()

    def start_relay(self, target, args=(), port=0, name="relay", token=True, env=None):
        """A webhook relay; with `token`, POSTs need self.webhook_token (a store started with
        `--notify-token-file self.webhook_token_file` sends it)."""
        args = list(args)
        if token:
            args = ["--webhook-token-file", self.webhook_token_file] + args
        p = Proc(self.tmp, name, ["relay", "--listen", f"127.0.0.1:{port}", "--target", target]
                 + args, env=env)
        self.procs.append(p)
        return p.start()

    @staticmethod
    def status_headers(consumer):
        """What GET /objects... of `consumer` needs: its secret as a Bearer token, if it has one."""
        secret = getattr(consumer, "secret", None)
        return {"Authorization": f"Bearer {secret}"} if secret else {}

    def webhook_auth(self, token=None):
        """Headers a sender with the webhook token adds to its POSTs to the relay."""
        return {"Authorization": "Bearer " + (token or self.webhook_token)}

    def object_state(self, consumer, bucket, key):
        st, body = http_json(consumer.port, "GET",
                             "/objects/" + urllib.parse.quote(f"{bucket}/{key}", safe="/"),
                             headers=self.status_headers(consumer))
        assert st != 401, body
        return body if st == 200 else None

    def wait_done(self, consumer, bucket, key, timeout=30.0):
        def done():
            s = self.object_state(consumer, bucket, key)
            if s and s["state"] == "failed":
                raise AssertionError(f"{bucket}/{key} failed: {s}")
            return s if s and s["state"] == "done" else None
        return wait_for(done, timeout, what=f"download of {bucket}/{key}")

    def metrics(self, consumer):
        st, body = http_json(consumer.port, "GET", "/metrics")
        assert st == 200, st
        return body["consumer"]

    CLASS_SECRET = object()

    def post(self, consumer, body, secret=CLASS_SECRET, headers=None):
        """POST /objects to `consumer`, signed with `secret` (by default the class's SECRET;
        None: unsigned)."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        if secret is self.CLASS_SECRET:
            secret = getattr(self, "SECRET", None)
        h = {"Content-Type": "application/json"}
        if secret:
            h["X-Ingestor-Signature"] = sign(secret, raw)
        h.update(headers or {})
        return http_json(consumer.port, "POST", "/objects", raw, h)

    def downloaded(self, bucket, key):
        with open(os.path.join(self.download_dir, bucket, key), "rb") as f:
            return f.read()


class StoreConsumerTestCase(PipelineTestCase):
    """A store with a bucket "data" and a boto3 client of it (self.client), for consumer tests."""

    def setUp(self):
        super().setUp()
        self.store = self.start_store()
        self.client = self.s3(self.store)
        self.client.create_bucket(Bucket="data")

    def put(self, key, data):
        """PutObject into "data"; returns the ETag (quoted, as S3 sends it)."""
        return self.client.put_object(Bucket="data", Key=key, Body=data)["ETag"]
