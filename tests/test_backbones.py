import math

import keras
import numpy as np
import pytest
from keras.src.utils import file_utils

from mtlzoo import backbones

NAMES = backbones.list_backbones()
APPLICATIONS = [name for name in NAMES if not backbones.get(name).native]
NATIVE = [name for name in NAMES if backbones.get(name).native]
SIZE = 32


def _images(channels=3, batch=2, seed=0, size=SIZE):
    rng = np.random.default_rng(seed)
    shape = (batch, size, size, channels)
    return rng.uniform(0, 255, shape).astype("float32")


def _forward(stages, images):
    """Preprocess, then run every stage; returns {level: features}."""
    x = stages.preprocess(images)
    features = {}
    for level in stages.levels:
        x = stages.stages[level](x, training=False)
        features[level] = keras.ops.convert_to_numpy(x)
    return features


@pytest.fixture(scope="module", params=NAMES)
def built(request):
    """Each registered backbone at 32x32x3, weights=None, built once."""
    keras.utils.set_random_seed(0)
    spec = backbones.get(request.param)
    return spec, spec.build((SIZE, SIZE, 3))


def _producer(tensor):
    return tensor._keras_history.operation


def _clean_cuts(model):
    """Operations after which no operation reads an earlier tensor."""
    operations = model.operations
    index = {id(op): i for i, op in enumerate(operations)}
    earliest_input = []
    for i, op in enumerate(operations):
        parents = [
            index[id(parent.operation)]
            for parent in op._inbound_nodes[0].parent_nodes
        ]
        earliest_input.append(min(parents, default=i))
    clean = []
    later_min = math.inf
    for i in range(len(operations) - 1, -1, -1):
        if later_min >= i:
            clean.append(operations[i])
        later_min = min(later_min, earliest_input[i])
    return clean[::-1]


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
        "resnet_small",
        "tiny",
    }
    assert set(NAMES) == expected
    assert NAMES == sorted(NAMES)
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


def test_levels_strides_channels_shapes(built):
    spec, stages = built
    assert stages.levels == spec.levels
    assert set(stages.levels) <= set(backbones.LEVELS)
    assert stages.preprocessing == spec.default_preprocessing
    assert stages.preprocess.name == f"{spec.name}_preprocess"
    features = _forward(stages, _images())
    for level in stages.levels:
        stride = 2 ** int(level[1:])
        size = math.ceil(SIZE / stride)
        assert stages.strides[level] == stride
        assert stages.stages[level].name == f"{spec.name}_{level}"
        assert stages.shapes[level] == (size, size, stages.channels[level])
        assert features[level].shape == (2,) + stages.shapes[level]


def test_levels_of_stride_four_stem():
    assert backbones.get("convnext_tiny").levels == ("P2", "P3", "P4", "P5")
    assert backbones.get("resnet50").levels == backbones.LEVELS


def test_taps_are_last_clean_cut_of_their_stride(built):
    _, stages = built
    base = stages.base
    clean = _clean_cuts(base)
    for level in stages.levels:
        size = stages.shapes[level][0]
        at_stride = [
            op
            for op in clean
            if len(op.output.shape) == 4 and op.output.shape[1] == size
        ]
        tap = _producer(stages.stages[level].outputs[0])
        assert tap is at_stride[-1], (level, tap.name, at_stride[-1].name)


def test_stages_compose_to_base_model(built):
    _, stages = built
    images = _images()
    x = stages.preprocess(images)
    expected = keras.ops.convert_to_numpy(stages.base(x, training=False))
    composed = _forward(stages, images)[stages.levels[-1]]
    np.testing.assert_array_equal(composed, expected)


def test_copy_stage_is_independent(built):
    spec, stages = built
    level = stages.levels[-1]
    stage = stages.stages[level]
    copy = stages.copy_stage(level, name="branch")
    assert copy.name == "branch"
    x = np.random.default_rng(1).normal(
        size=(2,) + tuple(stage.inputs[0].shape[1:])
    )
    before = keras.ops.convert_to_numpy(stage(x, training=False))
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(copy(x, training=False)), before
    )
    originals = {id(v) for v in stage.weights}
    assert not originals & {id(v) for v in copy.weights}
    for variable in copy.trainable_weights:
        variable.assign(variable + 1.0)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(stage(x, training=False)), before
    )


