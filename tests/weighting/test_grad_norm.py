"""GradNorm: the weight step."""

import numpy as np
import pytest
from weighting_helpers import combine
from weighting_helpers import make

from mtlzoo import weighting


def test_gradnorm_step_matches_formula():
    method, variables = make("gradnorm", 2, alpha=1.5, learning_rate=0.025)
    grads = np.array([[3.0, 4.0], [0.0, 1.0]])  # norms 5 and 1
    out = combine(method, grads, losses=[2.0, 3.0])
    np.testing.assert_allclose(out, [3.0, 5.0])
    # First step: L(0) = L, r = 1, target = mean norm = 3.
    grad_w = np.sign([5.0 - 3.0, 1.0 - 3.0]) * np.array([5.0, 1.0]) / 3.0
    new = 1.0 - 0.025 * grad_w
    new = new * 2.0 / new.sum()
    np.testing.assert_allclose([v.numpy() for v in variables], new, rtol=1e-6)


def test_gradnorm_favours_the_slower_task():
    method, variables = make("gradnorm", 2, alpha=1.5)
    grads = np.array([[1.0, 0.0], [0.0, 1.0]])
    combine(method, grads, losses=[1.0, 1.0])
    np.testing.assert_allclose([v.numpy() for v in variables], [1.0, 1.0])
    for _ in range(3):
        weights = np.array([v.numpy() for v in variables])
        # Task 1's loss fell to 0.5, task 2's only to 0.9: task 2 is slower.
        combine(method, grads * weights[:, None], [0.5, 0.9], weights)
    weights = [v.numpy() for v in variables]
    assert weights[1] > 1.0 > weights[0]
    np.testing.assert_allclose(sum(weights), 2.0, rtol=1e-6)


def test_gradient_method_needs_setup_for_gradnorm():
    method = weighting.GradNorm()
    method.build_state(2)
    with pytest.raises(ValueError, match="setup"):
        combine(method, np.ones((2, 3)))
