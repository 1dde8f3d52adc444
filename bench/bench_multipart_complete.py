#!/usr/bin/env python3
"""CompleteMultipartUpload latency of `ingestor store` for the S3 sink's object shape (64 MiB as
4 parts of 16 MiB), beside the peer measured in the same run: one 16 MiB UploadPart, which writes
and fsyncs as many bytes as a Complete that copies one part would.

    python3 bench/bench_multipart_complete.py [--build build] [--repeat 5] [--parts 4] [--part-mib 16]

Each run: CreateMultipartUpload, the parts (timed one by one), CompleteMultipartUpload (timed),
HeadObject (size checked), DeleteObject. Prints the medians and every sample as JSON.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run_bench import start_store  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--parts", type=int, default=4)
    ap.add_argument("--part-mib", type=int, default=16)
    args = ap.parse_args()
    import boto3
    from botocore.config import Config

    tmp = tempfile.mkdtemp(prefix="bench-mp-complete-")
    proc, endpoint = start_store(os.path.abspath(args.build), tmp)
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="AK", aws_secret_access_key="SK",
                          config=Config(retries={"max_attempts": 1}, read_timeout=600))
        s3.create_bucket(Bucket="bench")
        size = args.part_mib << 20
        bodies = [os.urandom(size) for _ in range(args.parts)]
        completes, parts = [], []
        for run in range(args.repeat):
            key = f"obj-{run}"
            uid = s3.create_multipart_upload(Bucket="bench", Key=key)["UploadId"]
            listed = []
            for i, body in enumerate(bodies, 1):
                t = time.perf_counter()
                etag = s3.upload_part(Bucket="bench", Key=key, UploadId=uid, PartNumber=i,
                                      Body=body)["ETag"]
                parts.append((time.perf_counter() - t) * 1000)
                listed.append({"PartNumber": i, "ETag": etag})
            t = time.perf_counter()
            s3.complete_multipart_upload(Bucket="bench", Key=key, UploadId=uid,
                                         MultipartUpload={"Parts": listed})
            completes.append((time.perf_counter() - t) * 1000)
            got = s3.head_object(Bucket="bench", Key=key)["ContentLength"]
            if got != size * args.parts:
                raise RuntimeError(f"{key}: {got} bytes")
            s3.delete_object(Bucket="bench", Key=key)
        res = {"object_mib": args.part_mib * args.parts, "parts": args.parts,
               "complete_ms_median": statistics.median(completes),
               "upload_part_ms_median": statistics.median(parts),
               "complete_ms": [round(x, 1) for x in completes],
               "upload_part_ms": [round(x, 1) for x in parts]}
        res["complete_per_upload_part"] = res["complete_ms_median"] / res["upload_part_ms_median"]
        print(json.dumps(res, indent=1))
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
