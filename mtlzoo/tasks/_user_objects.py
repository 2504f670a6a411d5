"""A task's own loss and metrics: checking, calling, masking, saving.

`Task(..., loss=..., metrics=[...])` takes Keras loss and metric objects,
their names, their serialised configs and plain callables
`fn(y_true, y_pred)`. This module turns them into callables, applies the
missing-label mask to what they return and serialises them for
`Task.get_config()`.
"""

import inspect
import json
import types
import warnings

import keras
from keras import ops

from mtlzoo.tasks import _ops

_ACCURACY_NAMES = ("accuracy", "acc")


def check_loss(task_name, loss):
    """`(loss, fn)`: the loss as kept for `get_config` and its callable.

    Args:
        task_name: str. For error messages.
        loss: None, a name (`"huber"`), a serialised config (dict), a
            `keras.losses.Loss` or a callable `fn(y_true, y_pred)`.
    """
    if loss is None:
        return None, None
    if isinstance(loss, dict):
        loss = _deserialize(task_name, "loss", loss)
    if isinstance(loss, str):
        try:
            return loss, keras.losses.get(loss)
        except (ValueError, TypeError) as error:
            raise ValueError(
                f"Task '{task_name}': unknown loss name ({error}). Use a "
                "name of `keras.losses`, a `keras.losses.Loss` or a "
                f"callable. Received: loss={loss!r}"
            ) from None
    if isinstance(loss, keras.metrics.Metric) or not callable(loss):
        raise TypeError(
            f"Task '{task_name}': `loss` must be a Keras loss (object or "
            "name) or a callable fn(y_true, y_pred). "
            f"Received: loss={loss!r}"
        )
    return loss, loss


def check_metrics(task_name, metrics):
    """The task's own metrics as a list (None -> [])."""
    if metrics is None:
        return []
    if not isinstance(metrics, (list, tuple)):
        raise TypeError(
            f"Task '{task_name}': `metrics` must be a list of Keras metrics "
            f"(objects or names) or callables. Received: metrics={metrics!r}"
        )
    out = []
    for metric in metrics:
        if isinstance(metric, dict):
            metric = _deserialize(task_name, "metrics", metric)
        if isinstance(metric, str):
            pass
        elif isinstance(metric, keras.losses.Loss) or not callable(metric):
            raise TypeError(
                f"Task '{task_name}': every metric must be a Keras metric "
                "(object or name) or a callable fn(y_true, y_pred). "
                f"Received: metric={metric!r}"
            )
        out.append(metric)
    return out


def log_name(task, metric):
    """`<task>_<metric name>`: a name as given, else the metric's `name`
    or the function's `__name__`."""
    if isinstance(metric, str):
        name = metric
    elif isinstance(metric, keras.metrics.Metric):
        name = metric.name
    else:
        name = getattr(metric, "__name__", type(metric).__name__)
        name = "lambda" if name == "<lambda>" else name
    return f"{task.name}_{name}"


def build_metric(task, metric):
    """A fresh metric object for `metric`, named `log_name(task, metric)`."""
    name = log_name(task, metric)
    if isinstance(metric, str):
        key = metric
        if metric in _ACCURACY_NAMES and task.accuracy_metric:
            key = task.accuracy_metric
        try:
            obj = keras.metrics.get(key)
        except (ValueError, TypeError) as error:
            raise ValueError(
                f"Task '{task.name}': unknown metric name ({error}). "
                f"Received: metric={metric!r}"
            ) from None
        return _renamed(obj, name)
    if isinstance(metric, keras.metrics.Metric):
        return _renamed(metric, name)
    return keras.metrics.MeanMetricWrapper(metric, name=name)


def _renamed(metric, name):
    if isinstance(metric, types.FunctionType):
        return keras.metrics.MeanMetricWrapper(metric, name=name)
    config = {**complete_config(metric), "name": name}
    return type(metric).from_config(config)


_WRAPPERS = ("LossFunctionWrapper", "MeanMetricWrapper")


def complete_config(obj):
    """`obj.get_config()` plus constructor arguments it leaves out.

    Some Keras classes built on a function wrapper (`Huber` drops `delta`,
    `CosineSimilarity` `axis`, `SparseTopKCategoricalAccuracy`
    `from_sorted_ids` in Keras 3.15) return a config without their
    function's arguments, so they would load back with the defaults. The
    wrapper's own `get_config` has them: the missing ones that the class's
    constructor takes are added.
    """
    config = obj.get_config()
    cls = type(obj)
    if not cls.__module__.startswith("keras"):
        return config
    base = next((c for c in cls.__mro__[1:] if c.__name__ in _WRAPPERS), None)
    if base is None:
        return config
    params = inspect.signature(cls.__init__).parameters
    full = base.get_config(obj)
    extra = {k: v for k, v in full.items() if k in params and k not in config}
    return {**config, **extra}


