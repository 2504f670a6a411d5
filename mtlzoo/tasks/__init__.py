"""Tasks: what a head predicts, how it is scored, and which labels count.

One module per task kind, each a `Task` subclass registered under its kind
name: `Task("digit", "classification", num_classes=10)` returns a
`ClassificationTask`. `list_kinds()` names them; `get_kind(name)` returns
the class; `register_kind(name)` adds one (see the how-to "Add a task
kind").

`KINDS`, `DENSE_KINDS` and `PRIMARY_METRICS` (kind -> (primary metric,
higher is better)) are computed from the registry when read.
"""

import importlib
import pkgutil

from mtlzoo.tasks._ops import masked_mean
from mtlzoo.tasks.base import Task
from mtlzoo.tasks.box import BoxTask
from mtlzoo.tasks.classification import ClassificationTask
from mtlzoo.tasks.depth import DepthTask
from mtlzoo.tasks.heatmap import HeatmapTask
from mtlzoo.tasks.keypoints import KeypointsTask
from mtlzoo.tasks.multilabel import MultilabelTask
from mtlzoo.tasks.normals import NormalsTask
from mtlzoo.tasks.registry import get_kind
from mtlzoo.tasks.registry import list_kinds
from mtlzoo.tasks.registry import metric_directions
from mtlzoo.tasks.registry import register_kind
from mtlzoo.tasks.registry import unregister_kind
from mtlzoo.tasks.registry import validate_tasks
from mtlzoo.tasks.regression import RegressionTask
from mtlzoo.tasks.segmentation import SegmentationTask


def _import_kind_modules():
    """Import every public module of the package: a kind registers itself
    in its own file, so a new file is all a new kind needs."""
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


_import_kind_modules()


def __getattr__(name):
    if name == "KINDS":
        return tuple(list_kinds())
    if name == "DENSE_KINDS":
        return tuple(k for k in list_kinds() if get_kind(k).is_dense)
    if name == "PRIMARY_METRICS":
        out = {}
        for kind in list_kinds():
            cls = get_kind(kind)
            metric = cls.primary_metric_name
            out[kind] = (metric, cls.metric_directions[metric])
        return out
    raise AttributeError(f"module 'mtlzoo.tasks' has no attribute {name!r}")


__all__ = [
    "BoxTask",
    "ClassificationTask",
    "DepthTask",
    "HeatmapTask",
    "KeypointsTask",
    "MultilabelTask",
    "NormalsTask",
    "RegressionTask",
    "SegmentationTask",
    "Task",
    "get_kind",
    "list_kinds",
    "masked_mean",
    "metric_directions",
    "register_kind",
    "unregister_kind",
    "validate_tasks",
]
