"""`backbone_weights=` names the backbone initialisation; `weights=` is its
deprecated old name."""

import keras
import numpy as np
import pytest

import mtlzoo

TASKS = [mtlzoo.Task("digit", "classification", num_classes=3)]


def test_backbone_weights_and_deprecated_weights_build_the_same(tmp_path):
    ref = mtlzoo.build("tiny", TASKS, input_shape=(32, 32, 1))
    path = str(tmp_path / "trunk.weights.h5")
    stages = mtlzoo.backbones.get("tiny").build((32, 32, 1))
    stages.base.save_weights(path)
    keras.utils.set_random_seed(1)
    new = mtlzoo.build(
        "tiny", TASKS, input_shape=(32, 32, 1), backbone_weights=path
    )
    keras.utils.set_random_seed(1)
    with pytest.warns(DeprecationWarning, match="backbone_weights"):
        old = mtlzoo.build("tiny", TASKS, input_shape=(32, 32, 1), weights=path)
    for a, b in zip(new.weights, old.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert "backbone_weights" not in new.get_config()
    assert len(ref.weights) == len(new.weights)


def test_both_names_at_once_is_refused():
    with pytest.raises(ValueError, match="backbone_weights.*Received"):
        mtlzoo.MultiTaskModel(
            "tiny",
            TASKS,
            (32, 32, 1),
            backbone_weights="a.h5",
            weights="b.h5",
        )
