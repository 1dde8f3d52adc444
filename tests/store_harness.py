"""Helpers for `ingestor store` integration tests: a store process on 127.0.0.1 port 0 with a
temp data dir, the aws CLI / boto3 pointed at it with hermetic config, and a loopback webhook
receiver. Every wait has a deadline (harness.wait_for); nothing sleeps blindly."""
import http.server
import json
import os
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
import unittest

from harness import BIN, Process, test_failed, wait_for

ACCESS_KEY = "AKIDSTORETEST"
SECRET_KEY = "store/secret+KEY/for/tests"
REGION = "us-east-1"
PYBIN = os.path.dirname(sys.executable)
INSTALL_HINT = ("install the clients with `make deps` (pyenv Python 3.11: "
                "`pip install awscli boto3 moto[server]`)")


def require_boto3():
    try:
        import boto3  # noqa: F401
        import botocore  # noqa: F401
    except ImportError as e:
        raise AssertionError(f"boto3 is missing ({e}); {INSTALL_HINT}")


def aws_cli():
    for cand in (os.path.join(PYBIN, "aws"), shutil.which("aws")):
        if cand and os.path.exists(cand):
            return cand
    raise AssertionError(f"the aws CLI is missing; {INSTALL_HINT}")


class Store(Process):
    """An `ingestor store` process."""

    label = "store"

    def __init__(self, tmp, args=(), data_dir=None, prefix=()):
        self.tmp = tmp
        self.prefix = list(prefix)  # runs the command behind it (e.g. nsenter: disk_full_harness)
        self.data_dir = data_dir or os.path.join(tmp, "data")
        self.status_file = os.path.join(tmp, "store-status.json")
        self.log_path = os.path.join(tmp, "store.log")
        self.args = list(args)
        self.port = None
        self.scheme = "http"

    def start(self, timeout=20.0):
        self.launch(self.prefix + [
            BIN, "store", "--listen", "127.0.0.1:0", "--data-dir", self.data_dir,
            "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY, "--region", REGION,
            "--status-file", self.status_file] + self.args)
        st = self.wait_status(timeout)
        self.port = st["port"]
        self.scheme = st.get("scheme", "http")
        return self

    @property
    def endpoint(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def stop(self, timeout=20.0):
        return super().stop(timeout)


class Webhook:
    """A loopback HTTP server recording POSTed JSON bodies; can be stopped and restarted on the
    same port to play a target that is down for a while."""

    def __init__(self, port=0):
        self.bodies = []
        self.authorization = []  # each POST's Authorization header (None: absent)
        self.lock = threading.Lock()
        self.port = port
        self.server = None

    def start(self):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with outer.lock:
                    outer.bodies.append(json.loads(body))
                    outer.authorization.append(self.headers.get("Authorization"))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hook"

    def records(self):
        with self.lock:
            return [r for b in self.bodies for r in b.get("Records", [])]


def signed_headers(port, method, path, body=b"", headers=None, akid=ACCESS_KEY,
                   secret=SECRET_KEY, payload_hash=None, now=None):
    """The headers of a request to the store on `port` signed by botocore's S3 SigV4 signer, for
    sending byte-exact with http.client or a raw socket. `payload_hash` is what
    x-amz-content-sha256 claims (default: the body's SHA-256); `now` fakes the signing time."""
    import hashlib
    from botocore import auth as bauth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    url = f"http://127.0.0.1:{port}{path}"
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    value = payload_hash or hashlib.sha256(body).hexdigest()

    class Signer(bauth.S3SigV4Auth):
        def payload(self, request):
            return value
    real = bauth.get_current_datetime
    if now:
        bauth.get_current_datetime = lambda: now
    try:
        Signer(Credentials(akid, secret), "s3", REGION).add_auth(req)
    finally:
        bauth.get_current_datetime = real
    return dict(req.headers.items())


class StoreTestCase(unittest.TestCase):
    """Starts one store per test (self.store) with hermetic AWS config; prints its log on
    failure."""

    store_args = ()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ingestor-store-it-")
        self.stores = []
        cfg = os.path.join(self.tmp, "aws-config")
        creds = os.path.join(self.tmp, "aws-credentials")
        with open(cfg, "w") as f:
            f.write(f"[default]\nregion = {REGION}\n")
        with open(creds, "w") as f:
            f.write("[default]\n")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
                        AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE=cfg,
                        AWS_SHARED_CREDENTIALS_FILE=creds, AWS_EC2_METADATA_DISABLED="true",
                        AWS_PAGER="")
        for k in list(os.environ):
            if k.startswith("AWS_"):
                del os.environ[k]
        os.environ.update({k: v for k, v in self.env.items() if k.startswith("AWS_")})
        self.store = self.first_store()

    def first_store(self):
        """The store setUp starts for every test; a subclass may start it elsewhere."""
        return self.start_store(self.store_args)

    def start_store(self, args=(), data_dir=None, prefix=()):
        s = Store(self.tmp, args, data_dir=data_dir, prefix=prefix)
        self.stores.append(s)
        return s.start()

    def tearDown(self):
        failed = test_failed(self)
        for s in self.stores:
            try:
                s.stop()
            except AssertionError:
                s.kill()
            if failed:
                print(f"--- store log ---\n{s.output()[-4000:]}")
        shutil.rmtree(self.tmp, ignore_errors=True)

    def aws(self, *args, check=True, input=None, timeout=60):
        cmd = [aws_cli(), "--endpoint-url", self.store.endpoint] + list(args)
        p = subprocess.run(cmd, env=self.env, capture_output=True, timeout=timeout, input=input)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        if check and p.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({p.returncode}):\n{err}\n{out}")
        return p.returncode, out, err

    def client(self, **config):
        require_boto3()
        import boto3
        from botocore.config import Config
        return boto3.client("s3", endpoint_url=self.store.endpoint, region_name=REGION,
                            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                            config=Config(**config) if config else None, verify=False)

    def data_files(self):
        out = []
        for root, _, files in os.walk(self.store.data_dir):
            for f in files:
                out.append(os.path.relpath(os.path.join(root, f), self.store.data_dir))
        return sorted(out)

    def object_files(self):
        return [f for f in self.data_files() if f.startswith("objects/")]


class BucketTestCase(StoreTestCase):
    """A StoreTestCase with a boto3 client (self.s3) and an empty bucket "bkt"."""

    def setUp(self):
        require_boto3()
        super().setUp()
        self.s3 = self.client()
        self.s3.create_bucket(Bucket="bkt")
