"""`split_model`: trunk + blocks + heads recompose the original outputs,
and a split trunk registers as a backbone with graph heads on it."""

import keras
import numpy as np
import pytest

import mtlzoo
from mtlzoo import backbones
from mtlzoo.convert import split_model
from mtlzoo.heads import graph as graph_head


def _conv(x, filters, strides, name):
    return keras.layers.Conv2D(
        filters, 3, strides=strides, padding="same", name=name
    )(x)


def two_heads_on_a_vector():
    """A chain of strided convs, pooled, with two dense outputs."""
    inputs = keras.Input((32, 32, 3), name="image")
    x = inputs
    for i in range(1, 6):
        x = _conv(x, 4 * i, 2, f"down_{i}")
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    a = keras.layers.Dense(3, name="out_a")(x)
    b = keras.layers.Dense(1, activation="sigmoid", name="out_b")(x)
    return keras.Model(inputs, [a, b], name="vector_net")


def unet_with_regression():
    """An encoder whose skips feed a decoder (two outputs) and whose end
    feeds a regression branch (two outputs): the layers feeding two or
    more outputs are no chain, so the trunk is the shared encoder and the
    decoder and regression branch are shared blocks."""
    inputs = keras.Input((32, 32, 3), name="image")
    e1 = _conv(inputs, 4, 2, "enc_1")
    e2 = _conv(e1, 8, 2, "enc_2")
    e3 = _conv(e2, 8, 2, "enc_3")
    up = keras.layers.UpSampling2D(2, name="up")(e3)
    d = keras.layers.Add(name="skip")([up, e2])
    d = _conv(d, 8, 1, "dec")
    mask = keras.layers.Conv2D(1, 1, name="mask")(d)
    heat = keras.layers.Conv2D(2, 1, name="heat")(d)
    r = _conv(e3, 8, 2, "reg_1")
    r = keras.layers.Flatten(name="flat")(r)
    points = keras.layers.Dense(6, name="points")(r)
    flag = keras.layers.Dense(1, name="flag")(r)
    return keras.Model(inputs, [points, flag, mask, heat], name="unet")


def _images(seed=0, shape=(2, 32, 32, 3)):
    return np.random.default_rng(seed).uniform(0, 1, shape).astype("float32")


def test_vector_trunk_levels_and_exact_recomposition():
    keras.utils.set_random_seed(0)
    model = two_heads_on_a_vector()
    split = split_model(model, {"a": 0, "b": 1})
    assert split.cut_levels == ("P5",)
    # The vector is P5; P1..P4 are the trunk's own clean cuts.
    assert split.levels == {
        "P1": "down_1",
        "P2": "down_2",
        "P3": "down_3",
        "P4": "down_4",
        "P5": "pool",
    }
    assert split.blocks == {}
    assert [s for _, s in split.heads.values()] == [["P5"], ["P5"]]
    x = _images()
    expected = model(x)
    got = split(x)
    np.testing.assert_array_equal(got["a"], expected[0])
    np.testing.assert_array_equal(got["b"], expected[1])


def test_shared_blocks_when_the_shared_layers_are_no_chain():
    keras.utils.set_random_seed(0)
    model = unet_with_regression()
    names = {"points": 0, "flag": 1, "mask": 2, "heat": 3}
    split = split_model(model, names, name="u")
    assert split.levels == {"P1": "enc_1", "P2": "enc_2", "P3": "enc_3"}
    assert sorted(split.blocks) == ["u_flag_points", "u_heat_mask"]
    assert split.blocks["u_heat_mask"][1] == ["P2", "P3"]
    assert split.blocks["u_flag_points"][1] == ["P3"]
    assert split.heads["mask"][1] == ["u_heat_mask"]
    x = _images(1)
    expected = model(x)
    got = split(x)
    for name, index in names.items():
        np.testing.assert_array_equal(got[name], expected[index])


def test_a_subset_of_outputs():
    model = unet_with_regression()
    split = split_model(model, {"mask": 2, "heat": 3})
    # Only the decoder is shared: its output is the cut (stride 4, P2).
    assert split.cut_levels == ("P2",)
    got = split(_images())
    np.testing.assert_array_equal(got["heat"], model(_images())[3])


