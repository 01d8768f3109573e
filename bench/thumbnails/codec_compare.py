#!/usr/bin/env python3
"""CPU per thumbnail: the thumbnail function's codec stack, its former libvips path, and
Python + Pillow, on the same images, alternated in one run.

    codec_compare.py --bench BUILD/examples/thumbnails/thumbnails_codec_bench
                     --images DIR [--size 256] [--rounds 3]

Every good image of DIR (a thumbnails_samples output: DIR/manifest.json lists which are good)
becomes a JPEG thumbnail (quality 80, longest edge --size) in each stack, one thread. Each
round runs the three stacks one after another; the table gives each stack's median over the
rounds of CPU seconds (user + system, every thread) divided by the number of images, and
checks that the stacks made thumbnails of the same dimensions. Pillow does what a Python
handler would: Image.open, draft (DCT scaling, as the C++ stack), exif_transpose,
thumbnail((size, size)) (bicubic, reducing_gap 2), RGB on white, save JPEG quality 80.
"""
import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys

from PIL import Image, ImageOps


def cpu_seconds():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def pillow_round(blobs, size):
    out = []
    start = cpu_seconds()
    for blob in blobs:
        im = Image.open(io.BytesIO(blob))
        im.draft("RGB", (size, size))
        im = ImageOps.exif_transpose(im)
        im.thumbnail((size, size), Image.Resampling.BICUBIC)
        if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
            rgba = im.convert("RGBA")
            im = Image.new("RGB", rgba.size, (255, 255, 255))
            im.paste(rgba, mask=rgba.getchannel("A"))
        elif im.mode != "RGB":
            im = im.convert("RGB")
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=80)
        out.append((im.width, im.height, buf.tell()))
    return cpu_seconds() - start, out


def bench_round(bench, stack, files, size):
    text = subprocess.run([bench, "--stack", stack, "--size", str(size), *files],
                          check=True, capture_output=True, text=True).stdout
    lines = text.strip().split("\n")
    cpu = float(lines[-1].split()[1])
    results = []
    for line in lines[:-1]:
        _, w, h, n = line.rsplit(" ", 3)
        results.append((int(w), int(h), int(n)))
    return cpu, results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    with open(os.path.join(args.images, "manifest.json")) as f:
        manifest = json.load(f)
    files = [os.path.join(args.images, item["file"]) for item in manifest["items"]
             if item["expected"] == "ok" and item["file"]]
    blobs = [open(f, "rb").read() for f in files]
    n = len(files)

    cpu = {"new": [], "vips": [], "pillow": []}
    dims = {}
    for _ in range(args.rounds):
        for stack in ("new", "vips"):
            seconds, dims[stack] = bench_round(args.bench, stack, files, args.size)
            cpu[stack].append(seconds)
        seconds, dims["pillow"] = pillow_round(blobs, args.size)
        cpu["pillow"].append(seconds)

    names = {"new": "muster (libjpeg-turbo, libpng, libwebp)", "vips": "muster, former libvips path",
             "pillow": "Python %s + Pillow %s" % (sys.version.split()[0], Image.__version__)}
    print("%d images, %d rounds, thumbnails %d px, JPEG q80, one thread" % (n, args.rounds, args.size))
    print("| stack | CPU per image (median round) | rounds (ms per image) | thumbnail bytes, total |")
    print("|---|---|---|---|")
    for stack in ("new", "vips", "pillow"):
        per = [1000 * s / n for s in cpu[stack]]
        print("| %s | %.2f ms | %s | %d |" % (names[stack], statistics.median(per),
                                              ", ".join("%.2f" % p for p in per),
                                              sum(r[2] for r in dims[stack])))
    for other in ("vips", "pillow"):
        same = sum(1 for a, b in zip(dims["new"], dims[other]) if a[:2] == b[:2])
        off_by_one = sum(1 for a, b in zip(dims["new"], dims[other])
                         if a[:2] != b[:2] and abs(a[0] - b[0]) <= 1 and abs(a[1] - b[1]) <= 1)
        print("dimensions as %s: %d of %d the same, %d off by one pixel" % (other, same, n, off_by_one))


if __name__ == "__main__":
    main()
