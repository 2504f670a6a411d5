"""The `heatmap` task kind: what is its own (the contract tests in
test_task_kinds.py and test_task_hooks.py cover the rest)."""

import json

import keras
import numpy as np
import pytest

import mtlzoo
from mtlzoo import testing
from mtlzoo.tasks.heatmap import HeatmapTask

NAN = np.nan
SHAPE = (32, 32, 1)


def _task(**kwargs):
    return mtlzoo.Task("pose", "heatmap", **{"num_keypoints": 3, **kwargs})


def test_task_and_shapes():
    task = _task()
    assert isinstance(task, HeatmapTask)
    assert task.is_dense
    assert task.output_shape(SHAPE) == (8, 8, 3)
    assert task.label_shape(SHAPE) == (8, 8, 3)
    assert _task(stride=1).output_shape(SHAPE) == (32, 32, 3)
    assert _task(stride=16).output_shape((64, 32, 3)) == (4, 2, 3)
    assert repr(task) == "Task('pose', 'heatmap', num_keypoints=3, stride=4)"
    assert task.primary_metric == "pose_peak_pck" and task.higher_is_better
    with pytest.raises(ValueError, match="multiples of stride=4") as info:
        task.output_shape((30, 32, 1))
    assert "Received: input_shape=(30, 32, 1)" in str(info.value)


def test_config_round_trip_keeps_non_default_arguments():
    task = _task(
        stride=2,
        pck_threshold=0.1,
        keypoint_names=["nose", "left_eye", "right_eye"],
        head={"width": 8},
    )
    config = task.get_config()
    assert config["num_keypoints"] == 3
    assert config["stride"] == 2
    assert config["pck_threshold"] == 0.1
    assert config["keypoint_names"] == ["nose", "left_eye", "right_eye"]
    clone = mtlzoo.Task.from_config(json.loads(json.dumps(config)))
    assert isinstance(clone, HeatmapTask) and clone == task
    assert clone.stride == 2 and clone.keypoint_names == task.keypoint_names
    saved = keras.saving.serialize_keras_object(task)
    assert keras.saving.deserialize_keras_object(saved) == task
    assert "stride" not in mtlzoo.Task("h", "heatmap").get_config()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_keypoints": 0}, "num_keypoints"),
        ({"num_keypoints": 2.0}, "num_keypoints"),
        ({"stride": 3}, "power of two"),
        ({"stride": 0}, "power of two"),
        ({"stride": True}, "power of two"),
        ({"pck_threshold": -0.1}, "pck_threshold"),
        ({"keypoint_names": ["a"]}, "keypoint_names"),
        ({"keypoint_names": "abc"}, "keypoint_names"),
        ({"num_classes": 3}, "num_classes"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match) as info:
        _task(**kwargs)
    assert "Received" in str(info.value)


def _small_case():
    """Two samples of 2 x 4 maps, 2 keypoints (stride 1, 2 x 4 images)."""
    y = np.zeros((2, 2, 4, 2), "float32")
    y[0, 0, 1, 0] = 1.0  # sample 0, keypoint 0: peak at row 0, col 1
    y[0, 1, 3, 1] = 0.8  # sample 0, keypoint 1: peak at row 1, col 3
    y[1, :, :, 0] = NAN  # sample 1, keypoint 0: unlabelled
    # sample 1, keypoint 1: all zeros (labelled as absent: no peak)
    p = np.full((2, 2, 4, 2), 0.1, "float32")
    p[0, 1, 2, 0] = 0.9  # 0.5 down, 0.25 right: distance 0.559 -> miss
    p[0, 1, 2, 1] = 0.7  # 0.25 left: distance 0.25 -> hit
    p[1, 0, 0, 0] = 5.0  # far off, but its label is missing
    return y, p


def test_loss_is_masked_mean_squared_error():
    task = _task(num_keypoints=2, stride=1)
    y, p = _small_case()
    present = ~np.isnan(y)
    expected = np.mean((y[present] - p[present]) ** 2)
    assert float(task.compute_loss(y, p)) == pytest.approx(expected, 1e-6)
    # The unlabelled keypoint's wild prediction changed nothing:
    p2 = p.copy()
    p2[1, ..., 0] = 0.0
    assert float(task.compute_loss(y, p2)) == pytest.approx(expected, 1e-6)
    assert float(task.compute_loss(np.full_like(y, NAN), p)) == 0.0
    only_first = float(task.compute_loss(y, p, np.array([1.0, 0.0])))
    first = np.mean((y[0] - p[0]) ** 2)
    assert only_first == pytest.approx(first, 1e-6)


