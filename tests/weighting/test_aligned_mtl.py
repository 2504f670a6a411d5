"""Aligned-MTL against the authors' Procrustes solver."""

import numpy as np
from weighting_helpers import combine
from weighting_helpers import make


def aligned_reference(grads, scale="min"):
    """The authors' ProcrustesSolver, in numpy."""
    gram = grads @ grads.T
    values, vectors = np.linalg.eigh(gram)
    tol = values.max() * len(gram) * np.finfo(np.float32).eps
    keep = values > tol
    order = np.argsort(values[keep])[::-1]
    values, vectors = values[keep][order], vectors[:, keep][:, order]
    target = {
        "min": values[-1],
        # torch.median: the lower middle value.
        "median": np.sort(values)[(len(values) - 1) // 2],
        "rmse": values.mean(),
    }[scale]
    weights = vectors * np.sqrt(target) / np.sqrt(values)
    weights = weights @ vectors.T
    return (grads.T @ weights).sum(-1), weights


def test_aligned_mtl_matches_reference():
    rng = np.random.default_rng(8)
    grads = rng.normal(size=(3, 10)) * np.array([[1.0], [3.0], [0.2]])
    expected, weights = aligned_reference(grads)
    method, _ = make("aligned_mtl", 3)
    np.testing.assert_allclose(
        combine(method, grads), expected, rtol=1e-4, atol=1e-5
    )
    # The aligned gradients share one singular value, the smallest.
    aligned = grads.T @ weights
    singular = np.linalg.svd(aligned, compute_uv=False)
    smallest = np.linalg.svd(grads, compute_uv=False).min()
    np.testing.assert_allclose(singular, smallest, rtol=1e-6)
    # Rank-deficient: the null direction is dropped, not inverted.
    rank_two = np.stack([grads[0], grads[1], grads[0] + grads[1]])
    assert np.all(np.isfinite(combine(method, rank_two)))
    four = rng.normal(size=(4, 10)) * np.array([[1.0], [3.0], [0.2], [2.0]])
    for scale in ("min", "median", "rmse"):
        scaled, _ = make("aligned_mtl", 4, scale=scale)
        np.testing.assert_allclose(
            combine(scaled, four),
            aligned_reference(four, scale)[0],
            rtol=1e-4,
            atol=1e-5,
        )
