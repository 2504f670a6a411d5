"""Depth estimation: one distance per pixel."""

import keras
import numpy as np
from keras import ops

from mtlzoo.tasks import _arrays
from mtlzoo.tasks import _ops
from mtlzoo.tasks.base import Task
from mtlzoo.tasks.registry import register_kind


@keras.saving.register_keras_serializable(package="mtlzoo")
@register_kind("depth")
class DepthTask(Task):
    """One depth value per pixel.

    Labels are `(batch, H, W, 1)` (or `(batch, H, W)`) floats, `NaN` where
    missing; the head outputs one linear channel. Loss: per-pixel L1;
    metrics: `<task>_abs_err` (primary) and `<task>_rel_err` (over
    non-zero depths).

    Args:
        name: str. Task name.
        weight: float. Initial task weight. Defaults to 1.0.
        head: dict. Head options. Defaults to None.

    Example:

    >>> mtlzoo.Task("depth", "depth")
    Task('depth', 'depth')
    """

    is_dense = True
    metric_directions = {"abs_err": False, "rel_err": False}
    primary_metric_name = "abs_err"
    default_head = "dense"
    head_search_space = "dense"
    loss_name = "per-pixel L1 (masked)"
    vector_labels = True

    def output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], 1)

    def label_shape(self, input_shape):
        return (input_shape[0], input_shape[1], 1)

    def label_shapes(self, input_shape):
        shape = self.label_shape(input_shape)
        return (shape, shape[:2])

    def standardize(self, y_true, y_pred):
        y_true = ops.convert_to_tensor(y_true)
        if len(y_true.shape) == 3:
            y_true = ops.expand_dims(y_true, -1)
        return y_true

    def invalid_labels(self, y_true):
        return [
            (
                _ops.infinite(y_true),
                y_true,
                "finite depths, or NaN for a missing pixel",
            )
        ]

    def element_loss(self, y_true, y_pred):
        return ops.abs(_ops.finite_or_zero(y_true) - y_pred)

    def update_metric_states(self, metrics, y_true, y_pred, mask):
        y = _ops.finite_or_zero(y_true)
        err = ops.abs(y - y_pred)
        metrics[0].update_state(err, mask)
        rel_mask = mask * ops.cast(ops.abs(y) > _ops.EPS, "float32")
        rel = err / ops.maximum(ops.abs(y), _ops.EPS)
        metrics[1].update_state(rel, rel_mask)

    def random_labels(self, rng, input_shape, batch_size):
        shape = (batch_size, input_shape[0], input_shape[1], 1)
        return rng.uniform(0.5, 2.0, shape).astype("float32")

    def summarize(self, value, class_names=None, top_k=3):
        value = np.asarray(value, "float64")
        finite = value[np.isfinite(value)]
        if not finite.size:
            return {"min": float("nan"), "max": float("nan")}
        return {"min": float(finite.min()), "max": float(finite.max())}

    def describe(self, value, class_names=None):
        s = self.summarize(value)
        return f"depth {s['min']:.3g} to {s['max']:.3g}"

    @classmethod
    def colorize(cls, values, value_range=None):
        """Depth maps `(N, H, W[, 1])` in viridis (near = dark, NaN =
        white), scaled to `value_range` (default: finite min and max)."""
        a = np.asarray(values)
        if a.ndim == 4 and a.shape[-1] == 1:
            a = a[..., 0]
        if a.ndim != 3:
            raise ValueError(
                "Depth maps must be (N, H, W) or (N, H, W, 1). "
                f"Received: values.shape={a.shape}"
            )
        a = a.astype("float64")
        finite = np.isfinite(a)
        if value_range is None:
            low = float(a[finite].min()) if finite.any() else 0.0
            high = float(a[finite].max()) if finite.any() else 1.0
        else:
            low, high = (float(v) for v in value_range)
        scaled = (np.where(finite, a, low) - low) / max(high - low, 1e-12)
        from matplotlib import colormaps

        rgb = colormaps["viridis"](np.clip(scaled, 0.0, 1.0))[..., :3]
        rgb = (rgb * 255).round().astype("uint8")
        rgb[~finite] = 255
        return rgb

    @classmethod
    def value_range(cls, values):
        """Finite `(min, max)` of `values`, or None if none is finite."""
        a = np.asarray(values)
        finite = a[np.isfinite(a)]
        if not finite.size:
            return None
        return (finite.min(), finite.max())

    @classmethod
    def check_export(cls, expected, got, labels=None):
        return _arrays.label_error(expected, got, labels)
