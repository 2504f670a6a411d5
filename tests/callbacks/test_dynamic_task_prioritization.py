"""The DTP callback (mtlzoo/callbacks/dynamic_task_prioritization.py)."""

import math

import numpy as np
import pytest
from callback_helpers import attach

from mtlzoo import callbacks


def test_dtp_matches_paper_formula():
    dtp = callbacks.DynamicTaskPrioritization(gamma=2.0)
    model = attach(dtp, ("a", "b", "seg"))
    dtp.on_train_begin()
    logs = {
        "a_accuracy": 0.9,
        "b_sparse_categorical_accuracy": 0.5,
        "seg_mean_iou": 0.2,
        "a_loss": 0.3,
        "b_loss": 1.0,
        "seg_loss": 2.0,
    }
    dtp.on_epoch_end(0, logs)
    # w = -(1 - k)^gamma log(k), by hand:
    expected = [
        -(0.1**2) * math.log(0.9),  # 0.0010536
        -(0.5**2) * math.log(0.5),  # 0.1732868
        -(0.8**2) * math.log(0.2),  # 1.0300410
    ]
    np.testing.assert_allclose(model.weights_now(), expected, rtol=1e-6)
    np.testing.assert_allclose(
        expected, [0.0010536, 0.1732868, 1.0300410], rtol=1e-5
    )


def test_dtp_named_kpis_momentum_and_limits():
    dtp = callbacks.DynamicTaskPrioritization(
        gamma=1.0, kpi={"a": "a_top_k"}, momentum=0.5
    )
    model = attach(dtp, ("a", "ink"))
    model.task_weights["ink"].assign(0.7)
    dtp.on_train_begin()
    dtp.on_epoch_end(0, {"a_top_k": 0.4, "ink_loss": 1.0})
    np.testing.assert_allclose(
        model.weights_now(), [-0.6 * math.log(0.4), 0.7], rtol=1e-6
    )
    dtp.on_epoch_end(1, {"a_top_k": 0.8, "ink_loss": 1.0})
    smoothed = 0.5 * 0.4 + 0.5 * 0.8
    np.testing.assert_allclose(
        model.weights_now(),
        [-(1 - smoothed) * math.log(smoothed), 0.7],
        rtol=1e-6,
    )
    perfect = callbacks.DynamicTaskPrioritization()
    model = attach(perfect, ("a",))
    perfect.on_epoch_end(0, {"a_accuracy": 1.0})
    assert model.weights_now()[0] == 0.0
    perfect.on_epoch_end(1, {"a_accuracy": 0.0})
    assert np.isfinite(model.weights_now()[0]) and model.weights_now()[0] > 10


def test_dtp_errors():
    with pytest.raises(ValueError, match="Received: gamma=-1"):
        callbacks.DynamicTaskPrioritization(gamma=-1)
    with pytest.raises(ValueError, match="Received: kpi=\\['a'\\]"):
        callbacks.DynamicTaskPrioritization(kpi=["a"])
    with pytest.raises(ValueError, match="Received: momentum=1"):
        callbacks.DynamicTaskPrioritization(momentum=1)
    dtp = callbacks.DynamicTaskPrioritization()
    attach(dtp, ("a", "ink"))
    with pytest.raises(ValueError) as info:
        dtp.on_epoch_end(0, {"a_accuracy": 0.5, "ink_loss": 1.0})
    message = str(info.value)
    assert "task 'ink'" in message and "kpi=" in message
    assert message.endswith("Received: logs keys=['a_accuracy', 'ink_loss']")
    with pytest.raises(ValueError, match="Received: a_accuracy=1.5"):
        dtp.on_epoch_end(0, {"a_accuracy": 1.5, "ink_accuracy": 0.5})
    named = callbacks.DynamicTaskPrioritization(kpi={"a": "a_auc"})
    attach(named, ("a", "ink"))
    with pytest.raises(ValueError, match="'a_auc' for task 'a'"):
        named.on_epoch_end(0, {"a_accuracy": 0.5})
    unknown = callbacks.DynamicTaskPrioritization(kpi={"x": "x_accuracy"})
    attach(unknown, ("a",))
    with pytest.raises(ValueError, match="unknown tasks \\['x'\\]"):
        unknown.on_train_begin()
