"""Write the small real data samples shipped in `mtlzoo/assets/`.

- `mnist_sample.npz`: the first 200 train and 200 test digits of the `.npz`
  made by `tools/make_mnist_npz.py` (MNIST, CC BY-SA 3.0).
- `fashion_mnist_sample.npz`: the first 200 train and 200 test items of
  Fashion-MNIST, read from its IDX files (Zalando SE, MIT).

Each holds uint8 `x_train (200, 28, 28)`, `y_train (200,)`, `x_test`,
`y_test`; `mtlzoo.datasets.multi_mnist(path="sample")` and friends read them.

Usage:

    python tools/make_dataset_samples.py mnist.npz \
        /work/shared/data/fashion-mnist mtlzoo/assets
"""

import argparse
import pathlib

import numpy as np

from mtlzoo.datasets import sources

COUNT = 200


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mnist_npz", help=".npz from tools/make_mnist_npz.py")
    parser.add_argument("fashion_dir", help="directory of Fashion-MNIST IDX")
    parser.add_argument("output_dir", help="where to write the samples")
    parser.add_argument("--count", type=int, default=COUNT)
    args = parser.parse_args(argv)
    out = pathlib.Path(args.output_dir)
    readers = {
        "mnist": lambda split: sources.read_npz(args.mnist_npz, split),
        "fashion_mnist": lambda split: sources.read_idx_dir(
            args.fashion_dir, split
        ),
    }
    for name, read in readers.items():
        arrays = {}
        for split in ("train", "test"):
            x, y = read(split)
            arrays[f"x_{split}"] = x[: args.count]
            arrays[f"y_{split}"] = y[: args.count].astype(np.uint8)
        path = out / sources.SAMPLE_FILES[name]
        np.savez_compressed(path, **arrays)
        print(f"wrote {path}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
