"""A failed train step leaves the model exactly as it was (issue 17).

Per weighting family (loss-level, learned, gradient, callback method): a
batch with a NaN pixel, and a batch whose loss is inf although images and
labels are valid, raise a `ValueError` naming the culprit; afterwards every
model variable (weights, BatchNorm moving statistics, task weights), every
optimizer variable (slots, iteration count) and every weighting variable
is bit-identical to before.
"""

import warnings

import keras
import numpy as np
import pytest

import mtlzoo

SHAPE = (16, 16, 1)
TASKS = [
    mtlzoo.Task("c", "classification", num_classes=3, head={"units": 8}),
    mtlzoo.Task("r", "regression", head={"units": 8}),
]
FAMILIES = ["equal", "uncertainty", "famo", "pcgrad", "mgda_ub", "dwa"]


def _data():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (8,) + SHAPE).astype("float32")
    y = {
        "c": rng.integers(0, 3, 8).astype("int32"),
        "r": rng.normal(size=(8, 1)).astype("float32"),
    }
    return x, y


def _trained(weighting, **compile_kwargs):
    model = mtlzoo.build("tiny", TASKS, SHAPE)
    model.compile(optimizer="adam", weighting=weighting, **compile_kwargs)
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    return model


def _state(model):
    variables = (
        list(model.weights)
        + list(model.optimizer.variables)
        + list(model.weighting.variables)
    )
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]


def _assert_same(before, after):
    assert len(before) == len(after)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("weighting", FAMILIES)
def test_nan_pixel_leaves_model_untouched(weighting):
    model = _trained(weighting)
    x, y = _data()
    before = _state(model)
    x[3, 5, 5, 0] = np.nan
    with pytest.raises(ValueError, match="Input images.*at sample 3"):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    _assert_same(before, _state(model))
    # The model still trains, and the next good step moves it.
    model.fit(*_data(), batch_size=8, epochs=1, verbose=0)
    after = _state(model)
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    assert all(np.isfinite(v).all() for v in after if v.dtype.kind == "f")


@pytest.mark.parametrize("weighting", FAMILIES)
def test_infinite_loss_leaves_model_untouched(weighting):
    model = _trained(weighting)
    kernel = model.get_layer("r").kernel
    kernel.assign(np.full(kernel.shape, 3e38, "float32"))
    before = _state(model)
    with pytest.raises(ValueError) as info:
        model.fit(*_data(), batch_size=8, epochs=1, verbose=0)
    message = str(info.value)
    assert "'r'" in message or "r/kernel" in message, message
    assert "NaN or inf" in message
    _assert_same(before, _state(model))


def test_eager_step_is_atomic_too():
    model = _trained("pcgrad", run_eagerly=True)
    x, y = _data()
    y["c"][2] = 7
    before = _state(model)
    with pytest.raises(ValueError, match="task 'c'.*Received: 7"):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    _assert_same(before, _state(model))


def test_evaluate_and_predict_refuse_non_finite_images():
    model = _trained("equal")
    x, y = _data()
    x[5, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="at sample 5"):
        model.evaluate(x, y, batch_size=8, verbose=0)
    with pytest.raises(ValueError, match="at sample 5"):
        model.predict(x, batch_size=8, verbose=0)
    out = model.predict(x, batch_size=8, verbose=0, check_finite=False)
    assert sorted(out) == ["c", "r"]
    # The check is back on for the next call.
    with pytest.raises(ValueError, match="at sample 5"):
        model.predict(x, batch_size=8, verbose=0)


def test_scaled_images_warn_on_the_first_batch():
    model = _trained("equal")
    x, _ = _data()
    with pytest.warns(UserWarning, match="0..255.*Received: max pixel"):
        model.predict(x / 255.0, batch_size=4, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(x, batch_size=4, verbose=0)


def test_check_finite_false_skips_the_input_check():
    model = _trained("equal", check_finite=False)
    x, y = _data()
    x[0, 0, 0, 0] = np.nan
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
