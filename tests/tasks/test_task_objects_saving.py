"""Tasks with their own loss, metrics and class names survive config JSON
round trips, copies and `.keras` files."""

import copy
import json
import os
import pickle
import tempfile

import keras
import numpy as np
from objective_helpers import ScaledAbsoluteError
from objective_helpers import absolute_error
from objective_helpers import max_error

import mtlzoo
from mtlzoo import testing
from mtlzoo.tasks import Task

SHAPE = (32, 32, 1)


def custom_tasks():
    top3 = keras.metrics.SparseTopKCategoricalAccuracy(k=3, name="top3")
    return [
        Task(
            "digit",
            "classification",
            num_classes=5,
            head={"units": 8},
            loss=keras.losses.CategoricalFocalCrossentropy(gamma=1.5),
            metrics=[top3, "top_k_categorical_accuracy"],
            class_names=["zero", "one", "two", "three", "four"],
        ),
        Task(
            "ink",
            "regression",
            units=2,
            head={"units": 8},
            loss=ScaledAbsoluteError(scale=3.0),
            metrics=[max_error, "mse"],
        ),
        Task("size", "regression", head={"units": 4}, loss=absolute_error),
        Task(
            "area",
            "regression",
            head={"units": 4},
            loss=keras.losses.Huber(delta=0.25),
        ),
    ]


def test_get_config_json_round_trip():
    for task in custom_tasks():
        config = task.get_config()
        text = json.dumps(config)
        clone = Task.from_config(json.loads(text))
        assert clone == task and type(clone) is type(task)
        assert json.dumps(clone.get_config()) == text
        for copied in (
            pickle.loads(pickle.dumps(task)),
            copy.deepcopy(task),
            copy.copy(task),
        ):
            assert copied == task
    digit, ink, size, area = custom_tasks()
    assert digit.get_config()["metrics"][1] == "top_k_categorical_accuracy"
    assert size.get_config()["loss"]["config"] == "mtlzoo_tests>absolute_error"
    # Keras 3.15's Huber.get_config drops `delta`; the task keeps it.
    assert area.get_config()["loss"]["config"]["delta"] == 0.25
    clone = Task.from_config(json.loads(json.dumps(area.get_config())))
    y, p = np.array([[0.0]], "float32"), np.array([[1.0]], "float32")
    np.testing.assert_allclose(
        float(clone.compute_loss(y, p)), 0.25 - 0.5 * 0.25**2
    )


def test_keras_file_round_trip():
    model = mtlzoo.build("tiny", custom_tasks(), input_shape=SHAPE)
    model.compile(optimizer="adam", weighting="pcgrad")
    history = testing.run_model_test(model)
    assert "digit_top3" in history and "ink_max_error" in history
    testing.run_serialization_test(model)
    x = testing.random_images(SHAPE, 4)
    y = testing.random_labels(model.tasks, SHAPE, 4, missing=0.25)
    before = model.evaluate(x, y, verbose=0, return_dict=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.models.load_model(path)
    assert loaded.tasks == model.tasks
    digit = loaded.tasks[0]
    assert digit.class_names[2] == "two"
    assert digit.loss.get_config()["gamma"] == 1.5
    assert isinstance(loaded.tasks[1].loss, ScaledAbsoluteError)
    assert loaded.tasks[1].loss.scale == 3.0
    assert loaded.tasks[1].metrics[0] is max_error
    after = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(after) == sorted(before)
    for key, value in before.items():
        np.testing.assert_allclose(after[key], value, rtol=1e-5, err_msg=key)
    decoded = digit.decode_predictions(loaded.predict(x, verbose=0), top=2)
    assert len(decoded) == 4 and decoded[0][0][0] in digit.class_names
    loaded.fit(x, y, epochs=1, verbose=0)