def test_metrics_by_hand():
    task = _task(num_keypoints=2, stride=1, pck_threshold=0.3)
    y, p = _small_case()
    metrics = task.build_metrics()
    task.update_metrics(metrics, y, p)
    logs = {m.name: float(m.result()) for m in metrics}
    present = ~np.isnan(y)
    assert logs["pose_mse"] == pytest.approx(
        np.mean((y[present] - p[present]) ** 2), 1e-6
    )
    # Counted: sample 0's two keypoints (one hit); sample 1 has none (one
    # unlabelled, one without a peak).
    assert logs["pose_peak_pck"] == pytest.approx(0.5)
    # A larger threshold makes the miss (0.559 away) a hit.
    wide = _task(num_keypoints=2, stride=1, pck_threshold=0.6)
    metrics = wide.build_metrics()
    wide.update_metrics(metrics, y, p)
    assert float(metrics[1].result()) == pytest.approx(1.0)


def test_label_checks_are_named():
    task = _task()
    y = np.zeros((1, 8, 8, 3), "float32")
    y[0, 2, 3, 1] = 1.5
    y[0, 0, 0, 0] = NAN
    [(bad, vals, rule)] = task.invalid_labels(y)
    bad = np.asarray(bad)
    assert bad.sum() == 1 and bad[0, 2, 3, 1]
    assert float(np.asarray(vals)[0, 2, 3, 1]) == 1.5
    assert "[0, 1]" in rule and "NaN" in rule
    with pytest.raises(ValueError, match="shape") as info:
        task.validate_label_spec((None, 32, 32, 3), "float32", SHAPE)
    assert "(batch, *(8, 8, 3))" in str(info.value)
    with pytest.raises(ValueError, match="floating point"):
        task.validate_label_spec((None, 8, 8, 3), "int32", SHAPE)


def test_keypoints_to_heatmaps_and_back():
    task = _task(num_keypoints=3)
    points = np.array([[0.3, 0.6], [0.81, 0.47], [0.5, 0.5]])
    maps = task.keypoints_to_heatmaps(points, SHAPE, sigma=1.0)
    assert maps.shape == (8, 8, 3) and maps.dtype == np.float32
    assert np.nanmax(maps) <= 1.0 and np.nanmin(maps) >= 0.0
    decoded = task.heatmaps_to_keypoints(maps)
    np.testing.assert_allclose(decoded[:, :2], points, atol=1e-5)
    # (0.5, 0.5) lies between four cell centres: distance 0.5 cell each way.
    assert decoded[2, 2] == pytest.approx(np.exp(-0.25), 1e-6)
    coarse = task.heatmaps_to_keypoints(maps, refine=False)
    assert np.all(np.abs(coarse[:, :2] - points) <= 0.5 / 8 + 1e-9)
    np.testing.assert_allclose(coarse[0, :2], [2.5 / 8, 4.5 / 8])
    # Keypoints-kind labels: visibility 0 -> no peak, NaN -> unlabelled.
    labels = np.array([[[0.3, 0.6, 1.0], [NAN, NAN, 0.0], [NAN, NAN, NAN]]] * 2)
    maps = task.keypoints_to_heatmaps(labels, SHAPE)
    assert maps.shape == (2, 8, 8, 3)
    assert np.all(maps[..., 1] == 0.0) and np.all(np.isnan(maps[..., 2]))
    back = task.heatmaps_to_keypoints(maps)
    assert back.shape == (2, 3, 3) and np.all(np.isnan(back[:, 2]))
    np.testing.assert_allclose(back[:, 0, :2], [[0.3, 0.6]] * 2, atol=1e-5)
    with pytest.raises(ValueError, match="3 keypoints"):
        task.keypoints_to_heatmaps(points[:2], SHAPE)
    with pytest.raises(ValueError, match="Received: values.shape"):
        task.heatmaps_to_keypoints(maps[..., :2])


def test_decode_describe_summarize_colorize_export():
    task = _task(num_keypoints=2, keypoint_names=["nose", "tail"])
    maps = task.keypoints_to_heatmaps([[0.3, 0.6], [NAN, NAN]], SHAPE)
    np.testing.assert_array_equal(task.decode(maps * 2)[..., 0] <= 1, True)
    assert task.describe(maps) == "2 maps, 1 peaks > 0.5: nose (0.30, 0.60)"
    summary = task.summarize(maps)
    assert summary[1] == {
        "point": "tail",
        "coords": [None, None],
        "score": None,
    }
    assert summary[0]["coords"] == pytest.approx([0.3, 0.6], abs=1e-5)
    json.dumps(summary)
    rgb = HeatmapTask.colorize(maps[None])
    assert rgb.shape == (1, 8, 8, 3) and rgb.dtype == np.uint8
    single = HeatmapTask.colorize(maps[None, ..., :1])
    np.testing.assert_array_equal(rgb, single)  # NaN map ignored by max
    nan_cell = np.full((1, 2, 2, 2), NAN)
    nan_cell[0, 0, 0] = [0.0, 1.0]
    rgb = HeatmapTask.colorize(nan_cell)
    assert (rgb[0, 1, 1] == 255).all() and not (rgb[0, 0, 0] == 255).all()
    batch = np.stack([maps, maps])
    moved = batch.copy()
    moved[1, ..., 0] = np.roll(moved[1, ..., 0], 1, axis=1)
    report = mtlzoo.export.compare(task, batch, moved, batch)
    # 2 x 2 maps, 2 of them all-NaN (same NaN peaks), 1 moved one cell
    assert report["peak_agreement"] == pytest.approx(0.75)
    assert report["max_peak_shift"] == pytest.approx(1 / 8, abs=1e-5)
    assert report["label_error_keras"] == 0.0


