import inspect
import json
import math
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import scipy.optimize
import tensorflow as tf

from mtlzoo import weighting
from mtlzoo.weighting import checks

NAMES = weighting.list_weightings()
GRADIENT_NAMES = [n for n in NAMES if weighting.get(n).requires_gradients]
CLASSES = sorted({type(weighting.get(n)) for n in NAMES}, key=str)

# Non-default constructor arguments, to check that configs carry them.
NON_DEFAULTS = {
    "AlignedMTL": {"scale": "median"},
    "CAGrad": {"c": 0.5, "rescale": 2, "iterations": 30},
    "FAMO": {"learning_rate": 0.1, "weight_decay": 0.0, "optimizer": "sgd"},
    "FixedWeighting": {"weights": {"a": 0.5}},
    "GradDrop": {"leak": [0.1, 0.2, 0.3], "seed": 3},
    "GradNorm": {"alpha": 0.5, "learning_rate": 0.1, "min_weight": 0.01},
    "MGDA": {"normalization": "loss+", "max_iterations": 10},
    "NashMTL": {"max_norm": 0.0, "update_weights_every": 2, "iterations": 5},
    "PCGrad": {"reduction": "mean", "seed": 7},
    "UncertaintyWeighting": {
        "task_types": {"a": "classification"},
        "default_type": "classification",
    },
}


def seeded(name):
    """`{"seed": 0}` for the methods that draw random numbers."""
    params = inspect.signature(type(weighting.get(name)).__init__).parameters
    return {"seed": 0} if "seed" in params else {}


def make(name, num_tasks=3, **kwargs):
    """A method bound to `num_tasks` fresh weight variables (value 1)."""
    method = weighting.get(name, **kwargs)
    variables = [keras.Variable(1.0, trainable=False) for _ in range(num_tasks)]
    method.setup([f"t{i}" for i in range(num_tasks)], variables)
    return method, variables


def combine(method, grads, losses=None, weights=None, present=None):
    grads = np.asarray(grads, "float32")
    count = grads.shape[0]
    losses = np.ones(count) if losses is None else losses
    weights = np.ones(count) if weights is None else weights
    present = np.ones(count) if present is None else present
    out = method.combine_gradients(
        tf.constant(grads),
        tf.constant(losses, tf.float32),
        tf.constant(weights, tf.float32),
        tf.constant(present, tf.float32),
    )
    return out.numpy().astype("float64")


