"""The kinds' hooks for apps, export and search spaces."""

import json

import keras_tuner as kt
import numpy as np
import pytest
from kind_helpers import SHAPE
from kind_helpers import labels
from kind_helpers import make_task
from kind_helpers import predictions

import mtlzoo
from mtlzoo import export
from mtlzoo.tasks import list_kinds
from mtlzoo.tuning import search_space

KINDS = list_kinds()


@pytest.mark.parametrize("kind", KINDS)
def test_describe_summarize_decode(kind):
    task = make_task(kind)
    names = ["zero", "one", "two"]
    y_pred, y = predictions(task), labels(task)
    for value in (y_pred[0], y[0], task.decode(y_pred[0])):
        for class_names in (None, names):
            text = task.describe(value, class_names)
            assert isinstance(text, str) and text and "\n" not in text
    json.dumps(task.summarize(y_pred[0], names))
    # A decoded prediction describes like a label of the same value.
    assert task.describe(task.decode(y_pred[0])) == task.describe(
        task.decode(task.decode(y_pred[0]))
    )


def test_classification_describe_and_summary():
    task = mtlzoo.Task("c", "classification", num_classes=3)
    probs = np.array([0.1, 0.7, 0.2])
    assert task.decode(probs) == 1
    assert task.describe(probs, ["a", "b", "c"]) == "b (0.70)"
    assert task.describe(np.int32(2), ["a", "b", "c"]) == "c"
    assert task.summarize(probs, ["a", "b", "c"], top_k=2) == [
        ["b", 0.7],
        ["c", 0.2],
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_colorize(kind):
    task = make_task(kind)
    y_pred, y = predictions(task), labels(task)
    if not task.is_dense:
        assert task.colorize(y_pred) is None
        return
    for values in (y_pred, y):
        rgb = type(task).colorize(values, task.value_range(y))
        assert rgb.dtype == np.uint8
        size = tuple(task.output_shape(SHAPE)[:2])  # a heatmap's is smaller
        assert rgb.shape == (len(values),) + size + (3,)


def test_colorize_values():
    seg = mtlzoo.tasks.SegmentationTask
    ids = np.array([[[0, 1], [2, -1]]])
    rgb = seg.colorize(ids)
    assert (rgb[0, 0, 0] == 0).all() and (rgb[0, 1, 1] == 255).all()
    depth = np.array([[[1.0, 2.0], [np.nan, 3.0]]])
    d = mtlzoo.tasks.DepthTask.colorize(depth)
    assert (d[0, 1, 0] == 255).all()
    assert mtlzoo.tasks.DepthTask.value_range(depth) == (1.0, 3.0)
    n = mtlzoo.tasks.NormalsTask.colorize(np.zeros((1, 2, 2, 3)))
    assert (n == 128).all()
    with pytest.raises(ValueError, match="Received"):
        mtlzoo.tasks.NormalsTask.colorize(np.zeros((1, 2, 2)))


@pytest.mark.parametrize("kind", KINDS)
def test_check_export_of_identical_outputs(kind):
    task = make_task(kind)
    y_pred = predictions(task).astype("float64")
    report = export.compare(task, y_pred, y_pred.copy(), labels(task))
    assert report["max_abs_error"] == 0.0
    for key, value in report.items():
        if key.endswith("agreement"):
            assert value == 1.0
        if key in ("accuracy_drop",):
            assert value == 0.0
        if key.startswith("label_error"):
            assert value == report["label_error_keras"]
    assert export.compare(kind, y_pred, y_pred) == export.compare(
        task, y_pred, y_pred
    )
    assert set(export.compare(None, y_pred, y_pred)) == {
        "max_abs_error",
        "mean_abs_error",
    }


def test_check_export_numbers():
    expected = np.array([[0.9, 0.1], [0.2, 0.8]])
    got = np.array([[0.6, 0.4], [0.7, 0.3]])
    out = export.compare("classification", expected, got, np.array([0, 1]))
    assert out["top1_agreement"] == 0.5
    assert out["accuracy_drop"] == 50.0
    out = export.compare("multilabel", expected, got)
    assert out["label_agreement"] == 0.5
    box = np.array([[0.1, 0.1, 0.5, 0.5, 0.9, 0.1]])
    out = export.compare("box", box, box)
    assert out["top1_agreement"] == 1.0 and "accuracy_drop" not in out


@pytest.mark.parametrize("kind", KINDS)
def test_head_search_space(kind):
    task = make_task(kind)
    hp = kt.HyperParameters()
    options = search_space.head_options(hp, task)
    head = mtlzoo.heads.get(task.default_head)
    assert set(options) <= set(head.options)
    assert bool(options) == (task.head_search_space is not None)
    assert search_space.head_options(hp, task, fixed=options) == options
    assert (kind in search_space.MLP_KINDS) == ("units" in options)
