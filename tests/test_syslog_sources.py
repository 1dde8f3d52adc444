"""syslogtcp, multiport_syslogtcp, syslogudp and netcatudp on the real agent, with util-linux
`logger` as the sender (RFC 5424 and RFC 3164, newline and RFC 6587 octet-counted framing, TCP and
UDP), raw sockets for malformed, oversized and 60 KiB messages, and file_roll's header_and_text
output to check headers. rsyslog forwarding (omfwd) runs when rsyslogd is installed."""
import os
import re
import shutil
import socket
import subprocess
import time
import unittest

from harness import AgentTestCase, metrics, rolled, run_agent_once, wait_for, BIN

LINE = re.compile(rb"^\{(.*?)\} (.*)$", re.S)


def config(source_type, keys, outdir, channel="a1.channels.c1.capacity = 10000"):
    return f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = {source_type}
a1.sources.r1.channels = c1
{keys}
a1.channels.c1.type = memory
{channel}
a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = {outdir}
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.serializer = header_and_text
a1.sinks.k1.sink.batchSize = 1
"""


def events(outdir):
    """(headers dict, body bytes) for each line of header_and_text output."""
    out = []
    for line in rolled(outdir).split(b"\n")[:-1]:
        m = LINE.match(line)
        assert m, line
        hdrs = dict(kv.split("=", 1) for kv in m.group(1).decode().split(", ") if kv)
        out.append((hdrs, m.group(2)))
    return out


def logger(*args):
    subprocess.run(["logger", "-n", "127.0.0.1", "-t", "itest"] + list(args), check=True,
                   timeout=20)


@unittest.skipUnless(shutil.which("logger"), "util-linux logger is not installed")
class SyslogSourcesTest(AgentTestCase):
    def start(self, source_type, keys, **kw):
        self.out = os.path.join(self.tmp, f"out{len(self.agents)}")
        os.makedirs(self.out)
        return self.start_agent(config(source_type, keys, self.out, **kw),
                                args=["--metrics-port", "0"])

    def wait_events(self, n):
        return wait_for(lambda: len(events(self.out)) >= n and events(self.out),
                        what=f"{n} events")

    def check_recent(self, hdrs):
        self.assertLess(abs(int(hdrs["timestamp"]) - time.time() * 1000), 24 * 3600 * 1000)

    def test_syslogtcp_logger_rfc5424_rfc3164_octet_count(self):
        a = self.start("syslogtcp", """a1.sources.r1.host = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.clientIPHeader = ip""")
        port = str(a.port("r1"))
        logger("--tcp", "-P", port, "--rfc5424", "-p", "local3.warning", "hello 5424")
        logger("--tcp", "-P", port, "--rfc3164", "hello 3164")
        logger("--tcp", "-P", port, "--octet-count", "--rfc5424", "--sd-id", "zoo@123",
               "--sd-param", 'tiger="hungry"', "counted")
        evs = self.wait_events(3)
        (h1, b1), (h2, b2), (h3, b3) = evs[:3]
        self.assertEqual((h1["Facility"], h1["Severity"], h1["priority"], h1["version"]),
                         ("19", "4", "156", "1"))
        self.assertEqual(h1["ip"], "127.0.0.1")
        self.assertEqual(h1["host"], socket.gethostname().split(".")[0]
                         if "." not in h1["host"] else h1["host"])
        self.check_recent(h1)
        self.assertTrue(b1.startswith(b"itest "), b1)
        self.assertTrue(b1.endswith(b"hello 5424"), b1)
        self.assertNotIn("flume.syslog.status", h1)
        # RFC 3164: user.notice, no version, the body is after the host.
        self.assertEqual((h2["Facility"], h2["Severity"], h2["priority"]), ("1", "5", "13"))
        self.assertNotIn("version", h2)
        self.check_recent(h2)
        self.assertEqual(b2, b"itest: hello 3164")
        # Octet counted, with structured data kept in the body.
        self.assertEqual(h3["version"], "1")
        self.assertIn(b'[zoo@123 tiger="hungry"]', b3)
        self.assertTrue(b3.endswith(b"counted"), b3)
        self.assertEqual(len(evs), 3)

    def test_malformed_and_oversized_lose_nothing(self):
        a = self.start("syslogtcp", """a1.sources.r1.host = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.eventSize = 100""")
        long_line = b"<13>" + bytes(ord("a") + i % 26 for i in range(250))
        s = socket.create_connection(("127.0.0.1", a.port("r1")))
        s.sendall(b"garbage line\n<13>Jan  1 00:00:00 h ok\n" + long_line + b"\n<>\n"
                  b"<1>1 2024-01-01T00:00:00Z h app - - [sd a=\"unterminated\n\xff\xfe\n"
                  b"<14>last line without newline")
        s.close()
        evs = self.wait_events(9)
        st = [h.get("flume.syslog.status") for h, _ in evs]
        self.assertEqual(st, ["Invalid", None, "Incomplete", "Invalid", "Invalid", "Invalid",
                              None, "Invalid", None])
        self.assertEqual(evs[0][1], b"garbage line")
        self.assertEqual(evs[1][1], b"ok")
        # The long line arrives whole, in eventSize pieces.
        self.assertEqual(evs[2][0]["Facility"], "1")
        self.assertEqual(b"".join(b for _, b in evs[2:5]), long_line)
        self.assertEqual(len(evs[2][1]), 100)
        self.assertEqual(evs[5][1], b"<>")
        self.assertEqual(evs[6][1], b'app - - [sd a="unterminated')
        self.assertEqual(evs[7][1], b"\xff\xfe")
        self.assertEqual(evs[8][1], b"<14>last line without newline")
        m = metrics(a)["SOURCE.r1"]
        self.assertEqual(m["SyslogInvalidCount"], "5")
        self.assertEqual(m["SyslogIncompleteCount"], "1")
        self.assertEqual(m["EventAcceptedCount"], "9")
        self.assertIn("invalid syslog message from 127.0.0.1", a.output())
        self.assertIn("garbage line", a.output())

    def test_multiport_two_ports_with_port_header(self):
        a = self.start("multiport_syslogtcp", """a1.sources.r1.host = 127.0.0.1
