"""Cost of each sharing architecture relative to hard sharing.

Builds every registered architecture (default options) on the same backbone
and tasks and prints, one run each:

- parameters (all weights, trainable or not);
- forward FLOPs per image: the TensorFlow profiler's `float_operation`
  count on the frozen inference graph (batch 1), plus `2 * MACs` for every
  `Einsum` node (used by the expert, gate and cross-stitch layers), which
  the profiler has no count for;
- the median train-step time (`fit`, equal weighting, the first 3 steps
  dropped as tracing), after one unmeasured warm-up fit.

    python benchmarks/architectures.py [--backbone resnet_small] [--size 32]
"""

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.python.framework import convert_to_constants  # noqa: E402

import mtlzoo  # noqa: E402
from mtlzoo import architectures  # noqa: E402
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


def _einsum_flops(op):
    equation = op.get_attr("equation").decode()
    inputs, output = equation.split("->")
    dims = {}
    for spec, tensor in zip(inputs.split(","), op.inputs):
        letters = spec.replace("...", "")
        shape = tensor.shape.as_list()
        for letter, dim in zip(letters, shape[len(shape) - len(letters) :]):
            dims[letter] = dim
    contracted = set(dims) - set(output)
    macs = int(np.prod(op.outputs[0].shape.as_list()))
    macs *= int(np.prod([dims[c] for c in contracted] or [1]))
    return 2 * macs


def forward_flops(model, shape):
    """Profiler FLOPs of one forward pass (batch 1) plus Einsum FLOPs."""
    fn = tf.function(lambda x: model(x, training=False))
    concrete = fn.get_concrete_function(
        tf.TensorSpec((1,) + tuple(shape), tf.float32)
    )
    frozen = convert_to_constants.convert_variables_to_constants_v2(concrete)
    graph_def = frozen.graph.as_graph_def()
    with tf.Graph().as_default() as graph:
        tf.graph_util.import_graph_def(graph_def, name="")
        options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
        options["output"] = "none"
        profile = tf.compat.v1.profiler.profile(
            graph=graph,
            run_meta=tf.compat.v1.RunMetadata(),
            cmd="op",
            options=options,
        )
        extra = sum(
            _einsum_flops(op)
            for op in graph.get_operations()
            if op.type == "Einsum"
        )
    return profile.total_float_ops + extra


def median_step(model, x, y, batch):
    timer = StepTimer()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, callbacks=[timer])
    return float(np.median(timer.times[3:]))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", default="resnet_small")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    shape = (args.size, args.size, args.channels)
    tasks = make_tasks()
    n = args.batch * args.steps
    x = testing.random_images(shape, n)
    y = testing.random_labels(tasks, shape, n)
    names = args.only or architectures.list_architectures()
    if "hard_sharing" in names:
        names = ["hard_sharing"] + [a for a in names if a != "hard_sharing"]
    # Warm-up (first-fit effects of the process), not measured.
    warm = mtlzoo.build(args.backbone, tasks, shape)
    warm.compile(optimizer="adam")
    median_step(warm, x, y, args.batch)
    del warm
    keras.backend.clear_session()
    rows = []
    for name in names:
        keras.utils.set_random_seed(0)
        model = mtlzoo.build(args.backbone, tasks, shape, architecture=name)
        params = model.count_params()
        flops = forward_flops(model, shape)
        model.compile(optimizer="adam")
        step = median_step(model, x, y, args.batch)
        rows.append((name, params, flops, step))
        print(f"  {name}: done", flush=True)
        del model
        keras.backend.clear_session()
    base = rows[0]
    print(
        f"\n{args.backbone}, {shape}, batch {args.batch}, tasks "
        f"{[t.name + ':' + t.kind for t in tasks]}, median of "
        f"{args.steps - 3} steps, one run\n"
    )
    header = (
        f"{'architecture':<20}{'params':>10}{'x':>7}{'MFLOPs':>10}{'x':>7}"
        f"{'step ms':>10}{'x':>7}"
    )
    print(header)
    print("-" * len(header))
    for name, params, flops, step in rows:
        print(
            f"{name:<20}{params:>10,}{params / base[1]:>7.2f}"
            f"{flops / 1e6:>10.1f}{flops / base[2]:>7.2f}"
            f"{step * 1e3:>10.1f}{step / base[3]:>7.2f}"
        )


if __name__ == "__main__":
    main()
