"""Single-object boxes: one box and one class per image."""

import keras
import numpy as np
from keras import ops

from mtlzoo import metrics as mtl_metrics
from mtlzoo.tasks import _arrays
from mtlzoo.tasks import _crop
from mtlzoo.tasks import _ops
from mtlzoo.tasks.base import Task
from mtlzoo.tasks.registry import register_kind


@keras.saving.register_keras_serializable(package="mtlzoo")
@register_kind("box")
class BoxTask(Task):
    """One box `[y1, x1, y2, x2]` (0..1) and one class per image.

    Labels are `(batch, 5)`: `[y1, x1, y2, x2, class]`, `NaN` for a
    missing box, `NaN` or `-1` for a missing class; the head outputs
    `(batch, 4 + num_classes)`: the box, then class probabilities. Loss:
    L1 on the box plus cross-entropy on the class; metrics: `<task>_iou`
    (primary) and `<task>_accuracy`.

    Args:
        name: str. Task name.
        num_classes: int >= 2. Number of object classes.
        weight: float. Initial task weight. Defaults to 1.0.
        head: dict. Head options. Defaults to None.

    Example:

    >>> mtlzoo.Task("object", "box", num_classes=3)
    Task('object', 'box', num_classes=3)
    """

    num_classes_min = 2
    metric_directions = {"iou": True, "accuracy": True}
    primary_metric_name = "iou"
    default_head = "box"
    loss_name = "L1 box + cross-entropy class (masked)"
    vector_labels = True

    def output_shape(self, input_shape):
        return (4 + self.num_classes,)

    def label_shape(self, input_shape):
        return (5,)

    def present_mask(self, y_true):
        """`(batch, 2)`: [box present, class present]."""
        y = ops.cast(y_true, "float32")
        box_ok = ~ops.any(ops.isnan(y[:, :4]), axis=-1)
        cls_ok = ops.logical_and(~ops.isnan(y[:, 4]), y[:, 4] >= 0)
        return ops.stack(
            [ops.cast(box_ok, "float32"), ops.cast(cls_ok, "float32")], -1
        )

    def invalid_labels(self, y_true):
        y = ops.cast(y_true, "float32")
        box = y[:, :4]
        labelled = ~ops.any(ops.isnan(box), axis=-1, keepdims=True)
        outside = labelled & ((box < 0.0) | (box > 1.0))
        y1, x1, y2, x2 = (box[:, i : i + 1] for i in range(4))
        inverted = labelled & ops.concatenate([y1 > y2, x1 > x2], -1)
        classes = _ops.invalid_class_ids(y[:, 4], self.num_classes)
        return [
            (
                outside,
                box,
                "box coordinates [y1, x1, y2, x2] in [0, 1] (NaN for a "
                "missing box)",
            ),
            (
                inverted,
                ops.concatenate([y2 - y1, x2 - x1], -1),
                "boxes with y1 <= y2 and x1 <= x2 (the value is y2 - y1 or "
                "x2 - x1)",
            ),
            (
                classes,
                y[:, 4],
                f"whole-number class ids in [0, {self.num_classes}) in the "
                "last column, or -1 or NaN for a missing class",
            ),
        ]

    def entry_mask(self, y_true):
        """`(batch, 5)`: the box mask on the 4 coordinates, then the class
        mask (a loss per sample counts samples with both)."""
        mask = self.present_mask(y_true)
        return ops.concatenate(
            [ops.repeat(mask[:, :1], 4, -1), mask[:, 1:]], -1
        )

    def safe_labels(self, y_true, y_pred, one_hot=False):
        """Missing coordinates -> the predicted ones; missing class -> 0."""
        y = ops.cast(y_true, "float32")
        box = ops.where(
            ops.isnan(y[:, :4]), ops.stop_gradient(y_pred[:, :4]), y[:, :4]
        )
        cls = _ops.finite_or_zero(ops.maximum(y[:, 4:], 0.0))
        cls = ops.minimum(cls, float(self.num_classes - 1))
        return ops.concatenate([box, cls], -1)

    def default_loss(self, y_true, y_pred, sample_weight=None):
        y_true = self.standardize(y_true, y_pred)
        mask = self._apply_sample_weight(
            self.present_mask(y_true), sample_weight
        )
        y_pred = ops.cast(y_pred, "float32")
        y_true = ops.cast(y_true, "float32")
        box_true = _ops.finite_or_zero(y_true[:, :4])
        box_l1 = ops.sum(ops.abs(box_true - y_pred[:, :4]), axis=-1)
        box_loss = _ops.masked_mean(box_l1, mask[:, 0])
        labels = _ops.class_ids(
            _ops.finite_or_zero(y_true[:, 4]), self.num_classes
        )
        ce = keras.losses.sparse_categorical_crossentropy(labels, y_pred[:, 4:])
        return box_loss + _ops.masked_mean(ce, mask[:, 1])

    def update_metric_states(self, metrics, y_true, y_pred, mask):
        y = _ops.finite_or_zero(y_true)
        iou = mtl_metrics.box_iou(y[:, :4], y_pred[:, :4])
        metrics[0].update_state(iou, mask[:, 0])
        hit = _ops.argmax(y_pred[:, 4:]) == ops.cast(y[:, 4], "int32")
        metrics[1].update_state(ops.cast(hit, "float32"), mask[:, 1])

    def random_labels(self, rng, input_shape, batch_size):
        n = batch_size
        lo = rng.uniform(0, 0.5, (n, 2))
        hi = lo + rng.uniform(0.1, 0.5, (n, 2))
        cls = rng.integers(0, self.num_classes, (n, 1))
        return np.concatenate([lo, hi, cls], 1).astype("float32")

    def decode(self, value):
        value = np.asarray(value, "float64")
        if value.shape[-1] == 5:
            return value
        return np.concatenate([value[:4], [np.argmax(value[4:])]])

    def postprocess(self, value, crop_box, image_size, threshold=0.5):
        """`box` `[x1, y1, x2, y2]` in pixels of the image (from the
        predicted `[y1, x1, y2, x2]` fractions of the crop), `class`,
        `score` and `probabilities` (class name or id -> probability)."""
        value = np.asarray(value, "float64")
        y1, x1, y2, x2 = value[:4]
        corners = _crop.points_to_image([[x1, y1], [x2, y2]], crop_box)
        probs = value[4:]
        names = self.names()
        keys = [_arrays.class_name(j, names) for j in range(len(probs))]
        j = int(np.argmax(probs))
        return {
            "box": [float(v) for v in corners.ravel()],
            "class": keys[j],
            "score": float(probs[j]),
            "probabilities": {k: float(p) for k, p in zip(keys, probs)},
        }

    def class_scores(self, value):
        return np.asarray(value)[4:]

    def describe(self, value, class_names=None):
        class_names = self.names(class_names)
        value = np.asarray(value, "float64")
        box = _arrays.numbers(value[:4], ".2f")
        if value.shape[-1] == 5:
            if not np.isfinite(value[4]) or value[4] < 0:
                return f"box {box}"
            return f"box {box}, {_arrays.class_name(value[4], class_names)}"
        j = int(np.argmax(value[4:]))
        name = _arrays.class_name(j, class_names)
        return f"box {box}, {name} ({value[4 + j]:.2f})"

    @classmethod
    def check_export(cls, expected, got, labels=None):
        return _arrays.class_agreement(
            expected[..., 4:],
            got[..., 4:],
            None,
            "top1_agreement",
            with_accuracy=False,
        )