def wants_one_hot(obj):
    """Whether a Keras loss or metric expects one-hot labels: its class or
    function name says "categorical" but not "sparse"
    (`CategoricalFocalCrossentropy`, `"top_k_categorical_accuracy"`)."""
    if isinstance(obj, str):
        text = obj
    else:
        fn = getattr(obj, "fn", None)
        text = " ".join(
            [
                type(obj).__name__,
                getattr(obj, "__name__", ""),
                getattr(fn, "__name__", ""),
            ]
        )
    text = text.lower()
    return "categorical" in text and "sparse" not in text


def masked_loss(task, fn, one_hot, y_true, y_pred, sample_weight):
    """Masked mean of a user loss over present labels; 0 with none."""
    y_true = task.standardize(y_true, y_pred)
    y_pred = ops.cast(y_pred, "float32")
    mask = task._apply_sample_weight(task.entry_mask(y_true), sample_weight)
    labels = task.safe_labels(y_true, y_pred, one_hot=one_hot)
    if isinstance(fn, keras.losses.Loss):
        dtype = fn.dtype or "float32"
        values = fn.call(ops.cast(labels, dtype), ops.cast(y_pred, dtype))
    else:
        values = fn(labels, y_pred)
    values = ops.cast(values, "float32")
    if len(values.shape) == 0:
        raise ValueError(
            f"Task '{task.name}': the loss must return one value per "
            "sample or per label entry (no reduction), so missing labels "
            "can be masked. Received: a loss output of shape ()"
        )
    weight = _ops.mask_like(mask, values)
    values = ops.where(weight > 0, values, ops.zeros_like(values))
    return _ops.masked_mean(values, weight)


def update_metrics(task, metrics, one_hot, y_true, y_pred, sample_weight):
    """Update user metrics with the present mask as `sample_weight`.

    For kinds whose label's last axis holds one value's components
    (`Task.vector_labels`), the weight is per entry, `(..., 1)`: an entry
    counts when all its components are present.
    """
    mask = task._apply_sample_weight(task.entry_mask(y_true), sample_weight)
    if task.vector_labels:
        mask = ops.min(mask, axis=-1, keepdims=True)
    for metric, hot in zip(metrics, one_hot):
        labels = task.safe_labels(y_true, y_pred, one_hot=hot)
        metric.update_state(labels, y_pred, sample_weight=mask)


def serialize(task_name, what, obj):
    """`obj` as a JSON-able config that loads back (names stay strings).

    Raises:
        ValueError: for a lambda or an object Keras cannot load back
            (not built into Keras and not registered).
    """
    if obj is None or isinstance(obj, str):
        return obj
    advice = (
        f"Task '{task_name}': its {what} cannot be saved. Define it as a "
        "named function (or a `keras.losses.Loss` / `keras.metrics.Metric` "
        "subclass) decorated with "
        "`@keras.saving.register_keras_serializable()`"
    )
    if getattr(obj, "__name__", None) == "<lambda>":
        raise ValueError(f"{advice}; a lambda cannot. Received: {what}={obj}")
    with warnings.catch_warnings():  # a nested lambda: the error below
        warnings.simplefilter("ignore")
        config = keras.saving.serialize_keras_object(obj)
        if isinstance(config, dict) and isinstance(config.get("config"), dict):
            plain = obj.get_config()
            for key, value in complete_config(obj).items():
                if key not in plain:
                    value = keras.saving.serialize_keras_object(value)
                    config["config"][key] = value
    if "__lambda__" in json.dumps(config, default=str):
        raise ValueError(
            f"{advice}; it holds a lambda. Received: {what}={obj!r}"
        )
    try:
        keras.saving.deserialize_keras_object(config)
    except Exception as error:  # noqa: BLE001 - any load failure
        raise ValueError(
            f"{advice}; it does not load back ({error}). "
            f"Received: {what}={obj!r}"
        ) from None
    return config


def _deserialize(task_name, what, config):
    try:
        return keras.saving.deserialize_keras_object(config)
    except Exception as error:  # noqa: BLE001 - any load failure
        raise ValueError(
            f"Task '{task_name}': cannot load its {what} ({error}); custom "
            "objects must be registered with "
            "`keras.saving.register_keras_serializable`. "
            f"Received: {what}={config!r}"
        ) from None
