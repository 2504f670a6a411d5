"""A user's functional `keras.Model` as the backbone of a multi-task model:
branch points, dense heads, architectures, weightings, weights, config
and `.keras` round trips."""

import keras
import numpy as np
import pytest

import mtlzoo
from mtlzoo import architectures
from mtlzoo import testing
from mtlzoo import weighting
from mtlzoo.backbones import ModelBackbone

SHAPE = (32, 32, 3)
# Small settings of the architectures (as in tests/architectures).
OPTIONS = {
    "mmoe": {"num_experts": 2, "expert_units": 4},
    "cgc": {"num_experts": 1, "num_shared_experts": 1, "expert_units": 4},
    "ple": {"num_experts": 1, "num_shared_experts": 1, "expert_units": 4},
    "mtan": {"levels": ["P2", "P3"]},
    "pad_net": {"width": 4},
    "soft_sharing": {"coupling": 1e-2},
}


def user_cnn(input_shape=SHAPE, name="user_cnn"):
    """Three stride-2 conv blocks (P1..P3), a residual block at P2."""
    inputs = keras.Input(input_shape, name="pixels")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    for i in (1, 2, 3):
        x = keras.layers.Conv2D(
            4 * i, 3, strides=2, padding="same", name=f"down{i}"
        )(x)
        x = keras.layers.BatchNormalization(name=f"down{i}_bn")(x)
        x = keras.layers.ReLU(name=f"down{i}_relu")(x)
        if i == 2:
            y = keras.layers.Conv2D(8, 3, padding="same", name="res_conv")(x)
            x = keras.layers.Add(name="res_add")([x, y])
    return keras.Model(inputs, x, name=name)


def tasks():
    return [
        mtlzoo.Task(
            "digit", "classification", num_classes=3, head={"units": 8}
        ),
        mtlzoo.Task("mask", "segmentation", num_classes=2, head={"width": 4}),
    ]


def test_hard_sharing_with_branch_point_and_dense_head():
    cnn = user_cnn()
    model = mtlzoo.build(cnn, tasks(), branch_points={"mask": "P2"})
    assert model.input_shape_ == SHAPE
    assert model.levels == ("P1", "P2", "P3")
    assert model.preprocessing == "none"
    assert model.get_layer("user_cnn_P1") is not None
    assert model.get_layer("mask_P3") is not None
    testing.run_model_test(model)
    testing.run_serialization_test(model)
    testing.run_saving_test(model)


def test_multi_task_model_takes_a_model_and_stores_its_config():
    cnn = user_cnn()
    model = mtlzoo.MultiTaskModel(cnn, tasks(), SHAPE, preprocessing="unit")
    assert model.preprocessing == "unit"
    config = model.get_config()
    assert config["backbone"] == keras.saving.serialize_keras_object(cnn)
    clone = mtlzoo.MultiTaskModel.from_config(config)
    assert clone.levels == model.levels
    assert clone.get_layer("user_cnn_P3").count_params() == (
        model.get_layer("user_cnn_P3").count_params()
    )


