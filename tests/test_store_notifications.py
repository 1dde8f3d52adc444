"""ObjectCreated notifications from `ingestor store`: one correctly shaped AWS event (2.1) per
object created, to --notify-webhook and to per-bucket configurations naming --notify-target
webhooks; delivery at least once, after the webhook was down and across a store restart."""
import os
import unittest
import urllib.parse

from harness import wait_for
from store_harness import StoreTestCase, Webhook, require_boto3


class NotificationTest(StoreTestCase):
    def setUp(self):
        require_boto3()
        self.hook = Webhook().start()
        self.target = Webhook().start()
        self.store_args = ["--notify-webhook", self.hook.url,
                           "--notify-target", f"relay={self.target.url}",
                           "--notify-retry-max-ms", "500"]
        super().setUp()
        self.s3 = self.client()
        self.s3.create_bucket(Bucket="bkt")

    def tearDown(self):
        super().tearDown()
        self.hook.stop()
        self.target.stop()

    def check_record(self, r, key, event, size, etag):
        self.assertEqual(r["eventVersion"], "2.1")
        self.assertEqual(r["eventSource"], "aws:s3")
        self.assertEqual(r["awsRegion"], "us-east-1")
        self.assertEqual(r["eventName"], event)
        self.assertRegex(r["eventTime"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(r["s3"]["s3SchemaVersion"], "1.0")
        self.assertEqual(r["s3"]["bucket"]["name"], "bkt")
        self.assertEqual(r["s3"]["bucket"]["arn"], "arn:aws:s3:::bkt")
        self.assertEqual(urllib.parse.unquote_plus(r["s3"]["object"]["key"]), key)
        self.assertEqual(r["s3"]["object"]["size"], size)
        self.assertEqual(r["s3"]["object"]["eTag"], etag)
        self.assertRegex(r["s3"]["object"]["sequencer"], r"^[0-9A-F]{16,}$")

    def test_one_event_per_object_created(self):
        put = self.s3.put_object(Bucket="bkt", Key="dir/red flower+1.jpg", Body=b"hello world")
        self.s3.copy_object(Bucket="bkt", Key="copy", CopySource="bkt/dir/red flower+1.jpg")
        uid = self.s3.create_multipart_upload(Bucket="bkt", Key="mp")["UploadId"]
        e = self.s3.upload_part(Bucket="bkt", Key="mp", UploadId=uid, PartNumber=1, Body=b"xy")
        done = self.s3.complete_multipart_upload(Bucket="bkt", Key="mp", UploadId=uid,
                                                 MultipartUpload={"Parts": [
                                                     {"PartNumber": 1, "ETag": e["ETag"]}]})
        self.s3.delete_object(Bucket="bkt", Key="copy")  # no ObjectCreated for deletes
        recs = wait_for(lambda: len(self.hook.records()) >= 3 and self.hook.records(),
                        what="three events")
        self.assertEqual(len(recs), 3)
        by_name = {r["eventName"]: r for r in recs}
        self.check_record(by_name["ObjectCreated:Put"], "dir/red flower+1.jpg",
                          "ObjectCreated:Put", 11, put["ETag"].strip('"'))
        self.assertEqual(by_name["ObjectCreated:Put"]["s3"]["object"]["key"],
                         "dir/red+flower%2B1.jpg")
        self.check_record(by_name["ObjectCreated:Copy"], "copy", "ObjectCreated:Copy", 11,
                          put["ETag"].strip('"'))
        self.check_record(by_name["ObjectCreated:CompleteMultipartUpload"], "mp",
                          "ObjectCreated:CompleteMultipartUpload", 2, done["ETag"].strip('"'))
        self.assertEqual(self.hook.bodies[0]["EventName"], "s3:" + recs[0]["eventName"])
        self.assertEqual(self.target.records(), [])  # no bucket configuration yet

    def test_bucket_configuration_filters_and_targets(self):
        cfg = {"QueueConfigurations": [{
            "Id": "logs", "QueueArn": "arn:minio:sqs::relay:webhook",
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "logs/"},
                                               {"Name": "suffix", "Value": ".gz"}]}}}]}
        self.s3.put_bucket_notification_configuration(Bucket="bkt",
                                                      NotificationConfiguration=cfg)
        got = self.s3.get_bucket_notification_configuration(Bucket="bkt")
        self.assertEqual(got["QueueConfigurations"][0]["QueueArn"], "arn:minio:sqs::relay:webhook")
        self.assertEqual(got["QueueConfigurations"][0]["Id"], "logs")
        for k in ("logs/a.gz", "logs/b.txt", "other/c.gz"):
            self.s3.put_object(Bucket="bkt", Key=k, Body=b"x")
        wait_for(lambda: len(self.hook.records()) == 3, what="global webhook events")
        recs = wait_for(lambda: self.target.records(), what="target event")
        self.assertEqual([r["s3"]["object"]["key"] for r in recs], ["logs/a.gz"])
        self.assertEqual(recs[0]["s3"]["configurationId"], "logs")
        bad = {"QueueConfigurations": [{"QueueArn": "arn:minio:sqs::unknown:webhook",
                                        "Events": ["s3:ObjectCreated:*"]}]}
        with self.assertRaises(self.s3.exceptions.ClientError) as cm:
            self.s3.put_bucket_notification_configuration(Bucket="bkt",
                                                          NotificationConfiguration=bad)
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgument")
        empty = self.s3.get_bucket_notification_configuration(Bucket="bkt")
        self.assertIn("QueueConfigurations", empty)  # the bad PUT changed nothing

    def test_delivery_after_webhook_down_and_store_restart(self):
        port = self.hook.port
        self.hook.stop()
        self.s3.put_object(Bucket="bkt", Key="while-down", Body=b"1")
        # the store retries while the webhook is down; bring it back on the same port
        wait_for(lambda: "delivery to" in self.store.output(), what="a failed delivery")
        self.hook = Webhook(port).start()
        recs = wait_for(lambda: self.hook.records(), timeout=20, what="delayed event")
        self.assertEqual([r["s3"]["object"]["key"] for r in recs], ["while-down"])
        # down again, and the store restarts before delivering
        self.hook.stop()
        self.s3.put_object(Bucket="bkt", Key="across-restart", Body=b"2")
        self.store.stop()
        self.hook = Webhook(port).start()
        self.store = self.start_store(self.store_args, data_dir=self.store.data_dir)
        recs = wait_for(lambda: [r for r in self.hook.records()
                                 if r["s3"]["object"]["key"] == "across-restart"],
                        timeout=20, what="event after restart")
        self.assertEqual(len(recs), 1)
        self.assertEqual(recs[0]["s3"]["object"]["eTag"], "c81e728d9d4c2f636f067f89cc14862c")