def test_head_decodes_to_the_stride():
    features = {
        "P1": keras.Input((16, 16, 4), name="P1"),
        "P3": keras.Input((4, 4, 4), name="P3"),
        "P5": keras.Input((1, 1, 4), name="P5"),
    }
    for stride, size in ((1, 32), (4, 8), (8, 4)):
        task = _task(stride=stride, head={"width": 4})
        out = mtlzoo.heads.build_head(task)(features, SHAPE)
        model = keras.Model(features, out)
        assert tuple(out.shape) == (None, size, size, 3)
        names = [layer.name for layer in model.layers]
        # Skips finer than the maps are left out by default.
        assert ("pose_head_P1_concat" in names) == (stride <= 2)
        last = model.get_layer("pose")
        assert last.get_config()["activation"] == "sigmoid"
        assert last.dtype_policy.name == "float32"


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    tasks = [
        _task(head={"width": 8}),
        mtlzoo.Task("kind", "classification", num_classes=2),
    ]
    model = mtlzoo.build("tiny", tasks, input_shape=SHAPE)
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    return model


def _data():
    task = _task()
    rng = np.random.default_rng(0)
    x = testing.random_images(SHAPE, 8)
    y = task.random_labels(rng, SHAPE, 8)
    y[1] = NAN  # a sample without a label
    y[2, ..., 0] = NAN  # a keypoint without a label
    y[3, ..., 1] = 0.0  # a keypoint labelled absent
    kind = np.array([0, 1, -1, 1, 0, 0, 1, -1], "int32")
    return x, {"pose": y, "kind": kind}


def test_fit_with_missing_labels_loss_falls(model):
    x, y = _data()
    history = model.fit(x, y, batch_size=8, epochs=6, verbose=0).history
    losses = history["pose_loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    # Logged metrics equal a NumPy computation on the same predictions.
    logs = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)["pose"]
    label = y["pose"]
    present = ~np.isnan(label)
    mse = np.mean((label[present] - pred[present]) ** 2)
    assert logs["pose_loss"] == pytest.approx(mse, rel=1e-4)
    assert logs["pose_mse"] == pytest.approx(mse, rel=1e-4)
    hits = []
    for b in range(8):
        for k in range(3):
            m = label[b, ..., k]
            if np.isnan(m).all() or np.nanmax(m) <= 0:
                continue
            ti, tj = np.unravel_index(np.nanargmax(m), m.shape)
            pi, pj = np.unravel_index(np.argmax(pred[b, ..., k]), m.shape)
            hits.append(np.hypot((ti - pi) / 8, (tj - pj) / 8) <= 0.05)
    assert len(hits) == 8 * 3 - 3 - 1 - 1
    assert logs["pose_peak_pck"] == pytest.approx(np.mean(hits), abs=1e-6)


def test_fit_refuses_an_invalid_heatmap_value(model):
    x, y = _data()
    y["pose"][5, 2, 3, 1] = 1.5
    with pytest.raises(ValueError, match=r"task 'pose'.*\[0, 1\].*1.5") as e:
        model.fit(x, y, batch_size=8, verbose=0)
    assert "Received" in str(e.value)


def test_trained_model_round_trips(model):
    # Runs after the fits above: trained weights, optimizer state.
    testing.run_serialization_test(model)
    testing.run_saving_test(model)
    assert model.get_layer("pose").output.shape == (None, 8, 8, 3)


def test_postprocess_gives_points_in_image_pixels():
    task = _task(num_keypoints=2, keypoint_names=["a", "b"])
    maps = task.keypoints_to_heatmaps([[0.25, 0.5], [NAN, NAN]], SHAPE)
    # The model saw the crop (100, 50)-(300, 250) of a 400 x 300 image.
    out = task.postprocess(maps, (100, 50, 300, 250), (300, 400))
    np.testing.assert_allclose(out["points"][0], [150.0, 150.0], atol=1e-3)
    assert np.all(np.isnan(out["points"][1])) and np.isnan(out["scores"][1])
    assert out["scores"][0] == pytest.approx(np.exp(-0.25), 1e-6)
    assert out["names"] == ["a", "b"]
