#!/usr/bin/env python3
"""Runs `ingestor agent --check` (strict, then --lenient) on every agent of every Flume
configuration file in a directory, and prints how many would start and the first error of each
that would not, grouped. Not part of `make test`: the files are real users' configurations from
public repositories, kept outside this repository (see the session notes for where).

    python3 tests/conformance/flume_corpus.py DIR [--build build] [--errors]
"""
import argparse
import collections
import os
import re
import subprocess


def agents_of(path):
    names = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r"\s*([^#!\s=:.]+)\.(sources|sinks|channels)\s*[=:\s]", line)
            if m and m.group(1) not in names:
                names.append(m.group(1))
    return names


def check(binary, path, agent, lenient):
    args = [binary, "agent", "-n", agent, "-f", path, "--check"] + (["--lenient"] if lenient else [])
    try:
        p = subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=20)
    except subprocess.TimeoutExpired:
        return "timeout", ""
    first = next((l for l in p.stdout.splitlines() + p.stderr.splitlines()
                  if l.startswith("error: ")), "")
    return p.returncode, first


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--build", default="build")
    ap.add_argument("--errors", action="store_true", help="print every failing agent's first error")
    a = ap.parse_args()
    binary = os.path.join(a.build, "ingestor")
    total = strict_ok = lenient_ok = 0
    odd = []
    causes = collections.Counter()
    for name in sorted(os.listdir(a.dir)):
        path = os.path.join(a.dir, name)
        if not name.endswith(".conf") or not os.path.isfile(path):
            continue
        for agent in agents_of(path):
            total += 1
            code, first = check(binary, path, agent, False)
            lcode, _ = check(binary, path, agent, True)
            strict_ok += code == 0
            lenient_ok += lcode == 0
            if code not in (0, 1) or lcode not in (0, 1):
                odd.append((name, agent, code, lcode))
            if code != 0:
                # The cause without the component's and the file's own names.
                cause = re.sub(r"^error: \w+ [^:]+: [^:]+: ", "", first)
                cause = re.sub(r"'[^']*'", "'...'", cause)[:110]
                causes[cause] += 1
                if a.errors:
                    print(f"{name} [{agent}]: {first}")
    print(f"{total} agents: {strict_ok} start strict, {lenient_ok} with --lenient")
    for cause, n in causes.most_common(25):
        print(f"{n:4d}  {cause}")
    for o in odd:
        print("UNEXPECTED EXIT", o)
    return 1 if odd else 0


if __name__ == "__main__":
    raise SystemExit(main())
