"""Random Loss Weighting as a weighting method (mtlzoo/weighting/rlw.py).

The callback `mtlzoo.callbacks.RandomLossWeighting` shares this code:
tests/callbacks/test_random_loss_weighting.py.
"""

import keras
import numpy as np
import pytest
from fit_helpers import tiny_model_and_data
from weighting_helpers import make

from mtlzoo import weighting


def weights_now(variables):
    return np.array([v.numpy() for v in variables])


def test_rlw_hook_draws_softmax_of_normal_before_every_step():
    method, variables = make("rlw", 3, distribution="normal", seed=3)
    method.on_train_begin()
    rng = np.random.default_rng(3)
    for batch in range(3):
        method.on_train_batch_begin(batch)
        eps = rng.standard_normal(3)
        expected = np.exp(eps) / np.exp(eps).sum()
        np.testing.assert_allclose(weights_now(variables), expected, rtol=1e-6)


@pytest.mark.parametrize("distribution", weighting.rlw.DISTRIBUTIONS)
def test_rlw_generator_state_is_saved_with_the_method(distribution):
    method, variables = make("rlw", 4, distribution=distribution, seed=1)
    method.on_train_begin()
    for batch in range(5):
        method.on_train_batch_begin(batch)
    # A method restored from the variables (another seed) draws on.
    copy, copy_variables = make("rlw", 4, distribution=distribution, seed=9)
    copy.set_weights(method.get_weights())
    copy.on_train_begin()
    for batch in range(3):
        method.on_train_batch_begin(batch)
        copy.on_train_batch_begin(batch)
        np.testing.assert_array_equal(
            weights_now(copy_variables), weights_now(variables)
        )
    method.reset_state()
    fresh, _ = make("rlw", 4, distribution=distribution, seed=1)
    np.testing.assert_array_equal(method.sample(4), fresh.sample(4))


def test_rlw_errors():
    with pytest.raises(ValueError, match="Received: distribution='cauchy'"):
        weighting.RandomLossWeighting(distribution="cauchy")
    with pytest.raises(ValueError, match="Received: seed=1.5"):
        weighting.RandomLossWeighting(seed=1.5)


def test_rlw_drives_fit_through_its_callbacks():
    model, x, y = tiny_model_and_data()
    method = weighting.get("rlw", seed=0)
    model.compile(optimizer=keras.optimizers.SGD(0.01), weighting=method)
    history = model.fit(
        x, y, batch_size=4, epochs=2, verbose=0, callbacks=method.callbacks()
    ).history
    # Two steps an epoch: the logged weights are the last step's draw.
    rng = np.random.default_rng(0)
    draws = [rng.standard_normal(2) for _ in range(4)]
    for epoch, eps in ((0, draws[1]), (1, draws[3])):
        expected = np.exp(eps) / np.exp(eps).sum()
        np.testing.assert_allclose(
            [history["digit_weight"][epoch], history["ink_weight"][epoch]],
            expected,
            rtol=1e-6,
        )
