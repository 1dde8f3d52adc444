"""The roles as separate processes: `ingestor store --notify-webhook` -> `ingestor relay
--listen` -> `ingestor consumer`. Objects put with boto3 arrive byte for byte under the download
dir, exactly once even when the relay delivers twice, and nothing is lost while the consumer is
down for a while."""
import json
import os
import unittest

from harness import wait_for
from relay_harness import PipelineTestCase, free_port, http_json, s3_event

SECRET = "e2e-shared-secret"


class RelayConsumerE2E(PipelineTestCase):
    def start_pipeline(self, consumer_port=0, relay_args=()):
        # The consumer's S3 endpoint is the store, whose port is known only once it runs, and the
        # store notifies the relay: so the relay's port is reserved first.
        relay_port = free_port()
        self.store = self.start_store(["--notify-webhook", f"http://127.0.0.1:{relay_port}/hook",
                                       "--notify-token-file", self.webhook_token_file,
                                       "--notify-retry-max-ms", "500"])
        self.client = self.s3(self.store)
        self.client.create_bucket(Bucket="events")
        self.consumer = self.start_consumer(self.store.endpoint, ["--secret", SECRET],
                                            port=consumer_port)
        self.relay = self.start_relay(f"http://127.0.0.1:{self.consumer.port}/objects",
                                      ["--secret", SECRET, "--timeout-ms", "1000"] +
                                      list(relay_args), port=relay_port)

    def test_objects_put_with_boto3_arrive_byte_for_byte(self):
        self.start_pipeline()
        objects = {f"2026/11/26/events-{i}.log": os.urandom(1000 * (i + 1)) for i in range(5)}
        objects["odd key/with+plus and space.txt"] = b"odd\n"
        objects["large.bin"] = os.urandom(9 * 1024 * 1024)
        for k, d in objects.items():
            self.client.put_object(Bucket="events", Key=k, Body=d)
        for k, d in objects.items():
            self.wait_done(self.consumer, "events", k)
            self.assertEqual(self.downloaded("events", k), d, k)
        m = self.metrics(self.consumer)
        self.assertEqual(m["downloads"], len(objects))
        self.assertEqual(m["unauthorized"], 0)
        st, rm = http_json(self.relay.port, "GET", "/metrics")
        self.assertEqual(rm["relay"]["posted"], len(objects))

    def test_a_notification_relayed_twice_downloads_once(self):
        self.start_pipeline()
        data = os.urandom(4096)
        etag = self.client.put_object(Bucket="events", Key="dup.bin", Body=data)["ETag"]
        self.wait_done(self.consumer, "events", "dup.bin")
        # The same event again, as S3 (at least once) or the outbox may redeliver it.
        event = s3_event([("events", "dup.bin", len(data), etag.strip('"'))])
        for _ in range(2):
            st, body = http_json(self.relay.port, "POST", "/hook", event, self.webhook_auth())
            self.assertEqual(st, 200, body)
            self.assertEqual(body["relayed"], 1)
        s = self.object_state(self.consumer, "events", "dup.bin")
        self.assertEqual((s["state"], s["attempts"]), ("done", 1))
        self.assertGreaterEqual(s["deliveries"], 3)
        m = self.metrics(self.consumer)
        self.assertEqual(m["downloads"], 1)
        self.assertGreaterEqual(m["duplicates"], 2)
        self.assertEqual(self.downloaded("events", "dup.bin"), data)

    def test_consumer_down_for_a_while_loses_nothing(self):
        port = free_port()
        self.start_pipeline(consumer_port=port)
        self.client.put_object(Bucket="events", Key="before", Body=b"before")
        self.wait_done(self.consumer, "events", "before")
        self.consumer.stop()
        objects = {f"while-down/{i}": os.urandom(2000 + i) for i in range(4)}
        for k, d in objects.items():
            self.client.put_object(Bucket="events", Key=k, Body=d)
        # The relay answers 503 (consumer unreachable) and the store keeps the notifications.
        wait_for(lambda: http_json(self.relay.port, "GET", "/metrics")[1]["relay"]["failed"] >= 2,
                 20, what="failed relays while the consumer is down")
        for k in objects:
            self.assertFalse(os.path.exists(os.path.join(self.download_dir, "events", k)))
        self.consumer = self.start_consumer(self.store.endpoint, ["--secret", SECRET], port=port,
                                            name="consumer-again")
        for k, d in objects.items():
            self.wait_done(self.consumer, "events", k, timeout=40)
            self.assertEqual(self.downloaded("events", k), d)

    def test_relay_webhook_bad_input_and_test_event(self):
        self.start_pipeline()
        auth = self.webhook_auth()
        st, body = http_json(self.relay.port, "POST", "/hook", b"{nope", auth)
        self.assertEqual(st, 400)
        self.assertIn("not JSON", body["error"])
        st, body = http_json(self.relay.port, "POST", "/hook", {"Records": [{"eventName": "x"}]},
                             auth)
        self.assertEqual((st, body["relayed"], body["skipped"]), (200, 0, 1))
        st, body = http_json(self.relay.port, "POST", "/hook",
                             {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"}, auth)
        self.assertEqual((st, body["testEvent"]), (200, True))
        st, body = http_json(self.relay.port, "POST", "/hook", b"x" * (2 * 1024 * 1024), auth)
        self.assertEqual(st, 413)
        # A consumer with another secret rejects the relay: 502, and the sender keeps the event.
        other = self.start_consumer(self.store.endpoint, ["--secret", "not-the-same"],
                                    name="consumer-other")
        relay2 = self.start_relay(f"http://127.0.0.1:{other.port}/objects",
                                  ["--secret", SECRET], name="relay-other")
        st, body = http_json(relay2.port, "POST", "/", s3_event([("events", "k", 1, "a" * 32)]),
                             auth)
        self.assertEqual(st, 502)
        self.assertIn("401", body["error"])
        self.assertEqual(self.metrics(other)["queued"], 0)


if __name__ == "__main__":
    unittest.main()
