"""The relay's bad-input list (issue 16): what a hostile or careless sender can throw at
`ingestor relay --listen`, one test per input. The webhook endpoint signs whatever it forwards,
so it takes POSTs only with the store's token (`Authorization: Bearer`), refuses the rest with
401, counts them and logs at most a line a second; every value from the network that reaches its
log is escaped, so a key cannot forge a log line. The next campaign starts from here."""
import http.client
import json
import os
import re
import socket
import subprocess
import time
import unittest

from harness import BIN, wait_for
from relay_harness import (FakeConsumer, FakeRuntimeApi, PipelineTestCase, Proc, free_port,
                           http_json, s3_event)

SECRET = "hostile-shared-secret"


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("INGESTOR_") and k != "AWS_LAMBDA_RUNTIME_API"}
    env.update(extra or {})
    return env


def echoing_consumer():
    """A consumer that rejects every notice with 400 and echoes the raw key in its answer, as a
    careless peer would: what the relay then logs must still be one escaped line."""
    return FakeConsumer(answer=lambda notice: (400, ("bad key: " + notice["key"]).encode()))


class RelayHostileCase(PipelineTestCase):
    def setUp(self):
        super().setUp()
        self.consumer = FakeConsumer(status=202).start()
        self.addCleanup(self.consumer.stop)

    def relay(self, args=(), **kw):
        return self.start_relay(self.consumer.url, ["--secret", SECRET] + list(args), **kw)

    def post(self, relay, body, headers=None, path="/", timeout=10.0):
        return http_json(relay.port, "POST", path, body, headers, timeout=timeout)

    def relay_metrics(self, relay):
        st, body = http_json(relay.port, "GET", "/metrics")
        self.assertEqual(st, 200)
        return body["relay"]

    def assert_no_forged_line(self, out, marker="FORGED"):
        """No log line begins with the marker a hostile value carried, and no raw ESC or NUL
        byte reached the log."""
        for line in out.split("\n"):
            self.assertFalse(line.lstrip().startswith(marker), f"forged line: {line!r}")
        self.assertNotIn("\x1b", out)
        self.assertNotIn("\x00", out)

    def run_relay_once(self, args, env=None):
        p = subprocess.run([BIN, "relay"] + args, capture_output=True, timeout=20,
                           env=clean_env(env))
        return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


