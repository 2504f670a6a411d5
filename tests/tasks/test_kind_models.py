"""Every task kind in a model: build, fit, serialise, save and reload."""

import pytest

import mtlzoo
from mtlzoo import testing

SHAPE = (32, 32, 1)


def small_task(kind):
    """A task of `kind` with a small default head."""
    cls = mtlzoo.tasks.get_kind(kind)
    head = mtlzoo.heads.get(cls.default_head)
    options = {}
    if "units" in head.options:
        options["units"] = 8
    if "width" in head.options:
        options["width"] = 4
    kwargs = {}
    if cls.num_classes_min is not None:
        kwargs["num_classes"] = max(3, cls.num_classes_min)
    if cls.takes_units:
        kwargs["units"] = 2
    return mtlzoo.Task(kind, kind, head=options, **kwargs)


@pytest.mark.parametrize("kind", mtlzoo.tasks.list_kinds())
def test_every_task_kind(kind):
    tasks = [
        small_task(kind),
        mtlzoo.Task("aux", "regression", head={"units": 4}),
    ]
    model = mtlzoo.build("tiny", tasks, SHAPE)
    testing.run_model_test(model)
    testing.run_serialization_test(model)
    testing.run_saving_test(model)
