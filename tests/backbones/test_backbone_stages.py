"""Stage splitting: levels, clean-cut taps, composition, copies, saving."""

import math

import keras
import numpy as np
import pytest
from backbone_helpers import SIZE
from backbone_helpers import forward
from backbone_helpers import random_images
from backbone_helpers import stage_backbones

from mtlzoo import backbones
from mtlzoo.backbones.levels import level_taps

NAMES = stage_backbones()


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


def test_levels_strides_channels_shapes(built):
    spec, stages = built
    assert stages.levels == spec.levels
    assert set(stages.levels) <= set(backbones.LEVELS)
    assert stages.preprocessing == spec.default_preprocessing
    assert stages.preprocess.name == f"{spec.name}_preprocess"
    features = forward(stages, random_images())
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


def test_registered_taps_are_found_from_strides(built):
    _, stages = built
    found = level_taps(stages.base)
    assert tuple(found) == stages.levels
    for level in stages.levels:
        tap = _producer(stages.stages[level].outputs[0])
        assert _producer(found[level]) is tap, (level, tap.name)


def test_stages_compose_to_base_model(built):
    _, stages = built
    images = random_images()
    x = stages.preprocess(images)
    expected = keras.ops.convert_to_numpy(stages.base(x, training=False))
    composed = forward(stages, images)[stages.levels[-1]]
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
    images = random_images()
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
    features = forward(stages, random_images(channels=1, size=size))
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
