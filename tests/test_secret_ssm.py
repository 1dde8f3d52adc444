"""INGESTOR_SECRET_SSM_PARAMETER: the relay (webhook and Lambda modes) and the consumer read the
shared secret from SSM Parameter Store at start, from the real moto_server on a free loopback
port (a SecureString created with boto3). Deliveries must carry an X-Ingestor-Signature made
with that secret, the consumer must require it, and a parameter that cannot be read must stop
the process at start with one line naming the parameter and the cause (/init/error in Lambda)."""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from harness import wait_for
from relay_harness import (FakeConsumer, FakeRuntimeApi, PipelineTestCase, Proc, free_port,
                           http_json, s3_event, sign)

PARAM = "/ingestor/relay-secret"
SECRET = "ssm-secret-6f1d0c8a9b7e4d2c"  # must never appear in a log
REGION = "us-east-1"
DUMMY_KEYS = {"AWS_ACCESS_KEY_ID": "AKIDSSMIT", "AWS_SECRET_ACCESS_KEY": "ssm-it-secret-key",
              "AWS_SESSION_TOKEN": "ssm-it-session-token"}


def find_moto():
    env = os.environ.get("MOTO_SERVER")
    if env:
        return env
    for p in (os.path.join(os.path.dirname(sys.executable), "moto_server"),
              "/root/.pyenv/versions/3.11.7/bin/moto_server", shutil.which("moto_server")):
        if p and os.access(p, os.X_OK):
            return p
    return None


class MotoServer:
    """The real moto_server on 127.0.0.1:<free port>; all AWS services on one endpoint."""

    def __init__(self, tmp):
        self.port = free_port()
        self.log = open(os.path.join(tmp, "moto.log"), "ab")
        moto = find_moto()
        if not moto:
            raise unittest.SkipTest("moto_server not found (pip install 'moto[server]')")
        self.proc = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("moto_server exited at start")
            try:
                return http_json(self.port, "GET", "/moto-api/", timeout=2)[0] == 200
            except OSError:
                return False
        wait_for(up, 30, interval=0.1, what="moto_server")

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def client(self, service):
        import boto3
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id="x", aws_secret_access_key="y")

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()


