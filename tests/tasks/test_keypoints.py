"""The `keypoints` task kind: what is its own (the contract tests in
test_task_kinds.py and test_task_hooks.py cover the rest)."""

import json

import keras
import numpy as np
import pytest

import mtlzoo
from mtlzoo import testing
from mtlzoo.tasks.keypoints import KeypointsTask

NAN = np.nan


def _task(**kwargs):
    return mtlzoo.Task("pts", "keypoints", **{"num_keypoints": 2, **kwargs})


def test_task_and_shapes():
    task = _task(coords=3)
    assert isinstance(task, KeypointsTask)
    assert task.output_shape((8, 8, 3)) == (2, 4)
    assert task.label_shape((8, 8, 3)) == (2, 4)
    flat = _task(visibility=False)
    assert flat.output_shape((8, 8, 3)) == (2, 2)
    assert flat.label_shape((8, 8, 3)) == (2, 3)
    assert repr(task) == "Task('pts', 'keypoints', num_keypoints=2, coords=3)"
    assert task.primary_metric == "pts_pck"
    assert not task.is_dense


def test_config_keeps_non_default_arguments():
    task = _task(
        coords=3,
        visibility=False,
        pck_threshold=0.1,
        keypoint_names=["a", "b"],
        head={"order": "axis"},
    )
    config = task.get_config()
    assert config["num_keypoints"] == 2
    assert config["coords"] == 3
    assert config["visibility"] is False
    assert config["pck_threshold"] == 0.1
    assert config["keypoint_names"] == ["a", "b"]
    clone = mtlzoo.Task.from_config(json.loads(json.dumps(config)))
    assert clone == task and clone.keypoint_names == ["a", "b"]
    assert "coords" not in _task().get_config()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_keypoints": 0}, "num_keypoints"),
        ({"num_keypoints": True}, "num_keypoints"),
        ({"coords": 4}, "coords"),
        ({"visibility": 1}, "visibility"),
        ({"pck_threshold": 0}, "pck_threshold"),
        ({"keypoint_names": ["a"]}, "keypoint_names"),
        ({"num_classes": 3}, "num_classes"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match) as info:
        _task(**kwargs)
    assert "Received" in str(info.value)


def test_loss_skips_invisible_and_missing_points():
    task = _task(visibility=False)
    y_pred = np.array([[[0.5, 0.5], [0.0, 0.0]]] * 2, "float32")
    y = np.array(
        [
            [[0.7, 0.5, 1.0], [NAN, NAN, 0.0]],  # 2nd point not visible
            [[NAN, NAN, NAN], [0.0, 0.4, 1.0]],  # 1st point not labelled
        ],
        "float32",
    )
    # mean over coords of squared error, over the 2 visible points
    expected = ((0.2**2 + 0) / 2 + (0 + 0.4**2) / 2) / 2
    assert float(task.compute_loss(y, y_pred)) == pytest.approx(expected)
    # a point far off but invisible changes nothing
    y_pred[0, 1] = [9.0, 9.0]
    assert float(task.compute_loss(y, y_pred)) == pytest.approx(expected)


def test_loss_adds_visibility_cross_entropy():
    task = _task()
    y_pred = np.array([[[0.5, 0.5, 0.8], [0.1, 0.1, 0.4]]], "float32")
    y = np.array([[[0.5, 0.5, 1.0], [NAN, NAN, 0.0]]], "float32")
    bce = -(np.log(0.8) + np.log(0.6)) / 2
    assert float(task.compute_loss(y, y_pred)) == pytest.approx(bce, 1e-5)
    missing = np.full_like(y, np.nan)
    assert float(task.compute_loss(missing, y_pred)) == 0.0


def test_pck_and_distance_over_visible_points():
    task = _task(num_keypoints=3, visibility=False, pck_threshold=0.1)
    y = np.array(
        [[[0.5, 0.5, 1.0], [0.2, 0.2, 1.0], [0.9, 0.9, 0.0]]], "float32"
    )
    y_pred = np.array([[[0.5, 0.55], [0.2, 0.5], [0.0, 0.0]]], "float32")
    metrics = task.build_metrics()
    task.update_metrics(metrics, y, y_pred)
    logs = {m.name: float(m.result()) for m in metrics}
    assert logs["pts_pck"] == pytest.approx(0.5)
    assert logs["pts_distance"] == pytest.approx((0.05 + 0.3) / 2, 1e-5)


def test_decode_describe_summarize():
    task = _task(keypoint_names=["left_eye", "right_eye"])
    value = np.array([[0.31, 0.4, 0.9], [0.6, 0.4, 0.2]])
    decoded = task.decode(value)
    np.testing.assert_allclose(decoded[:, 2], [1.0, 0.0])
    assert task.describe(value) == "2 points, 1 visible: left_eye (0.31, 0.40)"
    summary = task.summarize(value)
    assert summary[0] == {
        "point": "left_eye",
        "coords": [0.31, 0.4],
        "visibility": 0.9,
    }
    json.dumps(summary)
    flat = _task(visibility=False)
    np.testing.assert_allclose(flat.decode(value[:, :2])[:, 2], [1.0, 1.0])
    assert flat.colorize(value[None]) is None


def test_axis_ordered_head():
    task = _task(
        num_keypoints=3, visibility=False, head={"order": "axis", "units": []}
    )
    features = {"P5": keras.Input((4,), name="P5")}
    out = mtlzoo.heads.build_head(task)(features, (8, 8, 3))
    model = keras.Model(features, out)
    dense = model.get_layer("pts_coords")
    dense.set_weights([np.zeros((4, 6)), np.arange(6, dtype="float32")])
    got = np.asarray(model(np.zeros((1, 4), "float32")))[0]
    # units x0 x1 x2 y0 y1 y2 -> points (x_k, y_k)
    np.testing.assert_array_equal(got, [[0, 3], [1, 4], [2, 5]])
    with pytest.raises(ValueError, match="order"):
        mtlzoo.heads.build_head(_task(head={"order": "xy"}))


def test_model_fits_with_missing_labels():
    keras.utils.set_random_seed(0)
    tasks = [
        _task(num_keypoints=4, head={"units": 8}),
        mtlzoo.Task("kind", "classification", num_classes=2),
    ]
    model = mtlzoo.build("tiny", tasks, (32, 32, 3))
    model.compile(optimizer="adam")
    x = testing.random_images((32, 32, 3), 8)
    y = testing.random_labels(tasks, (32, 32, 3), 8, missing=0.25)
    logs = model.fit(x, y, epochs=1, verbose=0).history
    assert np.isfinite(logs["pts_loss"][0])
    assert {"pts_pck", "pts_distance"} <= set(logs)
    out = model.predict(x[:2], verbose=0)["pts"]
    assert out.shape == (2, 4, 3)
