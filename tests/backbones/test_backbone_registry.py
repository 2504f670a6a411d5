"""The backbone catalog: names, errors, one registration per module, and
`register_backbone` for a user's own network."""

import importlib
import pathlib

import keras
import numpy as np
import pytest

import mtlzoo
from mtlzoo import backbones
from mtlzoo import testing
from mtlzoo.backbones import applications
from mtlzoo.backbones.registry import BACKBONES

PACKAGE = pathlib.Path(backbones.__file__).parent
# Modules of the package that are not one backbone each.
NOT_ENTRIES = {
    "applications",
    "converted",
    "levels",
    "model_backbone",
    "preprocess",
    "registry",
    "stage_names",
    "stages",
}


def test_registry_lists_all_backbones():
    expected = {
        "mobilenet_v2",
        "mobilenet_v3_small",
        "mobilenet_v3_large",
        "resnet50",
        "resnet50_v2",
        "efficientnet_b0",
        "efficientnet_v2_b0",
        "convnext_tiny",
        "vgg16",
        "densenet121",
        "lenet",
        "mtcnn_onet",
        "resnet_small",
        "tiny",
        "tiny_xception",
        "mediapipe_face_mesh",
        "mediapipe_hand_landmark",
        "mediapipe_pose_full",
        "mediapipe_pose_lite",
    }
    names = backbones.list_backbones()
    assert set(names) == expected
    assert names == sorted(names)
    assert backbones.list_backbones("mobilenet*") == [
        "mobilenet_v2",
        "mobilenet_v3_large",
        "mobilenet_v3_small",
    ]
    assert backbones.list_backbones("nothing*") == []


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="no_such_backbone") as info:
        backbones.get("no_such_backbone")
    assert "mobilenet_v2" in str(info.value)
    assert "tiny" in str(info.value)
    with pytest.raises(TypeError, match="Received: backbone=3"):
        backbones.get(3)


def test_every_module_registers_its_backbone():
    stems = {
        path.stem
        for path in PACKAGE.glob("*.py")
        if not path.stem.startswith("_")
    }
    entries = stems - NOT_ENTRIES
    assert entries == {
        "lenet",
        "mtcnn_onet",
        "resnet_small",
        "tiny",
        "tiny_xception",
    }
    for stem in entries:
        module = importlib.import_module(f"mtlzoo.backbones.{stem}")
        spec = backbones.get(stem)
        assert spec.builder is getattr(module, stem)
        assert spec.native
    for name in applications.APPLICATIONS:
        assert not backbones.get(name).native
    # Converted trunks: one shipped graph each, registered by converted.py.
    graphs = {p.stem for p in (PACKAGE / "graphs").glob("*.json")}
    assert graphs == {
        "mediapipe_face_mesh",
        "mediapipe_hand_landmark",
        "mediapipe_pose_full",
        "mediapipe_pose_lite",
    }
    assert set(backbones.list_backbones()) == entries | graphs | set(
        applications.APPLICATIONS
    )


def _my_net(input_shape, weights=None):
    inputs = keras.Input(input_shape, name="my_net_input")
    x = inputs
    for level in backbones.LEVELS[:4]:
        x = keras.layers.Conv2D(
            4, 3, strides=2, padding="same", name=f"my_{level.lower()}_conv"
        )(x)
        x = keras.layers.ReLU(name=f"my_{level.lower()}_relu")(x)
    return keras.Model(inputs, x, name="my_net")


@pytest.fixture
def my_net():
    """`my_net` registered for one test, then removed."""
    spec = backbones.register_backbone(
        "my_net",
        _my_net,
        taps=["my_p1_relu", "my_p2_relu", "my_p3_relu", None, "-"],
        min_input_size=16,
        native=True,
        aliases=("my_net_alias",),
    )
    yield spec
    BACKBONES.unregister("my_net")


def test_user_registered_backbone_builds_a_model(my_net):
    assert "my_net" in backbones.list_backbones()
    assert backbones.get("my_net") is my_net
    assert backbones.get("my_net_alias") is my_net
    assert my_net.levels == ("P1", "P2", "P3", "P4")
    tasks = [
        mtlzoo.Task("label", "classification", num_classes=3),
        mtlzoo.Task("mask", "segmentation", num_classes=2, head={"width": 4}),
    ]
    model = mtlzoo.build(
        "my_net", tasks, (32, 32, 1), branch_points={"mask": "P3"}
    )
    out = model(testing.random_images((32, 32, 1), 2), training=False)
    assert out["label"].shape == (2, 3)
    assert out["mask"].shape == (2, 32, 32, 2)
    np.testing.assert_allclose(np.sum(out["label"], -1), 1.0, rtol=1e-5)
    testing.run_serialization_test(model)


def test_register_backbone_as_decorator_and_replace():
    try:

        @backbones.register_backbone(
            "my_decorated", taps={"P1": "my_p1_relu"}, native=True
        )
        def my_decorated(input_shape, weights=None):
            return _my_net(input_shape, weights)

        assert backbones.get("my_decorated").builder is my_decorated
        with pytest.raises(ValueError, match="already registered"):
            backbones.register_backbone(
                "my_decorated", _my_net, taps={"P1": "my_p1_relu"}
            )
        spec = backbones.register_backbone(
            "my_decorated", _my_net, taps={"P1": "my_p1_relu"}, replace=True
        )
        assert backbones.get("my_decorated") is spec
    finally:
        BACKBONES.unregister("my_decorated")


@pytest.mark.parametrize(
    "kwargs, received",
    [
        ({"taps": {"P9": "x"}}, "taps="),
        ({"taps": ["a", "b"]}, "taps="),
        ({"taps": {}}, "taps="),
        ({"taps": {"P1": "x"}, "default_preprocessing": "bgr"}, "default_"),
    ],
)
def test_register_backbone_bad_arguments(kwargs, received):
    with pytest.raises(ValueError, match=f"Received: {received}"):
        backbones.register_backbone("my_bad", _my_net, **kwargs)
    with pytest.raises(TypeError, match="Received: builder="):
        backbones.register_backbone("my_bad", "my_net", taps={"P1": "x"})
    assert "my_bad" not in backbones.list_backbones()
