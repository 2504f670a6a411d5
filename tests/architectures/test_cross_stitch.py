"""Cross-stitch units (mtlzoo/architectures/cross_stitch.py)."""

import numpy as np
import tensorflow as tf
from architecture_helpers import batch
from architecture_helpers import build
from architecture_helpers import total_loss

from mtlzoo.architectures import cross_stitch


def test_cross_stitch_units_start_near_identity_and_get_gradients():
    model = build("cross_stitch")
    units = [
        layer
        for layer in model.layers
        if isinstance(layer, cross_stitch.CrossStitchUnit)
    ]
    assert len(units) == 5
    expected = np.full((3, 3), 0.05) + np.eye(3) * 0.85
    for unit in units:
        np.testing.assert_allclose(unit.alpha.numpy(), expected, rtol=1e-6)
    x, y = batch(model.tasks)
    with tf.GradientTape() as tape:
        loss = total_loss(model, x, y)
    grads = tape.gradient(loss, [u.alpha for u in units])
    for unit, grad in zip(units, grads):
        assert grad is not None and np.all(np.isfinite(grad)), unit.name
        assert np.any(grad.numpy() != 0), unit.name


def test_cross_stitch_unit_formula_per_channel():
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(2, 3, 3, 4)).astype("float32") for _ in range(2)]
    unit = cross_stitch.CrossStitchUnit(0.7, per_channel=True, name="cs")
    out = unit(xs)
    assert unit.alpha.shape == (4, 2, 2)
    alpha = rng.normal(size=(4, 2, 2)).astype("float32")
    unit.alpha.assign(alpha)
    out = unit(xs)
    for i in range(2):
        want = sum(xs[j] * alpha[:, i, j] for j in range(2))
        np.testing.assert_allclose(out[i], want, rtol=1e-5, atol=1e-6)
    config = unit.get_config()
    assert cross_stitch.CrossStitchUnit.from_config(config).per_channel
