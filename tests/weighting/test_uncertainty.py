"""Uncertainty weighting: the likelihood loss."""

import math

import numpy as np
import tensorflow as tf
from weighting_helpers import make


def test_uncertainty_loss_formula():
    method, _ = make(
        "uncertainty",
        2,
        task_types={"t1": "classification"},
        default_type="regression",
    )
    method.log_variances.assign([0.5, -1.0])
    losses = tf.constant([2.0, 3.0])
    weights = tf.constant([1.0, 2.0])
    out = method.combine_losses(losses, weights, tf.ones([2])).numpy()
    expected = (0.5 * math.exp(-0.5) * 2.0 + 0.25) + 2.0 * (
        math.exp(1.0) * 3.0 - 0.5
    )
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    # The gradient in s vanishes at the optimum s = log(2 c L).
    method.log_variances.assign([math.log(2 * 0.5 * 2.0), math.log(2 * 3.0)])
    with tf.GradientTape() as tape:
        loss = method.combine_losses(losses, weights, tf.ones([2]))
    grad = tape.gradient(loss, method.log_variances.value)
    np.testing.assert_allclose(grad.numpy(), 0.0, atol=1e-6)
    # An absent task adds nothing and its s gets no gradient.
    with tf.GradientTape() as tape:
        loss = method.combine_losses(losses, weights, tf.constant([1.0, 0.0]))
    assert tape.gradient(loss, method.log_variances.value).numpy()[1] == 0.0
    assert method.log_variances.trainable


def test_uncertainty_picks_the_likelihood_from_the_task_kind():
    import types

    import keras

    from mtlzoo import weighting

    kinds = {
        "c": "classification",
        "m": "multilabel",
        "s": "segmentation",
        "b": "box",
        "r": "regression",
        "d": "depth",
        "n": "normals",
    }
    tasks = [types.SimpleNamespace(name=n, kind=k) for n, k in kinds.items()]
    variables = [keras.Variable(1.0, trainable=False) for _ in tasks]
    method = weighting.get("uncertainty")
    weighting.setup_method(method, list(kinds), variables, tasks=tasks)
    assert method.factors() == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5]
    # task_types wins; then an explicit default_type; kinds are unknown to
    # a method set up without tasks (regression).
    method = weighting.get("uncertainty", task_types={"c": "regression"})
    method.setup(list(kinds), variables, tasks=tasks)
    assert method.resolved_types()["c"] == "regression"
    assert method.resolved_types()["m"] == "classification"
    method = weighting.get("uncertainty", default_type="regression")
    method.setup(list(kinds), variables, tasks=tasks)
    assert set(method.resolved_types().values()) == {"regression"}
    method, _ = make("uncertainty", 2)
    assert method.factors() == [0.5, 0.5]


def test_uncertainty_by_name_in_compile_uses_the_model_tasks():
    from fit_helpers import tiny_model_and_data

    model, x, y = tiny_model_and_data()
    model.compile(optimizer="sgd", weighting="uncertainty")
    assert model.weighting.resolved_types() == {
        "digit": "classification",
        "ink": "regression",
    }
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    # The step applied w_t c_t exp(-s_t) with s = 0 before the update.
    np.testing.assert_allclose(
        model.weighting.applied_weights.numpy(), [1.0, 0.5], rtol=1e-6
    )
