"""Shared helpers of the model tests (a module, not a test file)."""

import pytest

import mtlzoo

SHAPE = (32, 32, 1)


def small_tasks(kinds=None):
    tasks = [
        mtlzoo.Task(
            "digit", "classification", num_classes=5, head={"units": 8}
        ),
        mtlzoo.Task("attrs", "multilabel", num_classes=3, head={"units": 8}),
        mtlzoo.Task("ink", "regression", units=2, head={"units": 8}),
        mtlzoo.Task("mask", "segmentation", num_classes=3, head={"width": 4}),
        mtlzoo.Task("depth", "depth", head={"width": 4}),
        mtlzoo.Task("normals", "normals", head={"width": 4}),
        mtlzoo.Task("box", "box", num_classes=2, head={"units": 8}),
    ]
    if kinds:
        tasks = [t for t in tasks if t.kind in kinds]
    return tasks


def tiny_model(tasks=None, **kwargs):
    tasks = tasks or small_tasks(("classification", "regression"))
    return mtlzoo.build("tiny", tasks, SHAPE, **kwargs)


def expect_error(match, fn, *args, **kwargs):
    """`fn(*args, **kwargs)` raises a ValueError/TypeError matching
    `match` and ending with `Received: ...`."""
    with pytest.raises((ValueError, TypeError), match=match) as info:
        fn(*args, **kwargs)
    assert "Received" in str(info.value)
