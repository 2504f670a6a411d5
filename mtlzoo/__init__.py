"""mtlzoo: multi-task learning models for Keras 3."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from mtlzoo import architectures  # noqa: E402
from mtlzoo import backbones  # noqa: E402
from mtlzoo import callbacks  # noqa: E402
from mtlzoo import datasets  # noqa: E402
from mtlzoo import heads  # noqa: E402
from mtlzoo import metrics  # noqa: E402
from mtlzoo import weighting  # noqa: E402
from mtlzoo import zoo  # noqa: E402
from mtlzoo.model import MultiTaskModel  # noqa: E402
from mtlzoo.tasks import Task  # noqa: E402
from mtlzoo.zoo import list_models  # noqa: E402
from mtlzoo.zoo import load  # noqa: E402

__version__ = "0.1.0"

# Imported on first use: they pull in keras-tuner / matplotlib.
_LAZY = ("export", "plots", "tuning")


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"mtlzoo.{name}")
    raise AttributeError(f"module 'mtlzoo' has no attribute {name!r}")


def build(
    backbone,
    tasks,
    input_shape,
    weights=None,
    branch_points=None,
    heads=None,
    architecture="hard_sharing",
    preprocessing=None,
    name="multi_task_model",
    **options,
):
    """Build a multi-task model: a backbone, a sharing scheme, one head each.

    Args:
        backbone: str. A name from `mtlzoo.backbones.list_backbones()`.
        tasks: list of `mtlzoo.Task`.
        input_shape: tuple `(height, width, channels)`; images are raw
            pixel values 0..255.
        weights: None, `"imagenet"` or a path to backbone weights.
        branch_points: dict. Task or tuple of tasks -> level `"P0"`..`"P5"`
            where it leaves the shared trunk (hard sharing).
        heads: dict. Task name -> head options.
        architecture: str. Sharing scheme. Defaults to `"hard_sharing"`.
        preprocessing: str. Overrides the backbone's input preprocessing.
        name: str. Model name.
        **options: options of the architecture.

    Returns:
        A `MultiTaskModel` whose outputs are a dict keyed by task name.

    Example:

    >>> tasks = [mtlzoo.Task("digit", "classification", num_classes=10),
    ...          mtlzoo.Task("mask", "segmentation", num_classes=2)]
    >>> model = mtlzoo.build("tiny", tasks, input_shape=(32, 32, 1),
    ...                      branch_points={"mask": "P3"})
    """
    return MultiTaskModel(
        backbone,
        tasks,
        input_shape,
        weights=weights,
        architecture=architecture,
        branch_points=branch_points,
        heads=heads,
        preprocessing=preprocessing,
        architecture_options=options or None,
        name=name,
    )


__all__ = [
    "MultiTaskModel",
    "architectures",
    "callbacks",
    "datasets",
    "Task",
    "backbones",
    "build",
    "export",
    "heads",
    "list_models",
    "load",
    "metrics",
    "plots",
    "tuning",
    "weighting",
    "zoo",
]
