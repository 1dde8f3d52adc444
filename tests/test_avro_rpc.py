"""Avro RPC interoperability with an implementation that is not ours: Apache Avro's Python library
(python3-avro 1.11, avro.ipc) as the client of our avro source and as the server of our avro sink
(flume-components.md §1.7, §6.1, §8; docs/formats/avro_rpc.md).

One agent per case: python Requestor -> our avro source -> memory -> our avro sink -> python
Responder, so the same events go through both directions and must come out as the same Avro
bytes, with and without deflate.
"""
import os
import socket
import struct
import subprocess
import unittest

from avro_rpc_harness import (ConnectionRequestor, FlumeServer, NettyTransceiver, append_batch,
                              event_datum_bytes, make_certs)
from harness import BIN, AgentTestCase, metrics, run_agent_once, wait_for


def tier_config(server_port, deflate=False, level=6, capacity=10000, extra_source="",
                tx_capacity=1000, extra_sink=""):
    ct = "deflate" if deflate else "none"
    return f"""
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = avro
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.threads = 4
a1.sources.r1.compression-type = {ct}
a1.sources.r1.channels = c1
{extra_source}
a1.channels.c1.type = memory
a1.channels.c1.capacity = {capacity}
a1.channels.c1.transactionCapacity = {tx_capacity}
a1.sinks.k1.type = org.apache.flume.sink.AvroSink
a1.sinks.k1.hostname = 127.0.0.1
a1.sinks.k1.port = {server_port}
a1.sinks.k1.batch-size = {min(50, tx_capacity)}
a1.sinks.k1.compression-type = {ct}
a1.sinks.k1.compression-level = {level}
a1.sinks.k1.channel = c1
{extra_sink}
"""


def sample_events(tag, n=40):
    events = []
    for i in range(n):
        headers = {"tag": tag, "i": str(i)}
        if i % 3 == 0:
            headers["unicode"] = "h\u00e9llo \u65e5\u672c \U0001f600"
        if i % 5 == 0:
            headers = {}
        body = f"{tag} event {i}".encode()
        if i == 1:
            body = bytes(range(256)) * 4  # every byte value
        if i == 2:
            body = b""
        if i == 3:
            body = os.urandom(100 * 1024)
        events.append({"headers": headers, "body": body})
    return events


