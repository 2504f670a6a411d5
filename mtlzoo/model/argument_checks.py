"""Checks of the `MultiTaskModel` constructor and `compile()` arguments."""

import math

import keras


def check_compile_kwargs(kwargs):
    """Refuse Keras' `loss`/`metrics` and unknown `compile()` arguments.

    Args:
        kwargs: dict. Extra keyword arguments given to `compile()`; entries
            `loss`, `metrics`, `weighted_metrics` equal to None are removed.
    """
    for key in ("loss", "metrics", "weighted_metrics"):
        if kwargs.get(key) is not None:
            raise ValueError(
                f"MultiTaskModel takes its losses and metrics from its "
                f"tasks; `{key}` cannot be passed to compile(). "
                f"Received: {key}={kwargs[key]!r}"
            )
        kwargs.pop(key, None)
    if kwargs:
        raise ValueError(
            f"Unknown compile() argument(s) {sorted(kwargs)}. "
            f"Received: kwargs={kwargs!r}"
        )


def check_loss_weights(loss_weights, task_names):
    """Validate `loss_weights`: a dict task name -> finite, non-negative
    number (not a bool)."""
    if not isinstance(loss_weights, dict):
        raise ValueError(
            "`loss_weights` must be a dict task name -> float. "
            f"Received: loss_weights={loss_weights!r}"
        )
    unknown = sorted(set(loss_weights) - set(task_names))
    if unknown:
        raise ValueError(
            f"`loss_weights` names unknown task(s) {unknown}; the "
            f"tasks are {task_names}. "
            f"Received: loss_weights={loss_weights!r}"
        )
    for name, value in loss_weights.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            raise ValueError(
                f"Loss weight of task '{name}' must be a finite, "
                "non-negative number. "
                f"Received: loss_weights[{name!r}]={value!r}"
            )


def check_head_optimizers(head_optimizers, task_names):
    """Validate the keys of `head_optimizers` (task names)."""
    unknown = sorted(set(head_optimizers) - set(task_names))
    if unknown:
        raise ValueError(
            f"`head_optimizers` names unknown task(s) {unknown}; the "
            f"tasks are {task_names}. "
            f"Received: head_optimizers={head_optimizers!r}"
        )


def check_weighting(method, shared_tensors, architecture):
    """A representation-gradient method needs shared features."""
    if (
        method.requires_gradients
        and method.representation_gradients
        and not shared_tensors
    ):
        raise ValueError(
            f"{type(method).__name__} with representation_gradients=True "
            "needs features shared by the tasks, but architecture "
            f"'{architecture}' with these branch points shares none. "
            f"Received: weighting={method!r}"
        )


def check_input_shape(input_shape):
    """`input_shape` as a tuple of 3 positive ints, or a ValueError."""
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        shape = None
    if shape is None or len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            "`input_shape` must be (height, width, channels) with positive "
            f"integers. Received: input_shape={input_shape!r}"
        )
    return shape


def check_backbone_weights(backbone_weights, weights):
    """`backbone_weights`, or the deprecated `weights=` spelling of it."""
    if weights is None:
        return backbone_weights
    if backbone_weights is not None:
        raise ValueError(
            "Pass the backbone initialisation as `backbone_weights` only "
            "(`weights` is its deprecated old name). Received: "
            f"backbone_weights={backbone_weights!r}, weights={weights!r}"
        )
    import warnings

    warnings.warn(
        "`weights=` of MultiTaskModel / mtlzoo.build is renamed "
        "`backbone_weights=` (task weights are `Task(weight=)`, preset "
        "weights `from_preset(load_weights=)`).",
        DeprecationWarning,
        stacklevel=3,
    )
    return weights


def check_images(model, x, method):
    """Refuse an array or tensor of images whose shape the model cannot
    take, naming the expected shape (datasets and generators pass: their
    batches are checked by Keras).

    Args:
        model: `MultiTaskModel`.
        x: the `x` given to `fit`, `evaluate` or `predict`.
        method: str. The method's name, for the message.
    """
    if isinstance(x, (str, bytes)) or hasattr(x, "__fspath__"):
        raise TypeError(
            f"`{method}` of model '{model.name}' takes an array of images, "
            "not a file name (read files with `mtlzoo.images.prepare`). "
            f"Received: x={x!r}"
        )
    if isinstance(x, (list, tuple)) and len(x) != 1:
        raise ValueError(
            f"`{method}` of model '{model.name}' takes one array of images "
            "(batch, height, width, channels), not a list: stack the "
            "images first (np.stack). "
            f"Received: x=a {type(x).__name__} of {len(x)} items"
        )
    if isinstance(x, (list, tuple)):
        return check_images(model, x[0], method)
    shape = getattr(x, "shape", None)
    if shape is None or isinstance(x, dict):
        return
    try:
        shape = tuple(None if d is None else int(d) for d in shape)
    except TypeError:
        return
    expected = tuple(model.input_shape_)
    if len(shape) == len(expected) + 1 and shape[0] == 0:
        raise ValueError(
            f"`{method}` of model '{model.name}' got no images (an empty "
            f"batch). Received: x with shape={shape}"
        )
    if len(shape) == len(expected) + 1 and all(
        d is None or e is None or d == e for d, e in zip(shape[1:], expected)
    ):
        return
    if len(shape) == 3 and expected[-1] == 1 and shape[1:] == expected[:2]:
        return  # gray images without their channel axis
    hint = ""
    if shape == expected:
        hint = " It looks like one image: add a batch axis (x[None])."
    elif len(shape) == 4 and len(expected) == 3 and shape[3] == expected[2]:
        hint = (
            f" Resize the images to {expected[0]}x{expected[1]} first "
            "(e.g. keras.ops.image.resize)."
        )
    raise ValueError(
        f"`{method}` of model '{model.name}' takes images of shape "
        f"(batch, {', '.join(str(d) for d in expected)}).{hint} "
        f"Received: x with shape={shape}"
    )


def model_input_shape(backbone):
    """The fixed `(H, W, C)` of a backbone model, or a clear error.

    `MultiTaskModel` (and so `mtlzoo.build`) use it when `input_shape` is
    None: a functional backbone built for one input size gives it.
    """
    model = getattr(backbone, "model", backbone)
    shape = None
    if isinstance(model, keras.Model):
        try:
            shape = tuple(model.inputs[0].shape[1:])
        except (AttributeError, IndexError, ValueError):
            shape = None
    if shape is None or len(shape) != 3 or None in shape:
        raise ValueError(
            "`input_shape` is required unless the backbone is a model "
            "built for a fixed input size. "
            f"Received: input_shape=None, backbone={backbone!r}"
        )
    return shape
