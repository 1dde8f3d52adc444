#!/usr/bin/python3
"""Runs the ceph/s3-tests conformance suite, unmodified, against a real `ingestor store`.

What it does (`make s3-conformance` runs it; docs/s3-conformance.md has the figures):
  1. exports the suite at a pinned commit with `git archive` from a clone kept outside the
     repository (INGESTOR_S3TESTS_GIT, default ~/.cache/ingestor/s3-tests; never copied into ours);
  2. starts build/ingestor store on 127.0.0.1, port 0, in a temp dir, with three users (the
     suite's "main", "alt" and "tenant": --access-key/--secret-key and two --user flags);
  3. writes an s3tests.conf for it (user ids and display names as the store reports them);
  4. runs the selected tests with pytest (Debian's /usr/bin/python3 and its python3-* packages);
  5. prints passed/failed per group and in total, and can save every test's outcome as JSON
     (--json) and compare with an earlier run (--compare).

The selection ("core" tests) is SELECT_MARKERS and SELECT_KEYWORDS below; run with --count to see
how many tests it selects. The exit status is 0 when the pass count reaches --min-pass (default:
none), so a CI job can hold the line.
"""
import argparse
import collections
import configparser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

# The suite's commit the figures in docs/s3-conformance.md were measured at.
DEFAULT_REF = "8f0ae7b404a3a2fcf7038bf1e6bf29544fe9b6a3"
DEFAULT_GIT = os.path.expanduser("~/.cache/ingestor/s3-tests")
UPSTREAM = "https://github.com/ceph/s3-tests.git"
SUITE_FILES = ["s3tests/functional/test_s3.py", "s3tests/functional/test_headers.py"]

# Tests left out, by the suite's own markers (pytest.ini):
# - fails_on_aws: behaviour of Ceph RGW that AWS S3 does not have (the store follows AWS);
# - fails_on_rgw: tests the reference implementation itself fails (Ceph's CI leaves them out);
# - the features outside the core: versioning, bucket/IAM/session policies, lifecycle,
#   encryption (SSE-C, SSE-KMS, SSE-S3, bucket encryption), tagging, object lock, website,
#   bucket logging, IAM/STS, S3 Select, SNS, cloud tiering.
EXCLUDED_MARKERS = [
    "fails_on_aws", "fails_on_rgw",
    "versioning", "delete_marker",
    "bucket_policy", "user_policy", "group_policy", "role_policy", "session_policy",
    "lifecycle", "lifecycle_expiration", "lifecycle_transition", "cloud_transition",
    "cloud_restore", "target_by_bucket",
    "encryption", "bucket_encryption", "sse_s3",
    "tagging", "object_lock",
    "s3website", "s3website_routing_rules", "s3website_redirect_location",
    "bucket_logging", "bucket_logging_cleanup", "fails_without_logging_rollover",
    "iam_account", "iam_cross_account", "iam_role", "iam_tenant", "iam_user", "test_of_sts",
    "s3select", "sns",
    # Object ownership controls: six of its seven tests set a bucket policy.
    "object_ownership",
]
# ... and by name, for the tests of those features that carry no marker (most versioning, object
# lock and public-access-block tests, IgnorePublicAcls among them), plus POST Object (browser form uploads signed by a POST
# policy document: a feature the store does not have).
EXCLUDED_KEYWORDS = [
    "versioning", "versioned", "policy", "lifecycle", "encrypt", "sse_c", "sse_kms", "sse_s3",
    "tagging", "object_lock", "public_block", "block_public", "website", "logging", "iam",
    "sts_", "select", "post_object", "public_acls",
]
SELECT_MARKERS = "not (" + " or ".join(EXCLUDED_MARKERS) + ")"
SELECT_KEYWORDS = "not (" + " or ".join(EXCLUDED_KEYWORDS) + ")"

# Groups for the report: the first rule whose pattern matches the test's name (or file) wins.
GROUPS = [
    ("headers", lambda f, n: f.endswith("test_headers.py")),
    ("cors", lambda f, n: "cors" in n),
    ("acl", lambda f, n: re.search(r"acl|access_bucket|owner_enforced|owner_preferred|"
                                   r"object_writer|ownership", n)),
    ("checksum", lambda f, n: re.search(r"checksum|cksum", n)),
    ("attributes", lambda f, n: "attributes" in n),
    ("multipart", lambda f, n: re.search(r"multipart|upload_part", n)),
    ("copy", lambda f, n: "copy" in n),
    ("conditional", lambda f, n: re.search(r"if_?match|if_?none_?match|ifnonmatch|"
                                           r"modifiedsince|conditional", n)),
    ("list_objects", lambda f, n: re.search(r"^test_bucket_list|^test_bucketv2|key_count", n)),
    ("auth_presigned", lambda f, n: re.search(r"raw|presigned|anon|expires|authenticated|"
                                              r"requestid|expected_bucket_owner", n)),
    ("bucket", lambda f, n: "bucket" in n),
    ("object", lambda f, n: True),
]