class UnauthenticatedTest(RelayHostileCase):
    """Senders without the webhook token: nothing is signed or forwarded."""

    def assert_refused(self, relay, st, body, headers=None):
        self.assertEqual(st, 401, body)
        self.assertIn("Bearer", body["error"])
        self.assertEqual(self.consumer.posts, [])

    def test_post_without_a_token(self):
        relay = self.relay()
        c = http.client.HTTPConnection("127.0.0.1", relay.port, timeout=10)
        c.request("POST", "/", body=json.dumps(s3_event([("quiet", "k", 1, "a" * 32)])))
        r = c.getresponse()
        body = json.loads(r.read())
        self.assertEqual(r.getheader("WWW-Authenticate"), 'Bearer realm="ingestor-relay"')
        self.assert_refused(relay, r.status, body)
        self.assertEqual(self.relay_metrics(relay)["unauthorized"], 1)
        self.assertEqual(self.relay_metrics(relay)["notifications"], 0)
        out = wait_for(lambda: "refused a POST" in relay.output() and relay.output(),
                       what="the refusal in the log")
        self.assertIn("no webhook token", out)
        st, text = http_json(relay.port, "GET", "/prometheus")
        self.assertIn(b"ingestor_relay_unauthorized_total 1", text)

    def test_post_with_the_wrong_token(self):
        relay = self.relay()
        st, body = self.post(relay, s3_event([("b", "k", 1, "a" * 32)]),
                             self.webhook_auth("wrong-token-0123456789abcdef"))
        self.assert_refused(relay, st, body)
        wait_for(lambda: "wrong webhook token" in relay.output(), what="the refusal logged")
        self.assertNotIn("wrong-token-0123456789abcdef", relay.output())

    def test_token_prefix_suffix_and_case(self):
        relay = self.relay()
        t = self.webhook_token
        for value in (t[:-1], t + "0", t.upper(), "x" + t, t[: len(t) // 2]):
            with self.subTest(value=value):
                st, body = self.post(relay, s3_event([("b", "k", 1, "a" * 32)]),
                                     {"Authorization": "Bearer " + value})
                self.assert_refused(relay, st, body)

    def test_the_token_under_another_scheme_or_place(self):
        relay = self.relay()
        t = self.webhook_token
        ev = s3_event([("b", "k", 1, "a" * 32)])
        # The token in the URL first: the line logged for the first refusal must not hold it.
        for headers, path in (({}, "/?token=" + t),
                              ({}, "/" + t),
                              ({"Authorization": "Basic " + t}, "/"),
                              ({"Authorization": t}, "/"),
                              ({"Authorization": "Bearer"}, "/"),
                              ({"X-Auth-Token": t}, "/")):
            with self.subTest(headers=headers, path=path):
                st, body = self.post(relay, ev, headers, path=path)
                self.assert_refused(relay, st, body)
        self.assertEqual(self.relay_metrics(relay)["unauthorized"], 6)
        wait_for(lambda: "refused a POST" in relay.output(), what="the refusal logged")
        self.assertNotIn(t, relay.output())  # not even the token a sender put in its URL

    def test_huge_authorization_header(self):
        relay = self.relay()
        try:
            st, _ = self.post(relay, s3_event([("b", "k", 1, "a" * 32)]),
                              {"Authorization": "Bearer " + "A" * 60000})
            self.assertIn(st, (400, 401, 431))
        except (OSError, http.client.HTTPException):
            pass  # the server may close the connection on a header over its limit
        self.assertEqual(self.consumer.posts, [])
        # Still serving.
        st, body = self.post(relay, s3_event([("b", "k", 1, "a" * 32)]), self.webhook_auth())
        self.assertEqual(st, 200, body)

    def test_test_event_without_a_token(self):
        relay = self.relay()
        st, body = self.post(relay, {"Service": "Amazon S3", "Event": "s3:TestEvent",
                                     "Bucket": "b"})
        self.assert_refused(relay, st, body)
        self.assertEqual(self.relay_metrics(relay)["testEvents"], 0)

    def test_put_without_a_token(self):
        relay = self.relay()
        c = http.client.HTTPConnection("127.0.0.1", relay.port, timeout=10)
        c.request("PUT", "/", body=json.dumps(s3_event([("b", "k", 1, "a" * 32)])))
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 401)
        self.assertEqual(self.consumer.posts, [])

    def test_a_flood_of_refusals_logs_a_line_a_second(self):
        relay = self.relay()
        ev = s3_event([("b", "k", 1, "a" * 32)])
        start = time.monotonic()
        for _ in range(200):
            st, _ = self.post(relay, ev)
            self.assertEqual(st, 401)
        elapsed = time.monotonic() - start
        self.assertEqual(self.relay_metrics(relay)["unauthorized"], 200)
        lines = relay.output().count("refused a POST")
        self.assertGreaterEqual(lines, 1)
        self.assertLessEqual(lines, int(elapsed) + 2, relay.output())

        # Once a second has passed, the next refusal is logged with the count swallowed.
        def summarised():
            self.post(relay, ev)
            return re.search(r"\((\d+) more refused since the last line\)", relay.output())
        m = wait_for(summarised, 10, interval=0.2, what="a summarising log line")
        self.assertGreater(int(m.group(1)), 0)

    def test_health_and_metrics_stay_open(self):
        relay = self.relay()
        for path in ("/healthz", "/metrics", "/prometheus"):
            st, _ = http_json(relay.port, "GET", path)
            self.assertEqual(st, 200, path)


class StartupTest(RelayHostileCase):
    """Careless configurations refused before the relay listens (exit 2, one clear line)."""

    def base(self):
        return ["--listen", "127.0.0.1:0", "--target", self.consumer.url]

    def test_webhook_mode_without_a_token_refuses_to_start(self):
        code, out = self.run_relay_once(self.base())
        self.assertEqual(code, 2, out)
        self.assertIn("no webhook token", out)
        self.assertIn("--webhook-token-file", out)
        self.assertIn("INGESTOR_RELAY_WEBHOOK_TOKEN", out)
        self.assertIn("--insecure-no-webhook-token", out)

    def test_insecure_mode_must_be_asked_for_and_says_so(self):
        relay = Proc(self.tmp, "insecure", ["relay"] + self.base() +
                     ["--insecure-no-webhook-token"], env=clean_env())
        self.procs.append(relay)
        relay.start()
        self.assertIn("POSTs are accepted without a token", relay.output())
        st, body = self.post(relay, s3_event([("b", "k", 1, "a" * 32)]))
        self.assertEqual(st, 200, body)

    def test_insecure_mode_and_a_token_contradict(self):
        code, out = self.run_relay_once(
            self.base() + ["--insecure-no-webhook-token"],
            {"INGESTOR_RELAY_WEBHOOK_TOKEN": self.webhook_token})
        self.assertEqual(code, 2, out)
        self.assertIn("contradict", out)

    def test_token_from_the_environment(self):
        relay = Proc(self.tmp, "env-token", ["relay"] + self.base(),
                     env=clean_env({"INGESTOR_RELAY_WEBHOOK_TOKEN": self.webhook_token}))
        self.procs.append(relay)
        relay.start()
        st, _ = self.post(relay, s3_event([("b", "k", 1, "a" * 32)]))
        self.assertEqual(st, 401)
        st, body = self.post(relay, s3_event([("b", "k", 1, "a" * 32)]), self.webhook_auth())
        self.assertEqual(st, 200, body)
        self.assertNotIn(self.webhook_token, relay.output())

    def test_bad_tokens(self):
        empty = os.path.join(self.tmp, "empty")
        with open(empty, "w") as f:
            f.write("\n")
        spaced = os.path.join(self.tmp, "spaced")
        with open(spaced, "w") as f:
            f.write("two words in a token file\n")
        for args, env, needle in (
                (["--webhook-token-file", empty], {},
                 f"--webhook-token-file '{empty}': the token is empty"),
                (["--webhook-token-file", empty + ".missing"], {},
                 f"--webhook-token-file '{empty}.missing'"),
                (["--webhook-token-file", spaced], {}, "not visible ASCII"),
                ([], {"INGESTOR_RELAY_WEBHOOK_TOKEN": ""},
                 "INGESTOR_RELAY_WEBHOOK_TOKEN: the token is empty"),
                ([], {"INGESTOR_RELAY_WEBHOOK_TOKEN": "short"}, "at least 16")):
            with self.subTest(args=args, env=env):
                code, out = self.run_relay_once(self.base() + args, env)
                self.assertEqual(code, 2, out)
                self.assertIn(needle, out)

    def test_empty_secret_flag(self):
        code, out = self.run_relay_once(self.base() + ["--secret", "",
                                                       "--webhook-token-file",
                                                       self.webhook_token_file])
        self.assertEqual(code, 2, out)
        self.assertIn("--secret is empty", out)

    def test_empty_secret_variable(self):
        code, out = self.run_relay_once(
            self.base() + ["--webhook-token-file", self.webhook_token_file],
            {"INGESTOR_SECRET": ""})
        self.assertEqual(code, 2, out)
        self.assertIn("INGESTOR_SECRET is empty", out)

    def test_empty_secret_in_lambda_mode_is_an_init_error(self):
        api = FakeRuntimeApi().start()
        self.addCleanup(api.stop)
        relay = Proc(self.tmp, "lambda", ["relay"], status=False,
                     env=clean_env({"AWS_LAMBDA_RUNTIME_API": api.address,
                                    "INGESTOR_TARGET_URL": self.consumer.url,
                                    "INGESTOR_SECRET": ""}))
        self.procs.append(relay)
        relay.start(wait=False)
        self.assertEqual(relay.wait_exit(), 1)
        self.assertEqual(len(api.init_errors), 1)
        self.assertIn("INGESTOR_SECRET is empty", api.init_errors[0]["body"]["errorMessage"])


class AuthenticatedHostileTest(RelayHostileCase):
    """Senders that hold the token but send junk: refused with 4xx, nothing forwarded, and the
    log stays one escaped line per event."""

    def test_malformed_json(self):
        relay = self.relay()
        for body in (b"{nope", b"", b"\xff\xfe", b"[" * 100000, b'{"Records": [' * 5000):
            with self.subTest(body=body[:20]):
                st, resp = self.post(relay, body, self.webhook_auth())
                self.assertEqual(st, 400, resp)
        self.assertEqual(self.consumer.posts, [])
        self.assertEqual(self.relay_metrics(relay)["invalid"], 5)

    def test_json_that_is_not_a_notification(self):
        relay = self.relay()
        for body in ([], 1, "x", {"Records": "no"}, {"Records": [1]}, {"Message": 3},
                     {"Records": [{"eventName": "ObjectCreated:Put", "s3": {}}]}):
            with self.subTest(body=body):
                st, resp = self.post(relay, json.dumps(body).encode(), self.webhook_auth())
                self.assertEqual(st, 400, resp)
        self.assertEqual(self.consumer.posts, [])

    def test_huge_body(self):
        relay = self.relay()
        for headers in (self.webhook_auth(), {}):
            with self.subTest(authenticated=bool(headers)):
                st, _ = self.post(relay, b"x" * (2 * 1024 * 1024), headers)
                self.assertEqual(st, 413)
        self.assertEqual(self.consumer.posts, [])

    def test_values_with_control_characters_in_a_rejected_notification(self):
        relay = self.relay()
        ev = s3_event([("b", "k", 1, "a" * 32)])
        ev["Records"][0]["eventVersion"] = "9\nFORGED [error] relay: owned\x1b[2J\x00"
        st, resp = self.post(relay, ev, self.webhook_auth())
        self.assertEqual(st, 400, resp)
        out = wait_for(lambda: "rejected a notification" in relay.output() and relay.output(),
                       what="the rejection logged")
        self.assertIn("\\nFORGED", out)
        self.assert_no_forged_line(out)

    def test_keys_with_newline_esc_and_nul(self):
        echo = echoing_consumer().start()
        self.addCleanup(echo.stop)
        relay = self.start_relay(echo.url, ["--secret", SECRET])
        keys = ("a\nFORGED [error] fake line", "b\x1b[31mred\x1b[0m\x1b]0;title\x07",
                "c\x00FORGED after nul", "d\r\nFORGED crlf")
        for i, key in enumerate(keys):
            with self.subTest(key=key):
                # The failure line is logged at most once a second: post until this key's is.
                def logged():
                    st, resp = self.post(relay, s3_event([("b", key, 1, "a" * 32)]),
                                         self.webhook_auth())
                    self.assertEqual(st, 502, resp)  # the consumer refused it
                    self.assertIn(key, resp["error"])  # the JSON answer keeps it, escaped
                    return relay.output().count("notification not relayed") > i
                wait_for(logged, 15, interval=0.25, what="the failure logged")
        out = relay.output()
        for escaped in ("\\nFORGED [error] fake line", "b\\x1b[31mred", "c\\x00FORGED",
                        "d\\r\\nFORGED crlf"):
            self.assertIn(escaped, out)
        self.assert_no_forged_line(out)
        self.assertEqual({b["key"] for b in echo.bodies()}, set(keys))  # sent on as they came

    def test_invalid_utf8_key(self):
        relay = self.relay()
        ev = s3_event([("b", "k", 1, "a" * 32)])
        ev["Records"][0]["s3"]["object"]["key"] = "bad%FF%FEkey"
        st, resp = self.post(relay, ev, self.webhook_auth())
        self.assertEqual(st, 400, resp)
        self.assertIn("not UTF-8", resp["error"])
        self.assertEqual(self.consumer.posts, [])

    def test_forged_notification_with_the_token(self):
        """A holder of the token can name any bucket, also one that sends no notifications: the
        relay authenticates the sender, not the content; it forwards the notice signed, and the
        consumer treats it as a hint (it learns size and ETag from S3 before it decides
        anything: src/consumer/README.md)."""
        relay = self.relay()
        st, resp = self.post(relay, s3_event([("bucket-without-notifications", "secret.txt",
                                               1, "0" * 32)]), self.webhook_auth())
        self.assertEqual(st, 200, resp)
        self.assertEqual(resp["relayed"], 1)
        (post,) = self.consumer.posts
        self.assertEqual(post["json"]["bucket"], "bucket-without-notifications")
        self.assertIn("x-ingestor-signature", post["headers"])

    def test_many_records_in_one_notification(self):
        relay = self.relay(["--timeout-ms", "30000"])
        recs = [("b", f"k{i}", 1, "a" * 32) for i in range(50)]
        st, resp = self.post(relay, s3_event(recs), self.webhook_auth(), timeout=40)
        self.assertEqual(st, 200, resp)
        self.assertEqual(resp["relayed"], 50)

    def test_method_and_path_junk(self):
        relay = self.relay()
        for method in ("DELETE", "PATCH", "OPTIONS"):
            with self.subTest(method=method):
                st, _ = http_json(relay.port, method, "/", b"", self.webhook_auth())
                self.assertEqual(st, 405)
        st, _ = http_json(relay.port, "GET", "/../../etc/passwd")
        self.assertEqual(st, 404)

    def test_raw_garbage_on_the_socket(self):
        relay = self.relay()
        for junk in (b"\x00\x01\x02\r\n\r\n", b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                     b"GET /\x1b[2J HTTP/1.1\r\nHost: x\r\n\r\n"):
            with self.subTest(junk=junk):
                s = socket.create_connection(("127.0.0.1", relay.port), timeout=5)
                s.sendall(junk)
                try:
                    s.recv(4096)
                except OSError:
                    pass
                s.close()
        st, _ = http_json(relay.port, "GET", "/healthz")
        self.assertEqual(st, 200)
        self.assert_no_forged_line(relay.output())


class StoreTokenTest(RelayHostileCase):
    """The store -> relay leg with tokens: a store with the wrong token is refused and keeps
    the notification; restarted with the right one, it delivers it."""

    def test_wrong_store_token_then_the_right_one(self):
        relay_port = free_port()
        wrong = os.path.join(self.tmp, "wrong-token")
        with open(wrong, "w") as f:
            f.write("not-the-relay-token-0123456789")
        store = self.start_store(["--notify-webhook", f"http://127.0.0.1:{relay_port}/",
                                  "--notify-token-file", wrong, "--notify-retry-max-ms", "200"])
        relay = self.relay(port=relay_port)
        s3 = self.s3(store)
        s3.create_bucket(Bucket="tok")
        s3.put_object(Bucket="tok", Key="held", Body=b"x")
        wait_for(lambda: self.relay_metrics(relay)["unauthorized"] >= 2, 20,
                 what="the store's refused deliveries")
        self.assertEqual(self.consumer.posts, [])
        wait_for(lambda: "refused this store's token" in store.output(), what="the store's log")
        store.stop()
        self.start_store(["--notify-webhook", f"http://127.0.0.1:{relay_port}/",
                          "--notify-token-file", self.webhook_token_file,
                          "--notify-retry-max-ms", "200"])  # same data dir: the outbox is kept
        wait_for(lambda: self.consumer.bodies(), 20, what="the held notification")
        self.assertEqual([b["key"] for b in self.consumer.bodies()], ["held"])


if __name__ == "__main__":
    unittest.main()