class NotificationTokenTest(StoreTestCase):
    """Each webhook's POSTs carry its own Bearer token (--notify-token-file for
    --notify-webhook, --notify-target-token-file NAME=PATH for a target), read from a file or
    INGESTOR_NOTIFY_TOKEN so that it is not in `ps`; a target without one gets no header."""

    HOOK_TOKEN = "hook-token-0123456789abcdef"
    TARGET_TOKEN = "target-token-0123456789abcdef"

    def setUp(self):
        require_boto3()
        import tempfile
        self.files = tempfile.mkdtemp(prefix="ingestor-token-")
        self.hook_token = os.path.join(self.files, "hook-token")
        self.target_token = os.path.join(self.files, "target-token")
        with open(self.hook_token, "w") as f:
            f.write(self.HOOK_TOKEN + "\n")
        with open(self.target_token, "w") as f:
            f.write(self.TARGET_TOKEN)
        self.hook, self.target, self.plain = (Webhook().start() for _ in range(3))
        self.store_args = ["--notify-webhook", self.hook.url,
                           "--notify-token-file", self.hook_token,
                           "--notify-target", f"relay={self.target.url}",
                           "--notify-target-token-file", f"relay={self.target_token}",
                           "--notify-target", f"plain={self.plain.url}",
                           "--notify-retry-max-ms", "500"]
        super().setUp()
        self.s3 = self.client()
        self.s3.create_bucket(Bucket="bkt")

    def tearDown(self):
        super().tearDown()
        for h in (self.hook, self.target, self.plain):
            h.stop()
        import shutil
        shutil.rmtree(self.files, ignore_errors=True)

    def test_each_webhook_gets_its_own_token(self):
        cfg = {"QueueConfigurations": [
            {"Id": "a", "QueueArn": "arn:minio:sqs::relay:webhook",
             "Events": ["s3:ObjectCreated:*"]},
            {"Id": "b", "QueueArn": "arn:minio:sqs::plain:webhook",
             "Events": ["s3:ObjectCreated:*"]}]}
        self.s3.put_bucket_notification_configuration(Bucket="bkt",
                                                      NotificationConfiguration=cfg)
        self.s3.put_object(Bucket="bkt", Key="k", Body=b"x")
        for h in (self.hook, self.target, self.plain):
            wait_for(lambda: h.records(), what="an event at each webhook")
        self.assertEqual(self.hook.authorization, ["Bearer " + self.HOOK_TOKEN])
        self.assertEqual(self.target.authorization, ["Bearer " + self.TARGET_TOKEN])
        self.assertEqual(self.plain.authorization, [None])
        self.assertNotIn(self.HOOK_TOKEN, self.store.output())

    def test_token_from_the_environment(self):
        self.store.stop()
        os.environ["INGESTOR_NOTIFY_TOKEN"] = "env-token-0123456789abcdef"
        try:
            self.store = self.start_store(
                ["--notify-webhook", self.hook.url, "--notify-retry-max-ms", "500"],
                data_dir=self.store.data_dir)
        finally:
            del os.environ["INGESTOR_NOTIFY_TOKEN"]
        self.s3 = self.client()
        self.s3.put_object(Bucket="bkt", Key="k", Body=b"x")
        wait_for(lambda: self.hook.records(), what="an event")
        self.assertEqual(self.hook.authorization, ["Bearer env-token-0123456789abcdef"])

    def test_bad_token_settings_stop_the_store(self):
        import subprocess
        from harness import BIN
        empty = os.path.join(self.files, "empty")
        open(empty, "w").close()
        base = [BIN, "store", "--listen", "127.0.0.1:0", "--data-dir",
                os.path.join(self.files, "never"), "--access-key", "ak", "--secret-key", "sk"]
        cases = [
            (["--notify-webhook", self.hook.url, "--notify-token-file", empty], {},
             f"--notify-token-file '{empty}': the token is empty"),
            (["--notify-webhook", self.hook.url, "--notify-token-file", empty + ".missing"], {},
             f"--notify-token-file '{empty}.missing': "),
            (["--notify-webhook", self.hook.url], {"INGESTOR_NOTIFY_TOKEN": "short"},
             "INGESTOR_NOTIFY_TOKEN: the token is 5 characters; at least 16"),
            (["--notify-webhook", self.hook.url], {"INGESTOR_NOTIFY_TOKEN": ""},
             "INGESTOR_NOTIFY_TOKEN: the token is empty"),
            (["--notify-token-file", self.hook_token], {},
             "--notify-token-file is the token of --notify-webhook, which is not given"),
            (["--notify-target-token-file", f"nope={self.hook_token}"], {},
             "no --notify-target is named 'nope'"),
            (["--notify-target", f"t={self.hook.url}", "--notify-target-token-file", "t"], {},
             "--notify-target-token-file must be NAME=PATH"),
            (["--notify-webhook", self.hook.url, "--notify-token-file", self.hook_token,
              "--notify-target", f"t={self.hook.url}",
              "--notify-target-token-file", f"t={self.target_token}"], {},
             "already has another token"),
        ]
        for args, env, needle in cases:
            with self.subTest(args=args, env=env):
                p = subprocess.run(base + args, capture_output=True, timeout=20,
                                   env={**os.environ, **env})
                out = (p.stdout + p.stderr).decode()
                self.assertEqual(p.returncode, 2, out)
                self.assertIn(needle, out)
                self.assertFalse(os.path.exists(os.path.join(self.files, "never")))


if __name__ == "__main__":
    unittest.main()
