"""One training run for the resume tests, in its own process.

Not a test file: `test_resume.py` runs it with `subprocess`, kills some
runs with SIGKILL in the middle and runs them again, then compares the
final states. Usage:

    python resume_worker.py OUT.npz --weighting equal --epochs 3 \
        [--backup DIR --save-freq epoch|N] [--kill-at N] \
        [--head-optimizers] [--plain]

`--kill-at N` sends SIGKILL to the process before its N-th training step
(counted from 0 over the whole run). Without it the run ends by writing
every variable (model weights, BatchNorm statistics, weighting state, the
optimizers' slots) to OUT.npz, by variable path.
"""

import argparse
import os
import signal
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

SHAPE = (16, 16, 1)


class KillAt(keras.callbacks.Callback):
    """SIGKILL before the `step`-th training step (no clean-up at all)."""

    def __init__(self, step):
        super().__init__()
        self.step = step
        self.seen = 0

    def on_train_batch_begin(self, batch, logs=None):
        if self.seen == self.step:
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        self.seen += 1


def plain_model():
    """A plain `keras.Model` with BatchNormalization, compiled."""
    inputs = keras.Input(SHAPE)
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.Conv2D(4, 3, strides=2)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(5)(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def multi_task_model(weighting, head_optimizers):
    import mtlzoo

    tasks = [
        mtlzoo.Task(
            "digit", "classification", num_classes=5, head={"units": 8}
        ),
        mtlzoo.Task("ink", "regression", units=2, head={"units": 8}),
        # A third task: with two, PCGrad's random order changes nothing.
        mtlzoo.Task("size", "classification", num_classes=3, head={"units": 4}),
    ]
    model = mtlzoo.build("tiny", tasks, SHAPE)
    options = {}
    if head_optimizers:
        options["head_optimizers"] = {
            "digit": keras.optimizers.SGD(0.05, momentum=0.9)
        }
    if weighting in ("pcgrad", "rlw", "grad_drop"):
        weighting = mtlzoo.weighting.get(weighting, seed=1)
    elif weighting == "dtp":
        kpi = {"digit": "digit_accuracy", "size": "size_accuracy"}
        weighting = mtlzoo.weighting.get(weighting, kpi=kpi)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2), weighting=weighting, **options
    )
    return model


def state(model):
    """Every variable of the model and its optimizers, by path."""
    variables = list(model.weights)
    optimizers = [model.optimizer]
    optimizers += list(getattr(model, "head_optimizers", {}).values())
    for optimizer in optimizers:
        variables += [(optimizer.name, v) for v in optimizer.variables]
    out = {}
    for v in variables:
        prefix, v = v if isinstance(v, tuple) else ("model", v)
        key = f"{prefix}/{v.path}"
        while key in out:
            key += "+"
        out[key] = np.asarray(v)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--weighting", default="equal")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--backup", default=None)
    parser.add_argument("--save-freq", default="epoch")
    parser.add_argument("--kill-at", type=int, default=None)
    parser.add_argument("--head-optimizers", action="store_true")
    parser.add_argument("--plain", action="store_true")
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(0)
    count = args.steps * args.batch_size
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (count,) + SHAPE).astype("float32")
    digit = rng.integers(0, 5, count)
    if args.plain:
        model = plain_model()
        y = digit
    else:
        model = multi_task_model(args.weighting, args.head_optimizers)
        y = {
            "digit": digit,
            "ink": rng.uniform(0, 1, (count, 2)),
            "size": rng.integers(0, 3, count),
        }
    callbacks = []
    if args.backup:
        freq = args.save_freq
        freq = freq if freq == "epoch" else int(freq)
        callbacks.append(keras.callbacks.BackupAndRestore(args.backup, freq))
    if args.kill_at is not None:
        callbacks.append(KillAt(args.kill_at))
    model.fit(
        x,
        y,
        batch_size=args.batch_size,
        epochs=args.epochs,
        shuffle=False,
        verbose=0,
        callbacks=callbacks,
    )
    np.savez(args.out, **state(model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
