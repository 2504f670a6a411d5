"""CAGrad against the authors' solver."""

import numpy as np
import pytest
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
