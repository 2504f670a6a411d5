"""A tiny model and batch for the tests that call `fit` (a module, not a
test file)."""

import mtlzoo
from mtlzoo import testing

SHAPE = (32, 32, 1)


def tiny_tasks():
    return [
        mtlzoo.Task(
            "digit", "classification", num_classes=5, head={"units": 8}
        ),
        mtlzoo.Task("ink", "regression", units=2, head={"units": 8}),
    ]


def tiny_model_and_data(count=8):
    tasks = tiny_tasks()
    model = mtlzoo.build("tiny", tasks, SHAPE)
    x = testing.random_images(SHAPE, count)
    y = testing.random_labels(tasks, SHAPE, count)
    return model, x, y
