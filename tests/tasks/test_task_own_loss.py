"""A task's own loss (`Task(..., loss=...)`): the missing-label mask still
applies, a batch without labels gives exactly 0 with a zero gradient."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops
from kind_helpers import BATCH
from kind_helpers import labels
from kind_helpers import make_task
from kind_helpers import predictions
from objective_helpers import ScaledAbsoluteError
from objective_helpers import absolute_error
from objective_helpers import kind_objects

import mtlzoo
from mtlzoo.tasks import Task

BUILTIN = (
    "box",
    "classification",
    "depth",
    "multilabel",
    "normals",
    "regression",
    "segmentation",
)


def huber(error, delta):
    error = abs(error)
    if error <= delta:
        return 0.5 * error**2
    return delta * error - 0.5 * delta**2


def test_huber_is_a_masked_mean_over_nan_labels():
    task = Task("ink", "regression", loss=keras.losses.Huber(delta=0.5))
    y = np.array([[1.0], [np.nan], [0.0], [3.0]], "float32")
    p = np.array([[1.2], [9.0], [0.9], [1.0]], "float32")
    expected = np.mean([huber(0.2, 0.5), huber(0.9, 0.5), huber(2.0, 0.5)])
    np.testing.assert_allclose(float(task.compute_loss(y, p)), expected, 1e-6)
    # A zero sample weight marks a sample unlabelled too.
    weights = np.array([1.0, 1.0, 1.0, 0.0], "float32")
    expected = np.mean([huber(0.2, 0.5), huber(0.9, 0.5)])
    got = float(task.compute_loss(y, p, weights))
    np.testing.assert_allclose(got, expected, 1e-6)
    # The same loss by name (delta 1).
    task = Task("ink", "regression", loss="huber")
    expected = np.mean([huber(0.2, 1.0), huber(0.9, 1.0), huber(2.0, 1.0)])
    np.testing.assert_allclose(float(task.compute_loss(y, p)), expected, 1e-6)


def test_partial_labels_elementwise_and_per_sample():
    y = np.array([[1.0, np.nan], [0.0, 2.0], [np.nan, np.nan]], "float32")
    p = np.array([[2.0, 7.0], [0.5, 1.0], [4.0, 4.0]], "float32")
    # Per-element output: every present entry counts on its own.
    task = Task("ink", "regression", units=2, loss=absolute_error)
    np.testing.assert_allclose(
        float(task.compute_loss(y, p)), (1.0 + 0.5 + 1.0) / 3, 1e-6
    )
    # Per-sample output (Keras losses average the last axis): a sample
    # counts when all its values are present.
    task = Task("ink", "regression", units=2, loss="mae")
    np.testing.assert_allclose(
        float(task.compute_loss(y, p)), (0.5 + 1.0) / 2, 1e-6
    )


def test_registered_custom_loss():
    task = Task("ink", "regression", loss=ScaledAbsoluteError(scale=3.0))
    y = np.array([[1.0], [np.nan], [2.0]], "float32")
    p = np.array([[0.0], [5.0], [2.5]], "float32")
    np.testing.assert_allclose(
        float(task.compute_loss(y, p)), 3.0 * (1.0 + 0.5) / 2, 1e-6
    )
    clone = Task.from_config(task.get_config())
    assert isinstance(clone.loss, ScaledAbsoluteError)
    assert clone.loss.scale == 3.0 and clone == task


def test_categorical_losses_get_one_hot_labels():
    focal = keras.losses.CategoricalFocalCrossentropy(gamma=2.0)
    task = Task("digit", "classification", num_classes=3, loss=focal)
    y = np.array([2, -1, 0])
    p = np.array([[0.1, 0.2, 0.7], [0.8, 0.1, 0.1], [0.5, 0.25, 0.25]])
    per = focal.call(
        ops.one_hot(np.array([2, 0]), 3), ops.convert_to_tensor(p[[0, 2]])
    )
    expected = float(ops.mean(per))
    np.testing.assert_allclose(float(task.compute_loss(y, p)), expected, 1e-5)
    sparse = Task(
        "d",
        "classification",
        num_classes=3,
        loss="sparse_categorical_crossentropy",
    )
    ce = -(np.log(0.7) + np.log(0.5)) / 2
    np.testing.assert_allclose(float(sparse.compute_loss(y, p)), ce, 1e-5)


@pytest.mark.parametrize("kind", BUILTIN)
def test_no_label_gives_exactly_zero_and_a_zero_gradient(kind):
    loss, _ = kind_objects(kind)
    task = make_task(kind)
    task = Task(**{**task.get_config(), "loss": loss})
    y_pred = tf.constant(predictions(task))
    present = float(task.compute_loss(labels(task), y_pred))
    assert np.isfinite(present) and present != 0.0
    zero = np.zeros(BATCH, "float32")
    for y, weights in ((labels(task, missing=1.0), None), (labels(task), zero)):
        with tf.GradientTape() as tape:
            tape.watch(y_pred)
            value = task.compute_loss(y, y_pred, weights)
        grad = np.asarray(tape.gradient(value, y_pred))
        assert float(value) == 0.0
        assert np.all(np.isfinite(grad)) and np.all(grad == 0.0)


@pytest.mark.parametrize("kind", BUILTIN)
def test_half_missing_is_the_loss_of_the_present_half(kind):
    loss, _ = kind_objects(kind)
    task = make_task(kind)
    task = Task(**{**task.get_config(), "loss": loss})
    y_pred = predictions(task)
    half = labels(task)
    half_missing = half.copy()
    half_missing[2:] = task.missing_label
    np.testing.assert_allclose(
        float(task.compute_loss(half_missing, y_pred)),
        float(task.compute_loss(half[:2], y_pred[:2])),
        rtol=1e-5,
    )


def test_lambda_loss_trains_but_cannot_be_saved():
    task = Task("ink", "regression", loss=lambda y, p: ops.abs(y - p))
    y = np.array([[1.0], [np.nan]], "float32")
    p = np.array([[3.0], [100.0]], "float32")
    assert float(task.compute_loss(y, p)) == 2.0
    with pytest.raises(ValueError, match="register_keras_serializable") as e:
        task.get_config()
    assert "'ink'" in str(e.value) and "lambda" in str(e.value)
    assert "Received" in str(e.value)
    assert task == task and task != Task("ink", "regression")
    wrapped = keras.metrics.MeanMetricWrapper(lambda y, p: p, name="odd")
    task = Task("ink", "regression", metrics=[wrapped])
    with pytest.raises(ValueError, match="'ink'.*lambda"):
        task.get_config()


def test_loss_errors():
    def expect(match, **kwargs):
        with pytest.raises((ValueError, TypeError), match=match) as info:
            Task("ink", "regression", **kwargs)
        assert "Received" in str(info.value)

    expect("unknown loss", loss="no_such_loss")
    expect("callable", loss=3)
    expect("callable", loss=keras.metrics.Mean())
    expect("list", metrics="mse")
    expect("unknown metric", metrics=["no_such_metric"])
    expect("callable", metrics=[keras.losses.Huber()])
    expect("already taken", metrics=["mae"])
    expect("already taken", metrics=["mse", "mse"])
    task = Task("ink", "regression", loss=lambda y, p: ops.sum(y - p))
    with pytest.raises(ValueError, match="per sample"):
        task.compute_loss(np.ones((2, 1), "float32"), np.ones((2, 1)))


def test_default_loss_stays_without_one():
    task = Task("digit", "classification", num_classes=3)
    assert task.loss is None and task.metrics == []
    y_pred = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1]])
    expected = -np.log(0.8)
    got = float(task.compute_loss(np.array([0, 1]), y_pred))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert "loss" not in task.get_config()
    assert mtlzoo.Task("i", "regression").get_config() == {
        "name": "i",
        "kind": "regression",
        "num_classes": None,
        "units": 1,
        "weight": 1.0,
        "head": {},
    }
