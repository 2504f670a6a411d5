"""`ModelBackbone` and `find_levels`: a user's functional model cut into
levels found from its strides or given by name, and the errors."""

import json

import keras
import numpy as np
import pytest
from backbone_helpers import forward
from backbone_helpers import random_images

from mtlzoo import backbones
from mtlzoo.backbones import ModelBackbone
from mtlzoo.backbones import find_levels
from mtlzoo.backbones.registry import BACKBONES


def user_cnn(input_shape=(32, 32, 3), residual=False, name="user_cnn"):
    """Three stride-2 conv blocks (P1..P3); optionally a residual block
    at P2, so `res_conv` is not a clean cut."""
    inputs = keras.Input(input_shape, name="pixels")
    x = inputs
    for i in (1, 2, 3):
        x = keras.layers.Conv2D(
            4 * i, 3, strides=2, padding="same", name=f"down{i}"
        )(x)
        x = keras.layers.BatchNormalization(name=f"down{i}_bn")(x)
        x = keras.layers.ReLU(name=f"down{i}_relu")(x)
        if residual and i == 2:
            y = keras.layers.Conv2D(8, 3, padding="same", name="res_conv")(x)
            x = keras.layers.Add(name="res_add")([x, y])
    return keras.Model(inputs, x, name=name)


def _producer_index(model, tensor):
    operation = tensor._keras_history.operation
    return [id(op) for op in model.operations].index(id(operation))


def test_cnn_with_three_strided_convs_gives_p1_to_p3():
    cnn = user_cnn()
    assert find_levels(cnn) == {
        "P1": "down1_relu",
        "P2": "down2_relu",
        "P3": "down3_relu",
    }
    spec = ModelBackbone(cnn)
    assert spec.levels == ("P1", "P2", "P3")
    stages = spec.build((32, 32, 3))
    assert stages.levels == ("P1", "P2", "P3")
    assert stages.shapes == {
        "P1": (16, 16, 4),
        "P2": (8, 8, 8),
        "P3": (4, 4, 12),
    }
    assert stages.preprocessing == "none"
    assert stages.stages["P2"].name == "user_cnn_P2"
    images = random_images()
    expected = cnn(images, training=False)
    np.testing.assert_allclose(
        forward(stages, images)["P3"], expected, rtol=1e-5, atol=1e-5
    )


def test_residual_block_is_not_cut():
    cnn = user_cnn(residual=True)
    assert find_levels(cnn)["P2"] == "res_add"


def test_valid_padding_and_pooling_keep_their_level():
    inputs = keras.Input((32, 32, 1))
    x = keras.layers.Conv2D(4, 5, name="c1")(inputs)  # 28, stride 1
    x = keras.layers.MaxPooling2D(name="pool1")(x)  # 14, P1
    x = keras.layers.Conv2D(4, 5, name="c2")(x)  # 10, still P1
    x = keras.layers.MaxPooling2D(name="pool2")(x)  # 5, P2
    levels = find_levels(keras.Model(inputs, x))
    assert levels == {"P1": "c2", "P2": "pool2"}


def test_strides_give_the_registered_mobilenet_v3_small_taps():
    """Every backbone at 32 px: test_backbone_stages.py::
    test_registered_taps_are_found_from_strides."""
    net = keras.applications.MobileNetV3Small(
        include_top=False, weights=None, input_shape=(64, 64, 3)
    )
    mine = ModelBackbone(net).build((64, 64, 3))
    registered = backbones.get("mobilenet_v3_small").build((64, 64, 3))
    assert mine.levels == registered.levels == backbones.LEVELS
    for level in mine.levels:
        assert _producer_index(
            mine.base, mine.stages[level].outputs[0]
        ) == _producer_index(
            registered.base, registered.stages[level].outputs[0]
        ), level
        assert mine.shapes[level] == registered.shapes[level]


