"""Non-finite guards (mtlzoo/weighting/checks.py)."""

import numpy as np
import pytest
import tensorflow as tf

from mtlzoo.weighting import checks


def test_assert_finite_names_the_task():
    names = ["garment", "mask"]
    losses, grads = checks.assert_finite(
        tf.constant([1.0, 2.0]), tf.ones([2, 3]), names
    )
    assert losses.shape == (2,) and grads.shape == (2, 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="task 'mask'"):
        checks.assert_finite(tf.constant([1.0, np.nan]), None, names)
    bad = np.ones((2, 3), "float32")
    bad[0, 1] = np.inf
    with pytest.raises(
        tf.errors.InvalidArgumentError, match="Gradient of task 'garment'"
    ):
        checks.assert_finite(tf.constant([1.0, 2.0]), tf.constant(bad), names)

    @tf.function
    def step(losses, grads):
        return checks.assert_finite(losses, [[grads[0]], [grads[1]]], names)

    step(tf.constant([1.0, 2.0]), tf.ones([2, 3]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="task 'mask'"):
        step(tf.constant([1.0, 2.0]), tf.constant([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match="Received: task_names=\\['a'\\]"):
        checks.assert_finite(tf.constant([1.0, 2.0]), None, ["a"])
