"""Per-step cost and peak memory of every task-balancing method.

For 3 and 5 tasks on a small backbone, prints the median train-step time of
each method relative to equal weighting, with full shared-parameter
gradients and with representation gradients, all in one run; plus equal
weighting through mtlzoo vs a hand-written Keras multi-output `fit` of the
same graph; and each method's peak TensorFlow CPU memory relative to equal
weighting (`tf.config.experimental.get_memory_info`).

    python benchmarks/weighting_cost.py [--backbone mobilenet_v3_small]
        [--size 64] [--batch 32] [--steps 12] [--tasks 3 5] [--out FILE.md]

Times are noisy on shared machines; read ratios from one run.
"""

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import mtlzoo  # noqa: E402
from mtlzoo import testing  # noqa: E402

LOSS_LEVEL = ["equal", "uncertainty", "famo"]
GRADIENT = [
    "gradnorm",
    "mgda",
    "pcgrad",
    "graddrop",
    "cagrad",
    "imtl",
    "nash_mtl",
    "aligned_mtl",
]
# Task kinds cycled over: (kind, Task arguments, plain-Keras loss and
# metrics of the hand-written baseline).
KIND_CYCLE = [
    (
        "classification",
        {"num_classes": 10, "head": {"units": 64}},
        "sparse_categorical_crossentropy",
        ["accuracy"],
    ),
    ("regression", {"head": {"units": 64}}, "mse", None),
    (
        "segmentation",
        {"num_classes": 3, "head": {"width": 16}},
        "sparse_categorical_crossentropy",
        ["accuracy"],
    ),
]


def make_tasks(count):
    """`count` tasks cycling over `KIND_CYCLE`, with their plain-Keras
    losses and metrics: `(tasks, losses, metrics)`."""
    tasks, losses, metrics = [], {}, {}
    for i in range(count):
        kind, kwargs, loss, metric = KIND_CYCLE[i % len(KIND_CYCLE)]
        task = mtlzoo.Task(f"{kind[:3]}{i}", kind, **kwargs)
        tasks.append(task)
        losses[task.name] = loss
        if metric:
            metrics[task.name] = metric
    return tasks, losses, metrics


class StepTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter() - self._start)


def _fit_epoch(model, x, y, batch):
    """One measured epoch: median step time (first step excluded) and the
    peak memory the epoch allocated above what was allocated before it."""
    timer = StepTimer()
    before = tf.config.experimental.get_memory_info("CPU:0")["current"]
    tf.config.experimental.reset_memory_stats("CPU:0")
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, callbacks=[timer])
    peak = tf.config.experimental.get_memory_info("CPU:0")["peak"]
    return float(np.median(timer.times[1:])), peak - before


def run(args, count):
    tasks, losses, metrics = make_tasks(count)
    shape = (args.size, args.size, 3)
    n = args.batch * args.steps
    x = testing.random_images(shape, n)
    y = testing.random_labels(tasks, shape, n)

    def build():
        keras.utils.set_random_seed(0)
        return mtlzoo.build(args.backbone, tasks, shape)

    models = {}
    # Plain Keras on the same graph.
    model = build()
    plain = keras.Model(model.inputs, model.outputs_dict())
    plain.compile(optimizer="adam", loss=losses, metrics=metrics)
    models[("plain Keras", False)] = plain
    configs = [(m, False) for m in LOSS_LEVEL]
    configs += [(m, False) for m in GRADIENT] + [(m, True) for m in GRADIENT]
    for name, rep in configs:
        model = build()
        kwargs = {"representation_gradients": True} if rep else {}
        model.compile(
            optimizer="adam", weighting=mtlzoo.weighting.get(name, **kwargs)
        )
        models[(name, rep)] = model
    # Trace every configuration first, then measure them in interleaved
    # rounds, so a change in machine load hits all of them alike.
    for model in models.values():
        model.fit(
            x[: args.batch],
            {k: v[: args.batch] for k, v in y.items()},
            verbose=0,
        )
    times = {key: [] for key in models}
    memory = {key: [] for key in models}
    for round_ in range(args.rounds):
        for key, model in models.items():
            sec, mem = _fit_epoch(model, x, y, args.batch)
            times[key].append(sec)
            memory[key].append(mem)
        print(f"  {count} tasks: round {round_ + 1}/{args.rounds}", flush=True)
    sec = {key: float(np.median(v)) for key, v in times.items()}
    mem = {key: float(np.median(v)) for key, v in memory.items()}
    base_time, base_mem = sec[("equal", False)], mem[("equal", False)]
    rows = []
    for name, rep in models:
        label = name + (" (representation grads)" if rep else "")
        rows.append(
            f"| {count} | {label} | {sec[(name, rep)] * 1000:.1f} | "
            f"{sec[(name, rep)] / base_time:.2f} | "
            f"{mem[(name, rep)] / base_mem:.2f} |"
        )
    plain_time = sec[("plain Keras", False)]
    header = (
        f"\n{count} tasks, {args.backbone} {args.size}px, batch {args.batch}: "
        f"mtlzoo equal weighting {base_time * 1000:.1f} ms/step, plain Keras "
        f"fit of the same graph {plain_time * 1000:.1f} ms/step "
        f"(mtlzoo/plain = {base_time / plain_time:.3f}); step working "
        f"memory of equal weighting {base_mem / 2**20:.0f} MiB"
    )
    return header, rows


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", default="mobilenet_v3_small")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tasks", type=int, nargs="+", default=[3, 5])
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    lines = [
        "| tasks | method | ms/step | step time / equal | "
        "step memory / equal |",
        "|---|---|---|---|---|",
    ]
    headers = []
    for count in args.tasks:
        header, rows = run(args, count)
        headers.append(header)
        lines += rows
    text = "\n".join(headers) + "\n\n" + "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(page(args, text))


def page(args, text):
    """The markdown page for docs/: title, how it was made, the table."""
    command = "python benchmarks/weighting_cost.py " + " ".join(
        f"--{k} {' '.join(map(str, v)) if isinstance(v, list) else v}"
        for k, v in vars(args).items()
        if k != "out"
    )
    return (
        "# Cost of the task-balancing methods\n\n"
        "Median train-step time and step working memory of each method "
        "relative to equal weighting, measured in one run of\n\n"
        f"    {command}\n\n"
        f"on {os.cpu_count()} CPU cores, tensorflow {tf.__version__}, "
        f"keras {keras.__version__}. Every configuration is built and "
        "traced first; then all are measured in interleaved rounds of one "
        "epoch each, and a configuration's step time is the median over "
        "rounds of its per-epoch median step (first step excluded). Step "
        "memory is the peak TensorFlow CPU allocation during an epoch above "
        "what was allocated before it (activations, gradients, the method's "
        "temporaries; not the weights). Random images and labels, Adam. "
        "Tasks cycle classification, regression, "
        "segmentation (a decoder with skips from every level, so the "
        "representation gradients cover P1 to P5). Timings on a shared "
        "machine are noisy: read ratios, not milliseconds.\n" + text
    )


if __name__ == "__main__":
    main()
