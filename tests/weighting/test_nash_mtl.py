"""Nash-MTL: the bargaining equation."""

import numpy as np
import scipy.optimize
from weighting_helpers import combine
from weighting_helpers import make


def test_nash_mtl_solves_bargaining_equation():
    rng = np.random.default_rng(7)
    grads = rng.normal(size=(3, 9)) * np.array([[1.0], [2.0], [0.5]])
    gram = grads @ grads.T
    root = scipy.optimize.root(lambda a: gram @ a - 1.0 / a, np.ones(3))
    assert root.success
    method, _ = make("nash_mtl", 3, max_norm=0.0)
    out = combine(method, grads)
    np.testing.assert_allclose(out, root.x @ grads, rtol=1e-5, atol=1e-6)
    # Every task's improvement alpha_t g_t . d is 1.
    np.testing.assert_allclose(root.x * (grads @ out), 1.0, rtol=1e-4)
    # Warm start: a second call on the same gradients stays at the root.
    np.testing.assert_allclose(
        combine(method, grads), root.x @ grads, rtol=1e-5, atol=1e-6
    )
    lazy, _ = make("nash_mtl", 3, max_norm=0.0, update_weights_every=2)
    first = combine(lazy, grads)
    np.testing.assert_allclose(combine(lazy, 2 * grads), 2 * first, rtol=1e-5)
    np.testing.assert_allclose(
        combine(lazy, 2 * grads), first, rtol=1e-4, atol=1e-6
    )
    clipped, _ = make("nash_mtl", 3, max_norm=0.1)
    out = combine(clipped, grads)
    np.testing.assert_allclose(np.linalg.norm(out), 0.1, rtol=1e-5)
