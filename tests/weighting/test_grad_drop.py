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