class SecretFromSsmTest(PipelineTestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto_tmp = tempfile.mkdtemp(prefix="ingestor-ssm-moto-")
        cls.moto = MotoServer(cls.moto_tmp)
        cls.moto.client("ssm").put_parameter(Name=PARAM, Value=SECRET, Type="SecureString")

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()
        shutil.rmtree(cls.moto_tmp, ignore_errors=True)

    def setUp(self):
        super().setUp()  # clears AWS_* from the environment the processes inherit
        self.api = None
        self.fake = FakeConsumer().start()

    def tearDown(self):
        super().tearDown()
        self.fake.stop()
        if self.api:
            self.api.stop()

    def ssm_env(self, param=PARAM, endpoint=None):
        e = dict(DUMMY_KEYS)
        e.update({"INGESTOR_SECRET_SSM_PARAMETER": param, "AWS_REGION": REGION,
                  "AWS_ENDPOINT_URL_SSM": endpoint or self.moto.endpoint})
        return e

    def relay_proc(self, env, lambda_mode=False, name="relay"):
        if lambda_mode:
            self.api = self.api or FakeRuntimeApi().start()
            env = dict(env, AWS_LAMBDA_RUNTIME_API=self.api.address,
                       INGESTOR_TARGET_URL=self.fake.url, AWS_LAMBDA_FUNCTION_NAME="relay")
            p = Proc(self.tmp, name, ["relay"], env=env, status=False)
        else:
            p = Proc(self.tmp, name, ["relay", "--listen", "127.0.0.1:0",
                                      "--target", self.fake.url,
                                      "--webhook-token-file", self.webhook_token_file], env=env)
        self.procs.append(p)
        return p

    def assert_signed_with_the_ssm_secret(self, n):
        posts = self.fake.posts
        self.assertEqual(len(posts), n)
        for p in posts:
            self.assertEqual(p["headers"]["x-ingestor-signature"], sign(SECRET, p["body"]))

    def assert_secret_not_logged(self, proc):
        self.assertNotIn(SECRET, proc.output())

    # ---- relay ---------------------------------------------------------------------------------

    def test_webhook_relay_signs_with_the_parameter(self):
        relay = self.relay_proc(self.ssm_env()).start()
        st, body = http_json(relay.port, "POST", "/",
                             s3_event([("logs", "a.txt", 3, "a" * 32),
                                       ("logs", "b.txt", 4, "b" * 32)]), self.webhook_auth())
        self.assertEqual(st, 200, body)
        self.assert_signed_with_the_ssm_secret(2)
        self.assertIn(PARAM, relay.output())  # says where the secret came from...
        self.assert_secret_not_logged(relay)  # ...but never what it is

    def test_lambda_relay_signs_with_the_parameter(self):
        relay = self.relay_proc(self.ssm_env(), lambda_mode=True).start()
        rid = self.api.invoke(s3_event([("logs", "c.txt", 5, "c" * 32)]))
        kind, rec = self.api.outcome(rid)
        self.assertEqual(kind, "response", rec)
        self.assert_signed_with_the_ssm_secret(1)
        self.assertEqual(self.api.init_errors, [])
        self.assert_secret_not_logged(relay)

    def test_explicit_secret_wins_over_the_parameter(self):
        env = self.ssm_env(param="/does/not/exist")
        env["INGESTOR_SECRET"] = "explicit"
        relay = self.relay_proc(env).start()
        st, _ = http_json(relay.port, "POST", "/", s3_event([("b", "k", 1, "d" * 32)]),
                          self.webhook_auth())
        self.assertEqual(st, 200)
        p = self.fake.posts[0]
        self.assertEqual(p["headers"]["x-ingestor-signature"], sign("explicit", p["body"]))

    def test_missing_parameter_stops_the_webhook_relay(self):
        relay = self.relay_proc(self.ssm_env(param="/ingestor/nope")).start(wait=False)
        self.assertNotEqual(relay.wait_exit(), 0)
        out = relay.output()
        line = [l for l in out.splitlines() if "/ingestor/nope" in l]
        self.assertEqual(len(line), 1, out)
        self.assertIn("INGESTOR_SECRET_SSM_PARAMETER", line[0])
        self.assertIn("ParameterNotFound", line[0])
        self.assertEqual(self.fake.posts, [])

    def test_missing_parameter_is_a_lambda_init_error(self):
        relay = self.relay_proc(self.ssm_env(param="/ingestor/nope"), lambda_mode=True)
        relay.start()
        self.assertNotEqual(relay.wait_exit(), 0)
        self.assertEqual(len(self.api.init_errors), 1)
        err = self.api.init_errors[0]
        self.assertEqual(err["error_type"], "Runtime.ConfigError")
        msg = err["body"]["errorMessage"]
        self.assertIn("/ingestor/nope", msg)
        self.assertIn("ParameterNotFound", msg)

    def test_unreachable_endpoint_gives_up_within_bounds(self):
        port = free_port()
        t0 = time.monotonic()
        relay = self.relay_proc(self.ssm_env(endpoint=f"http://127.0.0.1:{port}"))
        relay.start(wait=False)
        self.assertEqual(relay.wait_exit(timeout=30), 1)
        self.assertLess(time.monotonic() - t0, 15)  # retries are bounded (Lambda init: 10 s)
        out = relay.output()
        self.assertIn(PARAM, out)
        self.assertIn(str(port), out)
        self.assertIn("gave up after", out)

    def test_malformed_answer_stops_the_relay(self):
        # Not SSM at all: the fake consumer answers {"state":"pending"} with 200 to any POST.
        other = FakeConsumer(status=200).start()
        try:
            relay = self.relay_proc(self.ssm_env(endpoint=f"http://127.0.0.1:{other.port}"))
            relay.start(wait=False)
            self.assertNotEqual(relay.wait_exit(), 0)
            self.assertIn("no string Parameter.Value", relay.output())
            self.assertEqual(other.posts[0]["headers"]["x-amz-target"], "AmazonSSM.GetParameter")
        finally:
            other.stop()

    # ---- consumer ------------------------------------------------------------------------------

    def test_consumer_requires_the_signature_and_relay_to_consumer_works(self):
        s3 = self.moto.client("s3")
        s3.create_bucket(Bucket="ssm-it")
        s3.put_object(Bucket="ssm-it", Key="obj.txt", Body=b"hello from moto")
        etag = s3.head_object(Bucket="ssm-it", Key="obj.txt")["ETag"].strip('"')
        env = self.ssm_env()
        consumer = Proc(self.tmp, "consumer", [
            "consumer", "--listen", "127.0.0.1:0", "--download-dir", self.download_dir,
            "--s3-endpoint", self.moto.endpoint, "--region", REGION,
            "--retry-base-ms", "100", "--retry-max-ms", "500"], env=env)
        self.procs.append(consumer)
        consumer.start()
        consumer.secret = SECRET  # GET /objects... needs it too (Authorization: Bearer)
        notice = {"bucket": "ssm-it", "key": "obj.txt", "size": 15, "etag": etag}
        # Unsigned and wrongly signed POSTs are refused: the fetched secret is in force.
        st, _ = http_json(consumer.port, "POST", "/objects", notice)
        self.assertEqual(st, 401)
        st, _ = http_json(consumer.port, "POST", "/objects", notice,
                          {"X-Ingestor-Signature": sign("wrong", b"{}")})
        self.assertEqual(st, 401)
        # The relay, with the same parameter, delivers; the consumer downloads the object.
        relay = Proc(self.tmp, "relay2", ["relay", "--listen", "127.0.0.1:0", "--target",
                                          f"http://127.0.0.1:{consumer.port}/objects",
                                          "--webhook-token-file", self.webhook_token_file],
                     env=env)
        self.procs.append(relay)
        relay.start()
        st, body = http_json(relay.port, "POST", "/",
                             s3_event([("ssm-it", "obj.txt", 15, etag)]), self.webhook_auth())
        self.assertEqual(st, 200, body)
        self.wait_done(consumer, "ssm-it", "obj.txt")
        self.assertEqual(self.downloaded("ssm-it", "obj.txt"), b"hello from moto")
        self.assert_secret_not_logged(consumer)
        self.assert_secret_not_logged(relay)

    def test_missing_parameter_stops_the_consumer(self):
        consumer = Proc(self.tmp, "consumer", [
            "consumer", "--listen", "127.0.0.1:0", "--download-dir", self.download_dir,
            "--s3-endpoint", self.moto.endpoint], env=self.ssm_env(param="/ingestor/nope"))
        self.procs.append(consumer)
        consumer.start(wait=False)
        self.assertNotEqual(consumer.wait_exit(), 0)
        out = consumer.output()
        self.assertIn("/ingestor/nope", out)
        self.assertIn("ParameterNotFound", out)


if __name__ == "__main__":
    unittest.main()
