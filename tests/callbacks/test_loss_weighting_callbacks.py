"""What the three loss-weighting callbacks share: the weighting methods'
code, their Keras names, any model and weighting method."""

import keras
import numpy as np
import pytest
from callback_helpers import attach
from callback_helpers import loss_logs

import mtlzoo
from mtlzoo import callbacks
from mtlzoo import testing
from mtlzoo import weighting

CASES = [
    (callbacks.DynamicWeightAveraging, weighting.DynamicWeightAveraging),
    (callbacks.DynamicTaskPrioritization, weighting.DynamicTaskPrioritization),
    (callbacks.RandomLossWeighting, weighting.RandomLossWeighting),
]


@pytest.mark.parametrize("callback_class, method_class", CASES)
def test_callbacks_wrap_the_weighting_methods(callback_class, method_class):
    callback = callback_class()
    assert isinstance(callback, keras.callbacks.Callback)
    assert type(callback.method) is method_class
    # The callbacks keep their Keras names; the methods have their own.
    name = callback_class.__name__
    assert keras.saving.get_registered_name(callback_class) == f"mtlzoo>{name}"
    assert keras.saving.get_registered_object(f"mtlzoo>{name}") is (
        callback_class
    )
    assert keras.saving.get_registered_object(f"mtlzoo>{name}Method") is (
        method_class
    )
    assert callback_class.__name__ == method_class.__name__


def test_dwa_callback_starts_over_at_every_fit():
    dwa = callbacks.DynamicWeightAveraging()
    model = attach(dwa)
    for _ in range(2):
        dwa.on_train_begin()
        np.testing.assert_array_equal(model.weights_now(), [1.0, 1.0, 1.0])
        dwa.on_epoch_end(0, loss_logs([1.0, 2.0, 0.5]))
        dwa.on_epoch_end(1, loss_logs([0.5, 1.8, 0.5]))
        assert not np.allclose(model.weights_now(), 1.0)


def test_rlw_callback_draws_on_across_fits_and_models():
    rlw = callbacks.RandomLossWeighting(seed=2)
    rng = np.random.default_rng(2)
    for names in (("a", "b", "c"), ("a", "b"), ("x", "y")):
        model = attach(rlw, names)
        rlw.on_train_begin()
        rlw.on_train_batch_begin(0)
        eps = rng.standard_normal(len(names))
        np.testing.assert_allclose(
            model.weights_now(), np.exp(eps) / np.exp(eps).sum(), rtol=1e-6
        )


def test_dwa_callback_with_a_gradient_method():
    tasks = [
        mtlzoo.Task(
            "digit", "classification", num_classes=5, head={"units": 8}
        ),
        mtlzoo.Task("ink", "regression", units=2, head={"units": 8}),
    ]
    model = mtlzoo.build("tiny", tasks, (32, 32, 1))
    model.compile(optimizer=keras.optimizers.SGD(0.01), weighting="pcgrad")
    x = testing.random_images((32, 32, 1), 8)
    y = testing.random_labels(tasks, (32, 32, 1), 8)
    history = model.fit(
        x,
        y,
        batch_size=8,
        epochs=3,
        verbose=0,
        callbacks=[callbacks.DynamicWeightAveraging(temperature=2.0)],
    ).history
    losses = [history[f"{n}_loss"] for n in ("digit", "ink")]
    ratios = np.array([loss[1] / loss[0] for loss in losses])
    exps = np.exp(ratios / 2.0)
    np.testing.assert_allclose(
        [history["digit_weight"][2], history["ink_weight"][2]],
        2 * exps / exps.sum(),
        rtol=1e-5,
    )
    assert type(model.weighting) is weighting.PCGrad
