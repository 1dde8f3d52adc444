#!/usr/bin/env python3
"""The disk's bandwidth in `ingestor store`'s own write pattern, as a peer for its PUT figures:
CONC threads each write COUNT/CONC files of 8 MiB in 1 MiB writes, fsync each file, rename it
and fsync the directory, as the store does with an object body. Prints MiB/s.

  python3 bench/disk_pattern.py DIR [CONC=16] [COUNT=192]
"""
import os
import sys
import threading
import time


def main():
    d = sys.argv[1]
    conc = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    total = int(sys.argv[3]) if len(sys.argv) > 3 else 192
    os.makedirs(d, exist_ok=True)
    buf = os.urandom(1 << 20)
    lock = threading.Lock()
    left = [total]

    def worker():
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
                n = left[0]
            p = os.path.join(d, f"o{n}.tmp")
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            for _ in range(8):
                os.write(fd, buf)
            os.fsync(fd)
            os.close(fd)
            os.rename(p, p[:-4])
            dfd = os.open(d, os.O_RDONLY)
            os.fsync(dfd)
            os.close(dfd)

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    print(f"{total * 8 / elapsed:.0f} MiB/s ({conc} writers, {total} files of 8 MiB)")


if __name__ == "__main__":
    main()
