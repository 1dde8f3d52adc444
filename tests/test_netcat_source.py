"""netcat source against the real agent: Flume's wire behaviour byte for byte, and backpressure."""
import glob
import os
import socket
import threading
import time
import unittest

from harness import AgentTestCase, connect, metrics, recv_lines, rolled, wait_for


def config(outdir, extra="", channel="capacity = 10000\na1.channels.c1.transactionCapacity = 1000",
           sink=None):
    sink = sink or f"""a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = {outdir}
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.batchSize = 1000
"""
    return f"""a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = 0
a1.sources.r1.channels = c1
{extra}
a1.channels.c1.type = memory
a1.channels.c1.{channel}
{sink}
"""


class NetcatSourceTest(AgentTestCase):
    def start(self, extra="", **kw):
        self.out = os.path.join(self.tmp, "out")
        os.makedirs(self.out, exist_ok=True)
        a = self.start_agent(config(self.out, extra, **kw), args=["--metrics-port", "0"])
        return a, a.port("r1")

    def test_acks_every_event_in_order(self):
        a, port = self.start()
        s = connect(port)
        lines = [f"event-{i}".encode() for i in range(20)]
        s.sendall(b"".join(l + b"\n" for l in lines))
        self.assertEqual(recv_lines(s, 20), [b"OK"] * 20)
        s.close()
        wait_for(lambda: rolled(self.out) == b"".join(l + b"\n" for l in lines),
                 what="20 events in the file_roll output")

    def test_carriage_return_stays_in_body_and_unterminated_tail_is_dropped(self):
        a, port = self.start()
        s = connect(port)
        s.sendall(b"windows\r\nlast-without-newline")
        self.assertEqual(recv_lines(s, 1), [b"OK"])
        s.shutdown(socket.SHUT_WR)
        self.assertEqual(s.recv(100), b"")  # closed after EOF, nothing more acked
        s.close()
        wait_for(lambda: rolled(self.out) == b"windows\r\n", what="the CR line only")

    def test_max_line_length_counts_chars_including_newline(self):
        a, port = self.start("a1.sources.r1.max-line-length = 10")
        s = connect(port)
        s.sendall(b"123456789\n")
        self.assertEqual(recv_lines(s, 1), [b"OK"])
        # Multi-byte UTF-8 counts as characters: 9 chars (18 bytes) + newline fits.
        s.sendall("ééééééééé\n".encode())
        self.assertEqual(recv_lines(s, 1), [b"OK"])
        s.sendall(b"1234567890\n")
        reply = recv_lines(s, 1)
        self.assertEqual(reply, [b"FAILED: Event exceeds the maximum length (10 chars, including newline)"])
        s.settimeout(10)
        self.assertEqual(s.recv(100), b"")  # the connection is closed
        wait_for(lambda: rolled(self.out) == "123456789\nééééééééé\n".encode(), what="2 events")
        m = metrics(a)
        self.assertEqual(m["SOURCE.r1"]["EventReadFail"], "1")

    def test_overlong_line_fails_even_without_acks(self):
        a, port = self.start("a1.sources.r1.max-line-length = 10\na1.sources.r1.ack-every-event = false")
        s = connect(port)
        s.sendall(b"ok\n" + b"x" * 50)
        reply = recv_lines(s, 1)
        self.assertEqual(reply, [b"FAILED: Event exceeds the maximum length (10 chars, including newline)"])
        wait_for(lambda: rolled(self.out) == b"ok\n", what="the short line")

    def test_encoding_is_decoded_and_bodies_are_utf8(self):
        for enc, py in (("UTF-16LE", "utf-16-le"), ("UTF-16BE", "utf-16-be"), ("ISO-8859-1", "latin-1")):
            with self.subTest(enc=enc):
                a, port = self.start(f"a1.sources.r1.encoding = {enc}")
                s = connect(port)
                s.sendall("héllo wörld\n".encode(py))
                reply = b""
                s.settimeout(10)
                expected = "OK\n".encode(py)
                while len(reply) < len(expected):
                    reply += s.recv(100)
                self.assertEqual(reply, expected)
                wait_for(lambda: rolled(self.out) == "héllo wörld\n".encode(), what=f"utf-8 body ({enc})")
                s.close()
                a.stop()
                for f in glob.glob(os.path.join(self.out, "*")):
                    os.unlink(f)

    def test_many_connections_and_one_read_many_events(self):
        a, port = self.start("a1.sources.r1.ack-every-event = false")
        socks = [connect(port) for _ in range(16)]
        for i, s in enumerate(socks):
            s.sendall(b"".join(b"c%d-%d\n" % (i, j) for j in range(500)))
        for s in socks:
            s.close()
        def complete():
            data = rolled(self.out)
            return data.count(b"\n") == 16 * 500 and data
        data = wait_for(complete, what="8000 events")
        lines = data.split(b"\n")[:-1]
        for i in range(16):
            mine = [l for l in lines if l.startswith(b"c%d-" % i)]
            self.assertEqual(mine, [b"c%d-%d" % (i, j) for j in range(500)])  # order per connection

    def test_bulk_sender_lines_across_growing_read_buffers(self):
        # A sender with megabytes waiting and commits that wait for an fsync (file channel, acks):
        # the source's reads grow from 64 KiB towards 1 MiB and lines of every length straddle
        # the buffer boundaries; every line is acknowledged and arrives, byte for byte, in order.
        self.out = os.path.join(self.tmp, "out")
        os.makedirs(self.out, exist_ok=True)
        conf = config(self.out, "a1.sources.r1.max-line-length = 2048").replace(
            "a1.channels.c1.type = memory\na1.channels.c1.capacity = 10000\n"
            "a1.channels.c1.transactionCapacity = 1000",
            "a1.channels.c1.type = file\na1.channels.c1.capacity = 100000\n"
            "a1.channels.c1.transactionCapacity = 10000\n"
            f"a1.channels.c1.checkpointDir = {self.tmp}/cp\n"
            f"a1.channels.c1.dataDirs = {self.tmp}/data\n"
            "a1.channels.c1.minimumRequiredSpace = 1048576")
        self.assertIn("type = file", conf)
        a = self.start_agent(conf, args=["--metrics-port", "0"])
        rng = __import__("random").Random(7)
        sent = b"".join(b"%d-" % i + b"x" * rng.randrange(0, 2000) + b"\n" for i in range(12000))
        s = connect(a.port("r1"))
        sender = threading.Thread(target=s.sendall, args=(sent,))
        sender.start()
        self.assertEqual(recv_lines(s, 12000, timeout=60), [b"OK"] * 12000)
        sender.join()
        s.close()
        wait_for(lambda: len(rolled(self.out)) >= len(sent), timeout=60,
                 what=f"{len(sent)} bytes in the file_roll output")
        self.assertEqual(rolled(self.out), sent)

    def test_no_acks_full_channel_pushes_back_instead_of_dropping(self):
        # No sink drains the channel: it fills, and the source stops reading the socket.
        a, port = self.start("a1.sources.r1.ack-every-event = false",
                             channel="capacity = 100\na1.channels.c1.transactionCapacity = 100",
                             sink="a1.sinks = \n")
        s = connect(port)
        sent = [0]
        total = 64 * 1024 * 1024
        line = b"x" * 99 + b"\n"
        chunk = line * 1000

        def writer():
            try:
                while sent[0] < total:
                    s.sendall(chunk)
                    sent[0] += len(chunk)
            except OSError:
                pass
        t = threading.Thread(target=writer, daemon=True)
        t.start()
        wait_for(lambda: metrics(a)["CHANNEL.c1"]["ChannelSize"] == "100", what="a full channel")
        # The writer blocks: TCP buffers fill, far less than 64 MiB gets through.
        stalled = sent[0]
        time.sleep(0.5)  # a window in which a non-pushing-back source would read megabytes
        self.assertLess(sent[0], total // 4)
        self.assertLess(sent[0] - stalled, 8 * 1024 * 1024)
        m = metrics(a)
        self.assertEqual(m["SOURCE.r1"]["ChannelWriteFail"], "0")  # nothing dropped
        self.assertEqual(m["CHANNEL.c1"]["EventPutSuccessCount"], "100")
        with open(f"/proc/{a.proc.pid}/status") as f:
            rss_kb = int([l for l in f if l.startswith("VmRSS")][0].split()[1])
        self.assertLess(rss_kb, 100 * 1024)
        s.close()

    def test_no_acks_tiny_channel_loses_nothing(self):
        a, port = self.start("a1.sources.r1.ack-every-event = false",
                             channel="capacity = 10\na1.channels.c1.transactionCapacity = 10",
                             sink=f"""a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = {os.path.join(self.tmp, 'out')}
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.batchSize = 10
""")
        n = 20000
        s = connect(port)
        s.sendall(b"".join(b"%d\n" % i for i in range(n)))
        s.close()
        data = wait_for(lambda: (lambda d: d.count(b"\n") == n and d)(rolled(self.out)),
                        timeout=60, what=f"{n} events through a 10-event channel")
        self.assertEqual(data, b"".join(b"%d\n" % i for i in range(n)))
        self.assertEqual(metrics(a)["SOURCE.r1"]["ChannelWriteFail"], "0")

    def test_full_channel_with_acks_replies_failed_after_keep_alive(self):
        a, port = self.start(channel="capacity = 2\na1.channels.c1.transactionCapacity = 2\n"
                                     "a1.channels.c1.keep-alive = 1", sink="a1.sinks = \n")
        s = connect(port)
        s.sendall(b"a\nb\n")
        self.assertEqual(recv_lines(s, 2), [b"OK", b"OK"])
        s.sendall(b"c\n")
        reply = recv_lines(s, 1, timeout=15)
        self.assertTrue(reply[0].startswith(b"FAILED: Space for commit to queue couldn't be acquired"), reply)
        # The connection stays open, as Flume's.
        s.sendall(b"d\n")
        self.assertTrue(recv_lines(s, 1, timeout=15)[0].startswith(b"FAILED: "))
        self.assertEqual(metrics(a)["SOURCE.r1"]["ChannelWriteFail"], "2")


if __name__ == "__main__":
    unittest.main()