def test_stages_save_inside_outer_model(built, tmp_path):
    spec, stages = built
    first, second = stages.levels[:2]
    branch = stages.copy_stage(second, name="branch")
    inputs = keras.Input((SIZE, SIZE, 3), name="image")
    shared = stages.stages[first](stages.preprocess(inputs))
    outputs = {
        "a": stages.stages[second](shared),
        "b": branch(shared),
    }
    model = keras.Model(inputs, outputs)
    images = _images()
    expected = model.predict(images, verbose=0)
    path = tmp_path / "outer.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    actual = loaded.predict(images, verbose=0)
    for key in ("a", "b"):
        np.testing.assert_array_equal(actual[key], expected[key])


@pytest.mark.parametrize("name", NAMES)
def test_one_channel_input(name):
    spec = backbones.get(name)
    # Native CNNs also at the 36x36 multi-MNIST canvas size.
    size = 36 if spec.native else SIZE
    stages = spec.build((size, size, 1))
    first_input = stages.stages[stages.levels[0]].inputs[0]
    assert first_input.shape[-1] == (1 if spec.native else 3)
    features = _forward(stages, _images(channels=1, size=size))
    for level in stages.levels:
        side = math.ceil(size / stages.strides[level])
        assert stages.shapes[level][:2] == (side, side)
        assert features[level].shape == (2,) + stages.shapes[level]


@pytest.mark.parametrize(
    "name, input_shape",
    [
        ("mobilenet_v2", (32, 32)),
        ("mobilenet_v2", (32, 32, 2)),
        ("mobilenet_v2", (16, 32, 3)),
        ("mobilenet_v2", (32, None, 3)),
        ("resnet50", "32x32"),
        ("tiny", (8, 8, 1)),
        ("tiny", (32, 32, 0)),
    ],
)
def test_bad_input_shape(name, input_shape):
    with pytest.raises(ValueError, match="Received: input_shape=") as info:
        backbones.get(name).build(input_shape)
    assert name in str(info.value)


def test_bad_preprocessing():
    with pytest.raises(ValueError, match="Received: preprocessing='yolo'"):
        backbones.get("tiny").build((32, 32, 1), preprocessing="yolo")


def test_preprocessing_override():
    stages = backbones.get("tiny").build((32, 32, 3), preprocessing="torch")
    assert stages.preprocessing == "torch"
    assert stages.preprocess.mode == "torch"


@pytest.mark.parametrize("name", NATIVE)
def test_imagenet_for_native_raises(name):
    with pytest.raises(ValueError, match="weights='imagenet'") as info:
        backbones.get(name).build((32, 32, 3), weights="imagenet")
    assert name in str(info.value)


def test_missing_weights_file(tmp_path):
    path = str(tmp_path / "missing.weights.h5")
    for name in ("tiny", "vgg16"):
        with pytest.raises(ValueError, match="missing.weights.h5") as info:
            backbones.get(name).build((32, 32, 3), weights=path)
        assert name in str(info.value)


def test_native_weights_round_trip(tmp_path):
    keras.utils.set_random_seed(0)
    source = backbones.get("tiny").build((32, 32, 1))
    path = tmp_path / "tiny.weights.h5"
    source.base.save_weights(path)
    keras.utils.set_random_seed(1)
    loaded = backbones.get("tiny").build((32, 32, 1), weights=path)
    images = _images(channels=1)
    expected = _forward(source, images)
    actual = _forward(loaded, images)
    for level in source.levels:
        np.testing.assert_array_equal(actual[level], expected[level])


def test_weights_that_do_not_fit(tmp_path):
    path = tmp_path / "tiny.weights.h5"
    backbones.get("tiny").build((32, 32, 3)).base.save_weights(path)
    with pytest.raises(ValueError, match="tiny.weights.h5") as info:
        backbones.get("lenet").build((32, 32, 3), weights=path)
    assert "lenet" in str(info.value)
    with pytest.raises(ValueError, match="tiny.weights.h5"):
        backbones.get("tiny").build((32, 32, 1), weights=path)


