"""http sink against a small Python HTTP server answering chosen status codes: a 200 is delivered
once, a 503 is sent again until it succeeds, a 401 is not sent again (rules backoff/rollback.<code>
as Flume's), headers are not sent, Content-Type/Accept are; a refused connection is retried.
"""
import http.server
import threading
import unittest

from harness import AgentTestCase, connect, metrics, recv_lines, run_agent_once, wait_for


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.received = []  # (body, content-type, accept)
        self.fail_503 = {}  # body -> how many more 503s


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        srv = self.server
        with srv.lock:
            srv.received.append((body, self.headers.get("Content-Type"),
                                 self.headers.get("Accept")))
            if body.startswith("deny"):
                code = 401
            elif srv.fail_503.get(body, 0) > 0:
                srv.fail_503[body] -= 1
                code = 503
            else:
                code = 200
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def config(port, extra=""):
    return f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = http
a1.sinks.k1.channel = c1
a1.sinks.k1.endpoint = http://127.0.0.1:{port}/events
a1.sinks.k1.contentTypeHeader = application/json
a1.sinks.k1.acceptHeader = application/json
a1.sinks.k1.backoff.200 = false
a1.sinks.k1.rollback.200 = false
a1.sinks.k1.backoff.401 = false
a1.sinks.k1.rollback.401 = false
a1.sinks.k1.incrementMetrics.200 = true
{extra}"""


class HttpSinkTest(AgentTestCase):
    def setUp(self):
        super().setUp()
        self.server = Server()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def tearDown(self):
        self.server.shutdown()
        self.server.server_close()
        super().tearDown()

    def send(self, agent, lines):
        s = connect(agent.port("r1"))
        s.sendall("".join(l + "\n" for l in lines).encode())
        self.assertEqual(recv_lines(s, len(lines)), [b"OK"] * len(lines))
        s.close()

    def bodies(self):
        with self.server.lock:
            return [b for b, _, _ in self.server.received]

    def test_status_rules_decide_what_is_sent_again(self):
        self.server.fail_503["retry-1"] = 2
        agent = self.start_agent(config(self.server.server_address[1]), args=["--metrics-port", "0"])
        self.send(agent, ["ok-1", "retry-1", "deny-1", "ok-2"])
        wait_for(lambda: self.bodies().count("ok-2") == 1, what="every event delivered")
        self.assertEqual(self.bodies(), ["ok-1", "retry-1", "retry-1", "retry-1", "deny-1", "ok-2"])
        with self.server.lock:
            self.assertTrue(all(ct == "application/json" and acc == "application/json"
                                for _, ct, acc in self.server.received))
        m = wait_for(lambda: (lambda m: m if m["SINK.k1"]["EventDrainSuccessCount"] == "3" else
                              None)(metrics(agent)), what="3 successes counted (200 only)")
        self.assertEqual(m["CHANNEL.c1"]["ChannelSize"], "0")
        agent.stop()

    def test_a_refused_connection_is_retried(self):
        port = self.server.server_address[1]
        self.server.shutdown()
        self.server.server_close()
        agent = self.start_agent(config(port, "a1.sinks.k1.connectTimeout = 500\n"),
                                 args=["--metrics-port", "0"])
        self.send(agent, ["ok-late"])
        wait_for(lambda: int(metrics(agent)["SINK.k1"]["EventWriteFail"]) >= 1,
                 what="a failed attempt")
        self.server = Server.__new__(Server)
        http.server.ThreadingHTTPServer.__init__(self.server, ("127.0.0.1", port), Handler)
        self.server.lock, self.server.received, self.server.fail_503 = threading.Lock(), [], {}
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        wait_for(lambda: self.bodies() == ["ok-late"], timeout=30, what="the event sent again")
        agent.stop()

    def test_bad_endpoint_is_a_configuration_error(self):
        code, output = run_agent_once(config(1).replace("http://127.0.0.1:1/events", "nope"))
        self.assertNotEqual(code, 0)
        self.assertIn("Endpoint URL invalid", output)


if __name__ == "__main__":
    unittest.main()
