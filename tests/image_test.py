"""`make image-test`: the container image and the compose stack, run for real (minutes; not part
of `make test`). Needs the image built by `make image` ($IMAGE, default ingestor:local).

Checks, in order:
  1. `ingestor --version` in the image;
  2. the image runs as a non-root user and holds no credentials or build tools;
  3. `ingestor up` in a container, with the image's own default configuration, takes a netcat
     line and an HTTP event and downloads both, and serves the status page;
  4. deploy/docker/compose.yaml (store, agent, relay, consumer, Prometheus) comes up, every role
     runs as the non-root user, a line sent to the agent's netcat port is downloaded by the
     consumer, and Prometheus scrapes every role: a query through its HTTP API returns the
     agent's event counter.
With docker when a daemon answers, else podman (runc, cgroupfs, explicit ulimits, host network:
docs/deploy.md) and podman-compose. Containers use the host's network and the default ports of
`ingestor up` (9000, 9100, 9200, 44444, 8080, 41414, 9090): they must be free.
The result (date, commit, duration, checks) goes to build/image-test/result.json.
"""
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import unittest
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from harness import wait_for  # noqa: E402

IMAGE = os.environ.get("IMAGE", "ingestor:local")
PROM_IMAGE = os.environ.get("PROMETHEUS_IMAGE", "ingestor-prometheus:local")
PROJECT = "ingestor-image-test"
PORTS = (9000, 9100, 9200, 44444, 8080, 41414, 9090)
OUT = os.path.join(REPO, "build", "image-test")
ULIMITS = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]


def docker_daemon():
    return shutil.which("docker") and subprocess.run(
        ["docker", "info"], capture_output=True, timeout=30).returncode == 0


if docker_daemon():
    ENGINE = ["docker"]
    COMPOSE = ["docker", "compose"]
else:
    ENGINE = ["podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs"]
    # podman-compose 1.0.3 puts --podman-args after the subcommand, which `podman stop` and
    # `podman logs` refuse: the settings go through CONTAINERS_CONF instead.
    COMPOSE = ["podman-compose"]
    os.environ["CONTAINERS_CONF"] = os.path.join(REPO, "deploy/docker/podman-containers.conf")

CHECKS = []  # what passed, for the result file