def test_trunk_and_branch_copies_start_from_the_model_weights():
    cnn = user_cnn()
    cnn.get_layer("down3").kernel.assign(
        np.full(cnn.get_layer("down3").kernel.shape, 0.5)
    )
    model = mtlzoo.build(cnn, tasks(), branch_points={"mask": "P2"})
    for level in ("P1", "P2", "P3"):
        stage = model.get_layer(f"user_cnn_{level}")
        for layer in stage.layers:
            if layer.weights:
                theirs = cnn.get_layer(layer.name).get_weights()
                for a, b in zip(layer.get_weights(), theirs):
                    np.testing.assert_array_equal(a, b)
    branch = model.get_layer("mask_P3")
    np.testing.assert_array_equal(
        branch.get_layer("down3").kernel.numpy(),
        np.full(cnn.get_layer("down3").kernel.shape, 0.5),
    )
    before = [w.copy() for w in cnn.get_weights()]
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    testing.run_model_test(model)
    # Training the multi-task model leaves the user's model unchanged.
    for a, b in zip(before, cnn.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_explicit_levels_round_trip(tmp_path):
    cnn = user_cnn()
    spec = ModelBackbone(cnn, levels={"P2": "res_add", "P3": "down3_relu"})
    model = mtlzoo.build(spec, tasks(), SHAPE, branch_points={"mask": "P2"})
    assert model.levels == ("P2", "P3")
    assert model.get_config()["backbone"]["levels"] == {
        "P2": "res_add",
        "P3": "down3_relu",
    }
    testing.run_serialization_test(model)
    testing.run_saving_test(model)


def test_one_channel_images_and_models_of_any_size():
    cnn = user_cnn(input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="Received: input_shape=None"):
        mtlzoo.build(cnn, tasks())
    model = mtlzoo.build(cnn, tasks(), (40, 48, 1))
    x = testing.random_images((40, 48, 1), 2)
    out = model(x, training=False)
    assert out["mask"].shape == (2, 40, 48, 2)
    testing.run_serialization_test(model)


def test_backbone_errors_say_what_was_received():
    cnn = user_cnn()
    with pytest.raises(ValueError, match="Received: input_shape=\\(64"):
        mtlzoo.build(cnn, tasks(), (64, 64, 3))
    with pytest.raises(ValueError, match="has no level|does not have"):
        mtlzoo.build(cnn, tasks(), branch_points={"mask": "P4"})
    with pytest.raises(TypeError, match="Received: backbone=3"):
        mtlzoo.build(3, tasks(), SHAPE)


@pytest.mark.parametrize("architecture", ["cross_stitch", "mtan", "mmoe"])
def test_architectures_on_a_user_model(architecture):
    model = mtlzoo.build(
        user_cnn(),
        tasks(),
        architecture=architecture,
        **OPTIONS.get(architecture, {}),
    )
    testing.run_model_test(model)
    testing.run_serialization_test(model)


@pytest.mark.parametrize("weighting", ["equal", "pcgrad", "mgda_ub"])
def test_weightings_on_a_user_model(weighting):
    model = mtlzoo.build(user_cnn(), tasks(), branch_points={"mask": "P2"})
    model.compile(optimizer="adam", weighting=weighting)
    history = testing.run_model_test(model)
    assert np.isfinite(history["loss"]).all()


@pytest.mark.large
@pytest.mark.parametrize("architecture", architectures.list_architectures())
def test_every_architecture_on_a_user_model(architecture):
    model = mtlzoo.build(
        user_cnn(),
        tasks(),
        architecture=architecture,
        **OPTIONS.get(architecture, {}),
    )
    testing.run_model_test(model)
    testing.run_serialization_test(model)
    testing.run_saving_test(model)


def _one_name_per_method():
    names = {}
    for name in weighting.list_weightings():
        names.setdefault(type(weighting.get(name)), name)
    return sorted(names.values())


@pytest.mark.large
@pytest.mark.parametrize("name", _one_name_per_method())
def test_every_weighting_on_a_user_model(name):
    model = mtlzoo.build(user_cnn(), tasks(), branch_points={"mask": "P2"})
    model.compile(optimizer="adam", weighting=name)
    history = testing.run_model_test(model, steps=2)
    assert np.isfinite(history["loss"]).all()


@pytest.mark.large
def test_keras_applications_model_fits_and_saves():
    net = keras.applications.MobileNetV3Small(
        include_top=False, weights=None, input_shape=(64, 64, 3)
    )
    model = mtlzoo.build(net, tasks(), branch_points={"mask": "P3"})
    assert model.levels == mtlzoo.backbones.LEVELS
    testing.run_model_test(model)
    testing.run_serialization_test(model)
    testing.run_saving_test(model)
