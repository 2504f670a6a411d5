"""`tiny_xception`: face-api's TinyXception trunk, a fixed 112x112 input."""

import keras
import numpy as np
import pytest
from backbone_helpers import stage_backbones

from mtlzoo import backbones
from mtlzoo.backbones import tiny_xception


@pytest.fixture(scope="module")
def stages():
    keras.utils.set_random_seed(0)
    return backbones.get("tiny_xception").build((112, 112, 3))


def test_levels_parameters_and_scaling(stages):
    spec = backbones.get("faceapi_tiny_xception")  # the alias
    assert spec.name == "tiny_xception"
    assert spec.native and spec.default_preprocessing == "none"
    assert stages.levels == ("P1", "P2", "P3", "P4")
    assert stages.shapes == {
        "P1": (56, 56, 32),
        "P2": (28, 28, 64),
        "P3": (14, 14, 128),
        "P4": (7, 7, 512),
    }
    # face-api's AgeGenderNet: 421,731 with its two fc layers (512 -> 1, 2).
    assert stages.base.count_params() + 513 + 1026 == 421_731
    mean = np.array(tiny_xception.MEAN_RGB, "float32")
    x = np.stack(
        [np.broadcast_to(mean, (112, 112, 3)), np.zeros((112,) * 2 + (3,))]
    )
    scaled = keras.ops.convert_to_numpy(
        stages.base.get_layer("tiny_xception_normalize")(x.astype("float32"))
    )
    np.testing.assert_allclose(scaled[0], 0.0, atol=1e-6)
    np.testing.assert_allclose(scaled[1, 0, 0], -mean / 255, rtol=1e-6)


def test_stages_chain_to_the_trunk_output(stages):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (2, 112, 112, 3)).astype("float32")
    features = stages.preprocess(x)
    for level in stages.levels:
        features = stages.stages[level](features)
    whole = stages.base(x)
    np.testing.assert_allclose(features, whole, rtol=1e-5, atol=1e-5)
    assert float(keras.ops.min(whole)) >= 0.0  # ends in a ReLU


def test_left_out_of_the_32_pixel_registry_tests():
    assert "tiny_xception" in backbones.list_backbones()
    assert "tiny_xception" not in stage_backbones()


@pytest.mark.parametrize(
    "shape", [(32, 32, 3), (128, 128, 3), (112, 96, 3), (112, 112, 1)]
)
def test_other_input_shapes_are_refused(shape):
    with pytest.raises(ValueError, match="Received: input_shape"):
        backbones.get("tiny_xception").build(shape)