def sh(cmd, check=True, timeout=300, env=None, input=None):
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout,
                       env=env, input=input)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} -> {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return p


def engine(*args, **kw):
    return sh(ENGINE + list(args), **kw)


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def http_get(port, path, timeout=5):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read()


def netcat(port, line):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(line + b"\n")
        got = b""
        while not got.endswith(b"\n"):
            chunk = s.recv(64)
            if not chunk:
                break
            got += chunk
        return got


def try_or_none(f):
    try:
        return f()
    except (OSError, AssertionError, ValueError):
        return None


class ImageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if engine("image", "inspect", IMAGE, check=False).returncode != 0:
            raise AssertionError(f"image {IMAGE} not found: run `make image` first")
        busy = [p for p in PORTS if port_open(p)]
        if busy:
            raise AssertionError(f"ports in use on 127.0.0.1: {busy}; the containers use the host "
                                 f"network and `ingestor up`'s default ports")

    def run_in_image(self, *args, entrypoint=None):
        cmd = ["run", "--rm", *ULIMITS]
        if entrypoint:
            cmd += ["--entrypoint", entrypoint]
        return engine(*cmd, IMAGE, *args).stdout

    def test_1_version(self):
        out = self.run_in_image("--version")
        self.assertIn("ingestor", out)
        CHECKS.append(f"--version: {out.strip()}")

    def test_2_non_root_no_secrets_no_build_tools(self):
        cfg = json.loads(engine("image", "inspect", IMAGE).stdout)[0]
        config = cfg.get("Config") or cfg.get("ContainerConfig") or {}
        self.assertEqual(config.get("User"), "10001:10001")
        self.assertEqual(self.run_in_image("-u", entrypoint="id").strip(), "10001")
        for e in config.get("Env") or []:
            self.assertNotRegex(e.split("=")[0], r"(?i)(key|secret|token|password)", e)
        # No credentials and no compiler anywhere in the file system.
        found = self.run_in_image(
            "-c", "find / -xdev \\( -path /proc -o -path /sys \\) -prune -o \\( -name .aws -o "
            "-name .ssh -o -name credentials -o -name '*.pem' -path '*private*' \\) -print; "
            "for t in g++ gcc cc c++ cmake make; do command -v $t; done; true",
            entrypoint="sh")
        self.assertEqual(found.strip(), "", found)
        # No demo keys in the shipped configuration: `ingestor up` generates its own.
        conf = self.run_in_image("-c", "cat /etc/ingestor/*", entrypoint="sh")
        for demo in ("ingestor-secret-key", "change-me-shared-secret"):
            self.assertNotIn(demo, conf)
        CHECKS.append("non-root (uid 10001), no credentials, no build tools in the image")

    def test_3_up_in_a_container(self):
        name = f"{PROJECT}-up"
        engine("rm", "-f", name, check=False)
        self.addCleanup(lambda: engine("rm", "-f", "-v", name, check=False))
        # The image's own default configuration: no flags besides the role.
        engine("run", "-d", "--name", name, "--network", "host", *ULIMITS, IMAGE, "up")
        logs = lambda: engine("logs", name, check=False).stdout + engine("logs", name, check=False).stderr  # noqa: E731
        wait_for(lambda: "the pipeline is running" in logs(), 60, interval=0.5,
                 what=f"`ingestor up` in the container:\n{logs()}")
        self.assertEqual(engine("exec", name, "id", "-u").stdout.strip(), "10001")
        # Credentials generated on the first run, in the volume, readable by the user only.
        self.assertEqual(engine("exec", name, "stat", "-c", "%a",
                                "ingestor-data/credentials.json").stdout.strip(), "600")
        tag = secrets.token_hex(4).encode()
        self.assertEqual(netcat(44444, b"image-netcat-" + tag), b"OK\n")
        body = json.dumps([{"headers": {}, "body": "image-http-" + tag.decode()}]).encode()
        req = urllib.request.Request("http://127.0.0.1:8080/", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            self.assertEqual(r.status, 200)

        def downloaded():
            p = engine("exec", name, "sh", "-c",
                       "find ingestor-data/downloads -type f -exec cat {} +", check=False)
            return p.stdout if (b"image-netcat-" + tag).decode() in p.stdout and \
                "image-http-" + tag.decode() in p.stdout else None
        wait_for(downloaded, 90, interval=1, what="both events under the container's downloads")
        st, ctype, page = http_get(41414, "/")
        self.assertEqual(st, 200)
        self.assertIn("text/html", ctype)
        self.assertIn(b"status.js", page)
        engine("stop", "-t", "30", name)
        CHECKS.append("`ingestor up` in a container (default configuration): a netcat line and "
                      "an HTTP event downloaded; status page served")

    def compose(self, *args, check=True, timeout=600):
        env = dict(os.environ, INGESTOR_IMAGE=IMAGE, INGESTOR_PROMETHEUS_IMAGE=PROM_IMAGE,
                   **self.compose_env)
        return sh(COMPOSE + ["-p", PROJECT, "-f", os.path.join(REPO, "deploy/docker/compose.yaml"),
                             *args], check=check, timeout=timeout, env=env)

    def test_4_compose_end_to_end_with_prometheus(self):
        # Secrets for this run only, in the environment (what .env holds for a user).
        self.compose_env = {"INGESTOR_ACCESS_KEY": "it" + secrets.token_hex(8),
                            "INGESTOR_SECRET_KEY": secrets.token_hex(20),
                            "INGESTOR_SECRET": secrets.token_hex(32),
                            "INGESTOR_WEBHOOK_TOKEN": secrets.token_hex(32)}
        # Prometheus's image from Debian's package (compose would build it the same way).
        if engine("image", "inspect", PROM_IMAGE, check=False).returncode != 0:
            build = ["build", "-t", PROM_IMAGE, "-f", "deploy/prometheus/Dockerfile"]
            if ENGINE[0] == "podman":
                build += ["--pull=never", "--network", "host", *ULIMITS]
            engine(*build, os.path.join(REPO, "deploy/prometheus"), timeout=900)
        self.compose("down", "-v", check=False)
        self.addCleanup(lambda: self.compose("down", "-v", check=False))
        self.compose("up", "-d", "--no-build")
        for port, path in ((41414, "/metrics"), (9100, "/healthz"), (9200, "/healthz"),
                           (9000, "/_ingestor/metrics"), (9090, "/-/ready")):
            wait_for(lambda: try_or_none(lambda: http_get(port, path)[0] == 200), 90, interval=1,
                     what=f"127.0.0.1:{port}{path} in the compose stack:\n" +
                     self.compose("logs", check=False).stdout[-4000:])
        for svc in ("store", "agent", "relay", "consumer"):
            out = engine("exec", f"{PROJECT}_{svc}_1", "id", "-u", check=False).stdout.strip()
            if not out:  # docker compose names containers <project>-<service>-1
                out = engine("exec", f"{PROJECT}-{svc}-1", "id", "-u").stdout.strip()
            self.assertEqual(out, "10001", svc)
        tag = "compose-line-" + secrets.token_hex(4)
        self.assertEqual(netcat(44444, tag.encode()), b"OK\n")

        def downloaded():
            for c in (f"{PROJECT}_consumer_1", f"{PROJECT}-consumer-1"):
                p = engine("exec", c, "sh", "-c",
                           "find /var/lib/ingestor/downloads/ingestor -type f -exec cat {} +",
                           check=False)
                if tag in p.stdout:
                    return True
            return False
        wait_for(downloaded, 120, interval=1, what="the line under the consumer's downloads")
        CHECKS.append("compose: store, agent, relay, consumer as uid 10001; a netcat line "
                      "downloaded by the consumer")

        def prom(query):
            q = urllib.parse.urlencode({"query": query})
            _, _, body = http_get(9090, f"/api/v1/query?{q}")
            return json.loads(body)["data"]["result"]

        def all_up():
            r = try_or_none(lambda: prom('up{job=~"ingestor-.*"}'))
            return r and len(r) == 4 and all(s["value"][1] == "1" for s in r) and r
        wait_for(all_up, 90, interval=2, what="Prometheus scraping the four roles")
        counter = wait_for(lambda: try_or_none(lambda: [
            s for s in prom('ingestor_source_event_accepted_count{job="ingestor-agent"}')
            if float(s["value"][1]) >= 1]), 90, interval=2,
            what="the agent's event counter through Prometheus's query API")
        CHECKS.append("Prometheus (Debian) scrapes agent, store, relay and consumer (up == 1); "
                      "query ingestor_source_event_accepted_count = " +
                      ", ".join(f"{s['metric']['component']}: {s['value'][1]}" for s in counter))
        rules = json.loads(http_get(9090, "/api/v1/rules")[2])["data"]["groups"]
        self.assertEqual({g["name"] for g in rules}, {"ingestor-recording", "ingestor-alerts"})


def main():
    start = time.monotonic()
    os.makedirs(OUT, exist_ok=True)
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(ImageTest)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    # The commit the image was built from (build-image.sh labels it), else the work tree's.
    commit = engine("image", "inspect", "--format",
                    '{{ index .Config.Labels "org.opencontainers.image.revision" }}', IMAGE,
                    check=False).stdout.strip()
    if not commit or commit.startswith("<"):
        commit = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty",
                                 "--abbrev=12"], capture_output=True, text=True).stdout.strip()
    record = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "commit": commit,
              "image": IMAGE, "engine": ENGINE[0], "duration_s": round(time.monotonic() - start),
              "passed": result.wasSuccessful(), "tests_run": result.testsRun,
              "checks": CHECKS}
    with open(os.path.join(OUT, "result.json"), "w") as f:
        json.dump(record, f, indent=2)
    print(json.dumps(record, indent=2))
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
