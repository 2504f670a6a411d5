"""The DWA callback (mtlzoo/callbacks/dynamic_weight_averaging.py)."""

import math

import keras
import numpy as np
import pytest
from callback_helpers import attach
from callback_helpers import loss_logs

import mtlzoo
from mtlzoo import callbacks
from mtlzoo import testing


def test_dwa_matches_paper_formula():
    dwa = callbacks.DynamicWeightAveraging(temperature=2.0)
    model = attach(dwa)
    model.task_weights["b"].assign(5.0)
    dwa.on_train_begin()
    np.testing.assert_array_equal(model.weights_now(), [1.0, 1.0, 1.0])
    history = [[1.0, 2.0, 0.5], [0.5, 1.8, 0.5], [0.45, 0.9, 0.6]]
    dwa.on_epoch_end(0, loss_logs(history[0]))
    # Epochs 1 and 2 use weight 1.
    np.testing.assert_array_equal(model.weights_now(), [1.0, 1.0, 1.0])
    dwa.on_epoch_end(1, loss_logs(history[1]))
    # r = (0.5, 0.9, 1.0); w = K exp(r / T) / sum exp(r / T), by hand:
    exps = [math.exp(0.25), math.exp(0.45), math.exp(0.5)]
    expected = [3 * e / sum(exps) for e in exps]
    np.testing.assert_allclose(model.weights_now(), expected, rtol=1e-6)
    np.testing.assert_allclose(expected, [0.8558, 1.0453, 1.0989], rtol=1e-3)
    dwa.on_epoch_end(2, loss_logs(history[2]))
    ratios = np.array(history[2]) / np.array(history[1])
    exps = np.exp(ratios / 2.0)
    np.testing.assert_allclose(
        model.weights_now(), 3 * exps / exps.sum(), rtol=1e-6
    )
    assert dwa.get_config() == {"temperature": 2.0}


def test_dwa_high_temperature_gives_equal_weights():
    dwa = callbacks.DynamicWeightAveraging(temperature=1e6)
    model = attach(dwa)
    dwa.on_train_begin()
    dwa.on_epoch_end(0, loss_logs([1.0, 1.0, 1.0]))
    dwa.on_epoch_end(1, loss_logs([0.1, 1.0, 3.0]))
    np.testing.assert_allclose(model.weights_now(), 1.0, rtol=1e-5)


def test_dwa_errors():
    for bad in (0, -1.0, "2", True):
        with pytest.raises(ValueError, match=f"Received: temperature={bad!r}"):
            callbacks.DynamicWeightAveraging(temperature=bad)
    dwa = callbacks.DynamicWeightAveraging()
    attach(dwa)
    logs = loss_logs([1.0, 1.0, 1.0])
    del logs["b_loss"]
    with pytest.raises(ValueError) as info:
        dwa.on_epoch_end(0, logs)
    message = str(info.value)
    assert "'b_loss'" in message and "task 'b'" in message
    assert message.endswith("Received: logs keys=['a_loss', 'c_loss', 'loss']")
    dwa.set_model(keras.Sequential())
    with pytest.raises(ValueError, match="task_weights"):
        dwa.on_train_begin()


def test_dwa_drives_a_real_model():
    tasks = [
        mtlzoo.Task(
            "digit", "classification", num_classes=5, head={"units": 8}
        ),
        mtlzoo.Task("ink", "regression", units=2, head={"units": 8}),
    ]
    model = mtlzoo.build("tiny", tasks, (32, 32, 1))
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    x = testing.random_images((32, 32, 1), 8)
    y = testing.random_labels(tasks, (32, 32, 1), 8)
    history = model.fit(
        x,
        y,
        batch_size=8,
        epochs=3,
        verbose=0,
        callbacks=[callbacks.DynamicWeightAveraging(temperature=2.0)],
    ).history
    losses = {n: history[f"{n}_loss"] for n in ("digit", "ink")}
    assert history["digit_weight"][:2] == [1.0, 1.0]
    ratios = np.array([losses[n][1] / losses[n][0] for n in ("digit", "ink")])
    exps = np.exp(ratios / 2.0)
    expected = 2 * exps / exps.sum()
    # The weights set after epoch 2 are those the third epoch trained with.
    np.testing.assert_allclose(
        [history["digit_weight"][2], history["ink_weight"][2]],
        expected,
        rtol=1e-5,
    )
