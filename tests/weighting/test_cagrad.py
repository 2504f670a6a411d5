"""CAGrad against the authors' solver."""

import numpy as np
import pytest
import scipy.optimize
from weighting_helpers import combine
from weighting_helpers import make
from weighting_helpers import simplex_minimize


def cagrad_reference(grads, c=0.4, rescale=1):
    """The authors' `cagrad` (SLSQP on the dual), in numpy."""
    count = len(grads)
    gram = grads @ grads.T
    g0_norm = np.sqrt(gram.mean() + 1e-8)
    b = np.ones(count) / count
    radius = c * g0_norm + 1e-8
    w = simplex_minimize(
        lambda x: x @ gram @ b + radius * np.sqrt(x @ gram @ x + 1e-8), count
    )
    gw = w @ grads
    g = grads.mean(0) + radius / (np.linalg.norm(gw) + 1e-8) * gw
    return g / {0: 1.0, 1: 1.0 + c**2, 2: 1.0 + c}[rescale]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cagrad_matches_reference(seed):
    rng = np.random.default_rng(seed)
    grads = rng.normal(size=(3, 8)) * rng.uniform(0.5, 3.0, size=(3, 1))
    grads[1] -= 0.9 * grads[0]
    for c, rescale in [(0.4, 1), (0.8, 2), (0.2, 0)]:
        method, _ = make("cagrad", 3, c=c, rescale=rescale)
        expected = cagrad_reference(grads, c, rescale)
        np.testing.assert_allclose(
            combine(method, grads), expected, rtol=1e-4, atol=1e-5
        )
    zero_c, _ = make("cagrad", 3, c=0.0, rescale=0)
    np.testing.assert_allclose(
        combine(zero_c, grads), grads.mean(0), rtol=1e-5, atol=1e-6
    )


def scaled_dual_reference(grads, c=0.4):
    """CAGrad's dual by SLSQP in the unit-gradient variables `v = w n /
    min(n)` (the same problem, with terms about 1), and its update."""
    norms = np.linalg.norm(grads, axis=1)
    unit = grads / norms[:, None]
    g0 = grads.mean(0)
    cosines = unit @ g0 / np.linalg.norm(g0)
    k = norms.min() / norms
    count = len(grads)
    best = None
    for start in (np.ones(count) / k.sum(), np.eye(count)[np.argmin(norms)]):
        result = scipy.optimize.minimize(
            lambda v: cosines @ v + c * np.linalg.norm(v @ unit),
            start,
            method="SLSQP",
            bounds=[(0.0, None)] * count,
            constraints=({"type": "eq", "fun": lambda v: 1.0 - k @ v},),
            options={"ftol": 1e-16, "maxiter": 2000},
        )
        if best is None or result.fun < best.fun:
            best = result
    direction = best.x @ unit
    update = g0 + c * np.linalg.norm(g0) * direction / np.linalg.norm(direction)
    return update / (1.0 + c**2), best.fun * norms.min() * np.linalg.norm(g0)


@pytest.mark.parametrize("seed", range(6))
def test_cagrad_on_norms_spanning_8_decades(seed):
    rng = np.random.default_rng(seed)
    count = 3 + seed % 3
    norms = 10.0 ** np.linspace(-4.0, 4.0, count)
    grads = rng.normal(size=(count, 8)) * rng.permutation(norms)[:, None]
    grads = grads.astype("float32").astype("float64")
    expected, dual_value = scaled_dual_reference(grads)
    method, _ = make("cagrad", count)
    out = combine(method, grads)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-6 * scale)
    assert method.solver_converged.numpy() == 1.0
    # Certificate: d = (1 + c^2) * update is in the ball around g_0 and
    # its smallest task improvement equals the dual optimum (no gap), to
    # the float32 precision of d times that task's gradient norm.
    d = out * (1.0 + 0.4**2)
    g0 = grads.mean(0)
    assert np.linalg.norm(d - g0) <= 0.4 * np.linalg.norm(g0) * (1 + 1e-6)
    worst = np.argmin(grads @ d)
    unit = np.linalg.norm(grads[worst]) * np.linalg.norm(d)
    assert abs((grads @ d).min() - dual_value) <= 1e-6 * unit


def test_cagrad_warns_once_when_the_cap_is_hit(capfd):
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(3, 6)) * np.array([[1e-4], [1.0], [1e4]])
    method, _ = make("cagrad", 3, iterations=3)
    combine(method, grads)
    combine(method, grads)
    assert method.solver_converged.numpy() == 0.0
    err = capfd.readouterr().err
    assert err.count("CAGrad: the dual solve did not converge") == 1
