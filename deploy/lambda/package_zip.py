#!/usr/bin/env python3
"""Package the static `ingestor` binary as an AWS Lambda custom-runtime zip.

Usage: package_zip.py BINARY OUT.zip

The zip holds one entry, `bootstrap` at its root, mode 0755 (Lambda runs $LAMBDA_TASK_ROOT/bootstrap
for the provided.al2023 runtime; the binary recognises its name and starts the relay's Runtime API
loop). Timestamps are fixed so that the same binary gives the same zip, byte for byte, and
Terraform's source_code_hash only changes when the binary does. The binary is stripped of debug
info on the way in (strip(1) when present) to keep the upload small.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    binary, out = argv[1], argv[2]
    if not os.path.isfile(binary):
        print(f"package_zip: {binary} not found (run `make static`)", file=sys.stderr)
        return 1
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        staged = os.path.join(tmp, "bootstrap")
        shutil.copyfile(binary, staged)
        if shutil.which("strip"):
            subprocess.run(["strip", "--strip-debug", staged], check=True)
        info = zipfile.ZipInfo("bootstrap", date_time=FIXED_TIME)
        info.external_attr = (0o100755 << 16)  # regular file, rwxr-xr-x
        info.create_system = 3  # Unix, so that unzip and Lambda honour the mode bits
        info.compress_type = zipfile.ZIP_DEFLATED
        tmp_out = out + ".tmp"
        with zipfile.ZipFile(tmp_out, "w") as z, open(staged, "rb") as f:
            z.writestr(info, f.read(), compresslevel=9)
        os.replace(tmp_out, out)
    print(f"package_zip: wrote {out} (bootstrap <- {binary})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