a1.sources.r1.ports = 0 0
a1.sources.r1.portHeader = port
a1.sources.r1.charset.default = ISO-8859-1
a1.sources.r1.keepFields = hostname""")
        p1, p2 = a.ports("r1")
        self.assertNotEqual(p1, p2)
        self.assertEqual(a.port("r1"), p1)
        logger("--tcp", "-P", str(p1), "--rfc5424", "one")
        self.wait_events(1)
        s = socket.create_connection(("127.0.0.1", p2))
        s.sendall("<13>1 2024-01-01T00:00:00Z h2 - - - caf\xe9\n".encode("latin-1"))
        s.close()
        (h1, b1), (h2, b2) = self.wait_events(2)
        self.assertEqual(h1["port"], str(p1))
        self.assertEqual(h1["Priority"], "13")
        self.assertEqual(h1["Version"], "1")
        self.assertEqual(h2["port"], str(p2))
        self.assertEqual(h2["timestamp"], "1704067200000")
        self.assertEqual(b2, "h2 - - - café".encode())  # decoded and kept as UTF-8

    def test_syslogudp_logger_and_60k_datagram(self):
        a = self.start("syslogudp", """a1.sources.r1.host = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.clientHostnameHeader = client""")
        port = a.port("r1")
        logger("--udp", "-P", str(port), "--rfc3164", "udp hello")
        big = b"<14>1 2024-01-01T00:00:00Z h app - - - " + b"x" * (60 * 1024)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(big, ("127.0.0.1", port))
        s.close()
        (h1, b1), (h2, b2) = self.wait_events(2)
        self.assertEqual(b1, b"itest: udp hello")
        self.assertIn(h1["client"], ("localhost", "127.0.0.1", socket.gethostname()))
        self.assertNotIn("flume.syslog.status", h2)
        self.assertEqual(b2, b"app - - - " + b"x" * (60 * 1024))  # whole (Flume: 2048 bytes)

    def test_syslogudp_full_channel_drops_and_counts(self):
        a = self.start("syslogudp", "a1.sources.r1.host = 127.0.0.1\na1.sources.r1.port = 0",
                       channel="a1.channels.c1.capacity = 5\n"
                               "a1.channels.c1.transactionCapacity = 5")
        # No sink drains fast enough to matter: fill past the capacity in one burst.
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(200):
            s.sendto(b"<13>msg %d" % i, ("127.0.0.1", a.port("r1")))
        s.close()
        wait_for(lambda: int(metrics(a)["SOURCE.r1"]["EventReceivedCount"]) == 200,
                 what="200 datagrams received")
        m = wait_for(lambda: (lambda m: int(m["EventAcceptedCount"]) +
                              int(m["DatagramDropCount"]) == 200 and m)(
            metrics(a)["SOURCE.r1"]), what="accepted + dropped = 200")
        self.assertGreater(int(m["DatagramDropCount"]), 0)
        self.assertIn("dropped", a.output())

    def test_netcatudp_remote_address_header(self):
        a = self.start("netcatudp", """a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.remoteAddressHeader = remote""")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.sendto(b"first line\nrest is dropped", ("127.0.0.1", a.port("r1")))
        s.sendto(b"y" * 3000, ("127.0.0.1", a.port("r1")))
        (h1, b1), (h2, b2) = self.wait_events(2)
        self.assertEqual(h1["remote"], "/127.0.0.1:%d" % s.getsockname()[1])
        self.assertEqual(b1, b"first line")
        self.assertEqual(b2, b"y" * 3000)
        s.close()

    def test_tcp_backpressure_when_channel_full(self):
        # A tiny channel with a sink that cannot keep up: nothing is dropped.
        a = self.start("syslogtcp", """a1.sources.r1.host = 127.0.0.1