def test_mobilenet_v3_small_levels_at_64_pixels():
    net = keras.applications.MobileNetV3Small(
        include_top=False, weights=None, input_shape=(64, 64, 3)
    )
    levels = find_levels(net)
    assert tuple(levels) == backbones.LEVELS
    # The taps of the registered entry, found here by name.
    names = ("expanded_conv_depthwise_pad", "expanded_conv_1_depthwise_pad")
    for level, pad in zip(("P1", "P2"), names):
        tapped = net.get_layer(pad).input._keras_history.operation
        assert tapped.name == levels[level]


def test_explicit_levels():
    cnn = user_cnn()
    spec = ModelBackbone(cnn, levels={"P2": "down2_bn", "P3": None})
    assert spec.levels == ("P2", "P3")
    stages = spec.build((32, 32, 3))
    assert stages.shapes["P2"] == (8, 8, 8)
    assert stages.shapes["P3"] == (4, 4, 12)
    on_input = ModelBackbone(cnn, levels={"P1": "down2.input"})
    assert on_input.build((32, 32, 3)).shapes["P1"] == (16, 16, 4)


@pytest.mark.parametrize(
    "levels, match",
    [
        ({"P3": "nope"}, "has no layer 'nope'"),
        ({"P2": "res_conv"}, "not a clean cut"),
        ({"P3": "down2_relu"}, "P3 needs stride 8"),
        ({"P1": "pixels"}, "P1 needs stride 2"),
        ({"P2": "down3_relu", "P3": "down2_relu"}, "needs stride"),
        ({"P7": "down1"}, "must map some of the levels"),
        ({}, "must map some of the levels"),
        ("down1", "must map some of the levels"),
    ],
)
def test_bad_levels(levels, match):
    cnn = user_cnn(residual=True)
    with pytest.raises(ValueError, match=match) as info:
        ModelBackbone(cnn, levels=levels).build((32, 32, 3))
    assert "Received: levels=" in str(info.value)


def test_subclassed_model_is_refused():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = keras.layers.Conv2D(4, 3, strides=2)

        def call(self, x):
            return self.conv(x)

    with pytest.raises(TypeError, match="functional") as info:
        ModelBackbone(Net())
    assert "Received: model=Net" in str(info.value)
    with pytest.raises(TypeError, match="Received: model="):
        ModelBackbone("user_cnn")
    inputs = keras.Input((8,))
    dense = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match="Received: inputs="):
        ModelBackbone(dense)


