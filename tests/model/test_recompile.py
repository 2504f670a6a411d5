"""Re-compiling replaces the weighting method's state cleanly."""

import numpy as np
import pytest

import mtlzoo

SHAPE = (16, 16, 1)


def _tasks():
    return [
        mtlzoo.Task("c", "classification", num_classes=3, head={"units": 4}),
        mtlzoo.Task("r", "regression", head={"units": 4}),
    ]


def _model(weighting):
    model = mtlzoo.build("tiny", _tasks(), SHAPE)
    model.compile(optimizer="sgd", weighting=weighting)
    return model


def _layout(model):
    """Shapes of `model.weights`, in order (names carry Keras counters)."""
    return [tuple(w.shape) for w in model.weights]


@pytest.mark.parametrize("first, second", [("uncertainty", "famo")])
def test_recompile_weights_equal_a_fresh_model(first, second, tmp_path):
    model = _model(first)
    old = set(id(v) for v in model.weighting.weights)
    assert old
    model.compile(optimizer="sgd", weighting=second)
    fresh = _model(second)
    assert len(model.weights) == len(fresh.weights)
    assert _layout(model) == _layout(fresh)
    assert not old & set(id(v) for v in model.weights)
    # Round trip: saved after re-compiling, loaded into a fresh model.
    for v in model.weighting.weights:
        v.assign(np.full(v.shape, 0.25, v.dtype))
    path = str(tmp_path / "recompiled.weights.h5")
    model.save_weights(path)
    fresh.load_weights(path)
    for a, b in zip(model.weights, fresh.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_recompile_to_equal_drops_the_method_variables():
    model = _model("uncertainty")
    model.compile(optimizer="sgd")
    assert _layout(model) == _layout(_model(None))


def test_a_failed_compile_leaves_the_model_as_it_was():
    model = _model("uncertainty")
    before = (model.weighting, model.optimizer, len(model.weights))
    weight = float(model.task_weights["c"].numpy())
    with pytest.raises(ValueError, match="nope_mtl"):
        model.compile(loss_weights={"c": 3.0}, weighting="nope_mtl")
    assert float(model.task_weights["c"].numpy()) == weight
    assert (model.weighting, model.optimizer, len(model.weights)) == before
