"""Quality cost of reusing a gradient method's coefficients.

Trains the same small multi-task model on Fashion-MNIST (five tasks of
four kinds, from the garment labels and the pixels) with a gradient
method recomputing its coefficients every step and every N steps
(`update_weights_every=N`, representation gradients), over a few seeds,
and prints the test metrics of each (median and range over seeds).

    python benchmarks/weight_reuse_quality.py [--data DIR] [--methods mgda
        pcgrad] [--every 4] [--seeds 0 1 2] [--train 2000] [--epochs 2]

`--data` is a folder with Fashion-MNIST's `train-images-idx3-ubyte.gz`,
`train-labels-idx1-ubyte.gz`, `t10k-images-idx3-ubyte.gz` and
`t10k-labels-idx1-ubyte.gz`.
"""

import argparse
import gzip
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import mtlzoo  # noqa: E402

# Garment classes: 0 T-shirt, 1 trouser, 2 pullover, 3 dress, 4 coat,
# 5 sandal, 6 shirt, 7 sneaker, 8 bag, 9 ankle boot.
GROUP = np.array([0, 1, 0, 1, 0, 2, 0, 2, 3, 2])  # top/bottom/shoe/bag
SLEEVES = np.array([1, 0, 1, 0, 1, 0, 1, 0, 0, 0])
FOOTWEAR = np.array([0, 0, 0, 0, 0, 1, 0, 1, 0, 1])


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [
        int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)
    ]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(folder, split, count):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"))
    images, labels = images[:count], labels[:count].astype("int32")
    x = np.pad(images, ((0, 0), (2, 2), (2, 2)))[..., None].astype("float32")
    ink = images.astype("float32") / 255.0
    rows = (ink.max(axis=2) > 0.2).mean(axis=1)
    y = {
        "garment": labels,
        "group": GROUP[labels].astype("int32"),
        "attributes": np.stack([SLEEVES[labels], FOOTWEAR[labels]], 1).astype(
            "float32"
        ),
        "ink": ink.mean(axis=(1, 2))[:, None] * 4.0,
        "height": rows[:, None].astype("float32"),
    }
    return x, y


def tasks():
    head = {"units": 32}
    return [
        mtlzoo.Task("garment", "classification", num_classes=10, head=head),
        mtlzoo.Task("group", "classification", num_classes=4, head=head),
        mtlzoo.Task("attributes", "multilabel", num_classes=2, head=head),
        mtlzoo.Task("ink", "regression", head=head),
        mtlzoo.Task("height", "regression", head=head),
    ]


def train(method, every, seed, data, args):
    (x, y), (xt, yt) = data
    keras.utils.set_random_seed(seed)
    model = mtlzoo.build("tiny", tasks(), (32, 32, 1))
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        weighting=mtlzoo.weighting.get(
            method, representation_gradients=True, update_weights_every=every
        ),
    )
    model.fit(x, y, batch_size=32, epochs=args.epochs, verbose=0)
    logs = model.evaluate(xt, yt, batch_size=256, verbose=0, return_dict=True)
    names = [t.name for t in model.tasks]
    return {
        "sum of task losses": sum(float(logs[f"{n}_loss"]) for n in names),
        "garment accuracy": float(logs["garment_accuracy"]),
        "group accuracy": float(logs["group_accuracy"]),
        "ink loss": float(logs["ink_loss"]),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="../shared/data/fashion-mnist")
    parser.add_argument("--methods", nargs="+", default=["mgda", "pcgrad"])
    parser.add_argument("--every", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    data = (
        load(args.data, "train", args.train),
        load(args.data, "test", args.test),
    )
    lines = [
        "| method | update_weights_every | metric | median | min | max |",
        "|---|---|---|---|---|---|",
    ]
    for method in args.methods:
        for every in (1, args.every):
            runs = [train(method, every, s, data, args) for s in args.seeds]
            for metric in runs[0]:
                values = [r[metric] for r in runs]
                lines.append(
                    f"| {method} | {every} | {metric} | "
                    f"{np.median(values):.4f} | {min(values):.4f} | "
                    f"{max(values):.4f} |"
                )
            print("\n".join(lines[-len(runs[0]) :]), flush=True)
    print(
        f"\nFashion-MNIST, {args.train} training / {args.test} test images, "
        f"tiny backbone 32x32, {args.epochs} epochs, batch 32, Adam 1e-3, "
        f"representation gradients, seeds {args.seeds}:\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
