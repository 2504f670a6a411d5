"""Multi-label classification: independent yes/no per class."""

import keras
import numpy as np
from keras import ops

from mtlzoo.tasks import _arrays
from mtlzoo.tasks import _ops
from mtlzoo.tasks.base import Task
from mtlzoo.tasks.registry import register_kind


@keras.saving.register_keras_serializable(package="mtlzoo")
@register_kind("multilabel")
class MultilabelTask(Task):
    """Independent binary labels per image (attributes).

    Labels are `(batch, num_classes)` of 0/1 (`NaN` or `-1` when missing);
    the head outputs sigmoid probabilities. Loss: binary cross-entropy;
    metric: `<task>_accuracy` (per label, at 0.5).

    Args:
        name: str. Task name.
        num_classes: int >= 1. Number of labels.
        weight: float. Initial task weight. Defaults to 1.0.
        head: dict. Head options. Defaults to None.

    Example:

    >>> mtlzoo.Task("attributes", "multilabel", num_classes=40)
    Task('attributes', 'multilabel', num_classes=40)
    """

    num_classes_min = 1
    label_dtypes = ("float", "int")
    metric_directions = {"accuracy": True}
    primary_metric_name = "accuracy"
    default_head = "classification"
    output_activation = "sigmoid"
    loss_name = "binary cross-entropy (masked)"
    vector_labels = True
    accuracy_metric = "binary_accuracy"

    def output_shape(self, input_shape):
        return (self.num_classes,)

    def label_shape(self, input_shape):
        return (self.num_classes,)

    def present_mask(self, y_true):
        y = ops.cast(y_true, "float32")
        return ops.cast(ops.logical_and(y >= 0, ~ops.isnan(y)), "float32")

    def invalid_labels(self, y_true):
        y = ops.cast(y_true, "float32")
        ok = ops.isnan(y) | (y == 0.0) | (y == 1.0) | (y == -1.0)
        return [(~ok, y_true, "0 or 1, or -1 or NaN for a missing label")]

    def safe_labels(self, y_true, y_pred, one_hot=False):
        return _ops.finite_or_zero(ops.maximum(y_true, 0.0))

    def element_loss(self, y_true, y_pred):
        labels = _ops.finite_or_zero(ops.maximum(y_true, 0.0))
        probs = ops.clip(y_pred, _ops.EPS, 1.0 - _ops.EPS)
        return -(labels * ops.log(probs) + (1 - labels) * ops.log(1 - probs))

    def update_metric_states(self, metrics, y_true, y_pred, mask):
        y = ops.cast(_ops.finite_or_zero(y_true), "float32")
        hit = ops.cast(y_pred > 0.5, "float32") == y
        metrics[0].update_state(ops.cast(hit, "float32"), mask)

    def random_labels(self, rng, input_shape, batch_size):
        shape = (batch_size, self.num_classes)
        return rng.integers(0, 2, shape).astype("float32")

    def decode(self, value):
        return (np.asarray(value, "float64") > 0.5).astype("int32")

    def class_scores(self, value):
        return np.asarray(value)

    def postprocess(self, value, crop_box, image_size, threshold=0.5):
        """`probabilities` (class name or id -> probability) and `labels`
        (the classes at or above `threshold`)."""
        probs = np.asarray(value, "float64")
        names = self.names()
        keys = [_arrays.class_name(j, names) for j in range(len(probs))]
        return {
            "probabilities": {k: float(p) for k, p in zip(keys, probs)},
            "labels": [k for k, p in zip(keys, probs) if p >= threshold],
        }

    def describe(self, value, class_names=None):
        class_names = self.names(class_names)
        on = np.flatnonzero(np.asarray(value, "float64") > 0.5)
        if not on.size:
            return "none"
        return ", ".join(str(_arrays.class_name(j, class_names)) for j in on)

    @classmethod
    def check_export(cls, expected, got, labels=None):
        agree = (expected > 0.5) == (got > 0.5)
        return {"label_agreement": float(np.mean(agree))}
