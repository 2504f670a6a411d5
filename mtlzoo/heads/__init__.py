"""Head blocks, one per file, registered by name.

`list_heads()` names them, `get(name)` returns a head class, and
`build_head(task)` builds the task's default head (`task.default_head`).
"""

import importlib
import pkgutil

from mtlzoo.heads.base import HEADS
from mtlzoo.heads.base import register_head
from mtlzoo.heads.box import BoxHead
from mtlzoo.heads.classification import ClassificationHead
from mtlzoo.heads.dense import DenseHead
from mtlzoo.heads.graph import GraphHead
from mtlzoo.heads.keypoints import KeypointsHead
from mtlzoo.heads.regression import RegressionHead


def _import_head_modules():
    """Import every public module of the package (each head registers
    itself in its own file)."""
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


_import_head_modules()


def get(name):
    """The head class registered as `name` (see `list_heads()`)."""
    return HEADS.get(name)


def list_heads(pattern=None):
    """Sorted names of the registered heads (optionally fnmatch filtered
    by `pattern`)."""
    return HEADS.names(pattern)


def build_head(task, options=None):
    """Return the head block for `task` configured by `options` (a dict).

    The head class is the task kind's `default_head`, or the head the
    option `"type"` names (e.g. `{"type": "graph", "graph": ...}`);
    `options` update the task's own `head` options.
    """
    if options is not None and not isinstance(options, dict):
        raise TypeError(
            f"Head options of task '{task.name}' must be a dict. "
            f"Received: options={options!r}"
        )
    options = dict(task.head, **(options or {}))
    cls = get(options.pop("type", task.default_head))
    unknown = sorted(set(options) - set(cls.options))
    if unknown:
        raise ValueError(
            f"Unknown head option(s) {unknown} for task '{task.name}' "
            f"({cls.__name__} accepts {list(cls.options)}). "
            f"Received: options={options!r}"
        )
    return cls(task, **options)


__all__ = [
    "BoxHead",
    "ClassificationHead",
    "DenseHead",
    "GraphHead",
    "KeypointsHead",
    "RegressionHead",
    "build_head",
    "get",
    "list_heads",
    "register_head",
]
