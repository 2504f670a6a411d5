"""Dynamic Task Prioritization as a weighting method
(mtlzoo/weighting/dtp.py).

The callback `mtlzoo.callbacks.DynamicTaskPrioritization` shares this
code: tests/callbacks/test_dynamic_task_prioritization.py.
"""

import math

import keras
import numpy as np
import pytest
from fit_helpers import tiny_model_and_data
from weighting_helpers import make

from mtlzoo import weighting


def weights_now(variables):
    return np.array([v.numpy() for v in variables])


def test_dtp_hooks_match_paper_formula():
    method, variables = make("dtp", 3, gamma=2.0)
    logs = {
        "t0_accuracy": 0.9,
        "t1_sparse_categorical_accuracy": 0.5,
        "t2_mean_iou": 0.2,
    }
    method.on_epoch_end(0, logs)
    expected = [
        -(0.1**2) * math.log(0.9),
        -(0.5**2) * math.log(0.5),
        -(0.8**2) * math.log(0.2),
    ]
    np.testing.assert_allclose(weights_now(variables), expected, rtol=1e-6)


def test_dtp_smoothing_is_kept_saved_and_reset():
    method, variables = make(
        "dtp", 2, gamma=1.0, kpi={"t0": "t0_top_k"}, momentum=0.5
    )
    variables[1].assign(0.7)
    method.on_epoch_end(0, {"t0_top_k": 0.4})
    method.on_train_begin()  # a second fit keeps the smoothed KPI
    copy, copy_variables = make(
        "dtp", 2, gamma=1.0, kpi={"t0": "t0_top_k"}, momentum=0.5
    )
    copy_variables[1].assign(0.7)
    copy.set_weights(method.get_weights())
    for m in (method, copy):
        m.on_epoch_end(1, {"t0_top_k": 0.8})
    smoothed = 0.5 * 0.4 + 0.5 * 0.8
    expected = [-(1 - smoothed) * math.log(smoothed), 0.7]
    np.testing.assert_allclose(weights_now(variables), expected, rtol=1e-6)
    np.testing.assert_allclose(weights_now(copy_variables), expected, rtol=1e-6)
    method.reset_state()
    method.on_epoch_end(2, {"t0_top_k": 0.8})
    np.testing.assert_allclose(
        weights_now(variables)[0], -0.2 * math.log(0.8), rtol=1e-6
    )


def test_dtp_errors():
    with pytest.raises(ValueError, match="Received: gamma=-1"):
        weighting.DynamicTaskPrioritization(gamma=-1)
    with pytest.raises(ValueError, match="unknown tasks \\['x'\\]"):
        make("dtp", 2, kpi={"x": "x_accuracy"})
    method, _ = make("dtp", 2)
    with pytest.raises(ValueError, match="no KPI for task 't1'"):
        method.on_epoch_end(0, {"t0_accuracy": 0.5, "t1_loss": 1.0})


def test_dtp_drives_fit_through_its_callbacks():
    model, x, y = tiny_model_and_data()
    method = weighting.get("dtp", kpi={"digit": "digit_accuracy"})
    model.compile(optimizer=keras.optimizers.SGD(0.01), weighting=method)
    history = model.fit(
        x, y, batch_size=8, epochs=2, verbose=0, callbacks=method.callbacks()
    ).history
    kpi = history["digit_accuracy"][0]
    expected = method.priority(kpi)
    assert expected == pytest.approx(
        -((1 - kpi) ** 2) * math.log(max(kpi, 1e-7))
    )
    np.testing.assert_allclose(history["digit_weight"][1], expected, rtol=1e-5)
    assert history["ink_weight"] == [1.0, 1.0]
