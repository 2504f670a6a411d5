"""GradDrop: sign dropout by purity."""

import keras
import numpy as np
import tensorflow as tf
from weighting_helpers import combine
from weighting_helpers import make


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


def feature_drop(method, grads, features, present=None):
    count = len(grads[0])
    present = np.ones(count) if present is None else present
    out = method.combine_feature_gradients(
        [tf.constant(g, tf.float32) for g in grads],
        [tf.constant(a, tf.float32) for a in features],
        tf.ones([count]),
        tf.ones([count]),
        tf.constant(present, tf.float32),
    )
    return [o.numpy() for o in out]


def test_graddrop_batch_purity_by_hand():
    # Two tasks, a batch of 2, 3 features. s_t = sum_b sign(A) dL_t/dA:
    # s_0 = (0, -2, 0), s_1 = (-3, 0, 4), so the purity is (0, 0, 1): the
    # masks do not depend on U. Feature 0 keeps negative s (task 1),
    # feature 1 too (task 0), feature 2 keeps positive s (task 1); a kept
    # task keeps its gradient for every sample of the batch.
    features = np.array([[1.0, -2.0, 0.5], [-1.0, 3.0, -0.5]])
    g0 = np.array([[1.0, 1.0, 2.0], [1.0, -1.0, 2.0]])
    g1 = np.array([[-1.0, 2.0, 1.0], [2.0, 2.0, -3.0]])
    method, _ = make("graddrop", 2, seed=0, representation_gradients=True)
    assert method.uses_features
    (out,) = feature_drop(method, [np.stack([g0, g1])], [features])
    np.testing.assert_allclose(out, [[-1.0, 1.0, 1.0], [2.0, -1.0, -3.0]])
    # Per-sample purity (the "coordinate" option) gives another update.
    coordinate, _ = make("graddrop", 2, seed=0, purity="coordinate")
    assert not coordinate.uses_features
    per_sample = combine(coordinate, np.stack([g0.ravel(), g1.ravel()]))
    assert not np.allclose(per_sample, out.ravel())


def test_graddrop_batch_purity_formula():
    rng = np.random.default_rng(3)
    grads = [rng.normal(size=(3, 4, 5)), rng.normal(size=(3, 4, 2, 2))]
    features = [rng.normal(size=(4, 5)), rng.normal(size=(4, 2, 2))]
    leak = [0.0, 0.25, 1.0]
    present = np.array([1.0, 1.0, 0.0])
    method, _ = make(
        "graddrop", 3, leak=leak, seed=5, representation_gradients=True
    )
    out = feature_drop(method, grads, features, present)
    # Same draw of U as the method's first call, over all features.
    generator = keras.random.SeedGenerator(5)
    seed = tf.cast(generator.next(), tf.int32)
    uniform = tf.random.stateless_uniform((9,), seed=seed).numpy()
    rows = [g * present.reshape(3, *[1] * (g.ndim - 1)) for g in grads]
    s = np.concatenate(
        [
            (g * np.sign(a)[None]).sum(1).reshape(3, -1)
            for g, a in zip(rows, features)
        ],
        axis=1,
    )
    purity = 0.5 * (1 + s.sum(0) / (np.abs(s).sum(0) + 1e-7))
    keep = ((purity > uniform) & (s > 0)) | ((purity < uniform) & (s < 0))
    factor = np.array(leak)[:, None] + (1 - np.array(leak)[:, None]) * keep
    for piece, g, f in zip(out, rows, np.split(factor, [5], axis=1)):
        f = f.reshape(3, 1, *g.shape[2:])
        np.testing.assert_allclose(piece, (f * g).sum(0), rtol=1e-5, atol=1e-6)


def test_graddrop_train_step_uses_batch_purity():
    from fit_helpers import tiny_model_and_data

    from mtlzoo import weighting

    calls = []

    class Spy(weighting.GradDrop):
        def combine_feature_gradients(self, *args):
            calls.append(1)
            return super().combine_feature_gradients(*args)

    model, x, y = tiny_model_and_data()
    model.compile(
        optimizer="sgd", weighting=Spy(seed=0, representation_gradients=True)
    )
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert calls and np.isfinite(history.history["loss"][0])
