import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import mtlzoo
from mtlzoo import architectures
from mtlzoo import testing
from mtlzoo.architectures import cross_stitch
from mtlzoo.architectures import mmoe
from mtlzoo.architectures import pad_net
from mtlzoo.architectures import soft_sharing

SHAPE = (32, 32, 1)
ARCHITECTURES = architectures.list_architectures()
# Small but non-trivial settings so that the suite stays fast.
TEST_OPTIONS = {
    "mmoe": {"num_experts": 3, "expert_units": 4},
    "cgc": {"num_experts": 1, "num_shared_experts": 2, "expert_units": 4},
    "ple": {"num_experts": 1, "num_shared_experts": 1, "expert_units": 4},
    "mtan": {"levels": ["P4", "P5"]},
    "pad_net": {"width": 4},
    "soft_sharing": {"coupling": 1e-2},
}
PARAMETER_GRADIENT_CASES = ("soft_sharing", "task_specific_norm")


def make_tasks(kinds=("classification", "regression", "segmentation")):
    tasks = [
        mtlzoo.Task(
            "digit", "classification", num_classes=5, head={"units": 8}
        ),
        mtlzoo.Task("ink", "regression", units=2, head={"units": 8}),
        mtlzoo.Task("mask", "segmentation", num_classes=3, head={"width": 4}),
    ]
    return [t for t in tasks if t.kind in kinds]


def build(name, tasks=None, **options):
    options = dict(TEST_OPTIONS.get(name, {}), **options)
    return mtlzoo.build(
        "tiny", tasks or make_tasks(), SHAPE, architecture=name, **options
    )


def batch(tasks, size=2):
    return (
        testing.random_images(SHAPE, size),
        testing.random_labels(tasks, SHAPE, size),
    )


def total_loss(model, x, y):
    """Equal-weighted task losses plus regularisers, in eager mode."""
    y_pred = model(x, training=True)
    losses = [t.compute_loss(y[t.name], y_pred[t.name]) for t in model.tasks]
    return keras.ops.sum(keras.ops.stack(losses)) + sum(model.losses)


def _default_name(layer):
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", type(layer).__name__).lower()
    return re.fullmatch(rf"{snake}(_\d+)?", layer.name) is not None


# ----------------------------------------------------------------------
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_architecture_builds_trains_serializes_and_saves(name):
    model = build(name)
    unnamed = [layer.name for layer in model.layers if _default_name(layer)]
    assert not unnamed, unnamed
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = testing.run_model_test(model)
    if name == "soft_sharing":
        assert "regularization_loss" in history
    # Same fixed batch as run_model_test: the loss must go down.
    x, y = batch(model.tasks)
    losses = model.fit(x, y, epochs=5, verbose=0, shuffle=False).history
    assert losses["loss"][-1] < losses["loss"][0], losses["loss"]
    clone = testing.run_serialization_test(model)
    assert clone.get_config()["architecture_options"] == (
        TEST_OPTIONS.get(name, {})
    )
    testing.run_saving_test(model)


class Summed(mtlzoo.weighting.Weighting):
    """A gradient method that sums: must train like equal weighting."""

    requires_gradients = True


def _gradient_cases():
    # Representation gradients for every architecture (they depend on the
    # shared tensors it returns); parameter gradients where the partition
    # of variables into shared and task-specific ones is unusual (soft
    # sharing: nothing shared, the model falls back to the loss path). Hard
    # sharing: tests/test_model.py::test_gradient_hook_sum_matches_....
    cases = [(n, True) for n in ARCHITECTURES if n != "hard_sharing"]
    cases += [(n, False) for n in PARAMETER_GRADIENT_CASES]
    for name, rep in cases:
        marks = []
        mode = "representation" if rep else "parameters"
        yield pytest.param(name, rep, marks=marks, id=f"{name}-{mode}")


@pytest.mark.parametrize("name,rep", list(_gradient_cases()))
def test_gradient_method_trains_like_equal_weighting(name, rep):
    tasks = make_tasks(("classification", "regression"))
    model = build(name, tasks)
    x, y = batch(tasks, 4)
    variables = model.trainable_variables
    before = [v.numpy().copy() for v in variables]
    with tf.GradientTape() as tape:
        loss = total_loss(model, x, y)
    grads = tape.gradient(loss, variables)
    expected = [b - 0.1 * g.numpy() for b, g in zip(before, grads)]
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        weighting=Summed(representation_gradients=rep),
    )
    logs = model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"])
    moved = False
    for v, b, e in zip(variables, before, expected):
        np.testing.assert_allclose(v.numpy(), e, atol=2e-5, err_msg=v.path)
        moved = moved or not np.allclose(b, e)
    assert moved