a1.sources.r1.port = 0""", channel="a1.channels.c1.capacity = 10\n"
                                   "a1.channels.c1.transactionCapacity = 10")
        s = socket.create_connection(("127.0.0.1", a.port("r1")))
        s.sendall(b"".join(b"<13>Jan  1 00:00:00 h m%d\n" % i for i in range(3000)))
        s.close()
        evs = wait_for(lambda: len(events(self.out)) == 3000 and events(self.out), timeout=60,
                       what="3000 events")
        self.assertEqual([b for _, b in evs], [b"m%d" % i for i in range(3000)])
        self.assertEqual(metrics(a)["SOURCE.r1"]["ChannelWriteFail"], "0")

    @unittest.skipUnless(shutil.which("rsyslogd"), "rsyslogd is not installed")
    def test_rsyslog_omfwd_octet_counted(self):
        a = self.start("syslogtcp", "a1.sources.r1.host = 127.0.0.1\na1.sources.r1.port = 0")
        d = os.path.join(self.tmp, "rsyslog")
        os.makedirs(d)
        sock = os.path.join(d, "log.sock")
        conf = os.path.join(d, "rsyslog.conf")
        with open(conf, "w") as f:
            f.write(f"""global(workDirectory="{d}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{sock}" CreatePath="on")
action(type="omfwd" target="127.0.0.1" port="{a.port('r1')}" protocol="tcp"
       TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
""")
        p = subprocess.Popen(["rsyslogd", "-n", "-f", conf, "-i", os.path.join(d, "pid")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: os.path.exists(sock), what="rsyslog's socket")
            subprocess.run(["logger", "-u", sock, "-t", "viarsyslog", "forwarded"], check=True)
            (h, b), = self.wait_events(1)
            self.assertEqual(h["version"], "1")
            self.assertTrue(b.endswith(b"forwarded"), b)
        finally:
            p.terminate()
            p.wait(10)


class SyslogConfigTest(unittest.TestCase):
    def test_describe_each_type(self):
        for t, key in (("syslogtcp", "eventSize"), ("multiport_syslogtcp", "portHeader"),
                       ("syslogudp", "keepFields"), ("netcatudp", "remoteAddressHeader"),
                       ("org.apache.flume.source.SyslogTcpSource", "clientIPHeader")):
            p = subprocess.run([BIN, "agent", "--describe", t], capture_output=True, timeout=20)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn(key, p.stdout.decode())

    def test_config_errors(self):
        base = """a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.channels.c1.type = memory
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
a1.sources.r1.channels = c1
"""
        for keys, msg in (
                ("type = syslogtcp\na1.sources.r1.port = 0", "missing required key 'host'"),
                ("type = syslogtcp\na1.sources.r1.host = 127.0.0.1\na1.sources.r1.port = 0\n"
                 "a1.sources.r1.ssl = true", "TLS is not supported"),
                ("type = multiport_syslogtcp\na1.sources.r1.ports = 0 x", "'x' is not a port"),
                ("type = multiport_syslogtcp\na1.sources.r1.ports = 0\n"
                 "a1.sources.r1.charset.default = KOI8", "unsupported charset"),
                ("type = syslogudp\na1.sources.r1.port = 0\na1.sources.r1.format.regex = x",
                 "format.*"),
                ("type = netcatudp", "missing required key 'port'")):
            code, out = run_agent_once(base + "a1.sources.r1." + keys)
            self.assertNotEqual(code, 0, keys)
            self.assertIn(msg, out, keys)
        # Flume's code spelling of netcatudp's header key is accepted too.
        code, out = run_agent_once(base + "a1.sources.r1.type = netcatudp\n"
                                   "a1.sources.r1.port = 0\na1.sources.r1.remoteAddress = r\n",
                                   args=["--dry-run"])
        self.assertNotIn("unknown key", out)


if __name__ == "__main__":
    unittest.main()
