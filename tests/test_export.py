import json
import os

import keras
import numpy as np
import pytest

import mtlzoo
from mtlzoo import testing
from mtlzoo.export import export

SHAPE = (32, 32, 3)
TASKS = [
    mtlzoo.Task("shape", "classification", num_classes=3),
    mtlzoo.Task("seg", "segmentation", num_classes=4),
    mtlzoo.Task("depth", "depth"),
    mtlzoo.Task("normals", "normals"),
    mtlzoo.Task("ink", "regression", units=2),
]


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return mtlzoo.build(
        "tiny", TASKS, input_shape=SHAPE, branch_points={"seg": "P3"}
    )


@pytest.fixture(scope="module")
def data():
    x = testing.random_images(SHAPE, 8, seed=3)
    return x, testing.random_labels(TASKS, SHAPE, 8, seed=3)


def test_savedmodel_matches_keras(model, data, tmp_path):
    x, y = data
    report = export(model, str(tmp_path / "sm"), sample_inputs=(x, y))
    assert os.path.isfile(tmp_path / "sm" / "saved_model.pb")
    assert report["output_names"] == {t.name: t.name for t in TASKS}
    for task, numbers in report["tasks"].items():
        assert numbers["max_abs_error"] < 1e-5, (task, numbers)
    assert report["tasks"]["shape"]["accuracy_drop"] == 0.0
    assert report["tasks"]["seg"]["class_agreement"] == 1.0
    assert report["samples"] == 8 and report["inputs"] == "sample_inputs"
    json.dumps(report)


def test_tflite_int8(model, data, tmp_path):
    x, y = data
    report = export(
        model,
        str(tmp_path / "q.tflite"),
        format="tflite",
        quantize="int8",
        representative_data=x,
    )
    assert report["inputs"] == "representative_data"
    assert report["io_dtype"] == "float32"
    # BatchNorm folds and int8 weights: the file is >3x smaller.
    assert report["size_ratio"] > 3.0, report["size_ratio"]
    assert set(report["targets"]) == {
        "size_ratio_min",
        "size_ratio_met",
        "accuracy_drop_max",
        "accuracy_drop_met",
        "met",
        "missed",
    }
    # An untrained model's near-uniform softmax makes argmax agreement
    # meaningless; the probabilities themselves stay close.
    assert 0 <= report["tasks"]["seg"]["class_agreement"] <= 1
    assert report["tasks"]["seg"]["max_abs_error"] < 0.1
    assert report["tasks"]["ink"]["max_abs_error"] < 0.1


def test_as_arrays_forms(data):
    import tensorflow as tf

    from mtlzoo.export import as_arrays

    x, y = data
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    for form in (ds, ds.batch(3), (x, y)):
        images, labels = as_arrays(form, SHAPE)
        assert images.shape == (8,) + SHAPE
        np.testing.assert_array_equal(labels["shape"], y["shape"])
    images, labels = as_arrays(
        lambda: ([x[i : i + 1]] for i in range(2)), SHAPE
    )
    assert images.shape == (2,) + SHAPE and labels is None


def test_errors(model, tmp_path):
    path = str(tmp_path / "m.tflite")
    with pytest.raises(ValueError, match="format='onnx'"):
        export(model, path, format="onnx")
    with pytest.raises(ValueError, match="quantize='int4'"):
        export(model, path, format="tflite", quantize="int4")
    with pytest.raises(ValueError, match="quantize='int8'"):
        export(model, path, quantize="int8")
    with pytest.raises(ValueError, match="representative_data=None"):
        export(model, path, format="tflite", quantize="int8")
    with pytest.raises(ValueError, match=r"sample_inputs.shape=\(2, 8, 8, 3\)"):
        export(model, path, sample_inputs=np.zeros((2, 8, 8, 3)))
    with pytest.raises(TypeError, match="model of type str"):
        export("model", path)


def test_zoo_preset_float16(tmp_path):
    zoo = pytest.importorskip("mtlzoo.zoo")
    if "fashion_tiny_test" not in zoo.list_models():
        pytest.skip("no tiny preset")
    model = zoo.load("fashion_tiny_test", compile=False)
    x = testing.random_images(tuple(model.input_shape_), 4)
    report = export(
        model,
        str(tmp_path / "z.tflite"),
        format="tflite",
        quantize="float16",
        sample_inputs=x,
    )
    assert sorted(report["output_names"]) == sorted(model.task_names)
    # a 5k-parameter model: the flatbuffer overhead dominates
    assert report["size_ratio"] > 1.0
    for numbers in report["tasks"].values():
        assert numbers["max_abs_error"] < 0.05, numbers
