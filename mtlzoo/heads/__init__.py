"""Head blocks, one per file; `get(kind)` picks a task's default."""

from mtlzoo.heads.box import BoxHead
from mtlzoo.heads.classification import ClassificationHead
from mtlzoo.heads.dense import DenseHead
from mtlzoo.heads.regression import RegressionHead

_BY_KIND = {
    "classification": ClassificationHead,
    "multilabel": ClassificationHead,
    "regression": RegressionHead,
    "segmentation": DenseHead,
    "depth": DenseHead,
    "normals": DenseHead,
    "box": BoxHead,
}


def build_head(task, options=None):
    """Return the head block for `task` configured by `options` (a dict)."""
    options = dict(task.head, **(options or {}))
    cls = _BY_KIND[task.kind]
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
    "RegressionHead",
    "build_head",
]
