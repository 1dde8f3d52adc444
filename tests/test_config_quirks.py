"""Configuration files as they are really written (docs/configuration.md), on the real binary:
one messy file that Flume 1.11 starts; --lenient starts it with the same components and one
warning per oddity, strict stops on the real errors with one line each."""
import unittest

from harness import AgentTestCase, connect, metrics, recv_lines, run_agent_once, wait_for

NBSP = "\u00a0"

MESSY = ("$ bin/flume-ng agent -n a1 -c conf -f conf/a1.conf -Dflume.root.logger=INFO,console\r\n"
         "// the agent\r\n"
         "a1.sources r1\r\n"                                   # white space as the separator
         "a1.channels = c1 c2\r\n"                             # c2: listed, never configured
         "a1.sinks = k1\r\n"
         "a1.sources.r1.type = netcat\r\n"
         "a1.sources.r1.bind = 127.0.0.1\r\n"
         "a1.sources.r1.port = 0\r\n"
         "a1.sources.r1.channels = c1\r\n"
         "a1.sources.r1.interceptors = i1\r\n"
         "a1.sources.r1.interceptors.i1.type = static\r\n"
         "a1.sources.r1.interceptors.i1.value = v1 # a trailing comment Java keeps\r\n"
         f"a1.channels.c1.type = memory{NBSP}\r\n"             # pasted from a web page
         "a1.channels.c1.capacity = 100\r\n"
         "a1.channels.c1.capacity = 1000\r\n"                  # duplicate: the last wins
         "a1.sinks.k1.type = null\r\n"
         "a1.sinks.k1.channel = c1\r\n"
         "a1.sinks.k2.type = logger\r\n"                       # configured, never listed
         "a1.sinks.k2.channel = c1\r\n")


class ConfigQuirksTest(AgentTestCase):
    def test_lenient_starts_what_flume_starts_with_one_warning_per_oddity(self):
        a = self.start_agent(MESSY, args=["--lenient", "--metrics-port", "0"])
        s = connect(a.port("r1"))
        s.sendall(b"hello\n")
        self.assertEqual(recv_lines(s, 1), [b"OK"])
        s.close()
        wait_for(lambda: metrics(a)["SINK.k1"]["EventDrainSuccessCount"] == "1", what="delivery")
        m = metrics(a)
        self.assertEqual(m["CHANNEL.c1"]["ChannelCapacity"], "1000")
        self.assertNotIn("CHANNEL.c2", m)
        self.assertNotIn("SINK.k2", m)
        out = a.output()
        for needle in ("agent.conf:1: looks like a pasted shell command",
                       "agent.conf:2: a '//' line is not a comment",
                       "agent.conf:12: a1.sources.r1.interceptors.i1.value: '#' inside a value",
                       "agent.conf:13: a1.channels.c1.type: non-breaking space (U+00A0) read as a plain space",
                       "agent.conf:15: a1.channels.c1.capacity: set again (first at ",
                       "channel c2: a1.channels: listed but has no properties",
                       "sink k2: a1.sinks.k2."):
            self.assertIn(needle, out)
            self.assertEqual(out.count(needle), 1, needle)

    def test_strict_stops_on_real_errors_with_one_line_each(self):
        code, out = run_agent_once(MESSY)
        self.assertNotEqual(code, 0)
        errors = [l for l in out.splitlines() if l.startswith("error: ")]
        self.assertEqual(len(errors), 2, out)
        self.assertIn("agent.conf:13: a1.channels.c1.type: non-breaking space", errors[0])
        self.assertIn("error: channel c2: a1.channels: listed but has no properties", errors[1])
        # Without the two real errors, strict starts it: the other oddities are warnings.
        clean = MESSY.replace(NBSP, "").replace("a1.channels = c1 c2", "a1.channels = c1")
        a = self.start_agent(clean)
        self.assertIn("looks like a pasted shell command", a.output())


if __name__ == "__main__":
    unittest.main()
