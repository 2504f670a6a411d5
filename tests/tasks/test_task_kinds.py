"""Contract tests run on every registered task kind."""

import copy
import json
import pickle

import keras
import numpy as np
import pytest
from kind_helpers import BATCH
from kind_helpers import SHAPE
from kind_helpers import labels
from kind_helpers import make_task
from kind_helpers import predictions

import mtlzoo
from mtlzoo.presets import schema
from mtlzoo.tasks import Task
from mtlzoo.tasks import get_kind
from mtlzoo.tasks import list_kinds

KINDS = list_kinds()


def test_builtin_kinds_are_registered():
    builtin = {
        "box",
        "classification",
        "depth",
        "multilabel",
        "normals",
        "regression",
        "segmentation",
    }
    assert builtin <= set(KINDS)
    assert mtlzoo.tasks.KINDS == tuple(KINDS)
    dense = set(mtlzoo.tasks.DENSE_KINDS)
    assert {"depth", "normals", "segmentation"} <= dense
    assert not dense & {"box", "classification", "multilabel", "regression"}


@pytest.mark.parametrize("kind", KINDS)
def test_task_returns_the_kind_class(kind):
    task = make_task(kind)
    assert type(task) is get_kind(kind)
    assert isinstance(task, Task)
    assert task.kind == kind
    direct = get_kind(kind)(**{**task.get_config(), "kind": None})
    assert direct == task


@pytest.mark.parametrize("kind", KINDS)
def test_config_round_trip(kind):
    task = make_task(kind)
    config = task.get_config()
    assert sorted(config) == sorted(
        ["name", "kind", "num_classes", "units", "weight", "head"]
    )
    assert config["kind"] == kind
    for clone in (
        Task.from_config(config),
        Task.from_config(json.loads(json.dumps(config))),
        get_kind(kind).from_config(config),
        Task(**config),
        pickle.loads(pickle.dumps(task)),
        copy.deepcopy(task),
        keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(task)
        ),
    ):
        assert type(clone) is type(task)
        assert clone == task
        assert clone.get_config() == config
    assert repr(task).startswith(f"Task('t', '{kind}'")
    assert task != make_task(kind, name="other")


@pytest.mark.parametrize("kind", KINDS)
def test_label_spec(kind):
    task = make_task(kind)
    y = labels(task)
    assert y.shape == (BATCH,) + tuple(task.label_shape(SHAPE))
    assert str(y.dtype) == task.label_dtype
    for shape in task.label_shapes(SHAPE):
        task.validate_label_spec((None,) + tuple(shape), y.dtype, SHAPE)
    with pytest.raises(ValueError, match="shape") as info:
        task.validate_label_spec(y.shape + (7,), y.dtype, SHAPE)
    assert "Received" in str(info.value)
    with pytest.raises(ValueError, match="dtype=bool"):
        task.validate_label_spec(y.shape, "bool", SHAPE)


@pytest.mark.parametrize("kind", KINDS)
def test_label_mask(kind):
    task = make_task(kind)
    y_pred = predictions(task)
    present = np.asarray(task.label_mask(labels(task), y_pred))
    assert present.shape[0] == BATCH
    assert np.all(present == 1.0)
    missing = np.asarray(task.label_mask(labels(task, missing=1.0), y_pred))
    assert missing.shape == present.shape
    assert np.all(missing == 0.0)
    y = labels(task, missing=1.0)
    assert np.all(np.isnan(y) if np.isnan(task.missing_label) else y == -1)


@pytest.mark.parametrize("kind", KINDS)
def test_loss_and_missing_labels(kind):
    task = make_task(kind)
    y_pred = predictions(task)
    loss = float(task.compute_loss(labels(task), y_pred))
    assert np.isfinite(loss) and loss != 0.0
    assert float(task.compute_loss(labels(task, missing=1.0), y_pred)) == 0.0
    zero = np.zeros(BATCH, "float32")
    assert float(task.compute_loss(labels(task), y_pred, zero)) == 0.0
    # Half the samples missing: the loss of the present half only.
    half = labels(task)
    half_missing = half.copy()
    half_missing[2:] = task.missing_label
    np.testing.assert_allclose(
        float(task.compute_loss(half_missing, y_pred)),
        float(task.compute_loss(half[:2], y_pred[:2])),
        rtol=1e-5,
    )


@pytest.mark.parametrize("kind", KINDS)
def test_metrics(kind):
    task = make_task(kind)
    metrics = task.build_metrics()
    names = [m.name for m in metrics]
    assert names == [f"t_{m}" for m in task.metric_directions]
    assert task.primary_metric in names
    task.update_metrics(metrics, labels(task), predictions(task))
    for metric in metrics:
        assert np.isfinite(float(metric.result())), metric.name


@pytest.mark.parametrize("kind", KINDS)
def test_perfect_prediction_scores_best(kind):
    task = make_task(kind)
    y_pred = predictions(task)
    decoded = np.stack([task.decode(p) for p in y_pred])
    metrics = task.build_metrics()
    task.update_metrics(metrics, decoded.astype(task.label_dtype), y_pred)
    value = float(metrics[names_index(task, metrics)].result())
    if kind in ("classification", "multilabel"):
        assert value == 1.0
    elif kind in ("regression", "depth"):
        assert value < 1e-5


def names_index(task, metrics):
    return [m.name for m in metrics].index(task.primary_metric)


@pytest.mark.parametrize("kind", KINDS)
def test_primary_metric(kind):
    task = make_task(kind)
    metric, higher = mtlzoo.tasks.PRIMARY_METRICS[kind]
    assert task.primary_metric == f"t_{metric}"
    assert task.higher_is_better is higher
    assert schema.metric_higher_is_better(task.primary_metric) is higher
    for name, direction in task.metric_directions.items():
        assert schema.metric_higher_is_better(f"t_{name}") is direction


@pytest.mark.parametrize("kind", KINDS)
def test_default_head_output_shape(kind):
    task = make_task(kind)
    assert task.default_head in mtlzoo.heads.list_heads()
    y_pred = predictions(task)
    assert y_pred.shape == (BATCH,) + tuple(task.output_shape(SHAPE))
    assert task.is_dense == (len(task.output_shape(SHAPE)) == 3)
