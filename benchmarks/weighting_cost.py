"""Per-step cost and peak memory of every task-balancing method.

For 3, 5, 10 and 20 tasks of mixed kinds (classification, segmentation,
regression, keypoints, multi-label) on a small backbone, prints the median
train-step time of each method relative to equal weighting: with
representation gradients at every task count, with shared-parameter
gradients at `--param-tasks`, and the cheap variants (`CHEAP_VARIANTS`,
e.g. `update_weights_every=4`) at `--variant-tasks`; plus equal weighting
through mtlzoo vs a hand-written Keras multi-output `fit` of the same
graph; and each configuration's peak TensorFlow CPU memory relative to
equal weighting (`tf.config.experimental.get_memory_info`). A summary table
gives each configuration's step-time ratio per task count.

    python benchmarks/weighting_cost.py [--backbone mobilenet_v3_small]
        [--size 64] [--batch 32] [--steps 12] [--tasks 3 5 10 20]
        [--param-tasks 3 5] [--variant-tasks 10 20] [--loss-level ...]
        [--gradient ...] [--out FILE.md]

Tracing takes most of the time at 10-20 tasks (tens of seconds per
configuration); `--gradient` and `--loss-level` pick fewer methods. Times
are noisy on shared machines; read ratios from one run.
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
# Cheaper settings measured at many tasks: (method, label, options).
CHEAP_VARIANTS = [
    (name, "update_weights_every=4", {"update_weights_every": 4})
    for name in ("mgda", "pcgrad", "nash_mtl")
]
# Task kinds cycled over: (kind, Task arguments, plain-Keras loss and
# metrics of the hand-written baseline). 3 tasks: classification,
# segmentation, regression; 5 and more: all five kinds.
KIND_CYCLE = [
    (
        "classification",
        {"num_classes": 10, "head": {"units": 64}},
        "sparse_categorical_crossentropy",
        ["accuracy"],
    ),
    (
        "segmentation",
        {"num_classes": 3, "head": {"width": 16}},
        "sparse_categorical_crossentropy",
        ["accuracy"],
    ),
    ("regression", {"head": {"units": 64}}, "mse", None),
    ("keypoints", {"num_keypoints": 5, "head": {"units": 64}}, "mse", None),
    (
        "multilabel",
        {"num_classes": 8, "head": {"units": 64}},
        "binary_crossentropy",
        None,
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
    """One measured epoch: `(median, mean)` step time (first step
    excluded) and the peak memory the epoch allocated above what was
    allocated before it. The mean counts every step of a method that
    alternates full and cheap steps (`update_weights_every`), whose median
    is its cheap step."""
    timer = StepTimer()
    before = tf.config.experimental.get_memory_info("CPU:0")["current"]
    tf.config.experimental.reset_memory_stats("CPU:0")
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, callbacks=[timer])
    peak = tf.config.experimental.get_memory_info("CPU:0")["peak"]
    steps = timer.times[1:]
    return (float(np.median(steps)), float(np.mean(steps))), peak - before


def configurations(args, count):
    """`(label, method name, options)` of every configuration measured at
    `count` tasks: loss-level methods, every gradient method with
    representation gradients, with shared-parameter gradients when `count`
    is in `--param-tasks`, and the cheap variants (`CHEAP_VARIANTS`)."""
    configs = [(name, name, {}) for name in ["equal"] + args.loss_level]
    rep = {"representation_gradients": True}
    if count in args.param_tasks:
        configs += [(name, name, {}) for name in args.gradient]
    configs += [
        (f"{name} (representation grads)", name, rep) for name in args.gradient
    ]
    if count in args.variant_tasks and count in args.param_tasks:
        configs += [
            (f"{name} ({label})", name, opts)
            for name, label, opts in CHEAP_VARIANTS
            if name in args.gradient
        ]
    if count in args.variant_tasks:
        configs += [
            (f"{name} (representation grads, {label})", name, dict(rep, **opts))
            for name, label, opts in CHEAP_VARIANTS
            if name in args.gradient
        ]
    return configs


def run(args, count):
    tasks, losses, metrics = make_tasks(count)
    shape = (args.size, args.size, 3)
    n = args.batch * args.steps
    x = testing.random_images(shape, n)
    y = testing.random_labels(tasks, shape, n)
    # Plain Keras has no masked losses: missing keypoint coordinates -> 0.
    y_plain = {k: np.nan_to_num(v) for k, v in y.items()}

    def build():
        keras.utils.set_random_seed(0)
        return mtlzoo.build(args.backbone, tasks, shape)

    models = {}
    model = build()
    plain = keras.Model(model.inputs, model.outputs_dict())
    plain.compile(optimizer="adam", loss=losses, metrics=metrics)
    models["plain Keras"] = (plain, y_plain)
    for label, name, options in configurations(args, count):
        model = build()
        model.compile(
            optimizer="adam", weighting=mtlzoo.weighting.get(name, **options)
        )
        models[label] = (model, y)
    # Trace every configuration first, then measure them in interleaved
    # rounds, so a change in machine load hits all of them alike.
    start = time.perf_counter()
    for model, labels in models.values():
        model.fit(
            x[: args.batch],
            {k: v[: args.batch] for k, v in labels.items()},
            verbose=0,
        )
    traced = time.perf_counter() - start
    print(f"  {count} tasks: traced in {traced:.0f} s", flush=True)
    times = {key: [] for key in models}
    memory = {key: [] for key in models}
    for round_ in range(args.rounds):
        for key, (model, labels) in models.items():
            sec, mem = _fit_epoch(model, x, labels, args.batch)
            times[key].append(sec)
            memory[key].append(mem)
        print(f"  {count} tasks: round {round_ + 1}/{args.rounds}", flush=True)
    sec = {key: float(np.median([t[0] for t in v])) for key, v in times.items()}
    mean = {
        key: float(np.median([t[1] for t in v])) for key, v in times.items()
    }
    mem = {key: float(np.median(v)) for key, v in memory.items()}
    base_time, base_mem = sec["equal"], mem["equal"]
    rows = []
    for label in models:
        rows.append(
            f"| {count} | {label} | {sec[label] * 1000:.1f} | "
            f"{sec[label] / base_time:.2f} | "
            f"{mean[label] / mean['equal']:.2f} | "
            f"{mem[label] / base_mem:.2f} |"
        )
    plain_time = sec["plain Keras"]
    header = (
        f"\n{count} tasks, {args.backbone} {args.size}px, batch {args.batch}: "
        f"mtlzoo equal weighting {base_time * 1000:.1f} ms/step, plain Keras "
        f"fit of the same graph {plain_time * 1000:.1f} ms/step "
        f"(mtlzoo/plain = {base_time / plain_time:.3f}); step working "
        f"memory of equal weighting {base_mem / 2**20:.0f} MiB; tracing "
        f"every configuration took {traced:.0f} s"
    )
    ratios = {label: sec[label] / base_time for label in models}
    return header, rows, ratios


def summary(ratios_by_count):
    """Markdown table: one row per configuration, one column per task
    count, the step-time ratio to equal weighting."""
    counts = sorted(ratios_by_count)
    labels = []
    for count in counts:
        labels += [k for k in ratios_by_count[count] if k not in labels]
    lines = [
        "| method | " + " | ".join(f"{c} tasks" for c in counts) + " |",
        "|---" * (len(counts) + 1) + "|",
    ]
    for label in labels:
        cells = [
            f"{ratios_by_count[c][label]:.2f}"
            if label in ratios_by_count[c]
            else "-"
            for c in counts
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", default="mobilenet_v3_small")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tasks", type=int, nargs="+", default=[3, 5, 10, 20])
    parser.add_argument(
        "--param-tasks",
        type=int,
        nargs="*",
        default=[3, 5],
        help="task counts also measured with shared-parameter gradients",
    )
    parser.add_argument(
        "--variant-tasks",
        type=int,
        nargs="*",
        default=[10, 20],
        help="task counts at which the cheap variants are measured",
    )
    parser.add_argument(
        "--loss-level",
        nargs="*",
        default=LOSS_LEVEL[1:],
        help="loss-level methods besides equal weighting",
    )
    parser.add_argument("--gradient", nargs="*", default=GRADIENT)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    lines = [
        "| tasks | method | ms/step | step time / equal | "
        "mean step time / equal | step memory / equal |",
        "|---|---|---|---|---|---|",
    ]
    headers = []
    ratios = {}
    for count in args.tasks:
        header, rows, ratios[count] = run(args, count)
        headers.append(header)
        lines += rows
    text = (
        "\n## Step time / equal weighting\n\n"
        + summary(ratios)
        + "\n\n## Every measurement\n"
        + "\n".join(headers)
        + "\n\n"
        + "\n".join(lines)
        + "\n"
    )
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(page(args, text))


def _words(value):
    return " ".join(map(str, value)) if isinstance(value, list) else value


def page(args, text):
    """The markdown page for docs/: title, how it was made, the table."""
    command = "python benchmarks/weighting_cost.py " + " ".join(
        f"--{k.replace('_', '-')} {_words(v)}"
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
        "rounds of its per-epoch median step (first step excluded), its mean "
        "step time likewise with the per-epoch mean (the cost of a method "
        "alternating full and cheap steps). Step "
        "memory is the peak TensorFlow CPU allocation during an epoch above "
        "what was allocated before it (activations, gradients, the method's "
        "temporaries; not the weights). Random images and labels, Adam. "
        "Tasks cycle classification, segmentation (a decoder with skips "
        "from every level, so the representation gradients cover P1 to "
        "P5), regression, keypoints (5 points), multi-label (8 labels). "
        "Timings on a shared machine are noisy: read ratios, not "
        "milliseconds.\n" + text
    )


if __name__ == "__main__":
    main()
