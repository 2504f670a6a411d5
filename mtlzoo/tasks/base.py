"""The `Task` base class.

A task kind (`"classification"`, `"depth"`, ...) is a subclass of `Task`
registered under its name with `register_kind` (in
`mtlzoo.tasks.registry`; this module re-exports its names).
`Task(name, kind, ...)` returns an instance of the kind's class, so configs
that name a kind by its string keep working. The base class runs the shared
logic (argument checks, masking, sample weights, the masked mean of the
loss, metric updates, the task's own loss and metrics); a kind fills in its
shapes, its loss per element, its metrics and its hooks for heads, tests,
export, plots and search spaces.
"""

import copy

import keras
import numpy as np
from keras import ops

from mtlzoo.tasks import _class_names
from mtlzoo.tasks import _ops
from mtlzoo.tasks import _user_objects
from mtlzoo.tasks._hooks import TaskHooksMixin
from mtlzoo.tasks._label_checks import LabelChecksMixin
from mtlzoo.tasks._metrics import TaskMetricsMixin
from mtlzoo.tasks.registry import check_name
from mtlzoo.tasks.registry import get_kind  # noqa: F401
from mtlzoo.tasks.registry import kind_class
from mtlzoo.tasks.registry import list_kinds  # noqa: F401
from mtlzoo.tasks.registry import metric_directions  # noqa: F401
from mtlzoo.tasks.registry import register_kind  # noqa: F401
from mtlzoo.tasks.registry import unregister_kind  # noqa: F401
from mtlzoo.tasks.registry import validate_tasks  # noqa: F401


