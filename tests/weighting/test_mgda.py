"""MGDA: the min-norm point of the task gradients' hull."""

import numpy as np
import pytest
from weighting_helpers import combine
from weighting_helpers import make
from weighting_helpers import simplex_minimize


def test_mgda_two_vectors_closed_form():
    method, _ = make("mgda", 2)
    for g1, g2 in [
        ([1.0, 0.0], [0.0, 2.0]),
        ([1.0, 0.0], [2.0, 0.0]),
        ([3.0, 1.0], [-1.0, 2.0]),
    ]:
        g1, g2 = np.array(g1), np.array(g2)
        gamma = np.clip((g2 - g1) @ g2 / ((g1 - g2) @ (g1 - g2)), 0, 1)
        expected = gamma * g1 + (1 - gamma) * g2
        np.testing.assert_allclose(
            combine(method, [g1, g2]), expected, rtol=1e-6, atol=1e-7
        )
    # ([1, 0], [0, 2]): gamma = 4/5, the point (0.8, 0.4).
    np.testing.assert_allclose(
        combine(method, [[1, 0], [0, 2]]), [0.8, 0.4], rtol=1e-6
    )


@pytest.mark.parametrize("normalization", ["none", "l2", "loss", "loss+"])
def test_mgda_three_vectors_matches_slsqp(normalization):
    rng = np.random.default_rng(5)
    grads = rng.normal(size=(3, 6))
    grads[1] -= 0.8 * grads[0]
    losses = np.array([0.5, 2.0, 1.3])
    norms = np.linalg.norm(grads, axis=1)
    scale = {
        "none": np.ones(3),
        "l2": norms,
        "loss": losses,
        "loss+": losses * norms,
    }[normalization]
    normalized = grads / scale[:, None]
    gram = normalized @ normalized.T
    alpha = simplex_minimize(lambda a: a @ gram @ a, 3)
    method, _ = make("mgda", 3, normalization=normalization)
    out = combine(method, grads, losses)
    np.testing.assert_allclose(out, alpha @ grads, rtol=1e-4, atol=1e-5)
