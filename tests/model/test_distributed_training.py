"""Training under MirroredStrategy (2 logical CPUs) matches one device.

Runs in a subprocess: logical devices must be configured before
TensorFlow initialises. BatchNorm layers are frozen (inference mode) so a
replica's batch statistics cannot differ from the whole batch's; the rest
is deterministic, so both runs must end with the same weights.
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

    SHAPE = (32, 32, 1)
    TASKS = [
        mtlzoo.Task("digit", "classification", num_classes=4,
                    head={"units": 8}),
        mtlzoo.Task("ink", "regression", head={"units": 8}),
        mtlzoo.Task("mask", "segmentation", num_classes=2,
                    head={"width": 4}),
    ]
    x = testing.random_images(SHAPE, 8)
    y = testing.random_labels(TASKS, SHAPE, 8)

    def train(spec, strategy):
        name, rep = spec
        with strategy.scope():
            keras.utils.set_random_seed(0)
            model = mtlzoo.build("tiny", TASKS, SHAPE,
                                 branch_points={"mask": "P4"})
            for layer in model._flatten_layers():
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.trainable = False
            kwargs = {"representation_gradients": True} if rep else {}
            method = mtlzoo.weighting.get(name, **kwargs)
            model.compile(optimizer=keras.optimizers.SGD(0.05),
                          weighting=method)
        before = model.get_weights()
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
        return before, model.get_weights()

    out = {}
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    single = tf.distribute.OneDeviceStrategy("/cpu:0")
    for spec in json.loads(sys.argv[1]):
        start, a = train(spec, single)
        _, b = train(spec, mirrored)
        diff = max(float(np.max(np.abs(u - v))) for u, v in zip(a, b))
        moved = max(float(np.max(np.abs(u - v))) for u, v in zip(a, start))
        out[f"{spec[0]}{'+rep' if spec[1] else ''}"] = [diff, moved]
    print("RESULT" + json.dumps(out))
    """
)

FAST = [("equal", False), ("pcgrad", False), ("mgda", True), ("famo", False)]
LARGE = [
    ("uncertainty", False),
    ("gradnorm", False),
    ("mgda", False),
    ("graddrop", False),
    ("cagrad", False),
    ("cagrad", True),
    ("imtl", False),
    ("nash_mtl", False),
    ("aligned_mtl", False),
    ("aligned_mtl", True),
    ("pcgrad", True),
]


def run(specs):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(specs)],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("RESULT")]
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT") :])


def check(results):
    for name, (diff, moved) in results.items():
        assert moved > 0, name
        assert diff < 1e-4, (name, diff)


def test_mirrored_matches_one_device():
    check(run(FAST))


@pytest.mark.large
def test_mirrored_matches_one_device_all_methods():
    check(run(LARGE))
