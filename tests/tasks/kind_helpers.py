"""Helpers shared by the task-kind tests: a task and predictions per kind."""

import keras
import numpy as np

import mtlzoo
from mtlzoo import testing

SHAPE = (8, 8, 1)
BATCH = 4


def make_task(kind, name="t"):
    """A task of `kind` with the smallest valid constructor arguments."""
    cls = mtlzoo.tasks.get_kind(kind)
    kwargs = {}
    if cls.num_classes_min is not None:
        kwargs["num_classes"] = max(3, cls.num_classes_min)
    if cls.takes_units:
        kwargs["units"] = 2
    return mtlzoo.Task(name, kind, **kwargs)


def labels(task, missing=0.0, seed=0):
    return testing.random_labels([task], SHAPE, BATCH, seed, missing)[task.name]


def predictions(task, seed=0):
    """Outputs of the task's default head on random features."""
    from mtlzoo.heads import build_head

    features = {
        "P2": keras.Input((4, 4, 3), name="P2"),
        "P3": keras.Input((2, 2, 3), name="P3"),
    }
    out = build_head(task)(features, SHAPE)
    model = keras.Model(features, out)
    rng = np.random.default_rng(seed)
    x = {
        k: rng.normal(size=(BATCH,) + tuple(v.shape[1:])).astype("float32")
        for k, v in features.items()
    }
    return np.asarray(model(x))
