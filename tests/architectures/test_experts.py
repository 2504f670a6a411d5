"""Experts and gates of MMoE, CGC and PLE (mmoe.py, cgc.py, ple.py and
their shared _experts.py)."""

import keras
import numpy as np
import pytest
from architecture_helpers import batch
from architecture_helpers import build
from architecture_helpers import make_tasks

from mtlzoo.architectures import mmoe


@pytest.mark.parametrize(
    "name,kinds",
    [
        ("mmoe", ("classification", "regression")),
        ("mmoe", ("classification", "segmentation")),
        ("cgc", ("classification", "regression")),
        ("ple", ("classification", "segmentation")),
    ],
)
def test_expert_gate_rows_sum_to_one(name, kinds):
    model = build(name, make_tasks(kinds))
    gates = [
        layer for layer in model.layers if isinstance(layer, mmoe.ExpertGate)
    ]
    expected = {
        "mmoe": 2,
        "cgc": 2,
        "ple": 2 * 2 + 1,  # two layers of task gates, one shared gate
    }[name]
    assert len(gates) == expected
    probe = keras.Model(model.input, [g.input[0] for g in gates])
    x, _ = batch(model.tasks)
    for gate, gate_input in zip(gates, probe(x)):
        weights = gate.gate_weights(gate_input).numpy()
        spatial = "segmentation" in kinds
        assert weights.ndim == (4 if spatial else 2), gate.name
        np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)
        assert weights.min() > 0.0


@pytest.mark.parametrize("kind", ["mmoe", "cgc"])
def test_gated_experts_on_a_plain_vector_input(kind):
    x = keras.Input((8,), name="features")
    mixed = mmoe.gated_experts(x, ["click", "buy"], kind, expert_units=3)
    assert sorted(mixed) == ["buy", "click"]
    assert all(tuple(m.shape) == (None, 3) for m in mixed.values())
    model = keras.Model(x, mixed)
    out = model(np.ones((2, 8), "float32"))
    assert tuple(out["click"].shape) == (2, 3)


def test_ple_experts_and_gates_train_and_save_on_a_vector_input(tmp_path):
    x = keras.Input((8,), name="features")
    mixed = mmoe.gated_experts(x, ["click", "buy"], "ple", expert_units=[6, 4])
    outputs = {
        n: keras.layers.Dense(1, name=n)(m) for n, m in sorted(mixed.items())
    }
    model = keras.Model(x, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    rng = np.random.default_rng(0)
    data = rng.normal(size=(16, 8)).astype("float32")
    labels = {"click": data[:, :1] * 2.0, "buy": data[:, 1:2] - data[:, 2:3]}
    hist = model.fit(data, labels, epochs=5, verbose=0).history["loss"]
    assert hist[-1] < hist[0]
    path = str(tmp_path / "experts.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    before, after = (
        model.predict(data, verbose=0),
        loaded.predict(data, verbose=0),
    )
    for n in before:
        np.testing.assert_allclose(before[n], after[n], atol=1e-6)
    for layer in model.layers:
        if isinstance(layer, (mmoe.Experts, mmoe.ExpertGate)):
            again = type(layer).from_config(layer.get_config())
            assert again.get_config() == layer.get_config()


def test_experts_with_conv_kernel_on_feature_maps():
    experts = mmoe.Experts(3, [5, 2], kernel_size=3, name="e")
    out = experts(np.ones((2, 4, 4, 6), "float32"))
    assert tuple(out.shape) == (2, 4, 4, 3, 2)
    gate = mmoe.ExpertGate(name="g")
    mixed = gate([np.ones((2, 6), "float32"), out])  # one gate per sample
    assert tuple(mixed.shape) == (2, 4, 4, 2)