@pytest.mark.parametrize(
    "outputs", [{"a": 0}, {"a": 0, "b": 0}, {"a": 0, "b": 7}, [0, 1]]
)
def test_bad_outputs_are_refused(outputs):
    with pytest.raises(ValueError, match="Received: outputs="):
        split_model(two_heads_on_a_vector(), outputs)


def test_not_a_model_is_refused():
    with pytest.raises(TypeError, match="Received: model="):
        split_model("model.tflite")


def test_registered_trunk_with_graph_heads_reproduces_the_graph(monkeypatch):
    keras.utils.set_random_seed(0)
    model = unet_with_regression()
    names = {"points": 0, "flag": 1, "mask": 2, "heat": 3}
    split = split_model(model, names, name="split_unet")
    blocks = {
        n: {"inputs": s, "config": m.get_config()}
        for n, (m, s) in split.blocks.items()
    }
    real_load = graph_head.load_head_graph
    monkeypatch.setattr(
        graph_head,
        "load_head_graph",
        lambda g: (
            blocks[g] if isinstance(g, str) and g in blocks else real_load(g)
        ),
    )
    monkeypatch.setattr(graph_head, "_BLOCKS", {})
    backbones.register_converted_backbone(
        "split_unet_test",
        {
            "name": "split_unet_test",
            "input_shape": [32, 32, 3],
            "taps": split.levels,
            "config": split.trunk.get_config(),
        },
        replace=True,
    )
    try:
        tasks = [
            mtlzoo.Task(
                name,
                "regression",
                units=units,
                head={"type": "graph", "graph": _head(name, split)},
            )
            for name, units in (("points", 6), ("flag", 1))
        ]
        built = mtlzoo.build(
            "split_unet_test", tasks, (32, 32, 3), preprocessing="none"
        )
        layers = _leaf_layers(built)
        for layer in _leaf_layers(model).values():
            for target in layers.get(layer[0].name, []):
                target.set_weights(layer[0].get_weights())
        # The regression block is built once and read by both heads.
        blocks_built = [
            n for n in _nested_names(built) if "split_unet_flag_points" in n
        ]
        assert len(blocks_built) == 1
        x = _images(2)
        expected = model(x)
        got = built.predict(x, verbose=0)
        for name in ("points", "flag"):
            np.testing.assert_allclose(
                got[name], expected[names[name]], rtol=1e-6, atol=1e-6
            )
        again = mtlzoo.MultiTaskModel.from_config(built.get_config())
        assert again.get_config() == built.get_config()
    finally:
        backbones.registry.BACKBONES.unregister("split_unet_test")


def _nested_names(model):
    names = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            names.append(layer.name)
            names.extend(_nested_names(layer))
    return names


def _head(name, split):
    head, sources = split.heads[name]
    return {"inputs": sources, "config": head.get_config()}


def _leaf_layers(model, out=None):
    out = {} if out is None else out
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            _leaf_layers(layer, out)
        elif layer.weights:
            out.setdefault(layer.name, []).append(layer)
    return out


def test_converted_backbone_refuses_other_sizes():
    model = two_heads_on_a_vector()
    split = split_model(model)
    spec = backbones.register_converted_backbone(
        "split_vector_test",
        {
            "name": "split_vector_test",
            "input_shape": [32, 32, 3],
            "taps": split.levels,
            "config": split.trunk.get_config(),
        },
        replace=True,
    )
    try:
        stages = spec.build((32, 32, 3))
        assert stages.levels == ("P1", "P2", "P3", "P4", "P5")
        assert stages.shapes["P5"] == (20,)
        with pytest.raises(ValueError, match="only 32x32x3 images"):
            spec.build((64, 64, 3))
    finally:
        backbones.registry.BACKBONES.unregister("split_vector_test")


def test_unknown_graph_names_the_shipped_ones():
    with pytest.raises(ValueError, match="mediapipe_pose_lite"):
        backbones.register_converted_backbone("no_such_trunk")
