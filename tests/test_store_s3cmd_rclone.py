"""`ingestor store` driven by s3cmd and rclone, the Debian bookworm packages (`make deps` installs
them): what each does differently from the aws CLI and boto3 (aws.md §0 items 8 and 9) meets the
real store. s3cmd: mb, put, a 12 MiB multipart put (5 MiB parts, Complete XML without xmlns and
with unquoted ETags), ls with a prefix and "directories" (ListObjects v1), get, info, sync up (and
a second sync that uploads nothing) and down, del, rb; signed with SigV4, with s3cmd's default
signature setting, and with SigV2 (`signature_v2 = True`). rclone (provider Other): mkdir (PUT
bucket, repeated before every upload), copy of a tree with a multipart file (`?uploads=`, single
PUTs with UNSIGNED-PAYLOAD + Content-MD5), lsf/ls (v1 listing, also paged one key at a time),
cat, copy back, check (MD5s), server-side copy and move, sync with a deletion, delete, purge.
Keys with spaces, `+` and non-ASCII characters. The store's own view is checked with boto3."""
import hashlib
import os
import random
import re
import shutil
import subprocess
import unittest

from harness import wait_for
from store_harness import ACCESS_KEY, REGION, SECRET_KEY, StoreTestCase, require_boto3

MIB = 1 << 20
PART = 5 * MIB  # both clients' part size here (S3's minimum)
BIG_SIZE = 12 * MIB  # three parts: 5 + 5 + 2 MiB


def require_client(name):
    path = shutil.which(name)
    if not path:
        raise AssertionError(
            f"{name} is missing: `make deps` installs it (Debian: `apt-get install s3cmd rclone`)")
    return path


def big_bytes(seed):
    """BIG_SIZE deterministic bytes that differ from part to part (a misordered part shows)."""
    return random.Random(seed).randbytes(BIG_SIZE)


def multipart_etag(data, part_size=PART):
    md5s = b"".join(hashlib.md5(data[i:i + part_size]).digest()
                    for i in range(0, len(data), part_size))
    return f'"{hashlib.md5(md5s).hexdigest()}-{(len(data) + part_size - 1) // part_size}"'


def write_tree(root, files):
    for rel, data in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)


def read_tree(root):
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = f.read()
    return out


class ClientTestCase(StoreTestCase):
    """A store, boto3 (self.s3) for the store's own view, and a scratch dir for the client's
    files. The clients get the harness's environment (no AWS_* of the machine: rclone's SDK
    fails on an AWS_CA_BUNDLE with a custom transport) and a HOME of their own."""

    def setUp(self):
        require_boto3()
        super().setUp()
        self.s3 = self.client()
        self.files = os.path.join(self.tmp, "files")
        os.makedirs(self.files)
        self.env = dict(self.env, HOME=self.tmp)

    def run_client(self, cmd, check=True, timeout=60):
        p = subprocess.run(cmd, env=self.env, capture_output=True, timeout=timeout)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}):\n{err}\n{out}")
        return p.returncode, out, err

    def keys(self, bucket, prefix=""):
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(c["Key"] for p in pages for c in p.get("Contents", []))

    def body(self, bucket, key):
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def buckets(self):
        return [b["Name"] for b in self.s3.list_buckets()["Buckets"]]

    def assert_no_key(self, bucket, key):
        with self.assertRaises(self.s3.exceptions.ClientError) as cm:
            self.s3.head_object(Bucket=bucket, Key=key)
        self.assertEqual(cm.exception.response["Error"]["Code"], "404")


