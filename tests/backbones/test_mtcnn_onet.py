"""`mtcnn_onet`: MTCNN's O-Net trunk, a fixed 48x48 input."""

import keras
import numpy as np
import pytest

from mtlzoo import backbones


def test_levels_and_vector_top():
    keras.utils.set_random_seed(0)
    spec = backbones.get("mtcnn_onet")
    assert spec.native and spec.default_preprocessing == "none"
    stages = spec.build((48, 48, 3))
    assert stages.levels == ("P1", "P2", "P3", "P4", "P5")
    assert stages.shapes == {
        "P1": (23, 23, 32),
        "P2": (10, 10, 64),
        "P3": (4, 4, 64),
        "P4": (3, 3, 128),
        "P5": (256,),
    }
    # ONet's layer count: 389,040 with its three output layers.
    heads = 256 * (4 + 10 + 2) + 4 + 10 + 2
    assert stages.base.count_params() + heads == 389_040
    x = np.full((2, 48, 48, 3), 127.5, "float32")
    scaled = stages.base.get_layer("onet_scale")(x)
    np.testing.assert_allclose(scaled, 0.0, atol=1e-7)


@pytest.mark.parametrize("shape", [(32, 32, 3), (64, 64, 3), (48, 48, 1)])
def test_other_input_shapes_are_refused(shape):
    with pytest.raises(ValueError, match="Received: input_shape"):
        backbones.get("mtcnn_onet").build(shape)
