"""Cost of each gradient method's `combine_gradients` vs the plain sum.

Runs every registered gradient method on random `(T, D)` task gradients
inside a `tf.function` and prints the median time per call and its ratio to
the default `Weighting.combine_gradients` (the masked sum), one run.

    python benchmarks/weighting_speed.py [--tasks 3] [--size 1000000]
"""

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from mtlzoo import weighting  # noqa: E402


def median_ms(method, grads, losses, weights, present, repeats):
    step = tf.function(method.combine_gradients)
    step(grads, losses, weights, present).numpy()  # trace
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step(grads, losses, weights, present).numpy()
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=3)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    count = args.tasks
    rng = np.random.default_rng(0)
    grads = tf.constant(rng.normal(size=(count, args.size)).astype("float32"))
    losses = tf.constant(rng.uniform(0.5, 2.0, count).astype("float32"))
    weights = tf.ones([count])
    present = tf.ones([count])
    names = [f"task_{i}" for i in range(count)]

    def make(name):
        method = weighting.get(name)
        variables = [keras.Variable(1.0, trainable=False) for _ in names]
        method.setup(names, variables)
        return method

    base = median_ms(
        make("equal"), grads, losses, weights, present, args.repeats
    )
    print(f"grads ({count}, {args.size}), median of {args.repeats} calls")
    print(f"{'method':<14}{'ms':>9}{'x sum':>8}")
    print(f"{'sum (default)':<14}{base:>9.2f}{1.0:>8.2f}")
    seen = set()
    for name in weighting.list_weightings():
        method = make(name)
        if not method.requires_gradients or type(method) in seen:
            continue
        seen.add(type(method))
        ms = median_ms(method, grads, losses, weights, present, args.repeats)
        print(f"{name:<14}{ms:>9.2f}{ms / base:>8.2f}")


if __name__ == "__main__":
    main()
