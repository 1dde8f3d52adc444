"""Helpers for full-disk tests: a small tmpfs (Volume), an agent that runs where the tmpfs is
visible (NsAgent) and a netcat connection sending windows of numbered lines (Sender).

The tmpfs needs CAP_SYS_ADMIN: as root it is mounted directly; otherwise it lives inside
`unshare -rm` (a user + mount namespace held by a helper process, entered with nsenter for each
agent start and each look at the volume); if neither works the test is skipped with the reason.
INGESTOR_TEST_DISK_FULL_MODE=unshare forces the namespace even as root.
"""
import hashlib
import os
import shutil
import subprocess
import unittest

import harness
from harness import Agent, connect

PAD = "p" * 900


class NsAgent(Agent):
    """An Agent whose command runs behind a prefix (nsenter into the test's mount namespace)."""

    def __init__(self, config, prefix, **kw):
        super().__init__(config, **kw)
        self.prefix = list(prefix)

    def start(self, wait=True):
        if os.path.exists(self.status_file):
            os.unlink(self.status_file)
        self.log = open(self.log_path, "ab")
        cmd = self.prefix + [harness.BIN, "agent", "-n", self.name, "-f", self.conf,
                             "--status-file", self.status_file] + self.args
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_started()
        return self


class Volume:
    """A small tmpfs at `path`: mounted here (root), or inside a user + mount namespace held by a
    helper process (unprivileged); `prefix` runs a command where the volume is visible."""

    def __init__(self, path, size):
        self.path, self.size = path, size
        self.holder = None
        self.mounted = False
        self.prefix = []

    def mount(self):
        os.makedirs(self.path, exist_ok=True)
        why = []
        if os.environ.get("INGESTOR_TEST_DISK_FULL_MODE") != "unshare":
            r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size}", "tmpfs",
                                self.path], capture_output=True, text=True)
            if r.returncode == 0:
                self.mounted = True
                return "mount"
            why.append(f"mount: {r.stderr.strip() or r.returncode}")
        if shutil.which("unshare") and shutil.which("nsenter"):
            self.holder = subprocess.Popen(
                ["unshare", "-rm", "sh", "-c",
                 f"mount -t tmpfs -o size={self.size} tmpfs '{self.path}' && echo mounted && "
                 "exec cat"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            line = self.holder.stdout.readline()
            if line.strip() == b"mounted":
                self.prefix = ["nsenter", "--preserve-credentials", "-U", "-m", "-t",
                               str(self.holder.pid)]
                return "unshare"
            err = self.holder.stderr.read().decode(errors="replace").strip()
            self.holder.wait()
            self.holder.stdout.close()
            self.holder.stderr.close()
            self.holder = None
            why.append(f"unshare -rm: {err}")
        else:
            why.append("unshare/nsenter (util-linux) not installed")
        raise unittest.SkipTest(
            "needs a small tmpfs: run as root (CAP_SYS_ADMIN for `mount -t tmpfs`) or allow "
            "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, "
            "user.max_user_namespaces > 0) for `unshare -rm`; " + "; ".join(why))

    def _run(self, cmd):
        r = subprocess.run(self.prefix + cmd, capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)}: {r.stderr.strip() or r.returncode}")
        return r.stdout

    def free_bytes(self):
        """Bytes still available on the volume."""
        if not self.prefix:
            st = os.statvfs(self.path)
            return st.f_bavail * st.f_frsize
        avail, bsize = self._run(["stat", "-f", "-c", "%a %S", self.path]).split()
        return int(avail) * int(bsize)

    def listdir(self, sub=""):
        """Names in a directory of the volume ([] if it does not exist)."""
        d = os.path.join(self.path, sub)
        if not self.prefix:
            return sorted(os.listdir(d)) if os.path.isdir(d) else []
        return sorted(self._run(["sh", "-c", f"[ -d '{d}' ] && ls -1A '{d}' || true"]).split())

    def files(self, sub=""):
        """Paths (relative to `sub`) of the regular files under a directory of the volume."""
        d = os.path.join(self.path, sub)
        if not self.prefix:
            return sorted(os.path.relpath(os.path.join(r, f), d)
                          for r, _, fs in os.walk(d) for f in fs)
        out = self._run(["sh", "-c", f"[ -d '{d}' ] && cd '{d}' && find . -type f || true"])
        return sorted(os.path.relpath(p) for p in out.split())

    def write_file(self, name, size):
        """A file of `size` zero bytes on the volume (data of another tenant of the disk)."""
        path = os.path.join(self.path, name)
        self._run(["sh", "-c", f"head -c {int(size)} /dev/zero > '{path}'"])

    def remove(self, name):
        self._run(["rm", "-f", os.path.join(self.path, name)])

    def file_digests(self, sub=""):
        """{name: MD5 hex} of the regular files in a directory of the volume ({} if it does not
        exist); a file removed while this looks is left out."""
        d = os.path.join(self.path, sub)
        if not self.prefix:
            out = {}
            for n in (os.listdir(d) if os.path.isdir(d) else []):
                try:
                    with open(os.path.join(d, n), "rb") as f:
                        out[n] = hashlib.file_digest(f, "md5").hexdigest()
                except (FileNotFoundError, IsADirectoryError):
                    pass
            return out
        text = self._run(["sh", "-c", f"[ -d '{d}' ] && cd '{d}' && "
                          "find . -maxdepth 1 -type f -exec md5sum {} + 2>/dev/null; true"])
        return {line[34:].removeprefix("./"): line[:32] for line in text.splitlines() if line}

    def read(self, sub):
        """The bytes of a file on the volume."""
        p = os.path.join(self.path, sub)
        if not self.prefix:
            with open(p, "rb") as f:
                return f.read()
        r = subprocess.run(self.prefix + ["cat", p], capture_output=True, timeout=10)
        if r.returncode != 0:
            raise AssertionError(f"cat {p}: {r.stderr.decode(errors='replace').strip()}")
        return r.stdout

    def fill(self, sub, leave=0):
        """Allocates a new file taking all the volume's free space but `leave` bytes (rounded to
        pages by tmpfs); returns the bytes allocated (0 if there was nothing to take). Fails
        (AssertionError) if another writer took part of that space meanwhile."""
        n = self.free_bytes() - leave
        if n <= 0:
            return 0
        self._run(["fallocate", "-l", str(n), os.path.join(self.path, sub)])
        return n

    def unmount(self):
        if self.mounted:
            subprocess.run(["umount", "-l", self.path], capture_output=True)
            self.mounted = False
        if self.holder:
            self.holder.stdin.close()  # cat exits; the namespace and its tmpfs go with it
            self.holder.wait(10)
            self.holder.stdout.close()
            self.holder.stderr.close()
            self.holder = None


class Sender:
    """One netcat connection sending windows of numbered lines ("<id> <PAD>") and reading one
    reply per line."""

    def __init__(self, port):
        self.sock = connect(port, timeout=30)
        self.buf = b""

    def window(self, ids):
        self.sock.sendall(b"".join(f"{i} {PAD}\n".encode() for i in ids))
        replies = []
        while len(replies) < len(ids):
            while b"\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise AssertionError("the agent closed the connection")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            replies.append(line)
        return list(zip(ids, replies))

    def close(self):
        self.sock.close()