class S3cmdCase(ClientTestCase):
    """s3cmd with a config file of its own; `signature_v2` is that setting's value (None: left
    out, s3cmd's default)."""

    signature_v2 = None

    def setUp(self):
        self.s3cmd_bin = require_client("s3cmd")
        super().setUp()
        self.cfg = os.path.join(self.tmp, "s3cfg")
        hostport = f"127.0.0.1:{self.store.port}"
        lines = ["[default]", f"access_key = {ACCESS_KEY}", f"secret_key = {SECRET_KEY}",
                 f"host_base = {hostport}", f"host_bucket = {hostport}",  # path style
                 "use_https = False", f"bucket_location = {REGION}", "progress_meter = False"]
        if self.signature_v2 is not None:
            lines.append(f"signature_v2 = {self.signature_v2}")
        with open(self.cfg, "w") as f:
            f.write("\n".join(lines) + "\n")

    def s3cmd(self, *args, check=True):
        return self.run_client([self.s3cmd_bin, "-c", self.cfg] + list(args), check=check)

    def ls(self, *args):
        """`s3cmd ls` as [(size or "DIR", uri)]."""
        _, out, _ = self.s3cmd("ls", *args)
        rows = []
        for line in out.splitlines():
            if "s3://" not in line:
                continue
            uri = line[line.index("s3://"):]
            head = line[:line.index("s3://")].split()
            rows.append(("DIR" if head == ["DIR"] else int(head[-1]), uri))
        return rows

    def signature_used(self):
        """"v4" or "v2": how s3cmd signed a ListBuckets (from its debug output)."""
        _, _, err = self.s3cmd("-d", "ls")
        m = re.search(r"'Authorization': '(AWS4-HMAC-SHA256|AWS) ", err)
        self.assertTrue(m, err[-2000:])
        return "v4" if m.group(1) == "AWS4-HMAC-SHA256" else "v2"

    def check_mb_put_multipart_ls_get_info_del_rb(self):
        self.s3cmd("mb", "s3://s3cmd-bkt")
        self.assertIn("s3cmd-bkt", self.buckets())
        _, out, _ = self.s3cmd("ls")
        self.assertIn("s3://s3cmd-bkt", out)

        small = os.path.join(self.files, "small.txt")
        with open(small, "wb") as f:
            f.write(b"hello world\n")
        self.s3cmd("put", small, "s3://s3cmd-bkt/dir/a b+c.txt")
        self.assertEqual(self.body("s3cmd-bkt", "dir/a b+c.txt"), b"hello world\n")
        self.assertEqual(self.s3.head_object(Bucket="s3cmd-bkt", Key="dir/a b+c.txt")["ETag"],
                         '"%s"' % hashlib.md5(b"hello world\n").hexdigest())

        big = os.path.join(self.files, "big.bin")
        data = big_bytes(1)
        with open(big, "wb") as f:
            f.write(data)
        self.s3cmd("put", "--multipart-chunk-size-mb=5", big, "s3://s3cmd-bkt/big.bin")
        head = self.s3.head_object(Bucket="s3cmd-bkt", Key="big.bin")
        self.assertEqual(head["ContentLength"], BIG_SIZE)
        self.assertEqual(head["ETag"], multipart_etag(data))  # three 5 MiB-based parts, in order
        self.assertNotIn("VersionId", head)
        self.assertEqual(self.body("s3cmd-bkt", "big.bin"), data)
        self.assertNotIn("Uploads", self.s3.list_multipart_uploads(Bucket="s3cmd-bkt"))

        # ListObjects v1 with a delimiter: the "directory" and the top-level object
        self.assertEqual(self.ls("s3://s3cmd-bkt"),
                         [("DIR", "s3://s3cmd-bkt/dir/"), (BIG_SIZE, "s3://s3cmd-bkt/big.bin")])
        self.assertEqual(self.ls("s3://s3cmd-bkt/dir/"), [(12, "s3://s3cmd-bkt/dir/a b+c.txt")])
        self.assertEqual(self.ls("s3://s3cmd-bkt/di"), [("DIR", "s3://s3cmd-bkt/dir/")])
        self.assertEqual(self.ls("s3://s3cmd-bkt/b"), [(BIG_SIZE, "s3://s3cmd-bkt/big.bin")])
        self.assertEqual(self.ls("--recursive", "s3://s3cmd-bkt"),
                         [(BIG_SIZE, "s3://s3cmd-bkt/big.bin"),
                          (12, "s3://s3cmd-bkt/dir/a b+c.txt")])

        # get: byte-identical (s3cmd checks the MD5 too: the ETag, or its own attrs for multipart)
        for key, want in (("dir/a b+c.txt", b"hello world\n"), ("big.bin", data)):
            dst = os.path.join(self.files, "back-" + key.replace("/", "_"))
            self.s3cmd("get", f"s3://s3cmd-bkt/{key}", dst)
            with open(dst, "rb") as f:
                self.assertEqual(f.read(), want, key)

        _, out, _ = self.s3cmd("info", "s3://s3cmd-bkt/big.bin")
        self.assertRegex(out, rf"File size:\s+{BIG_SIZE}\n")
        self.assertRegex(out, rf"MD5 sum:\s+{hashlib.md5(data).hexdigest()}\n")
        self.assertRegex(out, r"ACL:\s+\S+: FULL_CONTROL\n")
        _, out, _ = self.s3cmd("info", "s3://s3cmd-bkt")
        self.assertRegex(out, rf"Location:\s+{REGION}\n")
        self.assertRegex(out, r"ACL:\s+\S+: FULL_CONTROL\n")  # GetBucketAcl, as S3 answers it

        rc, _, err = self.s3cmd("rb", "s3://s3cmd-bkt", check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("BucketNotEmpty", err)
        self.s3cmd("del", "s3://s3cmd-bkt/dir/a b+c.txt")
        self.assert_no_key("s3cmd-bkt", "dir/a b+c.txt")
        self.assertEqual(self.keys("s3cmd-bkt"), ["big.bin"])
        self.s3cmd("del", "s3://s3cmd-bkt/big.bin")
        self.assertEqual(self.keys("s3cmd-bkt"), [])
        self.s3cmd("rb", "s3://s3cmd-bkt")
        self.assertNotIn("s3cmd-bkt", self.buckets())
        wait_for(lambda: self.object_files() == [], what="no object file left behind")


class S3cmdTest(S3cmdCase):
    """s3cmd signing with SigV4 (`signature_v2 = False`), everything a user does with it."""

    signature_v2 = "False"

    def test_mb_put_multipart_ls_get_info_del_rb(self):
        self.assertEqual(self.signature_used(), "v4")
        self.check_mb_put_multipart_ls_get_info_del_rb()

    def test_sync_up_twice_and_down(self):
        self.s3cmd("mb", "s3://sync-bkt")
        tree = os.path.join(self.files, "tree")
        files = {"top.txt": b"top\n", "x/1.txt": b"one\n", "x/y/2.txt": b"two\n",
                 "x/sp ace+plus.txt": b"space and plus\n", "x/y/z/big.bin": big_bytes(2)}
        write_tree(tree, files)
        _, out, _ = self.s3cmd("sync", "--multipart-chunk-size-mb=5", tree + "/",
                               "s3://sync-bkt/tree/")
        self.assertEqual(out.count("upload:"), len(files), out)
        self.assertEqual(self.keys("sync-bkt"), sorted("tree/" + k for k in files))
        for rel, data in files.items():
            self.assertEqual(self.body("sync-bkt", "tree/" + rel), data, rel)
        self.assertEqual(self.s3.head_object(Bucket="sync-bkt", Key="tree/x/y/z/big.bin")["ETag"],
                         multipart_etag(files["x/y/z/big.bin"]))
        before = {c["Key"]: (c["ETag"], c["LastModified"])
                  for c in self.s3.list_objects_v2(Bucket="sync-bkt")["Contents"]}

        # nothing changed: nothing is uploaded (s3cmd compares sizes and MD5s, for the
        # multipart object the one in its x-amz-meta-s3cmd-attrs)
        _, out, _ = self.s3cmd("sync", "--multipart-chunk-size-mb=5", tree + "/",
                               "s3://sync-bkt/tree/")
        self.assertNotIn("upload:", out)
        after = {c["Key"]: (c["ETag"], c["LastModified"])
                 for c in self.s3.list_objects_v2(Bucket="sync-bkt")["Contents"]}
        self.assertEqual(after, before)

        # one file changed, one removed: only those two change in the bucket
        write_tree(tree, {"x/1.txt": b"one, changed\n"})
        os.unlink(os.path.join(tree, "top.txt"))
        _, out, _ = self.s3cmd("sync", "--delete-removed", "--multipart-chunk-size-mb=5",
                               tree + "/", "s3://sync-bkt/tree/")
        self.assertEqual(out.count("upload:"), 1, out)
        self.assertEqual(self.body("sync-bkt", "tree/x/1.txt"), b"one, changed\n")
        self.assert_no_key("sync-bkt", "tree/top.txt")

        down = os.path.join(self.files, "down")
        self.s3cmd("sync", "s3://sync-bkt/tree/", down + "/")
        self.assertEqual(read_tree(down), read_tree(tree))

        self.s3cmd("del", "--recursive", "--force", "s3://sync-bkt/tree/")
        self.assertEqual(self.keys("sync-bkt"), [])
        self.s3cmd("rb", "s3://sync-bkt")
        self.assertNotIn("sync-bkt", self.buckets())


class S3cmdSigV2Test(S3cmdCase):
    """s3cmd signing with SigV2 (`signature_v2 = True`: `Authorization: AWS AKID:sig` and an
    `x-amz-date` in RFC 2822 form, "Fri, 27 Nov 2026 01:48:03 +0000"), also for multipart."""

    signature_v2 = "True"

    def test_mb_put_multipart_ls_get_info_del_rb(self):
        self.assertEqual(self.signature_used(), "v2")
        self.check_mb_put_multipart_ls_get_info_del_rb()


class S3cmdDefaultSignatureTest(S3cmdCase):
    """s3cmd's own default for `signature_v2` against a custom host (SigV4 in s3cmd 2.3)."""

    def test_put_ls_get_del(self):
        self.assertEqual(self.signature_used(), "v4")
        self.s3cmd("mb", "s3://dflt-bkt")
        src = os.path.join(self.files, "a b+c.txt")
        with open(src, "wb") as f:
            f.write(b"default signature\n")
        self.s3cmd("put", src, "s3://dflt-bkt/k e+y.txt")
        self.assertEqual(self.body("dflt-bkt", "k e+y.txt"), b"default signature\n")
        self.assertEqual(self.ls("s3://dflt-bkt"), [(18, "s3://dflt-bkt/k e+y.txt")])
        dst = os.path.join(self.files, "back")
        self.s3cmd("get", "s3://dflt-bkt/k e+y.txt", dst)
        with open(dst, "rb") as f:
            self.assertEqual(f.read(), b"default signature\n")
        self.s3cmd("del", "s3://dflt-bkt/k e+y.txt")
        self.s3cmd("rb", "s3://dflt-bkt")
        self.assertNotIn("dflt-bkt", self.buckets())


class RcloneTest(ClientTestCase):
    """rclone with an S3 remote "st" of provider Other, configured from the environment."""

    def setUp(self):
        self.rclone_bin = require_client("rclone")
        super().setUp()
        self.env.update(
            RCLONE_CONFIG_ST_TYPE="s3", RCLONE_CONFIG_ST_PROVIDER="Other",
            RCLONE_CONFIG_ST_ENDPOINT=self.store.endpoint,
            RCLONE_CONFIG_ST_ACCESS_KEY_ID=ACCESS_KEY,
            RCLONE_CONFIG_ST_SECRET_ACCESS_KEY=SECRET_KEY, RCLONE_CONFIG_ST_REGION=REGION,
            RCLONE_CACHE_DIR=os.path.join(self.tmp, "rclone-cache"))

    def rclone(self, *args, check=True):
        # No retries: a failed request fails the command instead of hiding behind a second try.
        return self.run_client(
            [self.rclone_bin, "--config", "/dev/null", "--retries", "1", "--low-level-retries",
             "1", "--contimeout", "10s", "--timeout", "30s", "--s3-upload-cutoff", "5M",
             "--s3-chunk-size", "5M"] + list(args), check=check)

    def lines(self, *args):
        return self.rclone(*args)[1].splitlines()

    TREE = {"a.txt": b"alpha\n", "sub/b c+\u00fc.txt": b"unicode and space\n",
            "space dir/x y.txt": b"in a spaced dir\n", "sub/deep/\u65e5\u672c.txt": b"cjk\n"}

    def make_tree(self, name, big_seed):
        root = os.path.join(self.files, name)
        files = dict(self.TREE)
        files["sub/deep/big.bin"] = big_bytes(big_seed)
        write_tree(root, files)
        return root, files

    def test_mkdir_copy_list_cat_check_copy_back(self):
        self.rclone("mkdir", "st:rcl-bkt")
        self.assertIn("rcl-bkt", self.buckets())
        tree, files = self.make_tree("tree", 3)
        self.rclone("copy", tree, "st:rcl-bkt/tree")
        self.assertEqual(self.keys("rcl-bkt"), sorted("tree/" + k for k in files))
        for rel, data in files.items():
            self.assertEqual(self.body("rcl-bkt", "tree/" + rel), data, rel)
        head = self.s3.head_object(Bucket="rcl-bkt", Key="tree/sub/deep/big.bin")
        self.assertEqual(head["ETag"], multipart_etag(files["sub/deep/big.bin"]))
        self.assertNotIn("VersionId", head)  # aws.md §0 item 9
        self.assertNotIn("Uploads", self.s3.list_multipart_uploads(Bucket="rcl-bkt"))

        # listings (ListObjects v1, with "/" as the delimiter unless recursive)
        self.assertEqual(self.lines("lsf", "st:rcl-bkt/tree"), ["a.txt", "space dir/", "sub/"])
        self.assertEqual(self.lines("lsf", "st:rcl-bkt/tree/sub"),
                         ["b c+\u00fc.txt", "deep/"])
        want_recursive = sorted(list(files) + ["space dir/", "sub/", "sub/deep/"])
        self.assertEqual(sorted(self.lines("lsf", "-R", "st:rcl-bkt/tree")), want_recursive)
        # pages of one key: NextMarker / last key as the marker, past each common prefix
        self.assertEqual(sorted(self.lines("lsf", "-R", "--s3-list-chunk", "1",
                                           "st:rcl-bkt/tree")), want_recursive)
        self.assertEqual(sorted(self.lines("lsf", "-R", "--fast-list", "--s3-list-chunk", "2",
                                           "st:rcl-bkt/tree")), want_recursive)
        ls = {}
        for line in self.lines("ls", "st:rcl-bkt"):
            size, path = line.strip().split(" ", 1)
            ls[path] = int(size)
        self.assertEqual(ls, {"tree/" + k: len(v) for k, v in files.items()})

        # cat, and the whole tree copied back
        _, out, _ = self.rclone("cat", "st:rcl-bkt/tree/sub/b c+\u00fc.txt")
        self.assertEqual(out.encode(), files["sub/b c+\u00fc.txt"])
        back = os.path.join(self.files, "back")
        self.rclone("copy", "st:rcl-bkt/tree", back)
        self.assertEqual(read_tree(back), files)

        # check compares sizes and MD5s (the ETag, or rclone's own metadata for multipart)
        _, _, err = self.rclone("check", tree, "st:rcl-bkt/tree")
        self.assertIn("0 differences found", err)
        self.assertIn(f"{len(files)} matching files", err)
        self.s3.put_object(Bucket="rcl-bkt", Key="tree/a.txt", Body=b"ALPHA\n")  # same size
        rc, _, err = self.rclone("check", tree, "st:rcl-bkt/tree", check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("1 differences found", err)
        self.assertRegex(err, r"a\.txt: md5 differ")

    def test_server_side_copy_move_sync_delete_purge(self):
        self.rclone("mkdir", "st:rcl-bkt")
        self.rclone("mkdir", "st:rcl-bkt")  # again: PUT on an own bucket is fine
        tree, files = self.make_tree("tree", 4)
        self.rclone("copy", tree, "st:rcl-bkt/tree")

        # server-side copy (CopyObject) and move (copy + delete) to keys that need encoding
        self.rclone("copyto", "st:rcl-bkt/tree/sub/deep/big.bin",
                    "st:rcl-bkt/copies/gro\u00df + big.bin")
        self.assertEqual(self.body("rcl-bkt", "copies/gro\u00df + big.bin"),
                         files["sub/deep/big.bin"])
        self.rclone("moveto", "st:rcl-bkt/tree/a.txt", "st:rcl-bkt/copies/\u00e4 moved.txt")
        self.assertEqual(self.body("rcl-bkt", "copies/\u00e4 moved.txt"), files["a.txt"])
        self.assert_no_key("rcl-bkt", "tree/a.txt")

        # sync: a removed file is deleted, a new one uploaded, a changed one replaced
        os.unlink(os.path.join(tree, "space dir/x y.txt"))
        write_tree(tree, {"new \u00e9t\u00e9.txt": b"new\n", "sub/b c+\u00fc.txt": b"changed!\n"})
        self.rclone("sync", tree, "st:rcl-bkt/tree")
        now = read_tree(tree)
        self.assertEqual(self.keys("rcl-bkt", "tree/"), sorted("tree/" + k for k in now))
        for rel, data in now.items():
            self.assertEqual(self.body("rcl-bkt", "tree/" + rel), data, rel)
        _, _, err = self.rclone("check", tree, "st:rcl-bkt/tree")
        self.assertIn("0 differences found", err)

        # delete: every object under a "directory", nothing else
        self.rclone("delete", "st:rcl-bkt/tree/sub")
        self.assertEqual(self.keys("rcl-bkt", "tree/"),
                         sorted("tree/" + k for k in now if not k.startswith("sub/")))
        self.assertEqual(len(self.keys("rcl-bkt", "copies/")), 2)
        rc, _, err = self.rclone("rmdir", "st:rcl-bkt", check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("BucketNotEmpty", err)
        self.assertIn("rcl-bkt", self.buckets())

        # purge: every object, then the bucket
        self.rclone("purge", "st:rcl-bkt")
        self.assertNotIn("rcl-bkt", self.buckets())
        wait_for(lambda: self.object_files() == [], what="no object file left behind")


if __name__ == "__main__":
    unittest.main()
