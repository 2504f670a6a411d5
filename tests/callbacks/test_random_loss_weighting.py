"""The RLW callback (mtlzoo/callbacks/random_loss_weighting.py)."""

import numpy as np
import pytest
from callback_helpers import attach

from mtlzoo import callbacks


def test_rlw_normal_is_softmax_of_normal_draws():
    rlw = callbacks.RandomLossWeighting(distribution="normal", seed=3)
    model = attach(rlw)
    rng = np.random.default_rng(3)
    for batch in range(3):
        rlw.on_train_batch_begin(batch)
        eps = rng.standard_normal(3)
        expected = np.exp(eps) / np.exp(eps).sum()
        np.testing.assert_allclose(model.weights_now(), expected, rtol=1e-6)


@pytest.mark.parametrize(
    "distribution", callbacks.random_loss_weighting.DISTRIBUTIONS
)
def test_rlw_distributions(distribution):
    rlw = callbacks.RandomLossWeighting(distribution=distribution, seed=0)
    model = attach(rlw, ("a", "b", "c", "d"))
    draws = []
    for batch in range(50):
        rlw.on_train_batch_begin(batch)
        draws.append(model.weights_now())
    draws = np.array(draws)
    np.testing.assert_allclose(draws.sum(1), 1.0, rtol=1e-6)
    assert np.all(draws >= 0)
    assert len({tuple(d) for d in draws}) > 5  # fresh weights every step
    np.testing.assert_allclose(draws.mean(0), 0.25, atol=0.1)
    if distribution == "bernoulli":
        for d in draws:
            on = d[d > 0]
            np.testing.assert_allclose(on, 1.0 / len(on), rtol=1e-6)
    again = callbacks.RandomLossWeighting(distribution=distribution, seed=0)
    assert again.sample(4).tolist() == pytest.approx(draws[0].tolist())


def test_rlw_errors():
    with pytest.raises(ValueError, match="Received: distribution='cauchy'"):
        callbacks.RandomLossWeighting(distribution="cauchy")
    with pytest.raises(ValueError, match="Received: seed=1.5"):
        callbacks.RandomLossWeighting(seed=1.5)
    rlw = callbacks.RandomLossWeighting()
    assert rlw.get_config() == {"distribution": "normal", "seed": None}
