"""Classification: one class per image, softmax scores."""

import keras
import numpy as np
from keras import ops

from mtlzoo.tasks import _arrays
from mtlzoo.tasks import _ops
from mtlzoo.tasks.base import Task
from mtlzoo.tasks.registry import register_kind


@keras.saving.register_keras_serializable(package="mtlzoo")
@register_kind("classification")
class ClassificationTask(Task):
    """One class per image.

    Labels are class ids `(batch,)` (or `(batch, 1)`), `-1` when missing;
    the head outputs softmax probabilities `(batch, num_classes)`. Loss:
    sparse categorical cross-entropy; metric: `<task>_accuracy`.

    Args:
        name: str. Task name.
        num_classes: int >= 2. Number of classes.
        weight: float. Initial task weight. Defaults to 1.0.
        head: dict. Head options. Defaults to None.

    Example:

    >>> mtlzoo.Task("garment", "classification", num_classes=10)
    Task('garment', 'classification', num_classes=10)
    """

    num_classes_min = 2
    label_dtype = "int32"
    label_dtypes = ("int", "float")
    metric_directions = {"accuracy": True}
    primary_metric_name = "accuracy"
    default_head = "classification"
    output_activation = "softmax"
    loss_name = "sparse categorical cross-entropy (masked)"
    sparse_labels = True
    accuracy_metric = "sparse_categorical_accuracy"

    def output_shape(self, input_shape):
        return (self.num_classes,)

    def label_shape(self, input_shape):
        return ()

    def label_shapes(self, input_shape):
        return ((), (1,))

    def standardize(self, y_true, y_pred):
        return ops.reshape(ops.convert_to_tensor(y_true), (-1,))

    def present_mask(self, y_true):
        return ops.cast(ops.cast(y_true, "float32") >= 0, "float32")

    def invalid_labels(self, y_true):
        rule = (
            f"whole-number class ids in [0, {self.num_classes}), or -1 "
            "for a missing label"
        )
        bad = _ops.invalid_class_ids(y_true, self.num_classes)
        return [(bad, y_true, rule)]

    def safe_labels(self, y_true, y_pred, one_hot=False):
        ids = _ops.class_ids(_ops.finite_or_zero(y_true), self.num_classes)
        if one_hot:
            return ops.one_hot(ids, self.num_classes)
        return ids

    def element_loss(self, y_true, y_pred):
        return keras.losses.sparse_categorical_crossentropy(
            _ops.class_ids(y_true, self.num_classes), y_pred
        )

    def update_metric_states(self, metrics, y_true, y_pred, mask):
        hit = _ops.argmax(y_pred) == ops.cast(y_true, "int32")
        metrics[0].update_state(ops.cast(hit, "float32"), mask)

    def random_labels(self, rng, input_shape, batch_size):
        return rng.integers(0, self.num_classes, (batch_size,)).astype("int32")

    def decode(self, value):
        value = np.asarray(value)
        return int(np.argmax(value)) if value.ndim else int(value)

    def class_scores(self, value):
        return np.asarray(value)

    def postprocess(self, value, crop_box, image_size, threshold=0.5):
        """`probabilities` (class name or id -> probability), `class` (the
        most probable), `score` (its probability) and, for two classes,
        `probability`: that of class 1 (`face` of `[not_face, face]`)."""
        probs = np.asarray(value, "float64")
        names = self.names()
        keys = [_arrays.class_name(j, names) for j in range(len(probs))]
        j = int(np.argmax(probs))
        out = {
            "probabilities": {k: float(p) for k, p in zip(keys, probs)},
            "class": keys[j],
            "score": float(probs[j]),
        }
        if len(probs) == 2:
            out["probability"] = float(probs[1])
        return out

    def summarize(self, value, class_names=None, top_k=3):
        class_names = self.names(class_names)
        value = np.asarray(value)
        order = np.argsort(-value)[:top_k]
        return [
            [_arrays.class_name(j, class_names), float(value[j])] for j in order
        ]

    def describe(self, value, class_names=None):
        class_names = self.names(class_names)
        value = np.asarray(value)
        if value.ndim == 0:
            return str(_arrays.class_name(value, class_names))
        j = int(np.argmax(value))
        return f"{_arrays.class_name(j, class_names)} ({value[j]:.2f})"

    @classmethod
    def check_export(cls, expected, got, labels=None):
        return _arrays.class_agreement(expected, got, labels, "top1_agreement")
