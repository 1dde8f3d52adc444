"""`ingestor up`: the four roles in one process, from a pipeline.properties, end to end."""
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import unittest

from harness import BIN, HERE, http, wait_for

REPO = os.path.dirname(HERE)


def pipeline_for_test(tmp):
    """conf/pipeline.properties with every port on 0 and a 1-second roll."""
    with open(os.path.join(REPO, "conf", "pipeline.properties")) as f:
        text = f.read()
    text = re.sub(r"(\.listen = 127\.0\.0\.1:)\d+", r"\g<1>0", text)
    text = re.sub(r"(Src\.port = )\d+", r"\g<1>0", text)
    text = text.replace("bind = 0.0.0.0", "bind = 127.0.0.1")
    text = text.replace("monitoring.port = 41414", "monitoring.port = 0")
    text = text.replace("hdfs.rollInterval = 5", "hdfs.rollInterval = 1")
    path = os.path.join(tmp, "pipeline.properties")
    with open(path, "w") as f:
        f.write(text)
    return path


class UpTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ingestor-up-")
        self.data = os.path.join(self.tmp, "data")
        self.status = os.path.join(self.tmp, "status.json")
        self.out = open(os.path.join(self.tmp, "up.log"), "wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.proc = subprocess.Popen([BIN, "up", "-f", pipeline_for_test(self.tmp), "--data-dir",
                                      self.data, "--status-file", self.status],
                                     stdout=self.out, stderr=subprocess.STDOUT, env=env)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("ingestor up exited: " + self.log())
            return os.path.exists(self.status) and json.load(open(self.status))
        self.st = wait_for(ready, 30, what="ingestor up")

    def log(self):
        with open(os.path.join(self.tmp, "up.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def tearDown(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.out.close()
        import shutil
        shutil.rmtree(self.tmp, ignore_errors=True)

    def downloaded(self):
        root = os.path.join(self.data, "downloads", "ingestor")
        data = b""
        for dirpath, _, files in sorted(os.walk(root)):
            for f in sorted(files):
                with open(os.path.join(dirpath, f), "rb") as fh:
                    data += fh.read()
        return data

    def test_lines_and_json_arrive_in_downloads_byte_for_byte(self):
        s = socket.create_connection(("127.0.0.1", self.st["netcat_port"]), timeout=10)
        lines = b"".join(b"up-line-%03d\n" % i for i in range(100))
        s.sendall(lines)
        got = b""
        while got.count(b"\n") < 100:
            got += s.recv(4096)
        self.assertEqual(got, b"OK\n" * 100)
        s.close()
        st, _, _ = http(self.st["http_port"], "POST", "/",
                        json.dumps([{"headers": {}, "body": "up-json-1"}]).encode())
        self.assertEqual(st, 200)
        data = wait_for(lambda: (lambda d: d.count(b"\n") >= 101 and d)(self.downloaded()),
                        timeout=60, what="101 lines under the download directory")
        self.assertEqual(sorted(data.split(b"\n")[:-1]),
                         sorted(lines.split(b"\n")[:-1] + [b"up-json-1"]))
        out = self.log()
        self.assertIn("nc -q1 localhost", out)
        self.assertIn("curl -d", out)
        # Ctrl-C (SIGINT) stops it cleanly.
        self.proc.send_signal(signal.SIGINT)
        self.assertEqual(self.proc.wait(60), 0)


if __name__ == "__main__":
    unittest.main()
