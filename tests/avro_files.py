"""Reads Avro object container files with two implementations that are not ours:
- Apache Avro's Python library (Debian python3-avro, run on Debian's /usr/bin/python3, where the
  package installs it; the tests themselves may run on another Python), `DataFileReader`;
- avro-c's `avrocat` (Debian avro-bin), which prints each record as JSON. avro-c cuts a bytes
  value at its first NUL byte when it prints it, so compare it on text bodies only.
python3-avro has no snappy codec without python-snappy: snappy files are read by avrocat only.
"""
import base64
import json
import subprocess

DEBIAN_PYTHON = "/usr/bin/python3"

_READ = r"""
import base64, json, sys
import avro.datafile, avro.io
out = []
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        data = f.read()
        f.seek(0)
        r = avro.datafile.DataFileReader(f, avro.io.DatumReader())
        recs = [[d["headers"], base64.b64encode(d["body"]).decode()] for d in r]
        out.append({"schema": r.get_meta("avro.schema").decode(),
                    "codec": r.get_meta("avro.codec").decode(),
                    "blocks": data.count(r.sync_marker) - 1, "records": recs})
print(json.dumps(out))
"""


def python_avro(paths):
    """[{schema, codec, blocks, records: [(headers, body bytes)]}] per file, via python3-avro."""
    p = subprocess.run([DEBIAN_PYTHON, "-c", _READ] + list(paths), capture_output=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError(f"python3-avro could not read {paths}: {p.stderr.decode()[-2000:]}")
    files = json.loads(p.stdout)
    for f in files:
        f["records"] = [(h, base64.b64decode(b)) for h, b in f["records"]]
    return files


def avrocat(path):
    """[(headers, body bytes)] of one file, via avro-c's avrocat."""
    p = subprocess.run(["avrocat", path], capture_output=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError(f"avrocat could not read {path}: {p.stderr.decode()[-2000:]}")
    recs = []
    for line in p.stdout.decode().splitlines():
        d = json.loads(line)
        recs.append((d["headers"], d["body"].encode("latin-1")))
    return recs