@keras.saving.register_keras_serializable(package="mtlzoo")
class Task(LabelChecksMixin, TaskMetricsMixin, TaskHooksMixin):
    """One prediction problem of a multi-task model.

    A task knows its output shape, its default head, its loss, its metrics,
    how to check a label, and which labels are missing: `-1` for class
    labels, `NaN` for continuous ones. Missing entries contribute neither
    loss nor metric updates; a batch without any label of the task gives a
    loss of exactly 0 for it.

    `Task(name, kind, ...)` returns an instance of the class registered for
    `kind` (see `mtlzoo.tasks.list_kinds()`), e.g. a
    `mtlzoo.tasks.ClassificationTask`; that class can also be called
    directly, without `kind`.

    Args:
        name: str. Task name; keys the model outputs, the labels and the
            logs (`<name>_loss`, `<name>_accuracy`, ...).
        kind: str. One of `"classification"`, `"multilabel"`,
            `"regression"`, `"segmentation"`, `"depth"`, `"normals"`,
            `"box"` (one box `[y1, x1, y2, x2]` in 0..1 and one class per
            image; the label is `[y1, x1, y2, x2, class]`), or a kind
            registered with `mtlzoo.tasks.register_kind`.
        num_classes: int. Classes, for classification, multilabel,
            segmentation and box tasks.
        units: int. Output size of a regression task. Defaults to 1.
        weight: float. Initial task weight. Defaults to 1.0.
        head: dict. Options of the task's head (see `mtlzoo.heads`), e.g.
            `{"units": [128]}`. Defaults to the head's own defaults.
        loss: the task's own loss instead of the kind's: a name of
            `keras.losses` (`"huber"`), a `keras.losses.Loss`
            (`keras.losses.Huber(delta=0.5)`, or a registered subclass) or
            a callable `fn(y_true, y_pred)` returning one value per sample
            or per label entry. Missing labels are still masked: the loss
            sees them replaced by a safe value (class 0, or the prediction
            itself for continuous labels), its output is averaged over
            present entries only (an entry that averages several label
            values counts when all are present) and a batch without labels
            gives exactly 0. Keras's categorical losses
            (`CategoricalFocalCrossentropy`, ...) get one-hot labels on
            tasks labelled by class ids; other losses get the ids.
            Defaults to None (the kind's loss, see `loss_name`).
        metrics: list. Metrics added to the kind's own ones (which stay:
            `primary_metric` scores the task): names of `keras.metrics`,
            `keras.metrics.Metric` objects or callables
            `fn(y_true, y_pred)`. Each is logged as `<task>_<metric name>`
            and updated with the present-label mask as `sample_weight`;
            labels are prepared as for `loss`. Defaults to None.
        class_names: list of str. One name per class (kinds with
            `num_classes`), used by `describe`, `summarize` and
            `decode_predictions`. Defaults to None (class ids).

    A task with its own loss or metrics saves them in `get_config()` (and
    `.keras` files): Keras's own objects and names, and objects registered
    with `keras.saving.register_keras_serializable`, load back; a lambda
    cannot, and `get_config()` says so.

    Example:

    >>> task = mtlzoo.Task("garment", "classification", num_classes=10)
    >>> task.primary_metric
    'garment_accuracy'
    >>> ink = mtlzoo.Task("ink", "regression", loss=keras.losses.Huber(0.5))
    """

    #: str. The registered kind name (set by `register_kind`).
    kind = None
    #: int or None. Minimum `num_classes`; None: the kind takes none.
    num_classes_min = None
    #: bool. Whether the kind takes `units` (defaulting to 1).
    takes_units = False
    #: str or None. The argument the N of a `NAME:KIND:N` declaration
    #: sets; None: `num_classes` or `units` as the kind takes.
    count_option = None
    #: bool. Whether the task predicts one value per pixel.
    is_dense = False
    #: str. dtype of labels made by `random_labels` and of missing fills.
    label_dtype = "float32"
    #: tuple of str. Accepted label dtype families ("int", "float").
    label_dtypes = ("float",)
    #: dict. Metric name suffix -> whether higher is better, in the order
    #: of `build_metrics()`.
    metric_directions = {}
    #: str. The suffix of the metric that scores the task (for delta_m).
    primary_metric_name = None
    #: str. Registry name of the default head (`mtlzoo.heads.get`).
    default_head = None
    #: str or None. Activation of the head's output layer.
    output_activation = None
    #: bool. Whether outputs are unit vectors (the head normalises them).
    unit_vectors = False
    #: str or None. Head hyperparameter family of `mtlzoo.tuning`
    #: (`"mlp"`: units and layers; `"dense"`: decoder width and convs).
    head_search_space = "mlp"
    #: str. The loss in words, for model cards.
    loss_name = ""
    #: bool. Whether the last axis of a label holds the components of one
    #: value (what Keras losses and metrics average over).
    vector_labels = False
    #: bool. Whether labels are class ids (one-hot for Keras's categorical
    #: losses and metrics).
    sparse_labels = False
    #: str or None. The Keras metric that `metrics=["accuracy"]` means for
    #: this kind (as `keras.Model.compile` picks one).
    accuracy_metric = None

    def __new__(cls, *args, **kwargs):
        if cls is Task:
            name = args[0] if args else kwargs.get("name")
            kind = args[1] if len(args) > 1 else kwargs.get("kind")
            check_name(name)
            cls = kind_class(name, kind)
        return super().__new__(cls)

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
    ):
        check_name(name)
        if kind is not None and kind != self.kind:
            raise ValueError(
                f"Task '{name}': {type(self).__name__} is the kind "
                f"'{self.kind}'. Received: kind={kind!r}"
            )
        self.name = name
        num_classes, units = self.check_arguments(num_classes, units)
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
        self.num_classes = num_classes
        self.units = units
        self.weight = weight
        self.head = dict(head or {})
        self.class_names = _class_names.check_class_names(self, class_names)
        self.loss, self._loss_fn = _user_objects.check_loss(name, loss)
        self.metrics = _user_objects.check_metrics(name, metrics)
        self._check_metric_names()

    def _check_metric_names(self):
        taken = {f"{self.name}_{m}" for m in self.metric_directions}
        taken |= {f"{self.name}_loss", f"{self.name}_weight"}
        for metric in self.metrics:
            if isinstance(metric, str):  # an unknown name fails here
                _user_objects.build_metric(self, metric)
            name = _user_objects.log_name(self, metric)
            if name in taken:
                raise ValueError(
                    f"Task '{self.name}': metric name '{name}' is already "
                    "taken (by a default metric, the loss, the weight or "
                    "another metric); give the metric another `name`. "
                    f"Received: metrics={self.metrics!r}"
                )
            taken.add(name)

    def check_arguments(self, num_classes, units):
        """Check and normalise `num_classes` and `units` for this kind.

        Follows `num_classes_min` and `takes_units`; override for other
        rules.

        Returns:
            `(num_classes, units)`.
        """
        name, kind, low = self.name, self.kind, self.num_classes_min
        if low is not None:
            if (
                isinstance(num_classes, bool)
                or not isinstance(num_classes, (int, np.integer))
                or num_classes < low
            ):
                raise ValueError(
                    f"Task '{name}' of kind '{kind}' needs an integer "
                    f"num_classes >= {low}. "
                    f"Received: num_classes={num_classes!r}"
                )
            num_classes = int(num_classes)
        elif num_classes is not None:
            raise ValueError(
                f"Task '{name}' of kind '{kind}' takes no num_classes. "
                f"Received: num_classes={num_classes!r}"
            )
        if self.takes_units:
            units = 1 if units is None else units
            if not isinstance(units, (int, np.integer)) or units < 1:
                raise ValueError(
                    f"Task '{name}' needs an integer units >= 1. "
                    f"Received: units={units!r}"
                )
            units = int(units)
        elif units is not None:
            raise ValueError(
                f"Task '{name}' of kind '{kind}' takes no units (only "
                f"regression-like kinds do). Received: units={units!r}"
            )
        return num_classes, units

    # ------------------------------------------------------------------
    @property
    def primary_metric(self):
        """Log name of the metric that scores this task (for delta_m)."""
        return f"{self.name}_{self.primary_metric_name}"

    @property
    def higher_is_better(self):
        """Whether a larger primary metric is better."""
        return self.metric_directions[self.primary_metric_name]

    @property
    def missing_label(self):
        """The value that marks a missing label: -1 (integer labels) or
        NaN."""
        return -1 if "int" in self.label_dtype else float("nan")

    def output_shape(self, input_shape):
        """Per-sample output shape for images of `input_shape`."""
        raise NotImplementedError

    def label_shape(self, input_shape):
        """Per-sample label shape expected by `compute_loss`."""
        raise NotImplementedError

    def label_shapes(self, input_shape):
        """Accepted per-sample label shapes, `label_shape` first."""
        return (self.label_shape(input_shape),)

    def get_config(self):
        """The constructor arguments, JSON-able. `loss`, `metrics` and
        `class_names` appear only when set.

        Raises:
            ValueError: when the loss or a metric cannot be saved (a
                lambda, or an unregistered custom object).
        """
        config = {
            "name": self.name,
            "kind": self.kind,
            "num_classes": self.num_classes,
            "units": self.units,
            "weight": self.weight,
            "head": dict(self.head),
        }
        if self.loss is not None:
            config["loss"] = _user_objects.serialize(
                self.name, "loss", self.loss
            )
        if self.metrics:
            config["metrics"] = [
                _user_objects.serialize(self.name, "metric", m)
                for m in self.metrics
            ]
        if self.class_names is not None:
            config["class_names"] = list(self.class_names)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # Keras objects copy and pickle through their own `get_config`, which
    # loses arguments for some (`Huber.delta`): go through the task's.
    def __reduce__(self):
        return (type(self).from_config, (self.get_config(),))

    def __copy__(self):
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    def __deepcopy__(self, memo):
        """A copy with its own `head` and lists; the loss and metric
        objects are shared (they hold no state: a model builds fresh
        metrics with `build_metrics`)."""
        new = self.__copy__()
        new.head = copy.deepcopy(self.head, memo)
        new.metrics = list(self.metrics)
        if self.class_names is not None:
            new.class_names = list(self.class_names)
        return new

    def __repr__(self):
        extra = ""
        if self.num_classes is not None:
            extra = f", num_classes={self.num_classes}"
        if self.units is not None:
            extra += f", units={self.units}"
        return f"Task({self.name!r}, {self.kind!r}{extra})"

    def __eq__(self, other):
        if not isinstance(other, Task):
            return False
        try:
            return self.get_config() == other.get_config()
        except ValueError:  # a loss or metric that cannot be serialised
            return self is other

    __hash__ = None

    # ------------------------------------------------------------------
    def standardize(self, y_true, y_pred):
        """Bring labels to the prediction's layout (a tensor)."""
        return ops.convert_to_tensor(y_true)

    def present_mask(self, y_true):
        """Float mask of present entries of standardised labels, shaped like
        the per-element loss. Defaults to "not NaN"."""
        return ops.cast(~ops.isnan(ops.cast(y_true, "float32")), "float32")

    def label_mask(self, y_true, y_pred=None):
        """Float mask of present labels, shaped like the per-element loss."""
        if y_pred is not None:
            y_true = self.standardize(y_true, y_pred)
        return self.present_mask(y_true)

    def entry_mask(self, y_true):
        """Float mask of present labels for the task's own loss and
        metrics, shaped like the standardised labels or with fewer
        trailing axes. Defaults to `present_mask`."""
        return self.present_mask(y_true)

    def safe_labels(self, y_true, y_pred, one_hot=False):
        """Standardised labels with missing entries replaced by a safe
        value, for the task's own loss and metrics. Defaults to the
        prediction itself (a pointwise loss is 0 there, and no NaN reaches
        the graph); needs labels shaped like `y_pred`.

        Args:
            y_true: tensor. Standardised labels.
            y_pred: float32 tensor. Predictions.
            one_hot: bool. One-hot class ids (for `sparse_labels` kinds).
        """
        y = ops.cast(y_true, "float32")
        return ops.where(ops.isnan(y), ops.stop_gradient(y_pred), y)

    def element_loss(self, y_true, y_pred):
        """Loss per element (shaped like `present_mask`); labels are
        standardised, missing entries may hold anything."""
        raise NotImplementedError

    def compute_loss(self, y_true, y_pred, sample_weight=None):
        """Masked mean loss of a batch; 0 when no label is present.

        Uses the task's own `loss` when one was given, else
        `default_loss`. Inside `strategy.run` with several replicas, the
        mean is over the whole batch (every replica's labels, see
        `mtlzoo.tasks._ops.masked_mean`).

        Args:
            y_true: tensor. Labels (missing ones `-1` or `NaN`).
            y_pred: tensor. The head's output.
            sample_weight: optional tensor `(batch,)`. Extra per-sample
                weights; 0 marks a sample as unlabelled for this task.
        """
        if self._loss_fn is not None:
            return _user_objects.masked_loss(
                self,
                self._loss_fn,
                self.sparse_labels and _user_objects.wants_one_hot(self.loss),
                y_true,
                y_pred,
                sample_weight,
            )
        return self.default_loss(y_true, y_pred, sample_weight)

    def default_loss(self, y_true, y_pred, sample_weight=None):
        """The kind's own masked mean loss (`element_loss` masked by
        `present_mask`); override for compound losses. Arguments as
        `compute_loss`."""
        y_true = self.standardize(y_true, y_pred)
        mask = self.present_mask(y_true)
        per = self.element_loss(y_true, ops.cast(y_pred, "float32"))
        mask = self._apply_sample_weight(mask, sample_weight)
        return _ops.masked_mean(per, mask)

    def _apply_sample_weight(self, mask, sample_weight):
        return _ops.apply_sample_weight(mask, sample_weight)
