"""Regression: `units` real numbers per image."""

import keras
import numpy as np
from keras import ops

from mtlzoo.tasks import _arrays
from mtlzoo.tasks import _ops
from mtlzoo.tasks.base import Task
from mtlzoo.tasks.registry import register_kind


@keras.saving.register_keras_serializable(package="mtlzoo")
@register_kind("regression")
class RegressionTask(Task):
    """`units` real values per image.

    Labels are `(batch, units)` floats (`(batch,)` also accepted for
    `units=1`), `NaN` when missing; the head outputs linear values. Loss:
    mean squared error; metric: `<task>_mae`.

    Args:
        name: str. Task name.
        units: int >= 1. Number of values. Defaults to 1.
        weight: float. Initial task weight. Defaults to 1.0.
        head: dict. Head options. Defaults to None.

    Example:

    >>> mtlzoo.Task("ink", "regression")
    Task('ink', 'regression', units=1)
    """

    takes_units = True
    metric_directions = {"mae": False}
    primary_metric_name = "mae"
    default_head = "regression"
    loss_name = "mean squared error (masked)"
    vector_labels = True

    def output_shape(self, input_shape):
        return (self.units,)

    def label_shape(self, input_shape):
        return (self.units,)

    def label_shapes(self, input_shape):
        if self.units == 1:
            return ((self.units,), ())
        return ((self.units,),)

    def standardize(self, y_true, y_pred):
        y_true = ops.convert_to_tensor(y_true)
        return ops.reshape(y_true, ops.shape(y_pred))

    def invalid_labels(self, y_true):
        return [
            (
                _ops.infinite(y_true),
                y_true,
                "finite numbers, or NaN for a missing value",
            )
        ]

    def element_loss(self, y_true, y_pred):
        return ops.square(_ops.finite_or_zero(y_true) - y_pred)

    def update_metric_states(self, metrics, y_true, y_pred, mask):
        err = ops.abs(_ops.finite_or_zero(y_true) - y_pred)
        metrics[0].update_state(err, mask)

    def random_labels(self, rng, input_shape, batch_size):
        return rng.normal(size=(batch_size, self.units)).astype("float32")

    def postprocess(self, value, crop_box, image_size, threshold=0.5):
        """`values` (float64 array `(units,)`) and, for one unit, `value`
        (a float)."""
        values = np.asarray(value, "float64").reshape(-1)
        out = {"values": values}
        if self.units == 1:
            out["value"] = float(values[0])
        return out

    @classmethod
    def check_export(cls, expected, got, labels=None):
        return _arrays.label_error(expected, got, labels)