PACKAGES_HINT = ("Debian: apt-get install python3-boto3 python3-pytest python3-munch "
                 "python3-gevent python3-isodate python3-requests python3-yaml "
                 "python3-httplib2 python3-lxml python3-tz python3-pytest-timeout "
                 "(or `make s3-conformance`, which installs them)")


# --fixture-workaround: the suite's cleanup (nuke_bucket) with ListObjectsV2.
FIXTURE_WORKAROUND = """
import s3tests.functional as functional


def _list_versions(client, bucket, batch_size):
    kwargs = {"Bucket": bucket, "MaxKeys": batch_size}
    while True:
        r = client.list_objects_v2(**kwargs)
        objs = r.get("Contents", [])
        if objs:
            yield [{"Key": o["Key"]} for o in objs]
        if not r.get("IsTruncated"):
            return
        kwargs["ContinuationToken"] = r["NextContinuationToken"]


functional.list_versions = _list_versions
"""


def group_of(nodeid):
    f, _, n = nodeid.partition("::")
    for g, match in GROUPS:
        if match(f, n):
            return g
    return "object"


def die(msg):
    print(f"run_s3_tests: {msg}", file=sys.stderr)
    sys.exit(2)


def find_suite_git(path):
    if path and os.path.isdir(path):
        r = subprocess.run(["git", "--git-dir", path, "rev-parse", "--git-dir"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            return path
    die(f"no clone of ceph/s3-tests at {path or DEFAULT_GIT}.\n"
        f"  Fetch it once (outside the repository):\n"
        f"    git clone --bare {UPSTREAM} {DEFAULT_GIT}\n"
        f"  or point INGESTOR_S3TESTS_GIT (or --git) at an existing clone (bare or not).")


def export_suite(git_dir, ref, dest):
    r = subprocess.run(["git", "--git-dir", git_dir, "rev-parse", "--verify", ref + "^{commit}"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        die(f"{git_dir} has no commit {ref}; `git --git-dir {git_dir} fetch` it, or pass --ref")
    commit = r.stdout.strip()
    archive = subprocess.Popen(["git", "--git-dir", git_dir, "archive", commit],
                               stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", dest], stdin=archive.stdout, check=True)
    if archive.wait() != 0:
        die("git archive failed")
    return commit


class StoreProcess:
    def __init__(self, binary, tmp, users, extra_args):
        self.binary = binary
        self.tmp = tmp
        self.users = users  # [(name, access, secret)], the first is --access-key
        self.extra_args = extra_args
        self.proc = None

    def start(self):
        status = os.path.join(self.tmp, "store-status.json")
        self.log_path = os.path.join(self.tmp, "store.log")
        _, main_access, main_secret = self.users[0]
        cmd = [self.binary, "store", "--listen", "127.0.0.1:0",
               "--data-dir", os.path.join(self.tmp, "data"), "--access-key", main_access,
               "--secret-key", main_secret, "--status-file", status]
        for name, access, secret in self.users[1:]:
            cmd += ["--user", f"{name}:{access}:{secret}"]
        cmd += self.extra_args
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not os.path.exists(status):
            if self.proc.poll() is not None:
                with open(self.log_path, "rb") as f:
                    die(f"the store exited with {self.proc.returncode}:\n"
                        + f.read().decode("utf-8", "replace"))
            if time.monotonic() > deadline:
                die("the store did not start within 30 s")
            time.sleep(0.05)
        with open(status) as f:
            self.port = json.load(f)["port"]
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()


def identity(endpoint, access, secret):
    """The store's canonical user id and display name for a key (ListBuckets' Owner)."""
    import boto3
    from botocore.client import Config
    s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=access,
                      aws_secret_access_key=secret, region_name="us-east-1",
                      config=Config(signature_version="s3v4"))
    owner = s3.list_buckets()["Owner"]
    return owner["ID"], owner.get("DisplayName", owner["ID"])


def write_conf(path, port, users, ids):
    cfg = configparser.RawConfigParser()
    cfg["DEFAULT"] = {"host": "127.0.0.1", "port": str(port), "is_secure": "False",
                      "ssl_verify": "False"}
    cfg["fixtures"] = {"bucket prefix": "s3t-{random}-", "iam name prefix": "s3-tests-",
                       "iam path prefix": "/s3-tests/"}
    for section, (_, access, secret), (uid, name), email in zip(
            ["s3 main", "s3 alt", "s3 tenant"], users, ids,
            ["main@example.com", "alt@example.com", "tenant@example.com"]):
        cfg[section] = {"display_name": name, "user_id": uid, "email": email,
                        "access_key": access, "secret_key": secret}
    cfg["s3 main"]["api_name"] = ""
    cfg["s3 tenant"]["tenant"] = "testx"
    # Only the IAM/STS tests (left out) use these; the suite's configure() requires them.
    for section, key in [("iam", "IAMACCESSKEY00000000"), ("iam root", "IAMROOTKEY0000000000"),
                         ("iam alt root", "IAMALTROOTKEY0000000")]:
        cfg[section] = {"access_key": key, "secret_key": "x" * 40, "user_id": key,
                        "email": f"{key.lower()}@example.com", "display_name": key}
    with open(path, "w") as f:
        cfg.write(f)


def parse_junit(path):
    """{nodeid: (outcome, message)}; outcome passed | failed | error | skipped."""
    out = {}
    for tc in ET.parse(path).getroot().iter("testcase"):
        classname, name = tc.get("classname", ""), tc.get("name", "")
        f = classname.replace(".", "/") + ".py"
        nodeid = f"{f}::{name}"
        outcome, msg = "passed", ""
        for child in tc:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
                msg = (child.get("message") or "").strip().splitlines()
                msg = msg[0][:300] if msg else ""
                if outcome != "passed":
                    break
        out[nodeid] = (outcome, msg)
    return out


def summarize(results):
    table = collections.OrderedDict((g, collections.Counter()) for g, _ in GROUPS)
    for nodeid, (outcome, _) in results.items():
        table[group_of(nodeid)][outcome] += 1
    return table


def print_table(results, before=None):
    table = summarize(results)
    # An earlier run may have had a wider selection: compare the tests of this one.
    old = summarize({k: v for k, v in before.items() if k in results}) if before else None
    hdr = f"{'group':<16}{'tests':>6}{'passed':>8}{'failed':>8}{'error':>7}"
    if old:
        hdr += f"{'before':>8}"
    print(hdr)
    tot = collections.Counter()
    tot_before = 0
    for g, c in table.items():
        n = sum(c.values())
        if n == 0:
            continue
        tot.update(c)
        line = f"{g:<16}{n:>6}{c['passed']:>8}{c['failed']:>8}{c['error']:>7}"
        if old:
            line += f"{old[g]['passed']:>8}"
            tot_before += old[g]["passed"]
        print(line)
    n = sum(tot.values())
    line = f"{'total':<16}{n:>6}{tot['passed']:>8}{tot['failed']:>8}{tot['error']:>7}"
    if old:
        line += f"{tot_before:>8}"
    print(line)
    return tot["passed"], n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="build directory holding the ingestor binary")
    ap.add_argument("--ingestor", help="the ingestor binary (default: BUILD/ingestor)")
    ap.add_argument("--git", default=os.environ.get("INGESTOR_S3TESTS_GIT", DEFAULT_GIT),
                    help="clone of ceph/s3-tests (env INGESTOR_S3TESTS_GIT)")
    ap.add_argument("--ref", default=os.environ.get("INGESTOR_S3TESTS_REF", DEFAULT_REF),
                    help="commit of the suite to run")
    ap.add_argument("-k", dest="extra_k", help="narrow the selection further (pytest -k)")
    ap.add_argument("--count", action="store_true", help="only count the selected tests")
    ap.add_argument("--one-user", action="store_true",
                    help="give alt and tenant the main user's key (for a store without --user)")
    ap.add_argument("--fixture-workaround", action="store_true",
                    help="make the suite's bucket cleanup list objects with ListObjectsV2 instead "
                    "of ListObjectVersions (how the issue measured a store without the latter; "
                    "a plugin loaded beside the suite, whose files stay unmodified)")
    ap.add_argument("--json", help="write every test's outcome to this file")
    ap.add_argument("--compare", help="a --json file of an earlier run: show its passes too")
    ap.add_argument("--failures", action="store_true", help="list every failure with its message")
    ap.add_argument("--timeout", type=int, default=300, help="per-test limit in seconds")
    ap.add_argument("--min-pass", type=int, default=0,
                    help="exit 1 when fewer tests pass than this")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (suite, conf, log)")
    ap.add_argument("--store-arg", action="append", default=[],
                    help="extra argument for `ingestor store` (repeatable)")
    args = ap.parse_args()

    python = "/usr/bin/python3"
    check = subprocess.run([python, "-c", "import boto3, botocore, pytest, munch, gevent, "
                            "isodate, requests, yaml, httplib2, lxml, pytz"],
                           capture_output=True, text=True)
    if check.returncode != 0:
        die(f"{python} lacks the suite's modules ({check.stderr.strip().splitlines()[-1]}).\n"
            f"  {PACKAGES_HINT}")
    binary = args.ingestor or os.path.join(args.build, "ingestor")
    if not args.count and not os.access(binary, os.X_OK):
        die(f"no ingestor binary at {binary}; build it first (make build)")
    git_dir = find_suite_git(args.git)

    tmp = tempfile.mkdtemp(prefix="ingestor-s3tests-")
    store = None
    try:
        suite = os.path.join(tmp, "s3-tests")
        os.makedirs(suite)
        commit = export_suite(git_dir, args.ref, suite)
        users = [("ingestor", "S3TMAINACCESSKEY0001", "main/secret/key/for/s3-tests/0000000000"),
                 ("alt", "S3TALTACCESSKEY00002", "alt/secret/key/for/s3-tests/00000000000"),
                 ("tenant", "S3TTENANTACCESSKEY03", "tenant/secret/key/for/s3-tests/000000000")]
        if args.one_user:
            users = [users[0]] * 3
        conf = os.path.join(tmp, "s3tests.conf")
        keyword = SELECT_KEYWORDS
        if args.extra_k:
            keyword = f"({keyword}) and ({args.extra_k})"
        pytest_cmd = [python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rN",
                      "-m", SELECT_MARKERS, "-k", keyword] + SUITE_FILES
        env = dict(os.environ, S3TEST_CONF=conf, PYTHONDONTWRITEBYTECODE="1")
        env.pop("PYTHONPATH", None)
        if args.count:
            write_conf(conf, 1, users, [("id", "name")] * 3)
            r = subprocess.run(pytest_cmd + ["--collect-only"], cwd=suite, env=env,
                               capture_output=True, text=True)
            print(r.stdout.strip().splitlines()[-1])
            return 0
        store = StoreProcess(binary, tmp, users if not args.one_user else users[:1],
                             args.store_arg).start()
        endpoint = f"http://127.0.0.1:{store.port}"
        ids = [identity(endpoint, a, s) for _, a, s in users]
        write_conf(conf, store.port, users, ids)
        if args.fixture_workaround:
            plugins = os.path.join(tmp, "plugins")
            os.makedirs(plugins)
            with open(os.path.join(plugins, "s3t_list_objects_cleanup.py"), "w") as f:
                f.write(FIXTURE_WORKAROUND)
            env["PYTHONPATH"] = plugins
            pytest_cmd[3:3] = ["-p", "s3t_list_objects_cleanup"]
        junit = os.path.join(tmp, "junit.xml")
        have_timeout = subprocess.run([python, "-c", "import pytest_timeout"],
                                      capture_output=True).returncode == 0
        extra = [f"--junitxml={junit}", "-o", "junit_family=xunit1"]
        if have_timeout:
            extra += [f"--timeout={args.timeout}"]  # the plugin loads itself
        print(f"s3-tests {commit[:12]} against {binary} at {endpoint}", flush=True)
        print("selection: -m '" + SELECT_MARKERS + "'\n           -k '" + keyword + "'",
              flush=True)
        started = time.monotonic()
        subprocess.run(pytest_cmd + extra, cwd=suite, env=env,
                       stdout=subprocess.DEVNULL if not args.keep else None)
        elapsed = time.monotonic() - started
        results = parse_junit(junit)
        before = None
        if args.compare:
            with open(args.compare) as f:
                before = {k: tuple(v) for k, v in json.load(f)["results"].items()}
        print()
        passed, total = print_table(results, before)
        print(f"\n{passed} of {total} selected tests passed ({elapsed:.0f} s)")
        if args.failures:
            print("\nfailures:")
            for nodeid, (outcome, msg) in sorted(results.items(),
                                                  key=lambda kv: (group_of(kv[0]), kv[0])):
                if outcome in ("failed", "error"):
                    print(f"  [{group_of(nodeid)}] {nodeid.split('::')[1]} ({outcome}): {msg}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"suite_commit": commit, "selection_markers": SELECT_MARKERS,
                           "selection_keywords": keyword, "passed": passed, "total": total,
                           "results": results}, f, indent=1, sort_keys=True)
        return 0 if passed >= args.min_pass else 1
    finally:
        if store:
            store.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
