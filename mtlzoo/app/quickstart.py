"""Quickstart: build, train and evaluate a 3-task model on generated scenes.

    python -m mtlzoo.app.quickstart [--epochs 6] [--samples 1024]

Builds a small ResNet trunk with three heads (shape class, segmentation,
depth; the dense tasks branch off at P3), trains it with `model.fit` on the
procedural `shapes` scenes, prints per-task test metrics against a
majority/mean baseline, and saves the model as a `.keras` file.
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m mtlzoo.app.quickstart",
        description=__doc__.split("\n")[0],
    )
    parser.add_argument("--epochs", type=_positive_int, default=6)
    parser.add_argument("--samples", type=_positive_int, default=1024)
    parser.add_argument("--size", type=_positive_int, default=32)
    parser.add_argument("--batch-size", type=_positive_int, default=32)
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    import mtlzoo
    from mtlzoo.datasets import shapes

    keras.utils.set_random_seed(0)
    names = ["shape", "segmentation", "depth"]
    train, tasks = shapes(
        "train",
        num_samples=args.samples,
        size=args.size,
        tasks=names,
        batch_size=args.batch_size,
        seed=0,
    )
    test, _ = shapes(
        "test",
        num_samples=256,
        size=args.size,
        tasks=names,
        batch_size=64,
        seed=0,
    )
    model = mtlzoo.build(
        "resnet_small",
        tasks,
        input_shape=(args.size, args.size, 3),
        branch_points={("segmentation", "depth"): "P3"},
        heads={"segmentation": {"width": 32}, "depth": {"width": 32}},
    )
    print(
        f"Model: {model.count_params():,} parameters, tasks "
        f"{[t.name for t in tasks]}, branch points "
        f"{model.get_config()['branch_points']}"
    )
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    start = time.time()
    model.fit(train, epochs=args.epochs, verbose=2)
    print(f"Trained {args.epochs} epochs in {time.time() - start:.0f} s")
    results = model.evaluate(test, verbose=0, return_dict=True)

    # Baselines on the test split: majority class / per-pixel class prior /
    # mean depth.
    labels = {n: [] for n in names}
    for _, y in test:
        for n in names:
            labels[n].append(y[n].numpy())
    labels = {n: np.concatenate(v) for n, v in labels.items()}
    counts = np.bincount(labels["shape"], minlength=tasks[0].num_classes)
    seg = labels["segmentation"]
    depth = labels["depth"]
    depth = depth[np.isfinite(depth)]
    baseline = {
        "shape_accuracy": counts.max() / counts.sum(),
        "segmentation_pixel_accuracy": np.mean(
            seg == np.bincount(seg.ravel()).argmax()
        ),
        "depth_abs_err": float(np.mean(np.abs(depth - depth.mean()))),
    }
    print(f"{'metric':32s} {'model':>8s} {'baseline':>9s}")
    for key, base in baseline.items():
        print(f"{key:32s} {results[key]:8.3f} {base:9.3f}")
    print(
        f"{'segmentation_mean_iou':32s} {results['segmentation_mean_iou']:8.3f}"
    )
    path = os.path.join(tempfile.gettempdir(), "mtlzoo_quickstart.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    x = next(iter(test))[0][:4]
    same = all(
        np.allclose(a, b, atol=1e-5)
        for a, b in zip(
            model.predict(x, verbose=0).values(),
            reloaded.predict(x, verbose=0).values(),
        )
    )
    print(f"Saved to {path}; reloaded predictions identical: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