def test_application_legacy_h5_weights(tmp_path):
    keras.utils.set_random_seed(0)
    source = backbones.get("vgg16").build((32, 32, 3))
    path = tmp_path / "vgg16_no_top.h5"
    source.base.save(path)
    loaded = backbones.get("vgg16").build((32, 32, 1), weights=str(path))
    for a, b in zip(source.base.weights, loaded.base.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def _offline(*args, **kwargs):
    raise Exception("URL fetch failure on https://example.invalid: offline")


@pytest.mark.filterwarnings("ignore:`input_shape` is undefined")
def test_imagenet_download_failure_raises(monkeypatch, tmp_path):
    monkeypatch.setattr(file_utils, "get_file", _offline)
    monkeypatch.setattr(backbones, "_PRETRAINED_DIRS", (tmp_path,))
    for name in ("vgg16", "mobilenet_v2"):
        with pytest.raises(ValueError, match="local weights file") as info:
            backbones.get(name).build((32, 32, 3), weights="imagenet")
        assert name in str(info.value)
        assert "Received: weights='imagenet'" in str(info.value)


@pytest.mark.filterwarnings("ignore:`input_shape` is undefined")
def test_mobilenet_v2_falls_back_to_shipped_weights(monkeypatch, tmp_path):
    keras.utils.set_random_seed(1)
    shipped = backbones.get("mobilenet_v2").build((32, 32, 3))
    filename = backbones.get("mobilenet_v2").fallback_weights[0]
    shipped.base.save_weights(tmp_path / filename)
    monkeypatch.setattr(file_utils, "get_file", _offline)
    monkeypatch.setattr(backbones, "_PRETRAINED_DIRS", (tmp_path,))
    keras.utils.set_random_seed(2)
    spec = backbones.get("mobilenet_v2")
    stages = spec.build((32, 32, 1), weights="imagenet")
    assert stages.preprocessing == "torch"
    for a, b in zip(shipped.base.weights, stages.base.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    stages = spec.build((32, 32, 3), weights="imagenet", preprocessing="tf")
    assert stages.preprocessing == "tf"


@pytest.mark.skipif(
    backbones._find_pretrained("mobilenet_v2_imagenet_no_top.weights.h5")
    is None,
    reason="shipped MobileNetV2 weights not present",
)
def test_shipped_mobilenet_v2_weights_load():
    path = backbones._find_pretrained("mobilenet_v2_imagenet_no_top.weights.h5")
    stages = backbones.get("mobilenet_v2").build(
        (32, 32, 3), weights=path, preprocessing="torch"
    )
    features = _forward(stages, _images())["P5"]
    assert np.isfinite(features).all()


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("none", [0.0, 127.5, 255.0]),
        ("unit", [0.0, 0.5, 1.0]),
        ("tf", [-1.0, 0.0, 1.0]),
        (
            "torch",
            [
                (0.0 - 0.485) / 0.229,
                (0.5 - 0.456) / 0.224,
                (1.0 - 0.406) / 0.225,
            ],
        ),
        ("caffe", [255.0 - 103.939, 127.5 - 116.779, 0.0 - 123.68]),
    ],
)
def test_preprocess_modes(mode, expected):
    rgb = np.array([[[[0.0, 127.5, 255.0]]]], dtype="float32")
    out = backbones.Preprocess(mode, channels_out=3)(rgb)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(out)[0, 0, 0], expected, rtol=1e-5
    )


def test_preprocess_repeats_gray_and_casts():
    gray = np.full((1, 2, 2, 1), 255, dtype="uint8")
    out = backbones.Preprocess("unit", channels_out=3)(gray)
    assert tuple(out.shape) == (1, 2, 2, 3)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out), 1.0)
    out = backbones.Preprocess("torch")(gray)
    assert tuple(out.shape) == (1, 2, 2, 1)


def test_preprocess_validation_and_config():
    with pytest.raises(ValueError, match="Received: mode='bgr'"):
        backbones.Preprocess("bgr")
    with pytest.raises(ValueError, match="Received: channels_out=0"):
        backbones.Preprocess("tf", channels_out=0)
    layer = backbones.Preprocess("caffe", channels_out=3, name="p")
    config = keras.saving.serialize_keras_object(layer)
    clone = keras.saving.deserialize_keras_object(config)
    assert isinstance(clone, backbones.Preprocess)
    assert clone.get_config() == layer.get_config()
