"""Soft parameter sharing (mtlzoo/architectures/soft_sharing.py)."""

import numpy as np
from architecture_helpers import batch
from architecture_helpers import build

from mtlzoo.architectures import soft_sharing


def test_soft_sharing_penalty_zero_for_identical_copies_and_grows():
    model = build("soft_sharing", coupling=0.5)
    units = [
        layer
        for layer in model.layers
        if isinstance(layer, soft_sharing.SoftSharingCoupling)
    ]
    assert sorted(u.name for u in units) == [
        f"soft_sharing_{lv}" for lv in ("P1", "P2", "P3", "P4", "P5")
    ]
    x, _ = batch(model.tasks)
    model(x)
    assert float(sum(model.losses)) == 0.0
    stage = model.get_layer("ink_P3")
    start = stage.get_weights()
    size = sum(int(np.prod(w.shape)) for w in stage.trainable_weights)
    values = []
    for delta in (0.01, 0.1, 1.0):
        for w, s in zip(stage.trainable_weights, start):
            w.assign(s + delta)
        penalty = float(model.get_layer("soft_sharing_P3").penalty())
        # "ink" now differs by delta everywhere from the two other copies.
        np.testing.assert_allclose(penalty, 0.5 * 2 * size * delta**2, 1e-4)
        model(x)
        np.testing.assert_allclose(float(sum(model.losses)), penalty, 1e-5)
        values.append(penalty)
    assert values[0] < values[1] < values[2]


def test_soft_sharing_copies_are_independent():
    model = build("soft_sharing", levels=["P4", "P5"])
    a, b = model.get_layer("digit_P2"), model.get_layer("mask_P2")
    assert a.weights[0] is not b.weights[0]
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)
    names = {layer.name for layer in model.layers}
    assert {"soft_sharing_P4", "soft_sharing_P5"} <= names
    assert "soft_sharing_P3" not in names
    # The couplings do not join the copies in the graph: each copy is
    # task-specific, nothing is shared by every task.
    model.compile(optimizer="sgd")
    assert not model._all_shared
    own = {id(v) for v in model._head_variables["digit"]}
    assert id(a.trainable_weights[0]) in own
