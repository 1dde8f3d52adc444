"""Hostile and careless input against the agent's listeners (issue 16): the http source (Flume's
JSONHandler) and the netcat source. One test per input, each stating what the agent answers; after
every one the agent still serves a good request. The next campaign starts from this list; the
source's limits under load (EMFILE, the longest lines) are in test_netcat_limits.py."""
import json
import os
import socket
import time
import unittest

from harness import Agent, connect, http, metrics, recv_lines, wait_for

CONFIG = """a1.sources = h n
a1.channels = c1
a1.sinks = k1
a1.sources.h.type = http
a1.sources.h.bind = 127.0.0.1
a1.sources.h.port = 0
a1.sources.h.maxRequestSize = 65536
a1.sources.h.ServerConnector.idleTimeout = 1000
a1.sources.h.channels = c1
a1.sources.n.type = netcat
a1.sources.n.bind = 127.0.0.1
a1.sources.n.port = 0
a1.sources.n.max-line-length = 64
a1.sources.n.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 10000
a1.channels.c1.transactionCapacity = 100
a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = {out}
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.serializer = header_and_text
"""


def raw_http(port, data, timeout=10.0):
    """Sends `data` as it is; returns everything the agent answers until it closes (or the
    timeout: then what came so far)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    got = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        pass
    except ConnectionResetError:
        pass
    s.close()
    return got


def status_of(response):
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else None


class AgentHostileCase(unittest.TestCase):
    """One agent for the whole module: hostile input must not need a fresh one."""

    @classmethod
    def setUpClass(cls):
        cls.agent = Agent("", tmp=None)
        cls.out = os.path.join(cls.agent.tmp, "out")
        os.makedirs(cls.out)
        with open(cls.agent.conf, "w") as f:
            f.write(CONFIG.format(out=cls.out))
        cls.agent.args += ["--metrics-port", "0"]
        cls.agent.start()
        cls.http_port = cls.agent.port("h")
        cls.nc_port = cls.agent.port("n")

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()

    def tearDown(self):
        # Whatever came before, the agent is alive and both sources serve a good request.
        self.assertIsNone(self.agent.proc.poll(), self.agent.output()[-3000:])
        st, _, _ = http(self.http_port, "POST", "/", b'[{"body":"alive"}]')
        self.assertEqual(st, 200)
        s = connect(self.nc_port)
        s.sendall(b"alive\n")
        self.assertEqual(recv_lines(s, 1), [b"OK"])
        s.close()

    def post(self, body, headers=None):
        return http(self.http_port, "POST", "/", body, headers or {})

    def rolled(self):
        data = b""
        for f in sorted(os.listdir(self.out)):
            with open(os.path.join(self.out, f), "rb") as fh:
                data += fh.read()
        return data

    def since(self, mark):
        """What the sink wrote after `mark`, without the lines of
        test_client_that_never_reads_its_acks: the agent may still be draining that client's
        socket when a later test of the shared agent runs."""
        return b"".join(l for l in self.rolled()[mark:].splitlines(keepends=True)
                        if l != b"{} z\n")

    def log_since(self, mark):
        return self.agent.output()[mark:]


class HttpSourceHostileTest(AgentHostileCase):
    def test_malformed_json_is_400(self):
        st, _, body = self.post(b'[{"body": "x",]]')
        self.assertEqual(st, 400)
        self.assertTrue(body.startswith(b"Bad request from client. Request has invalid JSON"))

    def test_top_level_object_is_400(self):
        st, _, _ = self.post(b'{"body": "x"}')
        self.assertEqual(st, 400)

    def test_events_that_are_not_objects_are_400(self):
        for body in (b"[1]", b'["x"]', b"[null]", b"[[]]", b"[true]"):
            with self.subTest(body=body):
                self.assertEqual(self.post(body)[0], 400)

    def test_headers_that_are_not_an_object_are_400(self):
        self.assertEqual(self.post(b'[{"headers": ["a"], "body": "x"}]')[0], 400)
        self.assertEqual(self.post(b'[{"headers": "a=b", "body": "x"}]')[0], 400)

    def test_nested_header_value_or_body_is_400(self):
        self.assertEqual(self.post(b'[{"headers": {"k": {"x": 1}}, "body": "x"}]')[0], 400)
        self.assertEqual(self.post(b'[{"headers": {"k": [1]}, "body": "x"}]')[0], 400)
        self.assertEqual(self.post(b'[{"body": {"x": 1}}]')[0], 400)

    def test_deep_nesting_is_400_without_a_crash(self):
        self.assertEqual(self.post(b"[" * 30000 + b"]" * 30000)[0], 400)
        self.assertEqual(self.post(b'[{"x":' + b"[" * 20000 + b"]" * 20000 + b'}]')[0], 400)
        self.assertEqual(self.post(b'[{"body":"x","x":' + b"[" * 40 + b"]" * 40 + b'}]')[0], 400)

    def test_invalid_utf8_is_decoded_with_replacement_characters(self):
        # As Java's decoder (Flume reads the body through a Reader): U+FFFD for each bad byte.
        mark = len(self.rolled())
        self.assertEqual(self.post(b'[{"body": "a\xff\xfeb\xc3"}]')[0], 200)
        wait_for(lambda: self.since(mark) == "{} a\ufffd\ufffdb\ufffd\n".encode(),
                 what="the body with replacement characters")

    def test_numbers_keep_their_text_huge_or_not(self):
        mark = len(self.rolled())
        st, _, _ = self.post(b'[{"headers":{"n":1e99999},"body":' + b"9" * 400 + b"}]")
        self.assertEqual(st, 200)
        wait_for(lambda: self.since(mark) == b"{n=1e99999} " + b"9" * 400 + b"\n",
                 what="the numbers as sent")

    def test_nul_and_control_characters_in_values_are_kept_as_sent(self):
        mark = len(self.rolled())
        body = json.dumps([{"headers": {"k\u0000": "v\u001b[31m"}, "body": "a\u0000b\r\nc"}])
        self.assertEqual(self.post(body.encode())[0], 200)
        wait_for(lambda: self.since(mark) == b"{k\x00=v\x1b[31m} a\x00b\r\nc\n",
                 what="the event byte for byte")

    def test_duplicate_keys_the_last_wins(self):
        mark = len(self.rolled())
        self.assertEqual(self.post(b'[{"body":"first","body":"last"}]')[0], 200)
        wait_for(lambda: self.since(mark) == b"{} last\n", what="the last body")

    def test_empty_and_whitespace_bodies_are_500(self):
        for body in (b"", b"   \r\n\t"):
            with self.subTest(body=body):
                self.assertEqual(self.post(body)[0], 500)

    def test_unsupported_charset_is_500(self):
        st, _, _ = self.post(b"[]", {"Content-Type": "application/json; charset=ISO-8859-1"})
        self.assertEqual(st, 500)

    def test_odd_length_utf16_body_is_answered(self):
        st, _, _ = self.post('[{"body":"x"}]'.encode("utf-16-be") + b"\x00",
                             {"Content-Type": "application/json; charset=UTF-16"})
        self.assertIn(st, (400, 500))

    def test_body_over_max_request_size_is_413_before_it_is_read(self):
        resp = raw_http(self.http_port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "
                        b"10000000000\r\n\r\n")
        self.assertEqual(status_of(resp), 413)

    def test_chunked_body_over_max_request_size_is_413(self):
        chunk = b"%x\r\n%s\r\n" % (40000, b"x" * 40000)
        resp = raw_http(self.http_port, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                        b"chunked\r\n\r\n" + chunk * 2 + b"0\r\n\r\n")
        self.assertEqual(status_of(resp), 413)

    def test_bad_content_length_is_400(self):
        for cl in (b"-1", b"abc", b"1, 2", b"99999999999999999999999"):
            with self.subTest(cl=cl):
                resp = raw_http(self.http_port, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                cl + b"\r\n\r\n[]")
                self.assertIn(status_of(resp), (400, 413), resp[:200])

    def test_content_length_with_chunked_is_refused(self):
        resp = raw_http(self.http_port,
                        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n")
        self.assertEqual(status_of(resp), 400, resp[:300])
        self.assertEqual(resp.count(b"HTTP/1.1 "), 1, "the smuggled request was served")

    def test_garbage_request_line_is_400_and_closed(self):
        for line in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", b"GET\r\n\r\n",
                     b"GET / HTTP/9.9\r\n\r\n", b"G\x00T / HTTP/1.1\r\n\r\n"):
            with self.subTest(line=line):
                resp = raw_http(self.http_port, line, timeout=5)
                self.assertIn(status_of(resp), (400, 505, None), resp[:200])

    def test_huge_header_is_refused(self):
        resp = raw_http(self.http_port, b"POST / HTTP/1.1\r\nHost: x\r\nX-Big: " +
                        b"a" * 200000 + b"\r\nContent-Length: 2\r\n\r\n[]")
        self.assertIn(status_of(resp), (400, 431), resp[:200])

    def test_many_headers_are_refused_or_served(self):
        headers = b"".join(b"X-H%d: v\r\n" % i for i in range(5000))
        resp = raw_http(self.http_port, b"POST / HTTP/1.1\r\nHost: x\r\n" + headers +
                        b"Content-Length: 2\r\n\r\n[]")
        self.assertIn(status_of(resp), (200, 400, 431), resp[:200])

    def test_slow_headers_are_cut_at_the_idle_timeout(self):
        s = socket.create_connection(("127.0.0.1", self.http_port), timeout=10)
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        s.settimeout(10)
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass
        self.assertLess(time.monotonic() - t0, 8, "an idle half request held the connection")
        s.close()

    def test_unknown_methods_are_refused(self):
        for method, want in (("TRACE", 403), ("OPTIONS", 403), ("PUT", 405), ("DELETE", 405),
                             ("PATCH", 501), ("BREW", 501)):
            with self.subTest(method=method):
                self.assertEqual(http(self.http_port, method, "/", b"[]")[0], want)

    def test_log_lines_escape_what_came_from_the_network(self):
        mark = len(self.agent.output())
        # A bad request's log line holds the parser's message, never the request's bytes.
        self.assertEqual(self.post(b'["\x1b[2J\nFORGED ERROR line"')[0], 400)
        log = self.log_since(mark)
        self.assertNotIn("\x1b", log)
        self.assertNotIn("\nFORGED", log)

    def test_many_requests_on_one_connection_then_reset(self):
        s = socket.create_connection(("127.0.0.1", self.http_port), timeout=10)
        req = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\n\r\n[{\"body\":\"p\"}]"
        s.sendall(req * 50)
        got = b""
        while got.count(b"HTTP/1.1 200") < 50:
            chunk = s.recv(65536)
            self.assertTrue(chunk, got[-200:])
            got += chunk
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()  # RST


class NetcatSourceHostileTest(AgentHostileCase):
    def test_overlong_line_fails_and_closes(self):
        s = connect(self.nc_port)
        s.sendall(b"x" * 100 + b"\n")
        self.assertEqual(recv_lines(s, 1), [b"FAILED: Event exceeds the maximum length "
                                            b"(64 chars, including newline)"])
        self.assertEqual(s.recv(100), b"")
        s.close()

    def test_endless_line_without_newline_fails_and_closes(self):
        s = connect(self.nc_port)
        try:
            for _ in range(100):
                s.sendall(b"y" * 10000)
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = recv_lines(s, 1)
        self.assertTrue(reply[0].startswith(b"FAILED: Event exceeds"), reply)
        s.close()

    def test_carriage_returns_only_make_one_long_line(self):
        s = connect(self.nc_port)
        s.sendall(b"a\rb\r" * 40 + b"\n")
        self.assertTrue(recv_lines(s, 1)[0].startswith(b"FAILED: Event exceeds"))
        s.close()

    def test_nul_escape_and_invalid_utf8_bytes_are_kept(self):
        mark = len(self.rolled())
        s = connect(self.nc_port)
        s.sendall(b"a\x00b\x1b[31m\xff\xfe\n")
        self.assertEqual(recv_lines(s, 1), [b"OK"])
        s.close()
        wait_for(lambda: self.since(mark) == b"{} a\x00b\x1b[31m\xff\xfe\n",
                 what="the line byte for byte")

    def test_final_line_without_newline_is_discarded(self):
        mark = len(self.rolled())
        s = connect(self.nc_port)
        s.sendall(b"kept\npartial")
        self.assertEqual(recv_lines(s, 1), [b"OK"])
        s.shutdown(socket.SHUT_WR)
        self.assertEqual(s.recv(100), b"")
        s.close()
        wait_for(lambda: self.since(mark) == b"{} kept\n", what="the complete line only")

    def test_reset_mid_line_leaves_the_others_served(self):
        s = connect(self.nc_port)
        s.sendall(b"half a li")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()

    def test_client_that_never_reads_its_acks(self):
        # 200,000 lines acked with OK, none read: the agent's writes block on this connection
        # only.
        s = connect(self.nc_port)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(0.5)
        sent = 0
        try:
            while sent < 200000:
                s.sendall(b"z\n" * 1000)
                sent += 1000
        except (socket.timeout, BlockingIOError):
            pass
        self.addCleanup(s.close)

    def test_many_idle_connections(self):
        socks = [connect(self.nc_port) for _ in range(200)]
        wait_for(lambda: int(metrics(self.agent)["SOURCE.n"]["OpenConnectionCount"]) >= 200,
                 what="200 open connections")
        for s in socks:
            s.close()
        wait_for(lambda: int(metrics(self.agent)["SOURCE.n"]["OpenConnectionCount"]) == 0,
                 what="the connections closed")

    def test_http_request_on_the_netcat_port_is_lines(self):
        s = connect(self.nc_port)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(recv_lines(s, 3), [b"OK", b"OK", b"OK"])
        s.close()


if __name__ == "__main__":
    unittest.main()
