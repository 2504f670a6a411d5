"""PCGrad: projections of conflicting gradients."""

import numpy as np
import tensorflow as tf
from weighting_helpers import combine
from weighting_helpers import make


def test_pcgrad_two_conflicting_vectors():
    method, _ = make("pcgrad", 2, seed=0)
    g1, g2 = np.array([1.0, 0.0]), np.array([-1.0, 1.0])
    # g1 . g2 = -1 < 0: each loses its component along the other.
    p1 = g1 - (g1 @ g2) / (g2 @ g2) * g2  # [0.5, 0.5]
    p2 = g2 - (g2 @ g1) / (g1 @ g1) * g1  # [0, 1]
    np.testing.assert_allclose(p1 + p2, [0.5, 1.5])
    np.testing.assert_allclose(combine(method, [g1, g2]), [0.5, 1.5])
    # No conflict: the plain sum.
    np.testing.assert_allclose(combine(method, [g1, [1.0, 1.0]]), [2.0, 1.0])
    mean, _ = make("pcgrad", 2, reduction="mean")
    np.testing.assert_allclose(combine(mean, [g1, g2]), [0.25, 0.75])


def test_pcgrad_three_tasks_matches_reference_loop():
    rng = np.random.default_rng(3)
    grads = rng.normal(size=(3, 6))
    order = np.array([[2, 0, 1], [0, 2, 1], [1, 2, 0]])
    expected = np.zeros(6)
    for i in range(3):  # the authors' loop, in the given order
        g = grads[i].copy()
        for j in order[i]:
            dot = g @ grads[j]
            if dot < 0:
                g -= dot / (grads[j] @ grads[j]) * grads[j]
        expected += g
    method, _ = make("pcgrad", 3)
    alpha = method.coefficients(
        tf.constant(grads @ grads.T), tf.ones([3], tf.float64), order
    )
    np.testing.assert_allclose(alpha.numpy() @ grads, expected, rtol=1e-10)


def test_pcgrad_order_is_seeded():
    grads = np.random.default_rng(4).normal(size=(4, 8))
    first = combine(make("pcgrad", 4, seed=5)[0], grads)
    second = combine(make("pcgrad", 4, seed=5)[0], grads)
    np.testing.assert_array_equal(first, second)
