"""Surface normals: one unit vector per pixel."""

import keras
import numpy as np
from keras import ops

from mtlzoo import metrics as mtl_metrics
from mtlzoo.tasks import _arrays
from mtlzoo.tasks import _ops
from mtlzoo.tasks.base import Task
from mtlzoo.tasks.registry import register_kind


@keras.saving.register_keras_serializable(package="mtlzoo")
@register_kind("normals")
class NormalsTask(Task):
    """One unit normal vector per pixel.

    Labels are `(batch, H, W, 3)` floats, `NaN` where missing; the head
    outputs unit vectors. Loss: per-pixel 1 - cosine similarity; metric:
    `<task>_mean_angle` (degrees).

    Args:
        name: str. Task name.
        weight: float. Initial task weight. Defaults to 1.0.
        head: dict. Head options. Defaults to None.

    Example:

    >>> mtlzoo.Task("normals", "normals")
    Task('normals', 'normals')
    """

    is_dense = True
    metric_directions = {"mean_angle": False}
    primary_metric_name = "mean_angle"
    default_head = "dense"
    unit_vectors = True
    head_search_space = "dense"
    loss_name = "per-pixel 1 - cosine similarity (masked)"

    def output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], 3)

    def label_shape(self, input_shape):
        return (input_shape[0], input_shape[1], 3)

    def present_mask(self, y_true):
        y = ops.cast(y_true, "float32")
        return ops.cast(~ops.any(ops.isnan(y), axis=-1), "float32")

    def invalid_labels(self, y_true):
        return [
            (
                _ops.infinite(y_true),
                y_true,
                "finite vectors, or NaN for a missing pixel",
            )
        ]

    def element_loss(self, y_true, y_pred):
        return 1.0 - mtl_metrics.cosine(_ops.finite_or_zero(y_true), y_pred)

    def update_metric_states(self, metrics, y_true, y_pred, mask):
        angle = mtl_metrics.angle_degrees(_ops.finite_or_zero(y_true), y_pred)
        metrics[0].update_state(angle, mask)

    def random_labels(self, rng, input_shape, batch_size):
        shape = (batch_size, input_shape[0], input_shape[1], 3)
        y = rng.normal(size=shape).astype("float32")
        y /= np.linalg.norm(y, axis=-1, keepdims=True)
        return y

    def summarize(self, value, class_names=None, top_k=3):
        mean = np.asarray(value).reshape(-1, 3).mean(0)
        return {"mean": [float(v) for v in mean]}

    def describe(self, value, class_names=None):
        return f"mean normal {_arrays.numbers(self.summarize(value)['mean'])}"

    @classmethod
    def colorize(cls, values, value_range=None):
        """Normal maps `(N, H, W, 3)` mapped `(n + 1) / 2` to RGB."""
        a = np.asarray(values)
        if a.ndim != 4 or a.shape[-1] != 3:
            raise ValueError(
                "Normal maps must be (N, H, W, 3). "
                f"Received: values.shape={a.shape}"
            )
        a = np.nan_to_num(a.astype("float64"), nan=1.0)
        return ((np.clip(a, -1.0, 1.0) + 1.0) * 127.5).round().astype("uint8")

    @classmethod
    def check_export(cls, expected, got, labels=None):
        if labels is None:
            return {}
        y = np.asarray(labels, dtype="float64").reshape(expected.shape)
        return {
            "label_error_keras": _arrays.mean_angle(expected, y),
            "label_error_export": _arrays.mean_angle(got, y),
        }
