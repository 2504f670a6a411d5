"""Semantic segmentation: one class per pixel."""

import keras
import numpy as np
from keras import ops

from mtlzoo.tasks import _arrays
from mtlzoo.tasks import _crop
from mtlzoo.tasks import _ops
from mtlzoo.tasks.base import Task
from mtlzoo.tasks.registry import register_kind

# Background black, then well-separated colours (tab10-like), cycled.
PALETTE = np.array(
    [
        [0, 0, 0],
        [31, 119, 180],
        [255, 127, 14],
        [44, 160, 44],
        [214, 39, 40],
        [148, 103, 189],
        [140, 86, 75],
        [227, 119, 194],
        [127, 127, 127],
        [188, 189, 34],
        [23, 190, 207],
    ],
    dtype="uint8",
)


@keras.saving.register_keras_serializable(package="mtlzoo")
@register_kind("segmentation")
class SegmentationTask(Task):
    """One class per pixel.

    Labels are class ids `(batch, H, W)` (or `(batch, H, W, 1)`), `-1`
    where missing; the head outputs softmax maps `(batch, H, W, C)`. Loss:
    per-pixel sparse categorical cross-entropy; metrics:
    `<task>_pixel_accuracy` and `<task>_mean_iou` (primary). Any other
    value (a class id `>= num_classes`, a fraction) is refused with an
    error naming the task, unless it is `ignore_index`.

    Args:
        name: str. Task name.
        num_classes: int >= 2. Number of classes (background included).
        weight: float. Initial task weight. Defaults to 1.0.
        head: dict. Head options. Defaults to None.
        ignore_index: int. A label value that also marks a pixel as
            missing (no loss, no metric), such as the 255 of Pascal VOC
            and Cityscapes boundaries; may be a class id (that class is
            then never learned). Appears in `get_config()` when set.
            Defaults to None (only -1 is missing).

    Example:

    >>> mtlzoo.Task("mask", "segmentation", num_classes=3)
    Task('mask', 'segmentation', num_classes=3)
    >>> voc = mtlzoo.Task("voc", "segmentation", num_classes=21,
    ...                   ignore_index=255)
    """

    num_classes_min = 2
    is_dense = True
    label_dtype = "int32"
    label_dtypes = ("int", "float")
    metric_directions = {"pixel_accuracy": True, "mean_iou": True}
    primary_metric_name = "mean_iou"
    default_head = "dense"
    output_activation = "softmax"
    head_search_space = "dense"
    loss_name = "per-pixel sparse categorical cross-entropy (masked)"
    sparse_labels = True
    accuracy_metric = "sparse_categorical_accuracy"

    def __init__(
        self,
        name,
        kind=None,
        num_classes=None,
        units=None,
        weight=1.0,
        head=None,
        loss=None,
        metrics=None,
        class_names=None,
        *,
        ignore_index=None,
    ):
        if ignore_index is not None and (
            isinstance(ignore_index, bool)
            or not isinstance(ignore_index, (int, np.integer))
            or ignore_index == -1
        ):
            raise ValueError(
                f"Task '{name}': ignore_index must be an integer label "
                "value other than -1 (which is always missing), or None. "
                f"Received: ignore_index={ignore_index!r}"
            )
        self.ignore_index = None if ignore_index is None else int(ignore_index)
        super().__init__(
            name,
            kind=kind,
            num_classes=num_classes,
            units=units,
            weight=weight,
            head=head,
            loss=loss,
            metrics=metrics,
            class_names=class_names,
        )

    def get_config(self):
        config = super().get_config()
        if self.ignore_index is not None:
            config["ignore_index"] = self.ignore_index
        return config

    def output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.num_classes)

    def label_shape(self, input_shape):
        return (input_shape[0], input_shape[1])

    def label_shapes(self, input_shape):
        shape = self.label_shape(input_shape)
        return (shape, shape + (1,))

    def standardize(self, y_true, y_pred):
        y_true = ops.convert_to_tensor(y_true)
        if len(y_true.shape) == 4:
            y_true = ops.squeeze(y_true, -1)
        return y_true

    def present_mask(self, y_true):
        y = ops.cast(y_true, "float32")
        present = y >= 0
        if self.ignore_index is not None:
            present = present & (y != float(self.ignore_index))
        return ops.cast(present, "float32")

    def invalid_labels(self, y_true):
        rule = (
            f"whole-number class ids in [0, {self.num_classes}), or -1 "
            "for a missing pixel"
        )
        if self.ignore_index is None:
            rule += " (pass ignore_index= to Task to ignore another value)"
        else:
            rule += f" or the ignore_index {self.ignore_index}"
        bad = _ops.invalid_class_ids(
            y_true, self.num_classes, self.ignore_index
        )
        return [(bad, y_true, rule)]

    def safe_labels(self, y_true, y_pred, one_hot=False):
        ids = self._ids(y_true)
        if one_hot:
            return ops.one_hot(ids, self.num_classes)
        return ids

    def element_loss(self, y_true, y_pred):
        return keras.losses.sparse_categorical_crossentropy(
            self._ids(y_true), y_pred
        )

    def _ids(self, y_true):
        """Class ids with missing and ignored pixels set to 0."""
        y = _ops.finite_or_zero(y_true)
        y = ops.where(self.present_mask(y_true) > 0, y, ops.zeros_like(y))
        return _ops.class_ids(y, self.num_classes)

    def build_default_metrics(self):
        n = self.name
        return [
            keras.metrics.Mean(name=f"{n}_pixel_accuracy"),
            keras.metrics.MeanIoU(
                self.num_classes,
                name=f"{n}_mean_iou",
                sparse_y_pred=False,
                dtype="float32",
            ),
        ]

    def update_metric_states(self, metrics, y_true, y_pred, mask):
        labels = self._ids(y_true)
        hit = _ops.argmax(y_pred) == labels
        metrics[0].update_state(ops.cast(hit, "float32"), mask)
        metrics[1].update_state(labels, y_pred, sample_weight=mask)

    def random_labels(self, rng, input_shape, batch_size):
        shape = (batch_size, input_shape[0], input_shape[1])
        return rng.integers(0, self.num_classes, shape).astype("int32")

    def decode(self, value):
        value = np.asarray(value)
        if value.ndim == 3 and value.shape[-1] > 1:
            return np.argmax(value, -1)
        return value.reshape(value.shape[:2]).astype("int64")

    def postprocess(self, value, crop_box, image_size, threshold=0.5):
        """`probabilities` `(height, width, C)` at the image's resolution
        (bilinear; outside the crop, class 0 with probability 1), `mask`
        `(height, width)` int32 class ids (two classes: 1 where its
        probability >= `threshold`; more: the argmax) and `fractions` (of
        the image's pixels per class)."""
        probs = np.asarray(value, "float32")
        if probs.ndim == 2 or probs.shape[-1] == 1:  # class ids
            probs = np.eye(self.num_classes, dtype="float32")[
                np.asarray(value).reshape(probs.shape[:2]).astype("int64")
            ]
        fill = np.eye(self.num_classes, dtype="float32")[0]
        probs = _crop.maps_to_image(probs, crop_box, image_size, fill)
        if self.num_classes == 2:
            mask = (probs[..., 1] >= threshold).astype("int32")
        else:
            mask = np.argmax(probs, -1).astype("int32")
        counts = np.bincount(mask.ravel(), minlength=self.num_classes)
        return {
            "probabilities": probs,
            "mask": mask,
            "fractions": [float(c) / mask.size for c in counts],
        }

    def class_scores(self, value):
        """Fraction of pixels of each class."""
        ids = self.decode(value)
        counts = np.bincount(ids[ids >= 0].ravel(), minlength=self.num_classes)
        return counts[: self.num_classes] / ids.size

    def summarize(self, value, class_names=None, top_k=3):
        fractions = self.class_scores(value)
        return {"class_fractions": [float(f) for f in fractions]}

    def describe(self, value, class_names=None):
        class_names = self.names(class_names)
        fractions = self.summarize(value)["class_fractions"]
        order = np.argsort(fractions)[::-1][:3]
        return ", ".join(
            f"{_arrays.class_name(j, class_names)} {fractions[j]:.0%}"
            for j in order
            if fractions[j] > 0
        )

    @classmethod
    def colorize(cls, values, value_range=None):
        """Class ids `(N, H, W)` or probabilities `(N, H, W, C)` coloured
        by `PALETTE` (id 0 black, missing `-1` white)."""
        a = np.asarray(values)
        if a.ndim == 4 and a.shape[-1] > 1:
            ids = np.argmax(a, axis=-1)
        elif a.ndim in (3, 4):
            ids = a.reshape(a.shape[:3]).astype("int64")
        else:
            raise ValueError(
                "Segmentation maps must be (N, H, W) ids or (N, H, W, C) "
                f"probabilities. Received: values.shape={a.shape}"
            )
        rgb = PALETTE[np.mod(ids, len(PALETTE))]
        rgb[ids < 0] = 255
        return rgb.astype("uint8")

    @classmethod
    def check_export(cls, expected, got, labels=None):
        return _arrays.class_agreement(expected, got, labels, "class_agreement")
