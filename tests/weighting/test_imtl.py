"""IMTL-G against its closed form."""

import numpy as np
from weighting_helpers import combine
from weighting_helpers import make


def test_imtl_matches_closed_form():
    rng = np.random.default_rng(6)
    grads = rng.normal(size=(3, 7)) * np.array([[1.0], [4.0], [0.3]])
    unit = grads / np.linalg.norm(grads, axis=1, keepdims=True)
    d = grads[0] - grads[1:]
    u = unit[0] - unit[1:]
    rest = grads[0] @ u.T @ np.linalg.inv(d @ u.T)
    alpha = np.concatenate([[1.0 - rest.sum()], rest])
    expected = alpha @ grads
    method, _ = make("imtl", 3)
    out = combine(method, grads)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    # Equal projections on every unit task gradient.
    projections = unit @ out
    np.testing.assert_allclose(projections, projections[0], rtol=1e-4)
