"""Saving and reloading a compiled model: optimizers, task weights."""

import keras
import numpy as np
from model_helpers import SHAPE
from model_helpers import small_tasks
from model_helpers import tiny_model

from mtlzoo import testing


def test_head_optimizers_only_move_their_head():
    tasks = small_tasks(("classification", "regression"))
    x = testing.random_images(SHAPE, 4)
    y = testing.random_labels(tasks, SHAPE, 4)
    keras.utils.set_random_seed(2)
    model = tiny_model(tasks)
    before = model.get_layer("ink").get_weights()[0].copy()
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        head_optimizers={"ink": keras.optimizers.SGD(0.0)},
    )
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    np.testing.assert_array_equal(
        model.get_layer("ink").get_weights()[0], before
    )
    path = "/tmp/mtlzoo_head_opt.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert sorted(loaded.head_optimizers) == ["ink"]


def test_loaded_model_resumes_training():
    tasks = small_tasks(("classification",))
    model = tiny_model(tasks)
    model.compile(optimizer="adam", loss_weights={"digit": 0.25})
    testing.run_model_test(model)
    loaded = testing.run_saving_test(model)
    assert float(loaded.task_weights["digit"].numpy()) == 0.25
    assert loaded.compiled
    x = testing.random_images(SHAPE, 2)
    y = testing.random_labels(tasks, SHAPE, 2)
    loaded.fit(x, y, epochs=1, verbose=0)