def test_wrapped_subclassed_model_is_one_level():
    class Net(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.conv = keras.layers.Conv2D(4, 3, strides=8, padding="same")

        def call(self, x):
            return self.conv(x)

    inputs = keras.Input((32, 32, 3))
    wrapped = keras.Model(inputs, Net(name="net")(inputs))
    assert find_levels(wrapped) == {"P3": "net"}


def test_sequential_model():
    cnn = keras.Sequential(
        [
            keras.Input((32, 32, 1)),
            keras.layers.Conv2D(4, 3, strides=2, padding="same", name="a"),
            keras.layers.Conv2D(4, 3, strides=2, padding="same", name="b"),
        ],
        name="seq",
    )
    stages = ModelBackbone(cnn).build((32, 32, 1))
    assert stages.levels == ("P1", "P2")
    assert stages.stages["P1"].name == "seq_P1"


def test_input_shapes():
    cnn = user_cnn()
    spec = ModelBackbone(cnn)
    with pytest.raises(ValueError, match="built for 32x32") as info:
        spec.build((64, 64, 3))
    assert "Received: input_shape=(64, 64, 3)" in str(info.value)
    with pytest.raises(ValueError, match="3-channel"):
        spec.build((32, 32, 2))
    with pytest.raises(ValueError, match="Received: input_shape="):
        spec.build((32, None, 3))
    grey = spec.build((32, 32, 1))
    assert grey.preprocess.channels_out == 3
    features = forward(grey, random_images(channels=1))
    assert features["P3"].shape == (2, 4, 4, 12)


def test_model_of_any_input_size_is_built_at_input_shape():
    net = user_cnn(input_shape=(None, None, 3))
    spec = ModelBackbone(net)
    assert spec.input_size == (None, None, 3)
    assert spec.levels == ("P1", "P2", "P3")
    stages = spec.build((48, 40, 3))
    assert stages.shapes["P3"] == (6, 5, 12)
    np.testing.assert_array_equal(
        stages.base.get_weights()[0], net.get_weights()[0]
    )


def test_trunk_starts_from_the_model_weights_and_is_a_copy():
    cnn = user_cnn()
    # Not the initial values: moving statistics too.
    cnn.get_layer("down2_bn").moving_mean.assign(np.arange(8.0))
    stages = ModelBackbone(cnn).build((32, 32, 3))
    for mine, theirs in zip(stages.base.weights, cnn.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
        assert mine is not theirs
    copy = stages.copy_stage("P2", "branch_P2")
    np.testing.assert_array_equal(
        copy.get_layer("down2_bn").moving_mean.numpy(), np.arange(8.0)
    )


def test_weights_argument(tmp_path):
    cnn = user_cnn()
    spec = ModelBackbone(cnn)
    with pytest.raises(ValueError, match="Received: weights='imagenet'"):
        spec.build((32, 32, 3), weights="imagenet")
    with pytest.raises(TypeError, match="Received: weights=3"):
        spec.build((32, 32, 3), weights=3)
    other = user_cnn()
    path = str(tmp_path / "other.weights.h5")
    other.save_weights(path)
    stages = spec.build((32, 32, 3), weights=path)
    for mine, theirs in zip(stages.base.weights, other.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_config_round_trip():
    cnn = user_cnn()
    spec = ModelBackbone(cnn)
    config = spec.get_config()
    assert config == keras.saving.serialize_keras_object(spec.model)
    text = json.dumps(config, sort_keys=True)
    again = ModelBackbone.from_config(json.loads(text))
    assert json.dumps(again.get_config(), sort_keys=True) == text
    assert again.levels == spec.levels
    explicit = ModelBackbone(cnn, levels={"P2": "down2_relu"})
    config = explicit.get_config()
    assert config["levels"] == {"P2": "down2_relu"}
    assert ModelBackbone.from_config(config).levels == ("P2",)
    with pytest.raises(ValueError, match="Received: backbone="):
        ModelBackbone.from_config({"levels": {}})


def test_unregistered_custom_layer_explains_registration():
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return 2 * x

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same")(inputs)
    config = ModelBackbone(keras.Model(inputs, Doubler()(x))).get_config()
    with pytest.raises(ValueError, match="register_keras_serializable"):
        ModelBackbone.from_config(config)


def test_resolve():
    cnn = user_cnn()
    assert isinstance(backbones.resolve(cnn), ModelBackbone)
    spec = ModelBackbone(cnn)
    assert backbones.resolve(spec) is spec
    assert backbones.resolve("tiny") is backbones.get("tiny")
    assert backbones.get("tiny").get_config() == "tiny"
    rebuilt = backbones.resolve(spec.get_config())
    assert isinstance(rebuilt, ModelBackbone)
    with pytest.raises(TypeError, match="Received: backbone=3"):
        backbones.resolve(3)


def test_register_a_model_maker_without_taps():
    try:
        spec = backbones.register_backbone(
            "my_cnn",
            lambda input_shape, weights: user_cnn(input_shape),
            native=True,
            default_preprocessing="none",
        )
        assert spec.taps is None
        assert spec.levels == ("P1", "P2", "P3")
        stages = backbones.get("my_cnn").build((32, 32, 1))
        assert stages.shapes["P3"] == (4, 4, 12)
        assert stages.stages["P3"].name == "my_cnn_P3"
    finally:
        BACKBONES.unregister("my_cnn")
