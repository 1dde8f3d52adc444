"""The Kafka test harness itself: the mock cluster process and kcat on both sides of it."""
import subprocess
import unittest

from kafka_harness import API_PRODUCE, ERR_MSG_SIZE_TOO_LARGE, MockKafka


class MockClusterTest(unittest.TestCase):
    def setUp(self):
        self.kafka = MockKafka(brokers=3, topics={"t1": 2})

    def tearDown(self):
        self.kafka.stop()

    def test_kcat_round_trip_with_keys_and_headers(self):
        self.kafka.produce("t1", ["k1:v1", "k2:v2"], partition=1, key_delim=":",
                           headers=["h1=x"])
        recs = self.kafka.consume("t1")
        self.assertEqual([(r["partition"], r["key"], r["value"], r["headers"]) for r in recs],
                         [(1, b"k1", b"v1", ["h1=x"]), (1, b"k2", b"v2", ["h1=x"])])
        self.assertEqual(self.kafka.end_offsets("t1", 2), {0: 0, 1: 2})

    def test_injected_produce_error_fails_the_delivery(self):
        self.kafka.command(f"err {API_PRODUCE} {ERR_MSG_SIZE_TOO_LARGE}")
        with self.assertRaises(subprocess.CalledProcessError):
            self.kafka.produce("t1", ["x"], partition=0)
        self.kafka.produce("t1", ["y"], partition=0)
        self.assertEqual([r["value"] for r in self.kafka.consume("t1")], [b"y"])

    def test_bad_command_is_reported(self):
        with self.assertRaises(AssertionError):
            self.kafka.command("frobnicate")
        self.kafka.command("down -1")
        self.kafka.command("up -1")
        self.kafka.produce("t1", ["z"], partition=0)
        self.assertEqual(len(self.kafka.consume("t1")), 1)


if __name__ == "__main__":
    unittest.main()
