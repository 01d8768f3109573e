#!/usr/bin/env python3
"""The thumbnail function's Lambda zip, run the way Lambda runs it.

Unpacks thumbnails.zip (muster_add_lambda(thumbnails): the function linked
fully static, codecs included, as `bootstrap`) into an otherwise empty
directory and invokes it under `muster invoke` with an SQS batch naming sample
images served from 127.0.0.1: inside a chroot of that directory when run as
root (proof that the zip needs nothing from the image it runs on), directly
otherwise. The good
images must succeed, the missing one fail, and the thumbnails and database be
written inside the unpacked directory.

Usage: deploy_test.py --muster CLI --zip ZIP --samples TOOL --origin TOOL --work DIR
"""
import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile

# The demo's driver starts and stops thumbnails_origin the same way.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "demo"))
from demo import origin_process  # noqa: E402


def unpack(zip_path, root):
    """Unpacks like Lambda does, keeping the files' permission bits."""
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            target = os.path.join(root, info.filename)
            if info.is_dir():
                os.makedirs(target, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(target, mode)


def main():
    parser = argparse.ArgumentParser()
    for name in ("muster", "zip", "samples", "origin", "work"):
        parser.add_argument("--" + name, required=True)
    args = parser.parse_args()

    shutil.rmtree(args.work, ignore_errors=True)
    root = os.path.join(args.work, "root")
    samples = os.path.join(args.work, "samples")
    os.makedirs(root)
    unpack(args.zip, root)
    # Lambda's /tmp is the one writable place; the chroot has nothing else.
    os.makedirs(os.path.join(root, "tmp"))

    subprocess.run([args.samples, "--out", samples, "--count", "3", "--jobs", "1"],
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(samples, "manifest.json")) as f:
        manifest = json.load(f)
    good = [i["path"] for i in manifest["items"] if i["expected"] == "ok"][:3]
    if len(good) != 3:
        raise SystemExit(f"expected 3 good samples in the manifest, got {good}")

    chroot = shutil.which("chroot", path="/usr/sbin:/sbin:/usr/bin:/bin")
    if os.geteuid() == 0 and chroot:
        command = [chroot, root, "/bootstrap"]
        where = "in a chroot of the unpacked zip"
    else:
        command = [os.path.join(root, "bootstrap")]
        where = "from the unpacked zip (not root: no chroot)"

    origin = origin_process(args.origin, samples, 3000, os.path.join(args.work, "origin.log"))
    try:
        records = [{"messageId": f"good-{i}", "body": origin.url + path}
                   for i, path in enumerate(good)]
        records.append({"messageId": "missing", "body": f"{origin.url}/images/absent.jpg"})
        event = {"Records": [dict(r, receiptHandle="h", attributes={}, messageAttributes={},
                                  md5OfBody="", eventSource="aws:sqs",
                                  eventSourceARN="arn:aws:sqs:us-east-1:123456789012:q",
                                  awsRegion="us-east-1") for r in records]}
        event_path = os.path.join(args.work, "event.json")
        with open(event_path, "w") as f:
            json.dump(event, f)
        run = subprocess.run(
            [args.muster, "invoke", "--event", event_path, "--timeout", "60",
             "--init-timeout", "30", "--task-root", root,
             "--env", "THUMBNAILS_OUTPUT_DIR=/tmp/out", "--env", "MUSTER_METRICS=off",
             "--"] + command,
            capture_output=True, text=True, timeout=180)
    finally:
        origin.stop()
    if run.returncode != 0:
        raise SystemExit(f"the zip's bootstrap failed {where} ({run.returncode}):\n"
                         f"{run.stdout}\n{run.stderr}")
    response = json.loads(run.stdout.strip().splitlines()[-1])
    failed = sorted(i["itemIdentifier"] for i in response["batchItemFailures"])
    if failed != ["missing"]:
        raise SystemExit(f"expected only 'missing' to fail, got {failed}:\n{run.stderr}")

    out = os.path.join(root, "tmp", "out")
    thumbs = sorted(os.listdir(os.path.join(out, "thumbs")))
    if len(thumbs) != 3:
        raise SystemExit(f"expected 3 thumbnails in {out}/thumbs, found {thumbs}")
    db = sqlite3.connect(os.path.join(out, "thumbnails.db"))
    rows = db.execute("SELECT source_url FROM thumbnails").fetchall()
    if len(rows) != 3:
        raise SystemExit(f"expected 3 rows, found {rows}")
    print(f"thumbnails.zip ran {where}: 3 thumbnails, 3 rows, the missing image failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