# ----------------------------------------------------------------------
def test_soft_sharing_penalty_zero_for_identical_copies_and_grows():
    model = build("soft_sharing", coupling=0.5)
    units = [
        layer
        for layer in model.layers
        if isinstance(layer, soft_sharing.SoftSharingCoupling)
    ]
    assert sorted(u.name for u in units) == [
        f"soft_sharing_{lv}" for lv in ("P1", "P2", "P3", "P4", "P5")
    ]
    x, _ = batch(model.tasks)
    model(x)
    assert float(sum(model.losses)) == 0.0
    stage = model.get_layer("ink_P3")
    start = stage.get_weights()
    size = sum(int(np.prod(w.shape)) for w in stage.trainable_weights)
    values = []
    for delta in (0.01, 0.1, 1.0):
        for w, s in zip(stage.trainable_weights, start):
            w.assign(s + delta)
        penalty = float(model.get_layer("soft_sharing_P3").penalty())
        # "ink" now differs by delta everywhere from the two other copies.
        np.testing.assert_allclose(penalty, 0.5 * 2 * size * delta**2, 1e-4)
        model(x)
        np.testing.assert_allclose(float(sum(model.losses)), penalty, 1e-5)
        values.append(penalty)
    assert values[0] < values[1] < values[2]


def test_soft_sharing_copies_are_independent():
    model = build("soft_sharing", levels=["P4", "P5"])
    a, b = model.get_layer("digit_P2"), model.get_layer("mask_P2")
    assert a.weights[0] is not b.weights[0]
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)
    names = {layer.name for layer in model.layers}
    assert {"soft_sharing_P4", "soft_sharing_P5"} <= names
    assert "soft_sharing_P3" not in names
    # The couplings do not join the copies in the graph: each copy is
    # task-specific, nothing is shared by every task.
    model.compile(optimizer="sgd")
    assert not model._all_shared
    own = {id(v) for v in model._head_variables["digit"]}
    assert id(a.trainable_weights[0]) in own


def test_cross_stitch_units_start_near_identity_and_get_gradients():
    model = build("cross_stitch")
    units = [
        layer
        for layer in model.layers
        if isinstance(layer, cross_stitch.CrossStitchUnit)
    ]
    assert len(units) == 5
    expected = np.full((3, 3), 0.05) + np.eye(3) * 0.85
    for unit in units:
        np.testing.assert_allclose(unit.alpha.numpy(), expected, rtol=1e-6)
    x, y = batch(model.tasks)
    with tf.GradientTape() as tape:
        loss = total_loss(model, x, y)
    grads = tape.gradient(loss, [u.alpha for u in units])
    for unit, grad in zip(units, grads):
        assert grad is not None and np.all(np.isfinite(grad)), unit.name
        assert np.any(grad.numpy() != 0), unit.name


def test_cross_stitch_unit_formula_per_channel():
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(2, 3, 3, 4)).astype("float32") for _ in range(2)]
    unit = cross_stitch.CrossStitchUnit(0.7, per_channel=True, name="cs")
    out = unit(xs)
    assert unit.alpha.shape == (4, 2, 2)
    alpha = rng.normal(size=(4, 2, 2)).astype("float32")
    unit.alpha.assign(alpha)
    out = unit(xs)
    for i in range(2):
        want = sum(xs[j] * alpha[:, i, j] for j in range(2))
        np.testing.assert_allclose(out[i], want, rtol=1e-5, atol=1e-6)
    config = unit.get_config()
    assert cross_stitch.CrossStitchUnit.from_config(config).per_channel


def test_mtan_masks_in_unit_interval_with_level_shapes():
    model = mtlzoo.build("tiny", make_tasks(), SHAPE, architecture="mtan")
    names = [t.name for t in model.tasks]
    levels = ["P1", "P2", "P3", "P4", "P5"]
    layers = [
        model.get_layer(f"{n}_mtan_{lv}_mask") for n in names for lv in levels
    ]
    probe = keras.Model(model.input, [layer.output for layer in layers])
    x, _ = batch(model.tasks)
    masks = probe(x, training=False)
    for layer, mask in zip(layers, masks):
        level = layer.name.split("_")[-2]
        size = SHAPE[0] // 2 ** int(level[1:])
        channels = (4, 4, 8, 8, 16)[int(level[1:]) - 1]
        assert tuple(mask.shape) == (2, size, size, channels), layer.name
        mask = mask.numpy()
        assert mask.min() >= 0.0 and mask.max() <= 1.0, layer.name
    model = build("mtan", levels=["P2", "P5"])
    existing = {layer.name for layer in model.layers}
    assert {"digit_mtan_P2_mask", "mask_mtan_P5_mask"} <= existing
    assert "digit_mtan_P3_mask" not in existing


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


