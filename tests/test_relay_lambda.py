"""`ingestor relay` as an AWS Lambda custom runtime, against a fake Runtime API on loopback
(aws.md 4.1) and a fake consumer: POSTs, /response, /error (so Lambda retries), /init/error,
deadlines, container errors, and the binary started as `bootstrap`."""
import json
import os
import shutil
import tempfile
import time
import unittest

from harness import BIN, test_failed, wait_for
from relay_harness import (FakeConsumer, FakeRuntimeApi, Proc, free_port, s3_event, sign)

SECRET = "relay-test-secret"


class RelayLambdaTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ingestor-relay-it-")
        self.api = FakeRuntimeApi().start()
        self.consumer = FakeConsumer().start()
        self.procs = []

    def tearDown(self):
        failed = test_failed(self)
        for p in self.procs:
            p.kill()
            if failed:
                print(f"--- {p.name} log ---\n{p.output()[-4000:]}")
        self.api.stop()
        self.consumer.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start_relay(self, env=None, argv0=None, target=None, args=()):
        e = {"AWS_LAMBDA_RUNTIME_API": self.api.address, "INGESTOR_SECRET": SECRET,
             "INGESTOR_TARGET_URL": target or self.consumer.url,
             "INGESTOR_RELAY_TIMEOUT_MS": "3000", "AWS_LAMBDA_FUNCTION_NAME": "relay"}
        e.update(env or {})
        e = {k: v for k, v in e.items() if v is not None}
        args = [] if argv0 else ["relay"] + list(args)
        p = Proc(self.tmp, "relay", args, env=e, argv0=argv0, status=False).start()
        self.procs.append(p)
        return p

    def test_relays_each_record_and_posts_the_response(self):
        self.start_relay()
        event = s3_event([("logs", "2026/a b+c.txt", 11, "5eb63bbbe01eeed093cb22bb8f5acdc3"),
                          ("logs", "x/y", 3, "0123456789abcdef0123456789abcdef-2")])
        event["Records"].append({"eventVersion": "2.1", "eventName": "ObjectRemoved:Delete",
                                 "s3": {"bucket": {"name": "logs"},
                                        "object": {"key": "gone", "sequencer": "0A"}}})
        rid = self.api.invoke(event)
        kind, rec = self.api.outcome(rid)
        self.assertEqual(kind, "response", rec)
        self.assertEqual(rec["body"], {"relayed": 2, "skipped": 1, "testEvent": False})
        posts = self.consumer.posts
        self.assertEqual(len(posts), 2)
        self.assertEqual(posts[0]["path"], "/objects")
        first = posts[0]["json"]
        self.assertEqual(first["bucket"], "logs")
        self.assertEqual(first["key"], "2026/a b+c.txt")  # decoded: '+' was a space, %2B a '+'
        self.assertEqual(first["size"], 11)
        self.assertEqual(first["etag"], "5eb63bbbe01eeed093cb22bb8f5acdc3")
        self.assertEqual(first["sequencer"], "000000000000000001")
        self.assertTrue(first["eventTime"].endswith("Z"))
        self.assertEqual(posts[1]["json"]["etag"], "0123456789abcdef0123456789abcdef-2")
        for p in posts:
            self.assertEqual(p["headers"]["x-ingestor-signature"], sign(SECRET, p["body"]))
            self.assertEqual(len(p["headers"]["idempotency-key"]), 64)
            self.assertEqual(p["headers"]["content-type"], "application/json")
        # The loop goes on: a second invocation on the same process.
        rid2 = self.api.invoke(s3_event([("logs", "third", 1, "e" * 32)]))
        self.assertEqual(self.api.outcome(rid2)[0], "response")
        self.assertEqual(len(self.consumer.posts), 3)

    def test_test_event_and_sns_wrapping(self):
        self.start_relay()
        rid = self.api.invoke({"Service": "Amazon S3", "Event": "s3:TestEvent",
                               "Time": "2014-10-13T15:57:02.089Z", "Bucket": "b"})
        kind, rec = self.api.outcome(rid)
        self.assertEqual((kind, rec["body"]), ("response",
                                               {"relayed": 0, "skipped": 0, "testEvent": True}))
        inner = json.dumps(s3_event([("b", "k", 1, "f" * 32)]))
        rid = self.api.invoke({"Records": [{"EventSource": "aws:sns",
                                            "Sns": {"Type": "Notification", "Message": inner}}]})
        kind, rec = self.api.outcome(rid)
        self.assertEqual(kind, "response")
        self.assertEqual(rec["body"]["relayed"], 1)
        self.assertEqual([b["key"] for b in self.consumer.bodies()], ["k"])

    def test_consumer_down_is_an_invocation_error_then_the_retry_succeeds(self):
        port = free_port()
        self.start_relay(target=f"http://127.0.0.1:{port}/objects",
                         env={"INGESTOR_RELAY_TIMEOUT_MS": "600"})
        event = s3_event([("b", "k1", 4, "a" * 32)])
        t0 = time.monotonic()
        rid = self.api.invoke(event)
        kind, rec = self.api.outcome(rid)
        self.assertEqual(kind, "error")
        self.assertEqual(rec["error_type"], "Relay.DeliveryFailed")
        self.assertEqual(rec["body"]["errorType"], "Relay.DeliveryFailed")
        self.assertIn(str(port), rec["body"]["errorMessage"])
        self.assertEqual(rec["body"]["stackTrace"], [])
        self.assertLess(rec["time"] - t0, 5.0)
        # Lambda retries the same event; the consumer is up by then.
        up = FakeConsumer(port=port).start()
        try:
            rid2 = self.api.invoke(event)
            kind, rec = self.api.outcome(rid2)
            self.assertEqual(kind, "response", rec)
            self.assertEqual([b["key"] for b in up.bodies()], ["k1"])
        finally:
            up.stop()

    def test_a_flag_wins_over_the_environment_even_at_its_default_value(self):
        # --timeout-ms 4000 is the default; the variable says a minute. The flag decides: the
        # relay gives up on a consumer that is down after ~4 s, not at Lambda's 30 s deadline.
        port = free_port()
        self.start_relay(target=f"http://127.0.0.1:{port}/objects",
                         env={"INGESTOR_RELAY_TIMEOUT_MS": "60000"}, args=["--timeout-ms", "4000"])
        t0 = time.monotonic()
        rid = self.api.invoke(s3_event([("b", "k", 1, "c" * 32)]))
        kind, rec = self.api.outcome(rid, timeout=40)
        self.assertEqual(kind, "error")
        self.assertLess(rec["time"] - t0, 10.0)

    def test_consumer_5xx_then_recovering_within_the_deadline(self):
        self.consumer.status = 503
        self.start_relay(env={"INGESTOR_RELAY_TIMEOUT_MS": "10000"})
        rid = self.api.invoke(s3_event([("b", "k", 1, "c" * 32)]))
        wait_for(lambda: len(self.consumer.posts) >= 2, 10, what="retried POSTs")
        self.consumer.status = 202
        kind, rec = self.api.outcome(rid)
        self.assertEqual(kind, "response", rec)
        keys = {p["headers"]["idempotency-key"] for p in self.consumer.posts}
        self.assertEqual(len(keys), 1)  # every retry carries the same Idempotency-Key

    def test_deadline_header_is_honoured(self):
        self.consumer.status = 503  # never accepts
        self.start_relay(env={"INGESTOR_RELAY_TIMEOUT_MS": "60000"})
        t0 = time.monotonic()
        rid = self.api.invoke(s3_event([("b", "k", 1, "c" * 32)]), deadline_s=1.5)
        kind, rec = self.api.outcome(rid)
        self.assertEqual(kind, "error")
        self.assertLess(rec["time"] - t0, 1.5)  # answered before Lambda's own deadline
        self.assertIn("503", rec["body"]["errorMessage"])

    def test_rejections_and_malformed_events_are_errors(self):
        self.consumer.status = 401
        self.start_relay()
        rid = self.api.invoke(s3_event([("b", "k", 1, "c" * 32)]))
        kind, rec = self.api.outcome(rid)
        self.assertEqual((kind, rec["error_type"]), ("error", "Relay.Rejected"))
        self.assertEqual(len(self.consumer.posts), 1)  # a 4xx is not retried
        rid = self.api.invoke("this is not json")
        kind, rec = self.api.outcome(rid)
        self.assertEqual((kind, rec["error_type"]), ("error", "Relay.InvalidEvent"))
        self.assertIn("not JSON", rec["body"]["errorMessage"])
        rid = self.api.invoke({"Records": [{"eventName": "ObjectCreated:Put", "s3": {}}]})
        kind, rec = self.api.outcome(rid)
        self.assertEqual((kind, rec["error_type"]), ("error", "Relay.InvalidEvent"))

    def test_missing_target_is_an_init_error(self):
        p = self.start_relay(env={"INGESTOR_TARGET_URL": None})
        code = p.wait_exit()
        self.assertNotEqual(code, 0)
        self.assertEqual(len(self.api.init_errors), 1)
        err = self.api.init_errors[0]
        self.assertEqual(err["error_type"], "Runtime.ConfigError")
        self.assertIn("INGESTOR_TARGET_URL", err["body"]["errorMessage"])

    def test_a_timeout_out_of_range_in_the_environment_is_an_init_error(self):
        cases = (("INGESTOR_RELAY_TIMEOUT_MS", "86400001"),  # over a day: once taken as it was
                 ("INGESTOR_RELAY_ATTEMPT_TIMEOUT_MS", "0"))
        for i, (var, value) in enumerate(cases):
            with self.subTest(var):
                p = self.start_relay(env={var: value})
                self.assertNotEqual(p.wait_exit(), 0)
                self.assertEqual(len(self.api.init_errors), i + 1)
                err = self.api.init_errors[i]
                self.assertEqual(err["error_type"], "Runtime.ConfigError")
                self.assertIn(f"{var}: expected a whole number of milliseconds from 1 to 86400000, "
                              f"got '{value}'", err["body"]["errorMessage"])
        self.assertEqual(self.consumer.posts, [])

    def test_container_error_exits(self):
        self.api.next_status = 500
        p = self.start_relay()
        self.assertEqual(p.wait_exit(), 1)

    def test_started_as_bootstrap(self):
        boot = os.path.join(self.tmp, "bootstrap")
        os.symlink(os.path.abspath(BIN), boot)
        self.start_relay(argv0=boot)
        rid = self.api.invoke(s3_event([("b", "via-bootstrap", 2, "d" * 32)]))
        self.assertEqual(self.api.outcome(rid)[0], "response")
        self.assertEqual(self.consumer.bodies()[0]["key"], "via-bootstrap")


if __name__ == "__main__":
    unittest.main()
