"""A warning when images look scaled already while the model expects raw
pixel values.

Every built-in preprocessing mode but `"none"` maps raw pixel values
(0..255) to what the backbone expects, so a model fed images in 0..1 (or
-1..1) computes garbage without an error: a preset's accuracy falls to
chance. The train, test and predict steps store the largest value of their
batch (`record`, one reduction); after the first batch of a `fit`,
`evaluate` or `predict` call, `report` warns when it is at most 1.0.
"""

import math
import sys
import warnings

import tensorflow as tf

#: Preprocessing modes whose input is raw pixel values in 0..255.
RAW_PIXEL_MODES = ("tf", "torch", "caffe", "unit")


def expects_raw_pixels(model):
    """Whether `model` expects raw pixel values (0..255)."""
    return getattr(model, "preprocessing", None) in RAW_PIXEL_MODES


def arm(model):
    """Prepare the check of the next call's first batch (outside a
    `tf.function`; the step functions call `record`)."""
    if not expects_raw_pixels(model):
        return
    state = model._state
    probe = getattr(state, "input_max", None)
    if probe is None:
        with model.distribute_strategy.scope():
            probe = tf.Variable(
                -math.inf,
                trainable=False,
                dtype="float32",
                synchronization=tf.VariableSynchronization.ON_READ,
                aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
                name="mtlzoo_input_max",
            )
        state.input_max = probe
    else:
        probe.assign(-math.inf)
    state.input_range_armed = True


def record(model, x):
    """Store the largest value of the batch `x` (in a step)."""
    probe = getattr(model._state, "input_max", None)
    if probe is None:
        return
    images = [t for t in tf.nest.flatten(x) if hasattr(t, "dtype")]
    if not images:
        return
    largest = tf.reduce_max(tf.cast(images[0], "float32"))
    probe.assign(largest)


def report(model):
    """After a step function ran: warn once per call when the first batch's
    largest value is at most 1.0."""
    state = model._state
    if not getattr(state, "input_range_armed", False):
        return
    value = float(state.input_max.numpy())
    if value == -math.inf:
        return  # no batch yet
    state.input_range_armed = False
    if value <= 1.0:
        warnings.warn(
            f"Model '{model.name}' expects raw pixel values in 0..255 (its "
            f"preprocessing '{model.preprocessing}' scales them itself), "
            "but the largest value of the first batch is "
            f"{value:.3g}: the images look scaled already (0..1 or "
            "-1..1), and the predictions will be wrong. Pass raw pixel "
            f"values. Received: max pixel value={value:.3g}",
            stacklevel=_caller_level(),
        )


def _caller_level():
    """The `stacklevel` of the first frame outside mtlzoo, Keras and
    TensorFlow (the user's `fit`, `evaluate` or `predict` call)."""
    frame = sys._getframe(2)
    level = 2
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.split(".")[0] not in ("mtlzoo", "keras", "tensorflow"):
            return level
        frame = frame.f_back
        level += 1
    return 2
