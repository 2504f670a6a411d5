"""MirroredStrategy matches one device when labels are missing unevenly.

Each replica gets half of every batch. Here the halves hold different
numbers of labels per task (one task has none at all in the first half),
so a replica's own masked mean is not the batch's: the task losses, their
gradients, the weighting methods' inputs and the metrics must all use the
global masked mean (sums and labelled counts over every replica). One
method per weighting family trains a tiny model for 3 steps on one device
and on 2 logical CPUs (BatchNorm frozen); weights, fit logs and
`evaluate` metrics must agree to float tolerance.

Runs in a subprocess: logical devices must be configured before
TensorFlow initialises.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import numpy as np
    import mtlzoo
    from mtlzoo import testing

    SHAPE = (16, 16, 1)
    TASKS = [
        mtlzoo.Task("digit", "classification", num_classes=4,
                    head={"units": 8}),
        mtlzoo.Task("ink", "regression", head={"units": 8}),
        mtlzoo.Task("mask", "segmentation", num_classes=2,
                    head={"width": 4}),
    ]
    BATCH = 8
    x = testing.random_images(SHAPE, BATCH)
    y = testing.random_labels(TASKS, SHAPE, BATCH)
    # Replica 0 gets samples 0-3, replica 1 samples 4-7.
    y["digit"][:4] = -1  # no digit label at all on replica 0
    y["ink"][[0, 5, 6, 7]] = np.nan  # 3 labels vs 1
    y["mask"][1:4] = -1  # 1 labelled image vs 4, one of them partly
    y["mask"][4, :8] = -1
    SAMPLE_WEIGHT = {"ink": np.array([1, 2, 3, 4, 1, 1, 1, 5], "float32")}

    def train(spec, strategy):
        name = spec["method"]
        with strategy.scope():
            keras.utils.set_random_seed(0)
            model = mtlzoo.build("tiny", TASKS, SHAPE,
                                 branch_points={"mask": "P4"})
            for layer in model._flatten_layers():
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.trainable = False
            method = mtlzoo.weighting.get(name, **spec.get("options", {}))
            model.compile(optimizer=keras.optimizers.SGD(0.1),
                          weighting=method)
        sw = SAMPLE_WEIGHT if spec.get("sample_weight") else None
        start = [v.numpy() for v in model.trainable_variables]
        history = model.fit(x, y, sample_weight=sw, batch_size=BATCH,
                            epochs=3, verbose=0, shuffle=False)
        logs = {k: float(v[-1]) for k, v in history.history.items()}
        scores = model.evaluate(x, y, sample_weight=sw, batch_size=BATCH,
                                verbose=0, return_dict=True)
        moved = max(float(np.max(np.abs(v.numpy() - w)))
                    for v, w in zip(model.trainable_variables, start))
        return moved, model.get_weights(), logs, scores

    def biggest(a, b):
        # |a - b| / (1 + |a|): absolute for small values, relative for
        # large ones (Nash-MTL's solver state reaches the hundreds).
        def gap(u, v):
            u, v = np.asarray(u, "float64"), np.asarray(v, "float64")
            return float(np.max(np.abs(u - v) / (1.0 + np.abs(u)),
                                initial=0.0))
        return max(gap(a[k], b[k]) for k in a)

    out = {}
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    single = tf.distribute.OneDeviceStrategy("/cpu:0")
    for spec in json.loads(sys.argv[1]):
        moved, a, logs_a, eval_a = train(spec, single)
        _, b, logs_b, eval_b = train(spec, mirrored)
        assert sorted(logs_a) == sorted(logs_b)
        assert sorted(eval_a) == sorted(eval_b)
        out[spec["id"]] = {
            "weights": biggest(dict(enumerate(a)), dict(enumerate(b))),
            "moved": moved,
            "fit_logs": biggest(logs_a, logs_b),
            "evaluate": biggest(eval_a, eval_b),
            "loss": [logs_a["loss"], logs_b["loss"]],
            "eval_accuracy": [eval_a["digit_accuracy"],
                              eval_b["digit_accuracy"]],
        }
    print("RESULT" + json.dumps(out))
    """
)


def spec(method, large=False, **extra):
    """One parametrised case: a method (one per family) and its options."""
    options = extra.pop("options", {})
    case = dict(method=method, options=options, **extra)
    case["id"] = method + ("+sw" if extra.get("sample_weight") else "")
    marks = [pytest.mark.large] if large else []
    return pytest.param(case, id=case["id"], marks=marks)


# One method per family; a case takes ~10 s (two runs and their tracing),
# so the default run covers each kind of step once and the rest is large.
CASES = [
    # Loss-level methods (sample weights on "ink" too).
    spec("equal", sample_weight=True),
    spec("equal", large=True),
    spec("fixed", large=True, options={"weights": {"digit": 2, "ink": 0.5}}),
    spec("uncertainty", large=True),
    spec("famo", large=True),
    spec("rlw", large=True, options={"seed": 0}),
    # Epoch-end callbacks reading the logged task losses and metrics.
    spec("dwa"),
    spec("dtp", large=True, options={"kpi": {"digit": "digit_accuracy"}}),
    # Gradient methods: parameter gradients (the matrix path) and
    # representation gradients (the Gram path).
    spec("pcgrad", large=True),
    spec("mgda_ub"),
    spec("pcgrad", large=True, sample_weight=True),
    spec("grad_drop", large=True, options={"seed": 0}),
    spec("mgda", large=True),
    spec("cagrad", large=True),
    spec("imtl", large=True),
    spec("aligned_mtl", large=True),
    spec("nash_mtl", large=True),
    spec("grad_norm", large=True),
]

# Tolerance on weights, fit logs and evaluate metrics, as
# |a - b| / (1 + |a|) (a: one device, b: two replicas).
TOLERANCE = 1e-5


def run(specs):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(specs)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("RESULT")]
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT") :])


@pytest.mark.parametrize("case", CASES)
def test_mirrored_matches_one_device_with_missing_labels(case):
    result = run([case])[case["id"]]
    # The run must train (else equal weights prove nothing).
    assert result["moved"] > 1e-3, result
    assert result["weights"] < TOLERANCE, result
    assert result["fit_logs"] < TOLERANCE, result
    assert result["evaluate"] < TOLERANCE, result