def test_task_norm_shares_kernels_but_not_normalisation():
    model = build("task_specific_norm")
    for level in ("P1", "P3", "P5"):
        a = model.get_layer(f"digit_{level}")
        b = model.get_layer(f"mask_{level}")
        a_layers = [lyr for lyr in a.layers if lyr.weights]
        b_layers = [lyr for lyr in b.layers if lyr.weights]
        assert len(a_layers) == len(b_layers) == 2
        conv_a, bn_a = a_layers
        conv_b, bn_b = b_layers
        assert conv_a is conv_b
        assert conv_a.kernel is conv_b.kernel
        assert isinstance(bn_a, keras.layers.BatchNormalization)
        assert bn_a is not bn_b and bn_a.name.startswith("digit_")
        assert not {id(w) for w in bn_a.weights} & {id(w) for w in bn_b.weights}
    # The shared conv kernels are counted once.
    ids = [id(v) for v in model.weights]
    assert len(ids) == len(set(ids))


def test_task_norm_levels_keep_a_plain_shared_trunk():
    model = build("task_specific_norm", levels=["P4", "P5"])
    names = {layer.name for layer in model.layers}
    assert {"tiny_P1", "tiny_P2", "tiny_P3"} <= names
    assert {"digit_P4", "ink_P5", "mask_P4"} <= names
    assert "digit_P3" not in names


def test_pad_net_distillation_weights_get_gradients():
    model = build("pad_net")
    units = [
        layer
        for layer in model.layers
        if isinstance(layer, pad_net.MultiModalDistillation)
    ]
    assert sorted(u.name for u in units) == sorted(
        f"{t.name}_distillation" for t in model.tasks
    )
    aux = model.get_layer("mask_pad_net_aux")
    assert aux.output.shape[-1] == 3
    variables = [w for u in units for w in u.trainable_weights]
    x, y = batch(model.tasks)
    with tf.GradientTape() as tape:
        loss = total_loss(model, x, y)
    for var, grad in zip(variables, tape.gradient(loss, variables)):
        assert grad is not None, var.path
        assert np.any(grad.numpy() != 0), var.path


# ----------------------------------------------------------------------
BAD_OPTIONS = [
    ("soft_sharing", {"coupling": -1.0}, "coupling=-1.0"),
    ("soft_sharing", {"levels": ["P7"]}, "levels=['P7']"),
    ("cross_stitch", {"self_weight": 1.5}, "self_weight=1.5"),
    ("cross_stitch", {"levels": []}, "levels=[]"),
    ("cross_stitch", {"per_channel": "yes"}, "per_channel='yes'"),
    ("mtan", {"levels": ["P2", "P3"]}, "levels=['P2', 'P3']"),
    ("mmoe", {"num_experts": 0}, "num_experts=0"),
    ("mmoe", {"spatial": False}, "spatial=False"),
    ("mmoe", {"expert_units": [4, 0]}, "expert_units=[4, 0]"),
    ("cgc", {"num_shared_experts": 0}, "num_shared_experts=0"),
    ("ple", {"num_levels": 0}, "num_levels=0"),
    ("pad_net", {"level": "P6"}, "level='P6'"),
    ("pad_net", {"width": 0}, "width=0"),
    ("task_specific_norm", {"levels": ["P1", "P1"]}, "levels=['P1', 'P1']"),
]


@pytest.mark.parametrize("name,options,received", BAD_OPTIONS)
def test_bad_options_raise(name, options, received):
    with pytest.raises(ValueError, match=re.escape(f"Received: {received}")):
        mtlzoo.build("tiny", make_tasks(), SHAPE, architecture=name, **options)


@pytest.mark.parametrize(
    "name", [n for n in ARCHITECTURES if n != "hard_sharing"]
)
def test_unknown_option_raises(name):
    with pytest.raises(ValueError, match=r"Received: depth=3$"):
        mtlzoo.build("tiny", make_tasks(), SHAPE, architecture=name, depth=3)
