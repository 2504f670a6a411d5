"""Dynamic Weight Averaging as a weighting method (mtlzoo/weighting/dwa.py).

The callback `mtlzoo.callbacks.DynamicWeightAveraging` shares this code:
tests/callbacks/test_dynamic_weight_averaging.py.
"""

import math

import keras
import numpy as np
import pytest
from fit_helpers import tiny_model_and_data
from weighting_helpers import make

from mtlzoo import weighting


def loss_logs(values, names=("t0", "t1", "t2")):
    logs = {f"{n}_loss": v for n, v in zip(names, values)}
    logs["loss"] = sum(values)
    return logs


def weights_now(variables):
    return np.array([v.numpy() for v in variables])


def test_dwa_hooks_match_paper_formula():
    method, variables = make("dwa", 3, temperature=2.0)
    variables[1].assign(5.0)
    method.on_train_begin()
    np.testing.assert_array_equal(weights_now(variables), [1.0, 1.0, 1.0])
    history = [[1.0, 2.0, 0.5], [0.5, 1.8, 0.5], [0.45, 0.9, 0.6]]
    method.on_epoch_end(0, loss_logs(history[0]))
    np.testing.assert_array_equal(weights_now(variables), [1.0, 1.0, 1.0])
    method.on_epoch_end(1, loss_logs(history[1]))
    # r = (0.5, 0.9, 1.0); w = K exp(r / T) / sum exp(r / T), by hand:
    exps = [math.exp(0.25), math.exp(0.45), math.exp(0.5)]
    expected = [3 * e / sum(exps) for e in exps]
    np.testing.assert_allclose(weights_now(variables), expected, rtol=1e-6)
    method.on_epoch_end(2, loss_logs(history[2]))
    ratios = np.array(history[2]) / np.array(history[1])
    exps = np.exp(ratios / 2.0)
    np.testing.assert_allclose(
        weights_now(variables), 3 * exps / exps.sum(), rtol=1e-6
    )
    # The step is the weighted sum of the task losses.
    losses = np.array([1.0, 2.0, 3.0], "float32")
    out = method.combine_losses(losses, weights_now(variables), np.ones(3))
    np.testing.assert_allclose(
        out, (weights_now(variables) * losses).sum(), rtol=1e-6
    )


def test_dwa_state_is_kept_saved_and_reset():
    method, variables = make("dwa", 3)
    method.on_train_begin()
    method.on_epoch_end(0, loss_logs([1.0, 2.0, 0.5]))
    # A second fit continues: no reset to 1, the first epoch is remembered.
    variables[0].assign(0.3)
    method.on_train_begin()
    assert variables[0].numpy() == pytest.approx(0.3)
    # A copy with the saved variables continues like the original.
    copy, copy_variables = make("dwa", 3)
    copy.set_weights(method.get_weights())
    for m in (method, copy):
        m.on_epoch_end(1, loss_logs([0.5, 1.8, 0.5]))
    np.testing.assert_allclose(
        weights_now(copy_variables), weights_now(variables), rtol=1e-12
    )
    assert not np.allclose(weights_now(variables), 1.0)
    assert int(method.epochs_seen.numpy()) == 2
    method.reset_state()
    assert int(method.epochs_seen.numpy()) == 0
    method.on_train_begin()
    np.testing.assert_array_equal(weights_now(variables), [1.0, 1.0, 1.0])


def test_dwa_errors():
    for bad in (0, -1.0, "2", True):
        with pytest.raises(ValueError, match=f"Received: temperature={bad!r}"):
            weighting.DynamicWeightAveraging(temperature=bad)
    method, _ = make("dwa", 3)
    logs = loss_logs([1.0, 1.0, 1.0])
    del logs["t1_loss"]
    with pytest.raises(ValueError, match="'t1_loss' for task 't1'"):
        method.on_epoch_end(0, logs)
    unbound = weighting.DynamicWeightAveraging()
    unbound.build_state(2)
    with pytest.raises(ValueError, match="Received: task_weights=None"):
        unbound.on_train_begin()


def check_dwa_history(history):
    """Epochs 1-2 at weight 1, epoch 3 at the paper's weights."""
    names = ("digit", "ink")
    assert history["digit_weight"][:2] == [1.0, 1.0]
    losses = {n: history[f"{n}_loss"] for n in names}
    ratios = np.array([losses[n][1] / losses[n][0] for n in names])
    exps = np.exp(ratios / 2.0)
    expected = 2 * exps / exps.sum()
    np.testing.assert_allclose(
        [history[f"{n}_weight"][2] for n in names], expected, rtol=1e-5
    )
    assert not np.allclose(expected, 1.0)


def test_dwa_drives_fit_through_its_callbacks():
    model, x, y = tiny_model_and_data()
    model.compile(optimizer=keras.optimizers.SGD(0.01), weighting="dwa")
    # Passing them explicitly is harmless if fit adds them as well.
    history = model.fit(
        x,
        y,
        batch_size=8,
        epochs=3,
        verbose=0,
        callbacks=model.weighting.callbacks(),
    ).history
    check_dwa_history(history)
    assert int(model.weighting.epochs_seen.numpy()) == 3


def test_compile_weighting_dwa_alone_changes_weights_after_two_epochs():
    """`compile(weighting="dwa")` needs nothing else: fit adds the
    method's callbacks."""
    model, x, y = tiny_model_and_data()
    model.compile(optimizer=keras.optimizers.SGD(0.01), weighting="dwa")
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0).history
    check_dwa_history(history)
