"""HTTP source (JSONHandler) against the real agent: Flume's status codes and bodies."""
import json
import os
import socket
import unittest

from harness import AgentTestCase, http, metrics, rolled, wait_for


def config(outdir, capacity=1000, tx=100, extra=""):
    return f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = http
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.channels = c1
{extra}
a1.channels.c1.type = memory
a1.channels.c1.capacity = {capacity}
a1.channels.c1.transactionCapacity = {tx}
a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = {outdir}
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.serializer = header_and_text
a1.sinks.k1.sink.batchSize = {tx}
"""


class HttpSourceTest(AgentTestCase):
    def start(self, **kw):
        self.out = os.path.join(self.tmp, "out")
        a = self.start_agent(config(self.out, **kw), args=["--metrics-port", "0"])
        return a, a.port("r1")

    def test_json_batch_is_committed_then_200(self):
        a, port = self.start()
        body = json.dumps([{"headers": {"a": "b"}, "body": "first"}, {"body": "second \"q\" <b>"}])
        st, _, data = http(port, "POST", "/any/path", body.encode(), {"Content-Type": "application/json"})
        self.assertEqual((st, data), (200, b""))
        wait_for(lambda: rolled(self.out) == b'{a=b} first\n{} second "q" <b>\n', what="two events")
        m = metrics(a)["SOURCE.r1"]
        self.assertEqual(m["AppendBatchAcceptedCount"], "1")
        self.assertEqual(m["EventAcceptedCount"], "2")

    def test_numbers_keep_their_text_as_sent(self):
        # Flume (Gson into String fields) keeps a number's text; 1.0 must not become 1E0, 0.10
        # 1E-1, 1e400 Infinity, nor a 30-digit id lose digits.
        a, port = self.start()
        body = (b'[{"headers":{"id":123456789012345678901234567890,"v":1.0},"body":0.10},'
                b'{"body":1e400},{"headers":{"n":-0},"body":18446744073709551616}]')
        st, _, data = http(port, "POST", "/", body, {"Content-Type": "application/json"})
        self.assertEqual((st, data), (200, b""))
        wait_for(lambda: rolled(self.out) ==
                 b"{id=123456789012345678901234567890, v=1.0} 0.10\n{} 1e400\n"
                 b"{n=-0} 18446744073709551616\n", what="three events with numbers as sent")

    def test_get_is_handled_like_post(self):
        a, port = self.start()
        st, _, _ = http(port, "GET", "/", b'[{"body":"via get"}]')
        self.assertEqual(st, 200)
        wait_for(lambda: rolled(self.out) == b"{} via get\n", what="event")

    def test_malformed_json_and_non_array_are_400(self):
        a, port = self.start()
        for body in (b"[{", b'{"body":"x"}', b'"str"', b"[1, 2]"):
            with self.subTest(body=body):
                st, _, data = http(port, "POST", "/", body)
                self.assertEqual(st, 400)
                self.assertTrue(data.startswith(b"Bad request from client."), data)
        self.assertEqual(metrics(a)["SOURCE.r1"]["EventReadFail"], "4")
        self.assertEqual(rolled(self.out), b"")

    def test_empty_body_and_unsupported_charset_are_500(self):
        a, port = self.start()
        st, _, _ = http(port, "POST", "/", b"")
        self.assertEqual(st, 500)
        st, _, _ = http(port, "POST", "/", b'[{"body":"x"}]',
                        {"Content-Type": "application/json; charset=ISO-8859-1"})
        self.assertEqual(st, 500)
        self.assertEqual(metrics(a)["SOURCE.r1"]["EventReadFail"], "2")

    def test_utf16_request_gives_utf16_bodies(self):
        a, port = self.start()
        payload = json.dumps([{"body": "hé"}]).encode("utf-16")  # with BOM, as Java's UTF-16
        st, _, _ = http(port, "POST", "/", payload, {"Content-Type": "application/json; charset=UTF-16"})
        self.assertEqual(st, 200)
        # Java's "hé".getBytes("UTF-16"): a BOM then big-endian units.
        wait_for(lambda: rolled(self.out) == b"{} " + "hé".encode("utf-16-be").join([b"\xfe\xff", b""]) + b"\n",
                 what="UTF-16 body")

    def test_trace_and_options_are_403_put_is_405(self):
        a, port = self.start()
        self.assertEqual(http(port, "TRACE", "/")[0], 403)
        self.assertEqual(http(port, "OPTIONS", "/")[0], 403)
        self.assertEqual(http(port, "PUT", "/", b"[]")[0], 405)

    def test_full_channel_is_503_with_retry_after(self):
        # 150 events in one request into a 100-event transaction: Flume's 503.
        a, port = self.start(capacity=100, tx=100)
        body = json.dumps([{"body": str(i)} for i in range(150)]).encode()
        st, hdrs, _ = http(port, "POST", "/", body)
        self.assertEqual(st, 503)
        self.assertIn("retry-after", hdrs)
        self.assertEqual(metrics(a)["SOURCE.r1"]["ChannelWriteFail"], "1")
        self.assertEqual(rolled(self.out), b"")  # nothing half-committed

    def test_oversize_body_is_413(self):
        a, port = self.start(extra="a1.sources.r1.maxRequestSize = 1024")
        st, _, _ = http(port, "POST", "/", b"[" + b'{"body":"x"},' * 200 + b'{"body":"x"}]')
        self.assertEqual(st, 413)
        st, _, _ = http(port, "POST", "/", b'[{"body":"small"}]')
        self.assertEqual(st, 200)

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        import http.client
        a, port = self.start()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for i in range(50):
            c.request("POST", "/", body=json.dumps([{"body": f"k{i}"}]))
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
        c.close()
        wait_for(lambda: rolled(self.out).count(b"\n") == 50, what="50 events")


if __name__ == "__main__":
    unittest.main()
