"""Tasks: what a head predicts, how it is scored, and which labels count."""

import keras
import numpy as np
from keras import ops

from mtlzoo import metrics as mtl_metrics

KINDS = (
    "classification",
    "multilabel",
    "regression",
    "segmentation",
    "depth",
    "normals",
    "box",
)
DENSE_KINDS = ("segmentation", "depth", "normals")

# kind -> (primary metric, higher is better)
PRIMARY_METRICS = {
    "classification": ("accuracy", True),
    "multilabel": ("accuracy", True),
    "regression": ("mae", False),
    "segmentation": ("mean_iou", True),
    "depth": ("abs_err", False),
    "normals": ("mean_angle", False),
    "box": ("iou", True),
}
_NEEDS_CLASSES = ("classification", "multilabel", "segmentation", "box")
_EPS = 1e-7


def _masked_mean(values, mask):
    """Mean of `values` where `mask` is 1; exactly 0 with an empty mask."""
    values = ops.cast(values, "float32")
    mask = ops.cast(mask, "float32")
    total = ops.sum(values * mask)
    count = ops.sum(mask)
    return total / ops.maximum(count, 1.0)


def _argmax(y_pred):
    return ops.cast(ops.argmax(y_pred, -1), "int32")


def _finite_or_zero(y):
    y = ops.cast(y, "float32")
    return ops.where(ops.isnan(y), ops.zeros_like(y), y)


