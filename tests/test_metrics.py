"""Monitoring: Flume's /metrics JSON (names, string values) and /prometheus."""
import json
import unittest

from harness import AgentTestCase, connect, http, metrics, recv_lines, wait_for

CFG = """a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 100
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
"""


class MetricsTest(AgentTestCase):
    def test_flume_json_names_and_values(self):
        a = self.start_agent(CFG, args=["-Dflume.monitoring.type=http", "-Dflume.monitoring.port=0"])
        s = connect(a.port("r1"))
        s.sendall(b"a\nb\nc\n")
        self.assertEqual(recv_lines(s, 3), [b"OK"] * 3)
        m = wait_for(lambda: (lambda m: m["SINK.k1"]["EventDrainSuccessCount"] == "3" and m)(metrics(a)),
                     what="3 drained events")
        self.assertEqual(set(m), {"SOURCE.r1", "CHANNEL.c1", "SINK.k1"})
        for group in m.values():
            for k, v in group.items():
                self.assertIsInstance(v, str, k)
        src, ch, sink = m["SOURCE.r1"], m["CHANNEL.c1"], m["SINK.k1"]
        self.assertEqual(src["Type"], "SOURCE")
        self.assertEqual(src["EventReceivedCount"], "3")
        self.assertEqual(src["EventAcceptedCount"], "3")
        self.assertEqual(src["OpenConnectionCount"], "1")
        for k in ("AppendReceivedCount", "AppendAcceptedCount", "AppendBatchReceivedCount",
                  "AppendBatchAcceptedCount", "EventReadFail", "ChannelWriteFail", "GenericProcessingFail"):
            self.assertIn(k, src)
        self.assertEqual(ch["EventPutSuccessCount"], "3")
        self.assertEqual(ch["EventTakeSuccessCount"], "3")
        self.assertEqual(ch["ChannelCapacity"], "100")
        self.assertEqual(ch["ChannelSize"], "0")
        self.assertEqual(ch["ChannelFillPercentage"], "0.0")
        self.assertEqual(ch["StopTime"], "0")
        self.assertGreater(int(ch["StartTime"]), 1_600_000_000_000)
        for k in ("ConnectionCreatedCount", "ConnectionClosedCount", "ConnectionFailedCount",
                  "BatchEmptyCount", "BatchUnderflowCount", "BatchCompleteCount",
                  "EventDrainAttemptCount", "EventWriteFail", "ChannelReadFail"):
            self.assertIn(k, sink)
        # The sink's state for the status page and alerts: delivering, so neither failing nor
        # backing off (an empty channel is idle, not backing off).
        self.assertEqual((sink["ConsecutiveErrors"], sink["BackingOff"]), ("0", "0"))
        st, hdrs, _ = http(a.metrics_port, "GET", "/METRICS")  # path matched ignoring case
        self.assertEqual(st, 200)
        self.assertTrue(hdrs["content-type"].startswith("application/json"))

    def test_prometheus_and_other_paths(self):
        a = self.start_agent(CFG, args=["--metrics-port", "0"])
        st, _, body = http(a.metrics_port, "GET", "/prometheus")
        self.assertEqual(st, 200)
        text = body.decode()
        self.assertIn('ingestor_channel_channel_capacity{component="c1",type="memory"} 100', text)
        self.assertIn("# TYPE ingestor_source_event_received_count counter", text)
        self.assertIn('ingestor_sink_backing_off{component="k1",type="null"} 0', text)
        self.assertIn("# TYPE ingestor_sink_consecutive_errors gauge", text)
        # The status page and its files, embedded in the binary; the wiring it draws.
        st, hdrs, body = http(a.metrics_port, "GET", "/")
        self.assertEqual(st, 200)
        self.assertTrue(hdrs["content-type"].startswith("text/html"))
        self.assertIn(b'<script src="status.js"', body)
        for path, ctype in (("/status.js", "text/javascript"), ("/status.css", "text/css"),
                            ("/uPlot.iife.min.js", "text/javascript")):
            st, hdrs, body = http(a.metrics_port, "GET", path)
            self.assertEqual((st, hdrs["content-type"].split(";")[0]), (200, ctype), path)
            self.assertGreater(len(body), 1000, path)
        st, _, body = http(a.metrics_port, "GET", "/topology")
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(body), {
            "agent": "a1", "roles": [], "sinkgroups": [],
            "sources": [{"name": "r1", "type": "netcat", "channels": ["c1"], "interceptors": [],
                         "selector": {"type": "replicating", "header": "", "mapping": {},
                                      "optional": {}, "default": []}}],
            "channels": [{"name": "c1", "type": "memory"}],
            "sinks": [{"name": "k1", "type": "null", "channel": "c1"}]})
        self.assertEqual(http(a.metrics_port, "GET", "/nope")[0], 404)
        self.assertEqual(http(a.metrics_port, "TRACE", "/metrics")[0], 403)
        self.assertEqual(http(a.metrics_port, "OPTIONS", "/metrics")[0], 403)


if __name__ == "__main__":
    unittest.main()