def simplex_minimize(objective, count):
    result = scipy.optimize.minimize(
        objective,
        np.ones(count) / count,
        bounds=[(0.0, 1.0)] * count,
        constraints=({"type": "eq", "fun": lambda x: 1.0 - x.sum()},),
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    return result.x


# ----------------------------------------------------------------- registry
def test_get_unknown_lists_valid_names():
    with pytest.raises(ValueError) as info:
        weighting.get("unknown")
    message = str(info.value)
    for name in ("pcgrad", "mgda_ub", "nash_mtl", "famo", "uncertainty"):
        assert name in message
    assert message.endswith("Received: weighting='unknown'")


def test_aliases():
    assert isinstance(weighting.get("NashMTL"), weighting.NashMTL)
    assert isinstance(weighting.get("nash-mtl"), weighting.NashMTL)
    assert isinstance(weighting.get("PCGrad"), weighting.PCGrad)
    ub = weighting.get("mgda_ub", normalization="l2")
    assert isinstance(ub, weighting.MGDA)
    assert ub.representation_gradients and ub.normalization == "l2"
    assert not weighting.get("mgda").representation_gradients
    for name in GRADIENT_NAMES:
        assert name in NAMES
    assert set(GRADIENT_NAMES) >= {
        "gradnorm",
        "mgda",
        "pcgrad",
        "graddrop",
        "cagrad",
        "imtl",
        "nash_mtl",
        "aligned_mtl",
    }


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_config_has_every_constructor_argument(cls):
    kwargs = NON_DEFAULTS.get(cls.__name__, {})
    method = cls(representation_gradients=True, **kwargs)
    config = method.get_config()
    params = inspect.signature(cls.__init__).parameters
    for name, param in params.items():
        if name == "self" or param.kind == param.VAR_KEYWORD:
            continue
        assert name in config, name
    for name, value in kwargs.items():
        assert config[name] == value
    assert config["representation_gradients"] is True


@pytest.mark.parametrize("name", NAMES)
def test_config_round_trip_and_serialization(name):
    method = weighting.get(name)
    config = method.get_config()
    restored = type(method).from_config(config)
    assert restored.get_config() == config
    serialized = keras.saving.serialize_keras_object(method)
    serialized = json.loads(json.dumps(serialized))
    assert serialized["registered_name"].startswith("mtlzoo>")
    clone = keras.saving.deserialize_keras_object(serialized)
    assert type(clone) is type(method)
    assert clone.get_config() == config
    assert type(weighting.get(serialized)) is type(method)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_non_default_round_trip(cls):
    method = cls(**NON_DEFAULTS.get(cls.__name__, {}))
    serialized = json.loads(
        json.dumps(keras.saving.serialize_keras_object(method))
    )
    clone = keras.saving.deserialize_keras_object(serialized)
    assert clone.get_config() == method.get_config()


@pytest.mark.parametrize(
    "cls, kwargs, text",
    [
        (weighting.MGDA, {"normalization": "max"}, "normalization='max'"),
        (weighting.PCGrad, {"reduction": "max"}, "reduction='max'"),
        (weighting.GradDrop, {"leak": 2.0}, "leak=2.0"),
        (weighting.GradDrop, {"leak": [0.1, -1]}, "leak[1]=-1"),
        (weighting.CAGrad, {"c": -1}, "c=-1"),
        (weighting.CAGrad, {"rescale": 3}, "rescale=3"),
        (weighting.NashMTL, {"max_norm": -1}, "max_norm=-1"),
        (weighting.NashMTL, {"iterations": 0}, "iterations=0"),
        (weighting.AlignedMTL, {"scale": "max"}, "scale='max'"),
        (weighting.GradNorm, {"alpha": -1}, "alpha=-1"),
        (weighting.FAMO, {"optimizer": "rmsprop"}, "optimizer='rmsprop'"),
        (weighting.FAMO, {"learning_rate": 0}, "learning_rate=0"),
        (
            weighting.UncertaintyWeighting,
            {"default_type": "ordinal"},
            "default_type='ordinal'",
        ),
    ],
)
def test_bad_arguments(cls, kwargs, text):
    with pytest.raises(
        ValueError, match="Received: " + text.replace("[", r"\[")
    ):
        cls(**kwargs)


def test_setup_errors_name_the_tasks():
    with pytest.raises(ValueError, match="unknown tasks \\['x'\\]"):
        make("uncertainty", task_types={"x": "regression"})
    with pytest.raises(ValueError, match="Received: leak=\\[0.1, 0.2\\]"):
        make("graddrop", leak=[0.1, 0.2])


# ------------------------------------------------------ gradient methods
@pytest.mark.parametrize("name", GRADIENT_NAMES)
def test_absent_task_row_changes_nothing(name):
    rng = np.random.default_rng(1)
    grads = rng.normal(size=(3, 40)).astype("float32")
    grads[1] = 1e3 * rng.normal(size=40)
    losses = np.array([0.7, 123.0, 1.9])
    kwargs = seeded(name)
    full, full_vars = make(name, 3, **kwargs)
    kept, kept_vars = make(name, 2, **kwargs)
    for step in range(2):
        scaled = grads * (1.0 + 0.5 * step)
        with_absent = combine(full, scaled, losses, present=[1.0, 0.0, 1.0])
        without = combine(kept, scaled[[0, 2]], losses[[0, 2]])
        np.testing.assert_allclose(with_absent, without, rtol=1e-5, atol=1e-6)
    assert full_vars[1].numpy() == 1.0
    np.testing.assert_allclose(
        [full_vars[0].numpy(), full_vars[2].numpy()],
        [v.numpy() for v in kept_vars],
        rtol=1e-6,
    )


@pytest.mark.parametrize("name", GRADIENT_NAMES)
def test_absent_row_with_nan_and_zero_gradients_stay_finite(name):
    method, _ = make(name, 3)
    grads = np.ones((3, 5), "float32")
    grads[1] = np.nan
    out = combine(method, grads, [1.0, np.nan, 1.0], present=[1, 0, 1])
    assert np.all(np.isfinite(out))
    for rows in (
        np.zeros((3, 5)),
        np.array([[1, 2, 0, 0, 1], [0] * 5, [0] * 5]),
    ):
        out = combine(method, rows)
        assert np.all(np.isfinite(out)), rows
    out = combine(method, np.ones((3, 5)), present=[0, 0, 0])
    np.testing.assert_array_equal(out, 0.0)


@pytest.mark.parametrize("name", GRADIENT_NAMES)
def test_graph_mode(name):
    rng = np.random.default_rng(2)
    grads = tf.constant(rng.normal(size=(3, 1000)).astype("float32"))
    losses = tf.constant([0.5, 1.0, 2.0])
    weights = tf.ones([3])
    present = tf.constant([1.0, 1.0, 0.0])
    eager, _ = make(name, 3, **seeded(name))
    graph, _ = make(name, 3, **seeded(name))
    step = tf.function(graph.combine_gradients)
    for _ in range(2):
        expected = eager.combine_gradients(grads, losses, weights, present)
        out = step(grads, losses, weights, present)
        assert out.shape == (1000,) and out.dtype == tf.float32
        assert np.all(np.isfinite(out.numpy()))
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_pcgrad_two_conflicting_vectors():
    method, _ = make("pcgrad", 2, seed=0)
    g1, g2 = np.array([1.0, 0.0]), np.array([-1.0, 1.0])
    # g1 . g2 = -1 < 0: each loses its component along the other.
    p1 = g1 - (g1 @ g2) / (g2 @ g2) * g2  # [0.5, 0.5]
    p2 = g2 - (g2 @ g1) / (g1 @ g1) * g1  # [0, 1]
    np.testing.assert_allclose(p1 + p2, [0.5, 1.5])
    np.testing.assert_allclose(combine(method, [g1, g2]), [0.5, 1.5])
    # No conflict: the plain sum.
    np.testing.assert_allclose(combine(method, [g1, [1.0, 1.0]]), [2.0, 1.0])
    mean, _ = make("pcgrad", 2, reduction="mean")
    np.testing.assert_allclose(combine(mean, [g1, g2]), [0.25, 0.75])


def test_pcgrad_three_tasks_matches_reference_loop():
    rng = np.random.default_rng(3)
    grads = rng.normal(size=(3, 6))
    order = np.array([[2, 0, 1], [0, 2, 1], [1, 2, 0]])
    expected = np.zeros(6)
    for i in range(3):  # the authors' loop, in the given order
        g = grads[i].copy()
        for j in order[i]:
            dot = g @ grads[j]
            if dot < 0:
                g -= dot / (grads[j] @ grads[j]) * grads[j]
        expected += g
    method, _ = make("pcgrad", 3)
    alpha = method.coefficients(
        tf.constant(grads @ grads.T), tf.ones([3], tf.float64), order
    )
    np.testing.assert_allclose(alpha.numpy() @ grads, expected, rtol=1e-10)


def test_pcgrad_order_is_seeded():
    grads = np.random.default_rng(4).normal(size=(4, 8))
    first = combine(make("pcgrad", 4, seed=5)[0], grads)
    second = combine(make("pcgrad", 4, seed=5)[0], grads)
    np.testing.assert_array_equal(first, second)


def test_mgda_two_vectors_closed_form():
    method, _ = make("mgda", 2)
    for g1, g2 in [
        ([1.0, 0.0], [0.0, 2.0]),
        ([1.0, 0.0], [2.0, 0.0]),
        ([3.0, 1.0], [-1.0, 2.0]),
    ]:
        g1, g2 = np.array(g1), np.array(g2)
        gamma = np.clip((g2 - g1) @ g2 / ((g1 - g2) @ (g1 - g2)), 0, 1)
        expected = gamma * g1 + (1 - gamma) * g2
        np.testing.assert_allclose(
            combine(method, [g1, g2]), expected, rtol=1e-6, atol=1e-7
        )
    # ([1, 0], [0, 2]): gamma = 4/5, the point (0.8, 0.4).
    np.testing.assert_allclose(
        combine(method, [[1, 0], [0, 2]]), [0.8, 0.4], rtol=1e-6
    )


@pytest.mark.parametrize("normalization", ["none", "l2", "loss", "loss+"])
def test_mgda_three_vectors_matches_slsqp(normalization):
    rng = np.random.default_rng(5)
    grads = rng.normal(size=(3, 6))
    grads[1] -= 0.8 * grads[0]
    losses = np.array([0.5, 2.0, 1.3])
    norms = np.linalg.norm(grads, axis=1)
    scale = {
        "none": np.ones(3),
        "l2": norms,
        "loss": losses,
        "loss+": losses * norms,
    }[normalization]
    normalized = grads / scale[:, None]
    gram = normalized @ normalized.T
    alpha = simplex_minimize(lambda a: a @ gram @ a, 3)
    method, _ = make("mgda", 3, normalization=normalization)
    out = combine(method, grads, losses)
    np.testing.assert_allclose(out, alpha @ grads, rtol=1e-4, atol=1e-5)


def cagrad_reference(grads, c=0.4, rescale=1):
    """The authors' `cagrad` (SLSQP on the dual), in numpy."""
    count = len(grads)
    gram = grads @ grads.T
    g0_norm = np.sqrt(gram.mean() + 1e-8)
    b = np.ones(count) / count
    radius = c * g0_norm + 1e-8
    w = simplex_minimize(
        lambda x: x @ gram @ b + radius * np.sqrt(x @ gram @ x + 1e-8), count
    )
    gw = w @ grads
    g = grads.mean(0) + radius / (np.linalg.norm(gw) + 1e-8) * gw
    return g / {0: 1.0, 1: 1.0 + c**2, 2: 1.0 + c}[rescale]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cagrad_matches_reference(seed):
    rng = np.random.default_rng(seed)
    grads = rng.normal(size=(3, 8)) * rng.uniform(0.5, 3.0, size=(3, 1))
    grads[1] -= 0.9 * grads[0]
    for c, rescale in [(0.4, 1), (0.8, 2), (0.2, 0)]:
        method, _ = make("cagrad", 3, c=c, rescale=rescale)
        expected = cagrad_reference(grads, c, rescale)
        np.testing.assert_allclose(
            combine(method, grads), expected, rtol=1e-4, atol=1e-5
        )
    zero_c, _ = make("cagrad", 3, c=0.0, rescale=0)
    np.testing.assert_allclose(
        combine(zero_c, grads), grads.mean(0), rtol=1e-5, atol=1e-6
    )


def test_imtl_matches_closed_form():
    rng = np.random.default_rng(6)
    grads = rng.normal(size=(3, 7)) * np.array([[1.0], [4.0], [0.3]])
    unit = grads / np.linalg.norm(grads, axis=1, keepdims=True)
    d = grads[0] - grads[1:]
    u = unit[0] - unit[1:]
    rest = grads[0] @ u.T @ np.linalg.inv(d @ u.T)
    alpha = np.concatenate([[1.0 - rest.sum()], rest])
    expected = alpha @ grads
    method, _ = make("imtl", 3)
    out = combine(method, grads)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    # Equal projections on every unit task gradient.
    projections = unit @ out
    np.testing.assert_allclose(projections, projections[0], rtol=1e-4)


def test_nash_mtl_solves_bargaining_equation():
    rng = np.random.default_rng(7)
    grads = rng.normal(size=(3, 9)) * np.array([[1.0], [2.0], [0.5]])
    gram = grads @ grads.T
    root = scipy.optimize.root(lambda a: gram @ a - 1.0 / a, np.ones(3))
    assert root.success
    method, _ = make("nash_mtl", 3, max_norm=0.0)
    out = combine(method, grads)
    np.testing.assert_allclose(out, root.x @ grads, rtol=1e-5, atol=1e-6)
    # Every task's improvement alpha_t g_t . d is 1.
    np.testing.assert_allclose(root.x * (grads @ out), 1.0, rtol=1e-4)
    # Warm start: a second call on the same gradients stays at the root.
    np.testing.assert_allclose(
        combine(method, grads), root.x @ grads, rtol=1e-5, atol=1e-6
    )
    lazy, _ = make("nash_mtl", 3, max_norm=0.0, update_weights_every=2)
    first = combine(lazy, grads)
    np.testing.assert_allclose(combine(lazy, 2 * grads), 2 * first, rtol=1e-5)
    np.testing.assert_allclose(
        combine(lazy, 2 * grads), first, rtol=1e-4, atol=1e-6
    )
    clipped, _ = make("nash_mtl", 3, max_norm=0.1)
    out = combine(clipped, grads)
    np.testing.assert_allclose(np.linalg.norm(out), 0.1, rtol=1e-5)


def aligned_reference(grads, scale="min"):
    """The authors' ProcrustesSolver, in numpy."""
    gram = grads @ grads.T
    values, vectors = np.linalg.eigh(gram)
    tol = values.max() * len(gram) * np.finfo(np.float32).eps
    keep = values > tol
    order = np.argsort(values[keep])[::-1]
    values, vectors = values[keep][order], vectors[:, keep][:, order]
    target = {
        "min": values[-1],
        # torch.median: the lower middle value.
        "median": np.sort(values)[(len(values) - 1) // 2],
        "rmse": values.mean(),
    }[scale]
    weights = vectors * np.sqrt(target) / np.sqrt(values)
    weights = weights @ vectors.T
    return (grads.T @ weights).sum(-1), weights


def test_aligned_mtl_matches_reference():
    rng = np.random.default_rng(8)
    grads = rng.normal(size=(3, 10)) * np.array([[1.0], [3.0], [0.2]])
    expected, weights = aligned_reference(grads)
    method, _ = make("aligned_mtl", 3)
    np.testing.assert_allclose(
        combine(method, grads), expected, rtol=1e-4, atol=1e-5
    )
    # The aligned gradients share one singular value, the smallest.
    aligned = grads.T @ weights
    singular = np.linalg.svd(aligned, compute_uv=False)
    smallest = np.linalg.svd(grads, compute_uv=False).min()
    np.testing.assert_allclose(singular, smallest, rtol=1e-6)
    # Rank-deficient: the null direction is dropped, not inverted.
    rank_two = np.stack([grads[0], grads[1], grads[0] + grads[1]])
    assert np.all(np.isfinite(combine(method, rank_two)))
    four = rng.normal(size=(4, 10)) * np.array([[1.0], [3.0], [0.2], [2.0]])
    for scale in ("min", "median", "rmse"):
        scaled, _ = make("aligned_mtl", 4, scale=scale)
        np.testing.assert_allclose(
            combine(scaled, four),
            aligned_reference(four, scale)[0],
            rtol=1e-4,
            atol=1e-5,
        )


def test_graddrop_formula():
    rng = np.random.default_rng(9)
    grads = rng.normal(size=(3, 50)).astype("float32")
    leak = [0.0, 0.5, 1.0]
    method, _ = make("graddrop", 3, leak=leak, seed=11)
    out = combine(method, grads)
    # Same draw of U as the method's first call.
    generator = keras.random.SeedGenerator(11)
    seed = tf.cast(generator.next(), tf.int32)
    uniform = tf.random.stateless_uniform((50,), seed=seed).numpy()
    purity = 0.5 * (1 + grads.sum(0) / (np.abs(grads).sum(0) + 1e-7))
    keep = ((purity > uniform) & (grads > 0)) | (
        (purity < uniform) & (grads < 0)
    )
    leak = np.array(leak)[:, None]
    expected = (leak * grads + (1 - leak) * keep * grads).sum(0)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_graddrop_keeps_positive_sign_with_probability_purity():
    grads = np.stack([np.full(20000, 1.0), np.full(20000, -3.0)])
    method, _ = make("graddrop", 2, seed=0)
    out = combine(method, grads)
    assert set(np.unique(out)) <= {1.0, -3.0}
    purity = 0.5 * (1 + (1.0 - 3.0) / 4.0)  # 0.25
    assert abs(np.mean(out == 1.0) - purity) < 0.02
    agree = np.array([[1.0, -2.0], [3.0, -1.0]])
    np.testing.assert_allclose(combine(method, agree), [4.0, -3.0])


def test_gradnorm_step_matches_formula():
    method, variables = make("gradnorm", 2, alpha=1.5, learning_rate=0.025)
    grads = np.array([[3.0, 4.0], [0.0, 1.0]])  # norms 5 and 1
    out = combine(method, grads, losses=[2.0, 3.0])
    np.testing.assert_allclose(out, [3.0, 5.0])
    # First step: L(0) = L, r = 1, target = mean norm = 3.
    grad_w = np.sign([5.0 - 3.0, 1.0 - 3.0]) * np.array([5.0, 1.0]) / 3.0
    new = 1.0 - 0.025 * grad_w
    new = new * 2.0 / new.sum()
    np.testing.assert_allclose([v.numpy() for v in variables], new, rtol=1e-6)


def test_gradnorm_favours_the_slower_task():
    method, variables = make("gradnorm", 2, alpha=1.5)
    grads = np.array([[1.0, 0.0], [0.0, 1.0]])
    combine(method, grads, losses=[1.0, 1.0])
    np.testing.assert_allclose([v.numpy() for v in variables], [1.0, 1.0])
    for _ in range(3):
        weights = np.array([v.numpy() for v in variables])
        # Task 1's loss fell to 0.5, task 2's only to 0.9: task 2 is slower.
        combine(method, grads * weights[:, None], [0.5, 0.9], weights)
    weights = [v.numpy() for v in variables]
    assert weights[1] > 1.0 > weights[0]
    np.testing.assert_allclose(sum(weights), 2.0, rtol=1e-6)


def test_gradient_method_needs_setup_for_gradnorm():
    method = weighting.GradNorm()
    method.build_state(2)
    with pytest.raises(ValueError, match="setup"):
        combine(method, np.ones((2, 3)))


# ------------------------------------------------------- loss methods
def test_uncertainty_loss_formula():
    method, _ = make(
        "uncertainty",
        2,
        task_types={"t1": "classification"},
        default_type="regression",
    )
    method.log_variances.assign([0.5, -1.0])
    losses = tf.constant([2.0, 3.0])
    weights = tf.constant([1.0, 2.0])
    out = method.combine_losses(losses, weights, tf.ones([2])).numpy()
    expected = (0.5 * math.exp(-0.5) * 2.0 + 0.25) + 2.0 * (
        math.exp(1.0) * 3.0 - 0.5
    )
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    # The gradient in s vanishes at the optimum s = log(2 c L).
    method.log_variances.assign([math.log(2 * 0.5 * 2.0), math.log(2 * 3.0)])
    with tf.GradientTape() as tape:
        loss = method.combine_losses(losses, weights, tf.ones([2]))
    grad = tape.gradient(loss, method.log_variances.value)
    np.testing.assert_allclose(grad.numpy(), 0.0, atol=1e-6)
    # An absent task adds nothing and its s gets no gradient.
    with tf.GradientTape() as tape:
        loss = method.combine_losses(losses, weights, tf.constant([1.0, 0.0]))
    assert tape.gradient(loss, method.log_variances.value).numpy()[1] == 0.0
    assert method.log_variances.trainable


def famo_reference(loss_sequence, lr=0.025, decay=0.01, optimizer="adam"):
    """Logits and weights of FAMO fed `loss_sequence`, in numpy.

    Transcribes the authors' `FAMO.update` (Adam with L2 weight decay,
    torch semantics) or Algorithm 1 (SGD), with the previous step's losses
    as the "before" losses.
    """
    count = len(loss_sequence[0])
    xi, m, v, t = np.zeros(count), np.zeros(count), np.zeros(count), 0
    logits, previous = [], None
    for losses in loss_sequence:
        losses = np.asarray(losses, "float64")
        if previous is not None:
            z = np.exp(xi) / np.exp(xi).sum()
            delta = np.log(previous + 1e-8) - np.log(losses + 1e-8)
            jacobian = np.diag(z) - np.outer(z, z)
            grad = jacobian.T @ delta + decay * xi
            if optimizer == "sgd":
                xi = xi - lr * grad
            else:
                t += 1
                m = 0.9 * m + 0.1 * grad
                v = 0.999 * v + 0.001 * grad**2
                m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
                xi = xi - lr * m_hat / (np.sqrt(v_hat) + 1e-8)
        previous = losses
        logits.append(xi.copy())
    return logits


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_famo_update_matches_reference(optimizer):
    sequence = [
        [1.0, 2.0, 0.5],
        [0.8, 1.9, 0.45],
        [0.7, 1.2, 0.44],
        [0.5, 1.1, 0.43],
        [0.45, 0.7, 0.40],
    ]
    kwargs = {"learning_rate": 0.5, "weight_decay": 0.01}
    method, _ = make("famo", 3, optimizer=optimizer, **kwargs)
    expected = famo_reference(sequence, lr=0.5, decay=0.01, optimizer=optimizer)
    step = tf.function(method.combine_losses)
    for losses, logits in zip(sequence, expected):
        losses = tf.constant(losses)
        loss = step(losses, tf.ones([3]), tf.ones([3]))
        np.testing.assert_allclose(
            method.logits.numpy(), logits, rtol=1e-4, atol=1e-5
        )
    z = np.exp(logits) / np.exp(logits).sum()
    shifted = np.asarray(sequence[-1]) + 1e-8
    c = (z / shifted).sum()
    np.testing.assert_allclose(
        loss.numpy(), (z * np.log(shifted)).sum() / c, rtol=1e-5
    )
    assert not np.allclose(logits, 0.0)


def test_famo_loss_gradient_is_paper_weighting():
    method, _ = make("famo", 3)
    method.logits.assign([0.3, -0.2, 0.1])
    losses = tf.Variable([0.5, 2.0, 1.0])
    with tf.GradientTape() as tape:
        loss = method.combine_losses(losses, tf.ones([3]), tf.ones([3]))
    z = np.exp([0.3, -0.2, 0.1]) / np.exp([0.3, -0.2, 0.1]).sum()
    shifted = np.array([0.5, 2.0, 1.0]) + 1e-8
    c = (z / shifted).sum()
    np.testing.assert_allclose(
        tape.gradient(loss, losses).numpy(), z / (c * shifted), rtol=1e-5
    )


def test_famo_absent_task_is_left_out():
    method, _ = make("famo", 3, optimizer="sgd")
    method.combine_losses(
        tf.constant([1.0, 2.0, 3.0]), tf.ones([3]), tf.ones([3])
    )
    method.combine_losses(
        tf.constant([0.5, 50.0, 2.0]),
        tf.ones([3]),
        tf.constant([1.0, 0.0, 1.0]),
    )
    logits = method.logits.numpy()
    assert logits[1] == 0.0 and logits[0] != 0.0
    probabilities = method.task_probabilities(tf.constant([1.0, 0.0, 1.0]))
    assert probabilities.numpy()[1] == 0.0


# ---------------------------------------------------------------- checks
def test_assert_finite_names_the_task():
    names = ["garment", "mask"]
    losses, grads = checks.assert_finite(
        tf.constant([1.0, 2.0]), tf.ones([2, 3]), names
    )
    assert losses.shape == (2,) and grads.shape == (2, 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="task 'mask'"):
        checks.assert_finite(tf.constant([1.0, np.nan]), None, names)
    bad = np.ones((2, 3), "float32")
    bad[0, 1] = np.inf
    with pytest.raises(
        tf.errors.InvalidArgumentError, match="Gradient of task 'garment'"
    ):
        checks.assert_finite(tf.constant([1.0, 2.0]), tf.constant(bad), names)

    @tf.function
    def step(losses, grads):
        return checks.assert_finite(losses, [[grads[0]], [grads[1]]], names)

    step(tf.constant([1.0, 2.0]), tf.ones([2, 3]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="task 'mask'"):
        step(tf.constant([1.0, 2.0]), tf.constant([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match="Received: task_names=\\['a'\\]"):
        checks.assert_finite(tf.constant([1.0, 2.0]), None, ["a"])


# ------------------------------------------------------ distribution
def test_methods_run_under_mirrored_strategy():
    """Every method, 2 logical CPUs, inside strategy.run (own process)."""
    script = textwrap.dedent(
        """
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        import keras
        import numpy as np
        from mtlzoo import weighting
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        rng = np.random.default_rng(0)
        grads = tf.constant(rng.normal(size=(3, 50)).astype("float32"))
        losses = tf.constant([1.0, 2.0, 3.0])
        present = tf.constant([1.0, 1.0, 0.0])
        for name in weighting.list_weightings():
            with strategy.scope():
                variables = [keras.Variable(1.0, trainable=False)
                             for _ in range(3)]
                method = weighting.get(name)
                method.setup(["a", "b", "c"], variables)

            @tf.function
            def step():
                def replica():
                    w = tf.stack([v.value for v in variables])
                    if method.requires_gradients:
                        return method.combine_gradients(
                            grads, losses, w, present)
                    return method.combine_losses(losses, w, present)
                out = strategy.run(replica)
                return strategy.reduce("MEAN", out, axis=None)

            for _ in range(2):
                out = step().numpy()
            assert np.all(np.isfinite(out)), name
        print("OK")
        """
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("OK")


# ------------------------------------------------------------ end to end
@pytest.mark.large
@pytest.mark.parametrize(
    "name", sorted({type(weighting.get(n)).__name__: n for n in NAMES}.values())
)
def test_fit_with_every_method(name):
    import mtlzoo
    from mtlzoo import testing

    tasks = [
        mtlzoo.Task(
            "digit", "classification", num_classes=5, head={"units": 8}
        ),
        mtlzoo.Task("ink", "regression", units=2, head={"units": 8}),
    ]
    x = testing.random_images((32, 32, 1), 8)
    y = testing.random_labels(tasks, (32, 32, 1), 8, missing=0.3)
    for representation in (False, True):
        model = mtlzoo.build("tiny", tasks, (32, 32, 1))
        method = weighting.get(name, representation_gradients=representation)
        model.compile(optimizer="adam", weighting=method)
        history = model.fit(x, y, batch_size=4, epochs=2, verbose=0).history
        for key in ("loss", "digit_loss", "ink_loss"):
            assert np.all(np.isfinite(history[key])), (key, history)
