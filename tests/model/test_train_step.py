"""The train and test steps: task weights, masks, sample weights, logs."""

import keras
import numpy as np
import tensorflow as tf
from model_helpers import SHAPE
from model_helpers import small_tasks
from model_helpers import tiny_model

from mtlzoo import testing


def test_task_weight_zero_stops_gradient_into_trunk():
    tasks = small_tasks(("classification", "regression"))
    x = testing.random_images(SHAPE, 4)
    y = testing.random_labels(tasks, SHAPE, 4)
    y_only_ink = dict(y, digit=np.full_like(y["digit"], -1))

    def one_step(labels, weights):
        keras.utils.set_random_seed(1)
        model = tiny_model(tasks)
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss_weights=weights)
        model.fit(x, labels, batch_size=4, epochs=1, verbose=0, shuffle=False)
        return model

    before = tiny_model(tasks)
    zeroed = one_step(y, {"digit": 0.0})
    unlabelled = one_step(y_only_ink, None)
    full = one_step(y, None)
    trunk = ["tiny_P1", "tiny_P3", "tiny_P5"]
    for name in trunk:
        for a, b, c in zip(
            zeroed.get_layer(name).get_weights(),
            unlabelled.get_layer(name).get_weights(),
            full.get_layer(name).get_weights(),
        ):
            np.testing.assert_allclose(a, b, atol=1e-6)
        assert any(
            not np.allclose(a, c)
            for a, c in zip(
                zeroed.get_layer(name).get_weights(),
                full.get_layer(name).get_weights(),
            )
        ), name
    # The zero-weighted head did not move either.
    keras.utils.set_random_seed(1)
    before = tiny_model(tasks)
    np.testing.assert_allclose(
        zeroed.get_layer("digit").get_weights()[0],
        before.get_layer("digit").get_weights()[0],
    )


def test_callback_assigning_weight_takes_effect_next_step():
    tasks = small_tasks(("classification", "regression"))
    x = testing.random_images(SHAPE, 8)
    y = testing.random_labels(tasks, SHAPE, 8)
    seen = []

    class Halve(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(float(logs["digit_weight"]))
            self.model.task_weights["digit"].assign(0.5 ** (batch + 1))

    model = tiny_model(tasks)
    model.compile(optimizer="sgd")
    model.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[Halve()])
    assert seen == [1.0, 0.5, 0.25, 0.125]


def test_missing_labels_give_zero_loss_not_nan():
    tasks = small_tasks()
    model = tiny_model(tasks)
    x = testing.random_images(SHAPE, 2)
    y = testing.random_labels(tasks, SHAPE, 2, missing=1.0)
    y_pred = model(x)
    for task in tasks:
        loss = float(task.compute_loss(y[task.name], y_pred[task.name]))
        assert loss == 0.0, (task.name, loss)
    model.compile(optimizer="adam")
    logs = model.train_on_batch(x, y, return_dict=True)
    for task in tasks:
        assert logs[f"{task.name}_loss"] == 0.0
        assert np.isfinite(logs["loss"])


def test_sample_weight_dict_masks_a_task():
    tasks = small_tasks(("classification", "regression"))
    model = tiny_model(tasks)
    model.compile(optimizer="adam")
    x = testing.random_images(SHAPE, 4)
    y = testing.random_labels(tasks, SHAPE, 4)
    sw = {"digit": np.zeros(4, "float32"), "ink": np.ones(4, "float32")}
    logs = model.train_on_batch(x, y, sample_weight=sw, return_dict=True)
    assert logs["digit_loss"] == 0.0
    assert logs["ink_loss"] > 0.0


def test_dataset_fit_with_validation():
    tasks = small_tasks(("classification", "segmentation"))
    x = testing.random_images(SHAPE, 8)
    y = testing.random_labels(tasks, SHAPE, 8)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    model = tiny_model(tasks)
    model.compile(optimizer="adam")
    hist = model.fit(ds, validation_data=ds, epochs=2, verbose=0).history
    assert "val_mask_mean_iou" in hist and "val_digit_loss" in hist
    assert hist["loss"][1] < hist["loss"][0]


def test_call_without_training_flag_is_inference():
    """No layer may default the call to training mode (BatchNorm stats)."""
    tasks = small_tasks(("segmentation", "depth", "classification"))
    model = tiny_model(tasks, branch_points={"mask": "P3"})
    x = testing.random_images(SHAPE, 4)
    plain = model(x)
    inference = model(x, training=False)
    for name in plain:
        np.testing.assert_array_equal(plain[name], inference[name])