class AvroRpcInterop(AgentTestCase):
    def start_agent(self, config, **kw):
        return super().start_agent(config, args=["--metrics-port", "0"], **kw)

    def roundtrip(self, deflate, java_hash, level=6):
        server = FlumeServer(deflate=deflate, java_hash=java_hash)
        self.addCleanup(server.close)
        a = self.start_agent(tier_config(server.port, deflate, level))
        port = a.port("r1")
        sent = []
        # Several calls on one connection: the handshake (NONE, then the protocol) only once.
        t = NettyTransceiver("127.0.0.1", port, deflate, level)
        req = ConnectionRequestor(t)
        for k in range(3):
            events = sample_events(f"conn1-{k}")
            self.assertEqual(req.request("appendBatch", {"events": events}), "OK")
            sent += events
        self.assertEqual(req.request("append", {"event": {"headers": {"one": "1"},
                                                          "body": b"single"}}), "OK")
        sent.append({"headers": {"one": "1"}, "body": b"single"})
        t.close()
        self.assertEqual(req.handshakes, 2)  # Python's hash is unknown: NONE, then with protocol
        # A new connection: the server learned Python's hash, so BOTH at once.
        t2 = NettyTransceiver("127.0.0.1", port, deflate, level)
        req2 = ConnectionRequestor(t2)
        events = sample_events("conn2")
        self.assertEqual(req2.request("appendBatch", {"events": events}), "OK")
        sent += events
        t2.close()
        self.assertEqual(req2.handshakes, 1)

        wait_for(lambda: len(server.events) >= len(sent), 20, what="events at the python server")
        got = server.events
        self.assertEqual(len(got), len(sent))
        self.assertEqual([event_datum_bytes(e) for e in got], [event_datum_bytes(e) for e in sent])
        # Our sink's handshake: BOTH against a Java-like server, CLIENT against plain Python
        # (which parsed our protocol text), once per connection.
        self.assertEqual(server.matches, [0] if java_hash else [2])
        # The sink commits a take when it has read the answer: shortly after the server has it.
        wait_for(lambda: metrics(a)["SINK.k1"]["EventDrainSuccessCount"] == str(len(sent)),
                 what="every take committed")
        m = metrics(a)
        self.assertEqual(m["SOURCE.r1"]["EventAcceptedCount"], str(len(sent)))
        self.assertEqual(m["SOURCE.r1"]["AppendBatchAcceptedCount"], "4")
        self.assertEqual(m["SOURCE.r1"]["AppendAcceptedCount"], "1")

    def test_same_events_both_ways(self):
        self.roundtrip(deflate=False, java_hash=True)

    def test_same_events_both_ways_deflate(self):
        self.roundtrip(deflate=True, java_hash=True, level=9)

    def test_plain_python_server_gets_our_protocol_text(self):
        self.roundtrip(deflate=False, java_hash=False)

    def test_full_channel_answers_failed_and_acks_only_commits(self):
        # The sink's server answers FAILED, so the 10-event channel stays full of the first batch
        # (but for the moments the sink holds it taken: the memory channel counts only queued
        # events against its capacity, so a batch sent then may be accepted, and is then owed).
        server = FlumeServer(status="FAILED")
        self.addCleanup(server.close)
        a = self.start_agent(tier_config(server.port, capacity=10, tx_capacity=10))
        port = a.port("r1")
        acked = sample_events("fits", 10)
        self.assertEqual(append_batch(port, acked), "OK")
        failed = []

        def refused():
            batch = sample_events(f"more-{len(failed)}-{len(acked)}", 5)
            if append_batch(port, batch) == "OK":
                acked.extend(batch)
                return False
            failed.extend(batch)
            return True
        wait_for(refused, 20, interval=0.05, what="a FAILED answer from the full channel")
        wait_for(lambda: server.responder.calls >= 2, what="the sink retrying")
        self.assertEqual(server.events, [])  # FAILED calls commit nothing at the sink's side
        server.status_value = "OK"
        wait_for(lambda: len(server.events) >= len(acked), 30,
                 what="delivery once the server says OK")
        got = sorted(event_datum_bytes(e) for e in server.events)
        # Every acknowledged event exactly once; nothing of a batch answered FAILED.
        self.assertEqual(got, sorted(event_datum_bytes(e) for e in acked))
        m = metrics(a)
        self.assertGreaterEqual(int(m["SOURCE.r1"]["ChannelWriteFail"]), 1)
        self.assertGreaterEqual(int(m["SINK.k1"]["EventWriteFail"]), 1)

    def test_ip_filter(self):
        server = FlumeServer()
        self.addCleanup(server.close)
        deny = self.start_agent(tier_config(
            server.port, extra_source="a1.sources.r1.ipFilter = true\n"
            "a1.sources.r1.ipFilterRules = deny:ip:127.*"))
        with self.assertRaises((EOFError, ConnectionError, OSError)):
            append_batch(deny.port("r1"), sample_events("denied", 1))
        wait_for(lambda: metrics(deny)["SOURCE.r1"].get("IpFilterDenyCount") == "1",
                 what="the refusal counted")
        allow = self.start_agent(tier_config(
            server.port, extra_source="a1.sources.r1.ipFilter = true\n"
            "a1.sources.r1.ipFilterRules = allow:name:localhost,deny:ip:*"))
        self.assertEqual(append_batch(allow.port("r1"), sample_events("allowed", 1)), "OK")

    def test_malformed_input_closes_that_connection_only(self):
        server = FlumeServer()
        self.addCleanup(server.close)
        a = self.start_agent(tier_config(server.port))
        port = a.port("r1")
        for garbage in (struct.pack(">iii", 1, 1, 5) + b"\xff\xff\xff\xff\xff",  # bad handshake
                        struct.pack(">ii", 1, -3),  # negative buffer count
                        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(garbage)
            s.settimeout(10)
            try:
                self.assertEqual(s.recv(100), b"")  # closed by the source, nothing answered
            except ConnectionResetError:
                pass
            s.close()
        self.assertEqual(append_batch(port, sample_events("after", 3)), "OK")
        self.assertGreaterEqual(int(metrics(a)["SOURCE.r1"]["EventReadFail"]), 2)

    def test_tls_both_ways(self):
        """Python's ssl client -> our source (PKCS12 keystore) -> our sink (PEM truststore) ->
        Python's ssl server: the same events."""
        certs = make_certs(self.tmp)
        server = FlumeServer(tls=(certs["cert"], certs["key"]))
        self.addCleanup(server.close)
        a = self.start_agent(tier_config(
            server.port,
            extra_source=f"""a1.sources.r1.ssl = true
a1.sources.r1.keystore = {certs["p12"]}
a1.sources.r1.keystore-type = PKCS12
a1.sources.r1.keystore-password = secret""",
            extra_sink=f"""a1.sinks.k1.ssl = true
a1.sinks.k1.truststore = {certs["cert"]}
a1.sinks.k1.truststore-type = PEM"""))
        sent = []
        for k in range(3):
            events = sample_events(f"tls-{k}", 20)
            self.assertEqual(append_batch(a.port("r1"), events, cafile=certs["cert"]), "OK")
            sent += events
        wait_for(lambda: len(server.events) >= len(sent), 20, what="events at the TLS server")
        self.assertEqual([event_datum_bytes(e) for e in server.events],
                         [event_datum_bytes(e) for e in sent])
        # A plain client gets nothing from the TLS source.
        with self.assertRaises((EOFError, ConnectionError, OSError)):
            append_batch(a.port("r1"), sample_events("plain", 1))

    def test_tls_untrusted_server_and_jks(self):
        certs = make_certs(self.tmp)
        other = make_certs(self.tmp, cn="other")
        server = FlumeServer(tls=(certs["cert"], certs["key"]))
        self.addCleanup(server.close)
        a = self.start_agent(tier_config(
            server.port,
            extra_source=f"""a1.sources.r1.ssl = true
a1.sources.r1.keystore = {certs["pem"]}""",
            extra_sink=f"""a1.sinks.k1.ssl = true
a1.sinks.k1.truststore = {other["cert"]}"""))
        self.assertEqual(append_batch(a.port("r1"), sample_events("x", 5), cafile=certs["cert"]),
                         "OK")
        wait_for(lambda: int(metrics(a)["SINK.k1"]["EventWriteFail"]) >= 1,
                 what="the sink refusing the untrusted server")
        self.assertEqual(server.events, [])
        jks = os.path.join(self.tmp, "store.jks")
        with open(jks, "wb") as f:
            f.write(b"\xfe\xed\xfe\xed" + b"\0" * 64)
        code, out = run_agent_once(tier_config(1, extra_source=(
            f"a1.sources.r1.ssl = true\na1.sources.r1.keystore = {jks}")))
        self.assertNotEqual(code, 0)
        self.assertIn("Java KeyStore (JKS)", out)
        self.assertIn("keytool -importkeystore", out)

    def test_describe_and_config_errors(self):
        out = subprocess.run([BIN, "agent", "--describe", "avro"], capture_output=True,
                             text=True, timeout=20).stdout
        for key in ("bind", "ipFilterRules", "hostname", "batch-size", "reset-connection-interval",
                    "compression-level", "truststore"):
            self.assertIn(key, out)
        code, out = run_agent_once(tier_config(1, deflate=True).replace(
            "a1.sources.r1.channels", "a1.sources.r1.ssl = true\na1.sources.r1.channels"))
        self.assertNotEqual(code, 0)
        self.assertIn("TLS together with compression-type = deflate", out)
        code, out = run_agent_once(tier_config(1, extra_source=(
            "a1.sources.r1.ipFilter = true\na1.sources.r1.ipFilterRules = homer:ip:*")))
        self.assertNotEqual(code, 0)
        self.assertIn("Invalid ipFilter patternRule 'homer:ip:*'", out)


if __name__ == "__main__":
    unittest.main()
