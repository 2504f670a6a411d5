"""The graph head: a Keras functional config as a task's head, and the
standard-layer adapters from converted outputs to task kinds."""

import keras
import numpy as np
import pytest

import mtlzoo
from mtlzoo import heads
from mtlzoo.heads.graph import adapters


def _dense_graph(units, name="g", shape=(1, 1, 16)):
    inputs = keras.Input(shape, name=f"{name}_in")
    x = keras.layers.Flatten(name=f"{name}_flat")(inputs)
    x = keras.layers.Dense(units, name=f"{name}_dense")(x)
    return {"inputs": ["P5"], "config": keras.Model(inputs, x).get_config()}


def test_registered_and_selected_by_type():
    assert "graph" in heads.list_heads()
    task = mtlzoo.Task(
        "score", "regression", units=3, head={"type": "graph", "graph": 1}
    )
    with pytest.raises(ValueError, match="Received: graph=1"):
        heads.build_head(task)


def test_builds_on_tiny_and_round_trips(tmp_path):
    keras.utils.set_random_seed(0)
    graph = _dense_graph(3)
    tasks = [
        mtlzoo.Task(
            "score",
            "regression",
            units=3,
            head={"type": "graph", "graph": graph},
        ),
        mtlzoo.Task("digit", "classification", num_classes=2),
    ]
    model = mtlzoo.build("tiny", tasks, input_shape=(32, 32, 1))
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 1))
    out = model.predict(x, verbose=0)
    assert out["score"].shape == (2, 3)
    assert model.get_layer("score").name == "score"
    again = mtlzoo.MultiTaskModel.from_config(model.get_config())
    assert again.get_config() == model.get_config()
    path = tmp_path / "graph.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0)["score"], out["score"]
    )


def test_wrong_input_shape_is_refused():
    graph = _dense_graph(3, shape=(2, 2, 8))
    task = mtlzoo.Task(
        "score", "regression", units=3, head={"type": "graph", "graph": graph}
    )
    with pytest.raises(ValueError, match="reads P5 of shape"):
        mtlzoo.build("tiny", [task], input_shape=(32, 32, 1))


def test_wrong_output_shape_is_refused():
    task = mtlzoo.Task(
        "score",
        "regression",
        units=4,
        head={"type": "graph", "graph": _dense_graph(3)},
    )
    with pytest.raises(ValueError, match="outputs shape"):
        mtlzoo.build("tiny", [task], input_shape=(32, 32, 1))


def test_missing_graph_and_unknown_level():
    task = mtlzoo.Task("score", "regression", units=3, head={"type": "graph"})
    with pytest.raises(ValueError, match="needs the option `graph`"):
        heads.build_head(task)
    graph = dict(_dense_graph(3), inputs=["P7"])
    with pytest.raises(ValueError, match="No head graph 'P7'"):
        head = heads.build_head(task, {"graph": graph})
        head({"P5": keras.Input((1, 1, 16))}, (32, 32, 1))
    with pytest.raises(ValueError, match="No head graph 'nothing'"):
        heads.build_head(task, {"graph": "nothing"})


def test_two_class_adapters_are_exact():
    logits = np.array([[-3.0], [0.0], [2.5]], "float32")
    inputs = keras.Input((1,))
    model = keras.Model(inputs, adapters.two_class(inputs, True, "t"))
    sigmoid = 1 / (1 + np.exp(-logits[:, 0]))
    np.testing.assert_allclose(
        model.predict(logits, verbose=0),
        np.stack([1 - sigmoid, sigmoid], -1),
        atol=1e-6,
    )
    probs = np.array([[0.1], [0.75]], "float32")
    inputs = keras.Input((1,))
    model = keras.Model(inputs, adapters.two_class(inputs, False, "p"))
    np.testing.assert_allclose(
        model.predict(probs, verbose=0), [[0.9, 0.1], [0.25, 0.75]], atol=1e-7
    )
    assert not model.get_layer("p_pair").trainable


def test_points_adapter_scales_and_takes_the_visibility():
    values = np.arange(2 * 5, dtype="float32").reshape(1, 10) - 4.0
    inputs = keras.Input((10,))
    model = keras.Model(inputs, adapters.points(inputs, 2, 5, 256, True, "pts"))
    got = model.predict(values, verbose=0)
    points = values.reshape(2, 5)
    expected = np.concatenate(
        [points[:, :3] / 256, 1 / (1 + np.exp(-points[:, 3:4]))], -1
    )
    np.testing.assert_allclose(got[0], expected, rtol=1e-6)
