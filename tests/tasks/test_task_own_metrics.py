"""A task's own metrics (`Task(..., metrics=[...])`): added to the kind's,
named `<task>_<metric>`, updated with the missing-label mask, in `fit`
logs with any weighting."""

import keras
import numpy as np
import pytest
from kind_helpers import labels
from kind_helpers import make_task
from kind_helpers import predictions
from objective_helpers import kind_objects
from objective_helpers import max_error

import mtlzoo
from mtlzoo import testing
from mtlzoo.tasks import Task

SHAPE = (32, 32, 1)
BUILTIN = (
    "box",
    "classification",
    "depth",
    "multilabel",
    "normals",
    "regression",
    "segmentation",
)


def top3_task():
    top3 = keras.metrics.SparseTopKCategoricalAccuracy(k=3, name="top3")
    return Task(
        "digit",
        "classification",
        num_classes=5,
        head={"units": 8},
        metrics=[top3],
    )


def test_top3_on_a_hand_made_batch_with_a_missing_label():
    task = top3_task()
    metrics = task.build_metrics()
    assert [m.name for m in metrics] == ["digit_accuracy", "digit_top3"]
    y = np.array([2, -1, 4, 0])
    p = np.array(
        [
            [0.3, 0.1, 0.2, 0.25, 0.15],  # 2 is third: hit
            [0.05, 0.3, 0.3, 0.3, 0.05],  # missing (class 0 would miss)
            [0.3, 0.2, 0.2, 0.2, 0.1],  # 4 is last: miss
            [0.1, 0.1, 0.2, 0.3, 0.3],  # 0 is in a tie for last: miss
        ],
        "float32",
    )
    task.update_metrics(metrics, y, p)
    assert float(metrics[0].result()) == 0.0
    assert float(metrics[1].result()) == pytest.approx(1 / 3)
    # A zero sample weight removes a sample as a missing label does.
    metrics = task.build_metrics()
    task.update_metrics(metrics, y, p, np.array([1, 1, 0, 0], "float32"))
    assert float(metrics[1].result()) == 1.0


def test_categorical_metric_names_get_one_hot_labels():
    task = Task(
        "digit",
        "classification",
        num_classes=3,
        metrics=["top_k_categorical_accuracy", "categorical_accuracy"],
    )
    metrics = task.build_metrics()
    assert [m.name for m in metrics][1:] == [
        "digit_top_k_categorical_accuracy",
        "digit_categorical_accuracy",
    ]
    y = np.array([0, -1, 2])
    p = np.array([[0.6, 0.3, 0.1], [0.1, 0.1, 0.8], [0.5, 0.4, 0.1]])
    task.update_metrics(metrics, y, p)
    # top-k has k=5 >= 3 classes: always a hit.
    assert [float(m.result()) for m in metrics] == [0.5, 1.0, 0.5]


@pytest.mark.parametrize("kind", BUILTIN)
def test_every_kind_takes_metrics(kind):
    _, own = kind_objects(kind)
    task = make_task(kind)
    task = Task(**{**task.get_config(), "metrics": own})
    metrics = task.build_metrics()
    count = len(task.metric_directions)
    assert len(metrics) == count + len(own)
    assert all(m.name.startswith("t_") for m in metrics)
    task.update_metrics(metrics, labels(task, missing=0.5), predictions(task))
    for metric in metrics:
        assert np.isfinite(float(metric.result())), metric.name
    fresh = task.build_metrics()
    task.update_metrics(fresh, labels(task, missing=1.0), predictions(task))
    for metric in fresh[count:]:
        assert float(metric.result()) == 0.0, metric.name


def test_partial_vector_labels_count_complete_rows():
    task = Task("ink", "regression", units=2, metrics=[max_error, "mse"])
    metrics = task.build_metrics()
    y = np.array([[1.0, np.nan], [0.0, 2.0], [np.nan, np.nan]], "float32")
    p = np.array([[2.0, 7.0], [0.5, 1.0], [4.0, 4.0]], "float32")
    task.update_metrics(metrics, y, p)
    names = [m.name for m in metrics]
    assert names == ["ink_mae", "ink_max_error", "ink_mse"]
    values = [float(m.result()) for m in metrics]
    np.testing.assert_allclose(values, [(1 + 0.5 + 1) / 3, 1.0, 0.625])


def test_metric_objects_are_copied_per_model():
    task = top3_task()
    first, second = task.build_metrics()[1], task.build_metrics()[1]
    assert first is not second and first is not task.metrics[0]
    first.update_state([0], [[0.9, 0.1, 0, 0, 0]])
    assert float(second.result()) == 0.0


@pytest.mark.parametrize("weighting", ["equal", "pcgrad"])
def test_own_loss_and_metrics_in_fit_logs(weighting):
    tasks = [
        top3_task(),
        Task(
            "ink",
            "regression",
            head={"units": 8},
            loss=keras.losses.Huber(delta=0.5),
            metrics=["mse"],
        ),
    ]
    model = mtlzoo.build("tiny", tasks, input_shape=SHAPE)
    model.compile(optimizer="adam", weighting=weighting)
    x = testing.random_images(SHAPE, 6)
    y = testing.random_labels(model.tasks, SHAPE, 6)
    y["digit"][1] = -1
    y["ink"][2] = np.nan
    history = model.fit(x, y, batch_size=6, epochs=2, verbose=0).history
    for key in ("digit_top3", "digit_accuracy", "ink_mse", "ink_mae"):
        assert key in history and np.all(np.isfinite(history[key])), key
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    out = model.predict(x, verbose=0)
    top3 = np.argsort(-out["digit"], axis=-1)[:, :3]
    present = y["digit"] >= 0
    hits = [y["digit"][i] in top3[i] for i in np.flatnonzero(present)]
    assert logs["digit_top3"] == pytest.approx(np.mean(hits))
    ok = np.isfinite(y["ink"][:, 0])
    err = out["ink"][ok, 0] - y["ink"][ok, 0]
    assert logs["ink_mse"] == pytest.approx(np.mean(err**2), rel=1e-4)
    hub = np.where(np.abs(err) <= 0.5, 0.5 * err**2, 0.5 * np.abs(err) - 0.125)
    assert logs["ink_loss"] == pytest.approx(np.mean(hub), rel=1e-4)
