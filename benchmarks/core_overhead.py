"""MultiTaskModel.fit vs a hand-written Keras multi-output fit, same graph.

Prints parameter counts of a 3-task MobileNetV2 model with every task at P5
vs branching at P3, and the median train-step time of mtlzoo's train step
against plain `keras.Model.fit` with compiled per-output losses on the very
same layers (ratio, one run).

    python benchmarks/core_overhead.py [--backbone mobilenet_v2] [--size 64]
"""

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import mtlzoo  # noqa: E402
from mtlzoo import testing  # noqa: E402


def make_tasks():
    return [
        mtlzoo.Task("label", "classification", num_classes=10),
        mtlzoo.Task("mask", "segmentation", num_classes=2, head={"width": 32}),
        mtlzoo.Task("ink", "regression"),
    ]


class StepTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_begin(self, batch, logs=None):
        self._t = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter() - self._t)


def median_step(model, x, y, batch, steps):
    timer = StepTimer()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, callbacks=[timer])
    # drop the first steps (tracing)
    return float(np.median(timer.times[2:])), steps


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", default="mobilenet_v2")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    shape = (args.size, args.size, 3)
    tasks = make_tasks()
    p5 = mtlzoo.build(args.backbone, tasks, shape)
    p3 = mtlzoo.build(args.backbone, tasks, shape, branch_points="P3")
    print(f"params, all tasks at P5: {p5.count_params():,}")
    print(f"params, every task branching at P3: {p3.count_params():,}")

    n = args.batch * args.steps
    x = testing.random_images(shape, n)
    y = testing.random_labels(tasks, shape, n)
    y["label"] = y["label"].astype("int32")

    keras.utils.set_random_seed(0)
    model = mtlzoo.build(args.backbone, tasks, shape)
    model.compile(optimizer="adam")
    ours, _ = median_step(model, x, y, args.batch, args.steps)

    keras.utils.set_random_seed(0)
    clone = mtlzoo.build(args.backbone, tasks, shape)
    plain = keras.Model(clone.inputs, clone.outputs_dict())
    plain.compile(
        optimizer="adam",
        loss={
            "label": "sparse_categorical_crossentropy",
            "mask": "sparse_categorical_crossentropy",
            "ink": "mse",
        },
        metrics={"label": ["accuracy"], "mask": ["accuracy"], "ink": ["mae"]},
    )
    theirs, _ = median_step(plain, x, y, args.batch, args.steps)
    print(
        f"median step ({args.backbone}, {args.size}px, batch {args.batch}): "
        f"mtlzoo {ours * 1000:.1f} ms, plain Keras {theirs * 1000:.1f} ms, "
        f"ratio {ours / theirs:.3f}"
    )


if __name__ == "__main__":
    main()
