"""Uncertainty weighting: the likelihood loss."""

import math

import numpy as np
import tensorflow as tf
from weighting_helpers import make


def test_uncertainty_loss_formula():
    method, _ = make(
        "uncertainty",
        2,
        task_types={"t1": "classification"},
        default_type="regression",
    )
    method.log_variances.assign([0.5, -1.0])
    losses = tf.constant([2.0, 3.0])
    weights = tf.constant([1.0, 2.0])
    out = method.combine_losses(losses, weights, tf.ones([2])).numpy()
    expected = (0.5 * math.exp(-0.5) * 2.0 + 0.25) + 2.0 * (
        math.exp(1.0) * 3.0 - 0.5
    )
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    # The gradient in s vanishes at the optimum s = log(2 c L).
    method.log_variances.assign([math.log(2 * 0.5 * 2.0), math.log(2 * 3.0)])
    with tf.GradientTape() as tape:
        loss = method.combine_losses(losses, weights, tf.ones([2]))
    grad = tape.gradient(loss, method.log_variances.value)
    np.testing.assert_allclose(grad.numpy(), 0.0, atol=1e-6)
    # An absent task adds nothing and its s gets no gradient.
    with tf.GradientTape() as tape:
        loss = method.combine_losses(losses, weights, tf.constant([1.0, 0.0]))
    assert tape.gradient(loss, method.log_variances.value).numpy()[1] == 0.0
    assert method.log_variances.trainable
