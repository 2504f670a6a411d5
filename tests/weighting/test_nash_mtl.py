"""Nash-MTL: the bargaining equation."""

import numpy as np
import pytest
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


def nash_reference(grads):
    """Minimiser of `a^T G G^T a / 2 - sum_t log a_t` (whose stationary
    point is `(G G^T a)_t = 1 / a_t`), by scipy in `x = log a`."""
    gram = grads @ grads.T

    def value(x):
        a = np.exp(x)
        return 0.5 * a @ gram @ a - x.sum(), a * (gram @ a) - 1.0

    def hessian(x):
        a = np.exp(x)
        return gram * np.outer(a, a) + np.diag(a * (gram @ a))

    result = scipy.optimize.minimize(
        value,
        -np.log(np.linalg.norm(grads, axis=1)),
        jac=True,
        hess=hessian,
        method="trust-exact",
        options={"gtol": 1e-13},
    )
    assert np.abs(result.jac).max() < 1e-7
    return np.exp(result.x)


def test_nash_mtl_cold_start_on_norms_spanning_decades():
    # Bargaining solution alpha = (100, 1, 0.01): update (1, 1, 1).
    method, _ = make("nash_mtl", 3, max_norm=0.0)
    out = combine(method, np.diag([0.01, 1.0, 100.0]))
    np.testing.assert_allclose(out, [1.0, 1.0, 1.0], atol=1e-6)
    assert method.solver_converged.numpy() == 1.0
    # Weights of the model are not changed by the diagnostics.
    assert len(method.weights) == 3


@pytest.mark.parametrize("decades", [0, 4, 8])
def test_nash_mtl_matches_scipy(decades):
    rng = np.random.default_rng(decades)
    directions = rng.normal(size=(4, 12))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    norms = 10.0 ** np.linspace(-decades / 2, decades / 2, 4)
    grads = (directions * norms[:, None]).astype("float32").astype("float64")
    alpha = nash_reference(grads)
    expected = alpha @ grads
    method, _ = make("nash_mtl", 4, max_norm=0.0)
    out = combine(method, grads)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    # Each task's improvement alpha_t g_t . d is 1, the tiniest one too.
    np.testing.assert_allclose(alpha * (grads @ out), 1.0, rtol=1e-4)
    assert method.solver_converged.numpy() == 1.0


def test_nash_mtl_warns_once_when_the_cap_is_hit(capfd):
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(3, 6)) * np.array([[0.01], [1.0], [100.0]])
    method, _ = make("nash_mtl", 3, max_norm=0.0, iterations=1)
    combine(method, grads)
    assert method.solver_converged.numpy() == 0.0
    assert method.solver_residual.numpy() > 1e-10
    combine(method, grads)
    err = capfd.readouterr().err
    assert err.count("NashMTL: the bargaining solve did not converge") == 1