@keras.saving.register_keras_serializable(package="mtlzoo")
class Task:
    """One prediction problem of a multi-task model.

    A task knows its output shape, its default head, its loss, its metrics,
    how to check a label, and which labels are missing: `-1` for class
    labels, `NaN` for continuous ones. Missing entries contribute neither
    loss nor metric updates; a batch without any label of the task gives a
    loss of exactly 0 for it.

    Args:
        name: str. Task name; keys the model outputs, the labels and the
            logs (`<name>_loss`, `<name>_accuracy`, ...).
        kind: str. One of `"classification"`, `"multilabel"`,
            `"regression"`, `"segmentation"`, `"depth"`, `"normals"`,
            `"box"` (one box `[y1, x1, y2, x2]` in 0..1 and one class per
            image; the label is `[y1, x1, y2, x2, class]`).
        num_classes: int. Classes, for classification, multilabel,
            segmentation and box tasks.
        units: int. Output size of a regression task. Defaults to 1.
        weight: float. Initial task weight. Defaults to 1.0.
        head: dict. Options of the task's head (see `mtlzoo.heads`), e.g.
            `{"units": [128]}`. Defaults to the head's own defaults.

    Example:

    >>> task = mtlzoo.Task("garment", "classification", num_classes=10)
    >>> task.primary_metric
    'garment_accuracy'
    """

    def __init__(
        self, name, kind, num_classes=None, units=None, weight=1.0, head=None
    ):
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(
                "A task name must be a non-empty identifier (letters, digits, "
                f"underscores). Received: name={name!r}"
            )
        if kind not in KINDS:
            raise ValueError(
                f"Unknown task kind for task '{name}'. Expected one of "
                f"{list(KINDS)}. Received: kind={kind!r}"
            )
        if kind in _NEEDS_CLASSES:
            if not isinstance(num_classes, (int, np.integer)) or (
                num_classes < (1 if kind == "multilabel" else 2)
            ):
                raise ValueError(
                    f"Task '{name}' of kind '{kind}' needs an integer "
                    f"num_classes >= 2 (>= 1 for multilabel). "
                    f"Received: num_classes={num_classes!r}"
                )
            num_classes = int(num_classes)
        elif num_classes is not None:
            raise ValueError(
                f"Task '{name}' of kind '{kind}' takes no num_classes. "
                f"Received: num_classes={num_classes!r}"
            )
        if kind == "regression":
            units = 1 if units is None else units
            if not isinstance(units, (int, np.integer)) or units < 1:
                raise ValueError(
                    f"Task '{name}' needs an integer units >= 1. "
                    f"Received: units={units!r}"
                )
            units = int(units)
        elif units is not None:
            raise ValueError(
                f"Only regression tasks take units; task '{name}' is "
                f"'{kind}'. Received: units={units!r}"
            )
        try:
            weight = float(weight)
        except (TypeError, ValueError):
            weight = float("nan")
        if not np.isfinite(weight) or weight < 0:
            raise ValueError(
                f"Task '{name}' needs a finite, non-negative weight. "
                f"Received: weight={weight!r}"
            )
        if head is not None and not isinstance(head, dict):
            raise TypeError(
                f"Task '{name}': head options must be a dict. "
                f"Received: head={head!r}"
            )
        self.name = name
        self.kind = kind
        self.num_classes = num_classes
        self.units = units
        self.weight = weight
        self.head = dict(head or {})

    # ------------------------------------------------------------------
    @property
    def is_dense(self):
        """Whether the task predicts one value per pixel."""
        return self.kind in DENSE_KINDS

    @property
    def primary_metric(self):
        """Log name of the metric that scores this task (for delta_m)."""
        return f"{self.name}_{PRIMARY_METRICS[self.kind][0]}"

    @property
    def higher_is_better(self):
        """Whether a larger primary metric is better."""
        return PRIMARY_METRICS[self.kind][1]

    def output_shape(self, input_shape):
        """Per-sample output shape for images of `input_shape`."""
        h, w = input_shape[0], input_shape[1]
        return {
            "classification": (self.num_classes,),
            "multilabel": (self.num_classes,),
            "regression": (self.units,),
            "segmentation": (h, w, self.num_classes),
            "depth": (h, w, 1),
            "normals": (h, w, 3),
            "box": (4 + (self.num_classes or 0),),
        }[self.kind]

    def label_shape(self, input_shape):
        """Per-sample label shape expected by `compute_loss`."""
        h, w = input_shape[0], input_shape[1]
        return {
            "classification": (),
            "multilabel": (self.num_classes,),
            "regression": (self.units,),
            "segmentation": (h, w),
            "depth": (h, w, 1),
            "normals": (h, w, 3),
            "box": (5,),
        }[self.kind]

    def get_config(self):
        return {
            "name": self.name,
            "kind": self.kind,
            "num_classes": self.num_classes,
            "units": self.units,
            "weight": self.weight,
            "head": dict(self.head),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        extra = ""
        if self.num_classes is not None:
            extra = f", num_classes={self.num_classes}"
        if self.units is not None:
            extra += f", units={self.units}"
        return f"Task({self.name!r}, {self.kind!r}{extra})"

    def __eq__(self, other):
        return isinstance(other, Task) and (
            self.get_config() == other.get_config()
        )

    __hash__ = None

    # ------------------------------------------------------------------
    def validate_label_spec(self, shape, dtype, input_shape):
        """Check a batched label's shape and dtype; raise ValueError if off.

        Args:
            shape: tuple. Batched label shape (batch dim may be None).
            dtype: str or dtype. Label dtype.
            input_shape: tuple. The model's per-sample input shape.
        """
        shape = tuple(shape)
        expected = self.label_shape(input_shape)
        per_sample = shape[1:]
        alt = None
        if self.kind == "classification":
            alt = (1,)
        elif self.kind == "segmentation":
            alt = expected + (1,)
        elif self.kind == "depth":
            alt = expected[:2]
        elif self.kind == "regression" and self.units == 1:
            alt = ()
        ok = per_sample in (expected, alt)
        if ok:
            ok = all(
                a is None or b is None or a == b
                for a, b in zip(per_sample, expected)
            )
        if not ok:
            raise ValueError(
                f"Labels of task '{self.name}' ({self.kind}) must have shape "
                f"(batch, *{expected}). Received: shape={shape}"
            )
        name = keras.backend.standardize_dtype(dtype)
        integer_kinds = ("classification", "segmentation")
        if self.kind in integer_kinds and not (
            "int" in name or "float" in name
        ):
            raise ValueError(
                f"Labels of task '{self.name}' must be integer class ids "
                f"(-1 for missing). Received: dtype={name}"
            )
        if self.kind not in integer_kinds and "float" not in name:
            if not (self.kind == "multilabel" and "int" in name):
                raise ValueError(
                    f"Labels of task '{self.name}' ({self.kind}) must be "
                    f"floating point (NaN for missing). Received: dtype={name}"
                )

    # ------------------------------------------------------------------
    def _standardize(self, y_true, y_pred):
        """Bring labels to the prediction's layout."""
        y_true = ops.convert_to_tensor(y_true)
        if self.kind == "classification":
            y_true = ops.reshape(y_true, (-1,))
        elif self.kind == "segmentation":
            if len(y_true.shape) == 4:
                y_true = ops.squeeze(y_true, -1)
        elif self.kind == "depth":
            if len(y_true.shape) == 3:
                y_true = ops.expand_dims(y_true, -1)
        elif self.kind == "regression":
            y_true = ops.reshape(y_true, ops.shape(y_pred))
        return y_true

    def label_mask(self, y_true, y_pred=None):
        """Float mask of present labels, shaped like the per-element loss."""
        if y_pred is not None:
            y_true = self._standardize(y_true, y_pred)
        y = ops.cast(y_true, "float32")
        if self.kind in ("classification", "segmentation"):
            return ops.cast(y >= 0, "float32")
        if self.kind == "multilabel":
            return ops.cast(ops.logical_and(y >= 0, ~ops.isnan(y)), "float32")
        if self.kind in ("regression", "depth"):
            return ops.cast(~ops.isnan(y), "float32")
        if self.kind == "normals":
            return ops.cast(~ops.any(ops.isnan(y), axis=-1), "float32")
        # box: [box present, class present]
        box_ok = ~ops.any(ops.isnan(y[:, :4]), axis=-1)
        cls_ok = ops.logical_and(~ops.isnan(y[:, 4]), y[:, 4] >= 0)
        return ops.stack(
            [ops.cast(box_ok, "float32"), ops.cast(cls_ok, "float32")], -1
        )

    def compute_loss(self, y_true, y_pred, sample_weight=None):
        """Masked mean loss of a batch; 0 when no label is present.

        Args:
            y_true: tensor. Labels (missing ones `-1` or `NaN`).
            y_pred: tensor. The head's output.
            sample_weight: optional tensor `(batch,)`. Extra per-sample
                weights; 0 marks a sample as unlabelled for this task.
        """
        y_true = self._standardize(y_true, y_pred)
        mask = self.label_mask(y_true)
        y_pred = ops.cast(y_pred, "float32")
        kind = self.kind
        if kind in ("classification", "segmentation"):
            labels = ops.cast(
                ops.maximum(ops.cast(y_true, "int32"), 0), "int32"
            )
            per = keras.losses.sparse_categorical_crossentropy(labels, y_pred)
        elif kind == "multilabel":
            labels = _finite_or_zero(ops.maximum(y_true, 0.0))
            probs = ops.clip(y_pred, _EPS, 1.0 - _EPS)
            per = -(labels * ops.log(probs) + (1 - labels) * ops.log(1 - probs))
        elif kind == "regression":
            per = ops.square(_finite_or_zero(y_true) - y_pred)
        elif kind == "depth":
            per = ops.abs(_finite_or_zero(y_true) - y_pred)
        elif kind == "normals":
            per = 1.0 - mtl_metrics.cosine(_finite_or_zero(y_true), y_pred)
        else:
            return self._box_loss(y_true, y_pred, mask, sample_weight)
        mask = self._apply_sample_weight(mask, sample_weight)
        return _masked_mean(per, mask)

    def _apply_sample_weight(self, mask, sample_weight):
        if sample_weight is None:
            return mask
        sw = ops.cast(ops.reshape(sample_weight, (-1,)), "float32")
        sw = ops.reshape(sw, (-1,) + (1,) * (len(mask.shape) - 1))
        return mask * sw

    def _box_loss(self, y_true, y_pred, mask, sample_weight):
        y_true = ops.cast(y_true, "float32")
        mask = self._apply_sample_weight(mask, sample_weight)
        box_true = _finite_or_zero(y_true[:, :4])
        box_l1 = ops.sum(ops.abs(box_true - y_pred[:, :4]), axis=-1)
        box_loss = _masked_mean(box_l1, mask[:, 0])
        labels = ops.cast(
            _finite_or_zero(ops.maximum(y_true[:, 4], 0)), "int32"
        )
        ce = keras.losses.sparse_categorical_crossentropy(labels, y_pred[:, 4:])
        return box_loss + _masked_mean(ce, mask[:, 1])

    # ------------------------------------------------------------------
    def build_metrics(self):
        """Fresh metric objects for this task, named `<task>_<metric>`."""
        n = self.name
        mean = keras.metrics.Mean
        if self.kind in ("classification", "multilabel"):
            return [mean(name=f"{n}_accuracy")]
        if self.kind == "regression":
            return [mean(name=f"{n}_mae")]
        if self.kind == "segmentation":
            return [
                mean(name=f"{n}_pixel_accuracy"),
                keras.metrics.MeanIoU(
                    self.num_classes,
                    name=f"{n}_mean_iou",
                    sparse_y_pred=False,
                    dtype="float32",
                ),
            ]
        if self.kind == "depth":
            return [mean(name=f"{n}_abs_err"), mean(name=f"{n}_rel_err")]
        if self.kind == "normals":
            return [mean(name=f"{n}_mean_angle")]
        return [mean(name=f"{n}_iou"), mean(name=f"{n}_accuracy")]

    def update_metrics(self, metrics, y_true, y_pred, sample_weight=None):
        """Update `build_metrics()` objects, counting present labels only."""
        y_true = self._standardize(y_true, y_pred)
        mask = self._apply_sample_weight(self.label_mask(y_true), sample_weight)
        y_pred = ops.cast(y_pred, "float32")
        kind = self.kind
        if kind == "classification":
            hit = _argmax(y_pred) == ops.cast(y_true, "int32")
            metrics[0].update_state(ops.cast(hit, "float32"), mask)
        elif kind == "multilabel":
            y = ops.cast(_finite_or_zero(y_true), "float32")
            hit = ops.cast(y_pred > 0.5, "float32") == y
            metrics[0].update_state(ops.cast(hit, "float32"), mask)
        elif kind == "regression":
            err = ops.abs(_finite_or_zero(y_true) - y_pred)
            metrics[0].update_state(err, mask)
        elif kind == "segmentation":
            labels = ops.maximum(ops.cast(y_true, "int32"), 0)
            hit = _argmax(y_pred) == labels
            metrics[0].update_state(ops.cast(hit, "float32"), mask)
            metrics[1].update_state(labels, y_pred, sample_weight=mask)
        elif kind == "depth":
            y = _finite_or_zero(y_true)
            err = ops.abs(y - y_pred)
            metrics[0].update_state(err, mask)
            rel_mask = mask * ops.cast(ops.abs(y) > _EPS, "float32")
            rel = err / ops.maximum(ops.abs(y), _EPS)
            metrics[1].update_state(rel, rel_mask)
        elif kind == "normals":
            angle = mtl_metrics.angle_degrees(_finite_or_zero(y_true), y_pred)
            metrics[0].update_state(angle, mask)
        else:
            y = _finite_or_zero(y_true)
            iou = mtl_metrics.box_iou(y[:, :4], y_pred[:, :4])
            metrics[0].update_state(iou, mask[:, 0])
            hit = _argmax(y_pred[:, 4:]) == ops.cast(y[:, 4], "int32")
            metrics[1].update_state(ops.cast(hit, "float32"), mask[:, 1])


def validate_tasks(tasks):
    """Check a task list: Task objects with unique names. Returns a list."""
    if isinstance(tasks, Task):
        tasks = [tasks]
    if not isinstance(tasks, (list, tuple)) or not tasks:
        raise ValueError(
            f"`tasks` must be a non-empty list of mtlzoo.Task. "
            f"Received: tasks={tasks!r}"
        )
    out = []
    for task in tasks:
        if isinstance(task, dict):
            task = Task.from_config(task)
        if not isinstance(task, Task):
            raise TypeError(
                f"Every entry of `tasks` must be an mtlzoo.Task. "
                f"Received: task={task!r}"
            )
        out.append(task)
    names = [t.name for t in out]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise ValueError(
            f"Task names must be unique; duplicated: {dups}. "
            f"Received: task names={names}"
        )
    return out
